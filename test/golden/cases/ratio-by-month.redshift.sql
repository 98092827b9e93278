with "_base" as (select date_trunc('month', ("_s"."_c0")::timestamp)::date as "_d0", "_s"."_c1" as "_v0", "_s"."_c2" as "_v1"
  from (select "metric_date" as "_c0", (likes + comments + shares) as "_c1", "impressions" as "_c2"
  from "social"."post_daily") "_s"),
"_agg" as (select "_d0", (sum("_v0"))::float8 as "_m0", (sum("_v1"))::float8 as "_m1", ((sum("_v0"))::float8 / nullif((sum("_v1"))::float8, 0))::float8 as "_m2"
  from "_base"
  group by "_d0")
select "_d0" as "metric_date__month", "_m0" as "engagements", "_m1" as "impressions", "_m2" as "engagement_rate"
  from "_agg"
  order by "_d0" ASC nulls last
  limit $1 offset $2
-- params: [1001,0]

SELECT max("_loaded_at") AS "v" FROM "social"."post_daily"
-- params: []
