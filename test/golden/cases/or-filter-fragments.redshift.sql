with "_base" as (select "_s"."_c0" as "_d0", "_s"."_c1" as "_d1", "_s"."_c3" as "_v0", "_s"."_c4" as "_v1"
  from (select "platform" as "_c0", "post_type" as "_c1", "metric_date" as "_c2", "impressions" as "_c3", (likes + comments + shares) as "_c4", "account_id" as "_c5"
  from "social"."post_daily") "_s"
  left join (select "account_id" as "_k0", min("region") as "_c0"
  from "social"."accounts"
  group by "account_id") "_j0" on "_s"."_c5" = "_j0"."_k0"
  where coalesce(strpos("_j0"."_c0", $1::varchar(65535)) = 1, false) and ((("_s"."_c0" = $2::varchar(65535)) or ("_s"."_c2" < $3::date and "_s"."_c1" = $4::varchar(65535))))),
"_agg" as (select "_d0", "_d1", (sum("_v0"))::float8 as "_m0", ((sum("_v1"))::float8 / nullif((sum("_v0"))::float8, 0))::float8 as "_m1"
  from "_base"
  group by "_d0", "_d1")
select "_d0" as "platform", "_d1" as "post_type", "_m0" as "impressions", "_m1" as "engagement_rate"
  from "_agg"
  order by "_d0" ASC nulls last, "_d1" ASC nulls last
  limit $5 offset $6
-- params: ["EM","x","2026-01-01","video",1001,0]

SELECT max("_loaded_at") AS "v" FROM "social"."post_daily"
-- params: []
