with "_base" as (select "_s"."_c0" as "_d0", "_s"."_c1" as "_d1", "_s"."_c2" as "_v0", "_s"."_c3" as "_v1"
  from (select "platform" as "_c0", "post_type" as "_c1", "impressions" as "_c2", (likes + comments + shares) as "_c3"
  from "social"."post_daily") "_s"),
"_agg" as (select "_d0", "_d1", (sum("_v0"))::float8 as "_m0", (sum("_v1"))::float8 as "_m1"
  from "_base"
  group by "_d0", "_d1")
select "_d0" as "platform", "_d1" as "post_type", "_m0" as "impressions", "_m1" as "engagements"
  from "_agg"
  where "_m0" >= $1::float8
  order by "_m0" DESC nulls last, "_d1" ASC nulls last, "_d0" ASC nulls last
  limit $2 offset $3
-- params: [2000,3,1]

SELECT max("_loaded_at") AS "v" FROM "social"."post_daily"
-- params: []
