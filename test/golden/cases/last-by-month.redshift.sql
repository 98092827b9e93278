with "_base" as (select date_trunc('month', ("_s"."_c0")::timestamp)::date as "_d0", "_s"."_c1" as "_d1", "_s"."_c0" as "_t0", max("_s"."_c0") over (partition by date_trunc('month', ("_s"."_c0")::timestamp)::date) as "_w0", "_s"."_c2" as "_v0", "_s"."_c3" as "_v1"
  from (select "metric_date" as "_c0", "platform" as "_c1", "follower_count" as "_c2", "new_followers" as "_c3"
  from "social"."account_daily") "_s"),
"_agg" as (select "_d0", "_d1", (sum(case when "_t0" = "_w0" then "_v0" end))::float8 as "_m0", (sum("_v1"))::float8 as "_m1"
  from "_base"
  group by "_d0", "_d1")
select "_d0" as "metric_date__month", "_d1" as "platform", "_m0" as "followers", "_m1" as "new_followers"
  from "_agg"
  order by "_d0" ASC nulls last, "_d1" ASC nulls last
  limit $1 offset $2
-- params: [1001,0]

SELECT max("_loaded_at") AS "v" FROM "social"."account_daily"
-- params: []
