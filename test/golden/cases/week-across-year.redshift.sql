with "_base" as (select date_trunc('week', ("_s"."_c0")::timestamp)::date as "_d0", date_trunc('year', ("_s"."_c0")::timestamp)::date as "_d1", "_s"."_c1" as "_v0", "_s"."_c2" as "_v1"
  from (select "metric_date" as "_c0", "impressions" as "_c1", "post_id" as "_c2"
  from "social"."post_daily") "_s"
  where "_s"."_c0" >= $1::date and "_s"."_c0" < $2::date),
"_agg" as (select "_d0", "_d1", (sum("_v0"))::float8 as "_m0", (count(distinct "_v1"))::float8 as "_m1"
  from "_base"
  group by "_d0", "_d1")
select "_d0" as "metric_date__week", "_d1" as "metric_date__year", "_m0" as "impressions", "_m1" as "posts"
  from "_agg"
  order by "_d0" ASC nulls last, "_d1" ASC nulls last
  limit $3 offset $4
-- params: ["2025-12-20","2026-01-20",1001,0]

SELECT max("_loaded_at") AS "v" FROM "social"."post_daily"
-- params: []
