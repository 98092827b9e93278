with "_base" as (select CAST(date_trunc('week', CAST("_s"."_c0" AS TIMESTAMP)) AS DATE) as "_d0", CAST(date_trunc('year', CAST("_s"."_c0" AS TIMESTAMP)) AS DATE) as "_d1", "_s"."_c1" as "_v0", "_s"."_c2" as "_v1"
  from (select "metric_date" as "_c0", "impressions" as "_c1", "post_id" as "_c2"
  from "social"."post_daily") "_s"
  where "_s"."_c0" >= CAST($1 AS DATE) and "_s"."_c0" < CAST($2 AS DATE)),
"_agg" as (select "_d0", "_d1", CAST(sum("_v0") AS DOUBLE) as "_m0", CAST(count(distinct "_v1") AS DOUBLE) as "_m1"
  from "_base"
  group by "_d0", "_d1")
select "_d0" as "metric_date__week", "_d1" as "metric_date__year", "_m0" as "impressions", "_m1" as "posts"
  from "_agg"
  order by "_d0" ASC nulls last, "_d1" ASC nulls last
  limit $3 offset $4
-- params: ["2025-12-20","2026-01-20",1001,0]

SELECT max("_loaded_at") AS "v" FROM "social"."post_daily"
-- params: []
