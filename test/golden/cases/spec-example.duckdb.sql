with "_base" as (select CAST(date_trunc('month', CAST("_s"."_c0" AS TIMESTAMP)) AS DATE) as "_d0", "_s"."_c1" as "_d1", "_s"."_c2" as "_v0", "_s"."_c3" as "_v1"
  from (select "metric_date" as "_c0", "platform" as "_c1", "impressions" as "_c2", (likes + comments + shares) as "_c3"
  from "social"."post_daily") "_s"
  where "_s"."_c0" >= CAST($1 AS DATE) and "_s"."_c0" < CAST($2 AS DATE) and "_s"."_c1" in (CAST($3 AS VARCHAR), CAST($4 AS VARCHAR))),
"_agg" as (select "_d0", "_d1", CAST(sum("_v0") AS DOUBLE) as "_m0", CAST(CAST(sum("_v1") AS DOUBLE) / nullif(CAST(sum("_v0") AS DOUBLE), 0) AS DOUBLE) as "_m1"
  from "_base"
  group by "_d0", "_d1")
select "_d0" as "metric_date__month", "_d1" as "platform", "_m0" as "impressions", "_m1" as "engagement_rate"
  from "_agg"
  where "_m0" > CAST($5 AS DOUBLE)
  order by "_m0" DESC nulls last, "_d0" ASC nulls last, "_d1" ASC nulls last
  limit $6 offset $7
-- params: ["2026-01-01","2026-04-01","facebook","instagram",1000,101,0]

SELECT max("_loaded_at") AS "v" FROM "social"."post_daily"
-- params: []
