-- session: time zone
SET timezone TO 'UTC';

-- session: statement timeout
SET statement_timeout = 30000;

-- transaction: statement timeout
SET LOCAL statement_timeout = 0;

-- session: backend pid
SELECT pg_backend_pid() AS pid;

-- cancel from another connection
SELECT pg_cancel_backend($1);

-- ping
SELECT 1 AS ok;

-- prepared statements: deallocate the least recently used (not in sqlfluff's grammar)
DEALLOCATE sx_c28caf8f128191cc5eea9c2e432cec3f6602b62f;

-- begin
BEGIN;

-- commit
COMMIT;

-- rollback
ROLLBACK;

-- stream: declare cursor
DECLARE "__sextant_cursor" CURSOR FOR select date_trunc('week', ("metric_date")::timestamp)::date as "_d0", (sum("impressions"))::float8 as "_m0" from "social"."post_daily" where strpos("post_id", $1::varchar(65535)) = 1 group by 1;

-- stream: fetch
FETCH FORWARD 5000 FROM "__sextant_cursor";

-- describeTable
SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position;

-- ensureTable 1
CREATE SCHEMA IF NOT EXISTS "social";

-- ensureTable 2
CREATE TABLE IF NOT EXISTS "social"."post_daily" ("platform" varchar(65535) NOT NULL, "post_id" varchar(65535) NOT NULL, "metric_date" date NOT NULL, "impressions" integer, "reach" bigint, "spend" decimal(18,4), "rate" double precision, "is_paid" boolean, "meta" varchar(65535), "_loaded_at" timestamp, PRIMARY KEY ("platform", "post_id", "metric_date")) DISTKEY ("platform") SORTKEY ("metric_date");

-- ensureTable: key-only table
CREATE TABLE IF NOT EXISTS "ops"."seen" ("id" bigint NOT NULL, PRIMARY KEY ("id")) DISTKEY ("id");

-- evolve: add column
ALTER TABLE "social"."post_daily" ADD COLUMN "shares" bigint;

-- merge: drop leftovers 1
DROP TABLE IF EXISTS "__sextant_latest";

-- merge: drop leftovers 2
DROP TABLE IF EXISTS "__sextant_stage";

-- merge: create stage
CREATE TEMP TABLE "__sextant_stage" ("platform" varchar(65535), "post_id" varchar(65535), "metric_date" date, "impressions" integer, "reach" bigint, "spend" decimal(18,4), "rate" double precision, "is_paid" boolean, "meta" varchar(65535), "_loaded_at" timestamp, "__sextant_seq" bigint);

-- merge: COPY from S3 manifest
COPY "__sextant_stage" ("platform", "post_id", "metric_date", "impressions", "reach", "spend", "rate", "is_paid", "meta", "_loaded_at", "__sextant_seq") FROM 's3://sextant-prod/raw-bucket/_staging/social.post_daily/20260101T000000000Z-0a1b2c3d4e5f/manifest.json' IAM_ROLE 'arn:aws:iam::123456789012:role/sextant-copy' REGION 'eu-west-1' FORMAT AS CSV NULL AS '\\N' MANIFEST DATEFORMAT 'YYYY-MM-DD' TIMEFORMAT 'auto' MAXERROR 0 COMPUPDATE OFF STATUPDATE OFF;

-- merge: COPY (PostgreSQL engine stand-in, not Redshift)
COPY "__sextant_stage" ("platform", "post_id", "metric_date", "impressions", "reach", "spend", "rate", "is_paid", "meta", "_loaded_at", "__sextant_seq") FROM STDIN WITH (FORMAT csv, NULL '\N');

-- merge: dedupe
CREATE TEMP TABLE "__sextant_latest" AS SELECT "platform", "post_id", "metric_date", "impressions", "reach", "spend", "rate", "is_paid", "meta", "_loaded_at" FROM (SELECT "platform", "post_id", "metric_date", "impressions", "reach", "spend", "rate", "is_paid", "meta", "_loaded_at", row_number() OVER (PARTITION BY "platform", "post_id", "metric_date" ORDER BY "__sextant_seq" DESC) AS "__sextant_rank" FROM "__sextant_stage") AS "ranked" WHERE "__sextant_rank" = 1;

-- merge: lock
LOCK "social"."post_daily";

-- merge: count
SELECT count(*) AS "staged", count("social"."post_daily"."platform") AS "updated" FROM "__sextant_latest" LEFT JOIN "social"."post_daily" ON "social"."post_daily"."platform" = "__sextant_latest"."platform" AND "social"."post_daily"."post_id" = "__sextant_latest"."post_id" AND "social"."post_daily"."metric_date" = "__sextant_latest"."metric_date";

-- merge: MERGE
MERGE INTO "social"."post_daily" USING "__sextant_latest" ON "social"."post_daily"."platform" = "__sextant_latest"."platform" AND "social"."post_daily"."post_id" = "__sextant_latest"."post_id" AND "social"."post_daily"."metric_date" = "__sextant_latest"."metric_date" WHEN MATCHED THEN UPDATE SET "impressions" = "__sextant_latest"."impressions", "reach" = "__sextant_latest"."reach", "spend" = "__sextant_latest"."spend", "rate" = "__sextant_latest"."rate", "is_paid" = "__sextant_latest"."is_paid", "meta" = "__sextant_latest"."meta", "_loaded_at" = "__sextant_latest"."_loaded_at" WHEN NOT MATCHED THEN INSERT ("platform", "post_id", "metric_date", "impressions", "reach", "spend", "rate", "is_paid", "meta", "_loaded_at") VALUES ("__sextant_latest"."platform", "__sextant_latest"."post_id", "__sextant_latest"."metric_date", "__sextant_latest"."impressions", "__sextant_latest"."reach", "__sextant_latest"."spend", "__sextant_latest"."rate", "__sextant_latest"."is_paid", "__sextant_latest"."meta", "__sextant_latest"."_loaded_at");

-- merge: MERGE, key columns only
MERGE INTO "ops"."seen" USING "__sextant_latest" ON "ops"."seen"."id" = "__sextant_latest"."id" WHEN MATCHED THEN UPDATE SET "id" = "__sextant_latest"."id" WHEN NOT MATCHED THEN INSERT ("id") VALUES ("__sextant_latest"."id");

-- merge: drop 1
DROP TABLE "__sextant_latest";

-- merge: drop 2
DROP TABLE "__sextant_stage";

-- export: UNLOAD to S3 (values as literals, formula-like text inert, the order given again)
UNLOAD ('SELECT CASE WHEN substring("_unloaded"."account_id", 1, 1) IN (''='', ''+'', ''-'', ''@'', chr(9), chr(13)) THEN '''''''' || "_unloaded"."account_id" ELSE "_unloaded"."account_id" END AS "account_id", CASE WHEN "_unloaded"."is_paid" THEN ''true'' WHEN NOT "_unloaded"."is_paid" THEN ''false'' END AS "is_paid", to_char("_unloaded"."posted_at__hour", ''YYYY-MM-DD"T"HH24:MI:SS"Z"'') AS "posted_at (hour)", "_unloaded"."impressions" AS "impressions" FROM (select "_d0" as "account_id", "_d1" as "is_paid", "_d2" as "posted_at__hour", "_m0" as "impressions" from (select "account_id" as "_d0", "is_paid" as "_d1", date_trunc(''hour'', ("posted_at")::timestamp) as "_d2", (sum("impressions"))::float8 as "_m0" from "social"."post_daily" where "account_id" in (''o''''brien\\\\''''); DROP TABLE x; --''::varchar(65535), ''=HYPERLINK("x")''::varchar(65535)) and "impressions" > (-5)::float8 group by 1, 2, 3) "_agg" order by "_m0" DESC nulls last) AS "_unloaded" ORDER BY "_unloaded"."impressions" DESC NULLS LAST') TO 's3://sextant-prod/raw-bucket/exports/social/0a1b2c3d-0000-4000-8000-000000000000/post_performance_' IAM_ROLE 'arn:aws:iam::123456789012:role/sextant-copy' REGION 'eu-west-1' FORMAT AS CSV HEADER PARALLEL OFF MAXFILESIZE 6200 MB MANIFEST VERBOSE ALLOWOVERWRITE EXTENSION 'csv';

-- export: COPY … TO STDOUT (PostgreSQL engine stand-in for UNLOAD, not Redshift)
COPY (SELECT CASE WHEN substring("_unloaded"."account_id", 1, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || "_unloaded"."account_id" ELSE "_unloaded"."account_id" END AS "account_id", CASE WHEN "_unloaded"."is_paid" THEN 'true' WHEN NOT "_unloaded"."is_paid" THEN 'false' END AS "is_paid", to_char("_unloaded"."posted_at__hour", 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "posted_at (hour)", "_unloaded"."impressions" AS "impressions" FROM (select "_d0" as "account_id", "_d1" as "is_paid", "_d2" as "posted_at__hour", "_m0" as "impressions" from (select "account_id" as "_d0", "is_paid" as "_d1", date_trunc('hour', ("posted_at")::timestamp) as "_d2", (sum("impressions"))::float8 as "_m0" from "social"."post_daily" where "account_id" in ('o''brien\''); DROP TABLE x; --'::varchar(65535), '=HYPERLINK("x")'::varchar(65535)) and "impressions" > (-5)::float8 group by 1, 2, 3) "_agg" order by "_m0" DESC nulls last) AS "_unloaded" ORDER BY "_unloaded"."impressions" DESC NULLS LAST) TO STDOUT WITH (FORMAT csv, HEADER);

-- load errors: SYS_LOAD_ERROR_DETAIL
SELECT trim(file_name) AS "file", line_number AS "line", trim(column_name) AS "column", error_code AS "code", trim(error_message) AS "message" FROM sys_load_error_detail WHERE file_name LIKE $1 ORDER BY line_number LIMIT 20;

-- load errors: STL_LOAD_ERRORS
SELECT trim(filename) AS "file", line_number AS "line", trim(colname) AS "column", err_code AS "code", trim(err_reason) AS "message" FROM stl_load_errors WHERE filename LIKE $1 ORDER BY line_number LIMIT 20;

-- rollup: drop
drop table if exists "sextant_rollups"."social__posts__daily";

-- rollup: create as
create table "sextant_rollups"."social__posts__daily" as select "_d0", "_d1", "_t", max("_tr") as "_lt", count(*) as "_m0", sum("_v1") as "_m1", sum("_v2") as "_m2", sum("_v3") as "_m4_s", count("_v4") as "_m4_c", min("_v5") as "_m5", max("_v6") as "_m6", count(distinct "_v7") as "_m7", sum(case when "_tr" = "_w" then "_v8" end) as "_m8" from (select "_s"."_c1" as "_d0", "_j0"."_c0" as "_d1", date_trunc('day', ("_s"."_c0")::timestamp)::date as "_t", "_s"."_c0" as "_tr", max("_s"."_c0") over (partition by "_s"."_c1", "_j0"."_c0", date_trunc('day', ("_s"."_c0")::timestamp)::date) as "_w", "_s"."_c2" as "_v1", "_s"."_c3" as "_v2", "_s"."_c3" as "_v3", "_s"."_c3" as "_v4", "_s"."_c3" as "_v5", "_s"."_c3" as "_v6", "_s"."_c4" as "_v7", "_s"."_c5" as "_v8" from (select "metric_date" as "_c0", "platform" as "_c1", "impressions" as "_c2", "likes" as "_c3", "post_id" as "_c4", "followers" as "_c5", "account_id" as "_c6" from "social"."posts") "_s" left join (select "account_id" as "_k0", min("region") as "_c0" from "social"."accounts" group by "account_id") "_j0" on "_s"."_c6" = "_j0"."_k0") "_r" group by "_d0", "_d1", "_t";

-- rollup: buckets a batch touched
select distinct date_trunc('day', ("metric_date")::timestamp)::date as "b" from "stage_latest";

-- rollup: delete buckets
delete from "sextant_rollups"."social__posts__daily" where (("_t" >= $1::timestamp and "_t" < $2::timestamp) or "_t" is null);

-- rollup: insert buckets
insert into "sextant_rollups"."social__posts__daily" ("_d0", "_d1", "_t", "_lt", "_m0", "_m1", "_m2", "_m4_s", "_m4_c", "_m5", "_m6", "_m7", "_m8") select "_d0", "_d1", "_t", max("_tr") as "_lt", count(*) as "_m0", sum("_v1") as "_m1", sum("_v2") as "_m2", sum("_v3") as "_m4_s", count("_v4") as "_m4_c", min("_v5") as "_m5", max("_v6") as "_m6", count(distinct "_v7") as "_m7", sum(case when "_tr" = "_w" then "_v8" end) as "_m8" from (select "_s"."_c1" as "_d0", "_j0"."_c0" as "_d1", date_trunc('day', ("_s"."_c0")::timestamp)::date as "_t", "_s"."_c0" as "_tr", max("_s"."_c0") over (partition by "_s"."_c1", "_j0"."_c0", date_trunc('day', ("_s"."_c0")::timestamp)::date) as "_w", "_s"."_c2" as "_v1", "_s"."_c3" as "_v2", "_s"."_c3" as "_v3", "_s"."_c3" as "_v4", "_s"."_c3" as "_v5", "_s"."_c3" as "_v6", "_s"."_c4" as "_v7", "_s"."_c5" as "_v8" from (select "metric_date" as "_c0", "platform" as "_c1", "impressions" as "_c2", "likes" as "_c3", "post_id" as "_c4", "followers" as "_c5", "account_id" as "_c6" from "social"."posts" where (("metric_date" >= $1::timestamp and "metric_date" < $2::timestamp) or "metric_date" is null)) "_s" left join (select "account_id" as "_k0", min("region") as "_c0" from "social"."accounts" group by "account_id") "_j0" on "_s"."_c6" = "_j0"."_k0") "_r" group by "_d0", "_d1", "_t";

-- rollup: delete all
delete from "sextant_rollups"."social__posts__daily";

-- rollup: insert all
insert into "sextant_rollups"."social__posts__daily" ("_d0", "_d1", "_t", "_lt", "_m0", "_m1", "_m2", "_m4_s", "_m4_c", "_m5", "_m6", "_m7", "_m8") select "_d0", "_d1", "_t", max("_tr") as "_lt", count(*) as "_m0", sum("_v1") as "_m1", sum("_v2") as "_m2", sum("_v3") as "_m4_s", count("_v4") as "_m4_c", min("_v5") as "_m5", max("_v6") as "_m6", count(distinct "_v7") as "_m7", sum(case when "_tr" = "_w" then "_v8" end) as "_m8" from (select "_s"."_c1" as "_d0", "_j0"."_c0" as "_d1", date_trunc('day', ("_s"."_c0")::timestamp)::date as "_t", "_s"."_c0" as "_tr", max("_s"."_c0") over (partition by "_s"."_c1", "_j0"."_c0", date_trunc('day', ("_s"."_c0")::timestamp)::date) as "_w", "_s"."_c2" as "_v1", "_s"."_c3" as "_v2", "_s"."_c3" as "_v3", "_s"."_c3" as "_v4", "_s"."_c3" as "_v5", "_s"."_c3" as "_v6", "_s"."_c4" as "_v7", "_s"."_c5" as "_v8" from (select "metric_date" as "_c0", "platform" as "_c1", "impressions" as "_c2", "likes" as "_c3", "post_id" as "_c4", "followers" as "_c5", "account_id" as "_c6" from "social"."posts") "_s" left join (select "account_id" as "_k0", min("region") as "_c0" from "social"."accounts" group by "account_id") "_j0" on "_s"."_c6" = "_j0"."_k0") "_r" group by "_d0", "_d1", "_t";
