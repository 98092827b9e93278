with "_base" as (select date_trunc('month', ("_s"."_c0")::timestamp)::date as "_d0", "_s"."_c2" as "_v0", "_s"."_c3" as "_v1"
  from (select "metric_date" as "_c0", "platform" as "_c1", "new_followers" as "_c2", "lost_followers" as "_c3"
  from "social"."account_daily") "_s"
  where ("_s"."_c1" not in ($1::varchar(65535)) or "_s"."_c1" is null)),
"_agg" as (select "_d0", (sum("_v0"))::float8 as "_m0", (sum("_v1"))::float8 as "_m1", ((((sum("_v0"))::float8) - coalesce(((sum("_v1"))::float8), 0)))::float8 as "_m2"
  from "_base"
  group by "_d0")
select "_d0" as "metric_date__month", "_m0" as "new_followers", "_m1" as "lost_followers", "_m2" as "net_new_followers"
  from "_agg"
  order by "_d0" ASC nulls last
  limit $2 offset $3
-- params: ["facebook",1001,0]

SELECT max("_loaded_at") AS "v" FROM "social"."account_daily"
-- params: []
