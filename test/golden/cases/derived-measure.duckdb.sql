with "_base" as (select CAST(date_trunc('month', CAST("_s"."_c0" AS TIMESTAMP)) AS DATE) as "_d0", "_s"."_c2" as "_v0", "_s"."_c3" as "_v1"
  from (select "metric_date" as "_c0", "platform" as "_c1", "new_followers" as "_c2", "lost_followers" as "_c3"
  from "social"."account_daily") "_s"
  where ("_s"."_c1" not in (CAST($1 AS VARCHAR)) or "_s"."_c1" is null)),
"_agg" as (select "_d0", CAST(sum("_v0") AS DOUBLE) as "_m0", CAST(sum("_v1") AS DOUBLE) as "_m1", CAST(((CAST(sum("_v0") AS DOUBLE)) - coalesce((CAST(sum("_v1") AS DOUBLE)), 0)) AS DOUBLE) as "_m2"
  from "_base"
  group by "_d0")
select "_d0" as "metric_date__month", "_m0" as "new_followers", "_m1" as "lost_followers", "_m2" as "net_new_followers"
  from "_agg"
  order by "_d0" ASC nulls last
  limit $2 offset $3
-- params: ["facebook",1001,0]

SELECT max("_loaded_at") AS "v" FROM "social"."account_daily"
-- params: []
