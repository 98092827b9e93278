with "_base" as (select "_j0"."_c0" as "_d0", "_s"."_c0" as "_v0", "_s"."_c1" as "_v1"
  from (select "post_id" as "_c0", "impressions" as "_c1", "account_id" as "_c2"
  from "social"."post_daily") "_s"
  left join (select "account_id" as "_k0", min("region") as "_c0"
  from "social"."accounts"
  group by "account_id") "_j0" on "_s"."_c2" = "_j0"."_k0"
  where "_j0"."_c0" in ($1::varchar(65535), $2::varchar(65535))),
"_agg" as (select "_d0", (count(distinct "_v0"))::float8 as "_m0", (sum("_v1"))::float8 as "_m1"
  from "_base"
  group by "_d0")
select "_d0" as "accounts__region", "_m0" as "posts", "_m1" as "impressions"
  from "_agg"
  order by "_d0" ASC nulls last
  limit $3 offset $4
-- params: ["EMEA","NA",1001,0]

SELECT max("_loaded_at") AS "v" FROM "social"."post_daily"
-- params: []
