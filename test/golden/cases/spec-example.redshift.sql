with "_base" as (select date_trunc('month', ("_s"."_c0")::timestamp)::date as "_d0", "_s"."_c1" as "_d1", "_s"."_c2" as "_v0", "_s"."_c3" as "_v1"
  from (select "metric_date" as "_c0", "platform" as "_c1", "impressions" as "_c2", (likes + comments + shares) as "_c3"
  from "social"."post_daily") "_s"
  where "_s"."_c0" >= $1::date and "_s"."_c0" < $2::date and "_s"."_c1" in ($3::varchar(65535), $4::varchar(65535))),
"_agg" as (select "_d0", "_d1", (sum("_v0"))::float8 as "_m0", ((sum("_v1"))::float8 / nullif((sum("_v0"))::float8, 0))::float8 as "_m1"
  from "_base"
  group by "_d0", "_d1")
select "_d0" as "metric_date__month", "_d1" as "platform", "_m0" as "impressions", "_m1" as "engagement_rate"
  from "_agg"
  where "_m0" > $5::float8
  order by "_m0" DESC nulls last, "_d0" ASC nulls last, "_d1" ASC nulls last
  limit $6 offset $7
-- params: ["2026-01-01","2026-04-01","facebook","instagram",1000,101,0]

SELECT max("_loaded_at") AS "v" FROM "social"."post_daily"
-- params: []
