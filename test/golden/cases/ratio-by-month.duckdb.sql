with "_base" as (select CAST(date_trunc('month', CAST("_s"."_c0" AS TIMESTAMP)) AS DATE) as "_d0", "_s"."_c1" as "_v0", "_s"."_c2" as "_v1"
  from (select "metric_date" as "_c0", (likes + comments + shares) as "_c1", "impressions" as "_c2"
  from "social"."post_daily") "_s"),
"_agg" as (select "_d0", CAST(sum("_v0") AS DOUBLE) as "_m0", CAST(sum("_v1") AS DOUBLE) as "_m1", CAST(CAST(sum("_v0") AS DOUBLE) / nullif(CAST(sum("_v1") AS DOUBLE), 0) AS DOUBLE) as "_m2"
  from "_base"
  group by "_d0")
select "_d0" as "metric_date__month", "_m0" as "engagements", "_m1" as "impressions", "_m2" as "engagement_rate"
  from "_agg"
  order by "_d0" ASC nulls last
  limit $1 offset $2
-- params: [1001,0]

SELECT max("_loaded_at") AS "v" FROM "social"."post_daily"
-- params: []
