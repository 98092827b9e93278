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

-- load errors: SYS_LOAD_ERROR_DETAIL
SELECT trim(file_name) AS "file", line_number AS "line", trim(column_name) AS "column", error_code AS "code", trim(error_message) AS "message" FROM sys_load_error_detail WHERE file_name LIKE $1 ORDER BY line_number LIMIT 20;

-- load errors: STL_LOAD_ERRORS
SELECT trim(filename) AS "file", line_number AS "line", trim(colname) AS "column", err_code AS "code", trim(err_reason) AS "message" FROM stl_load_errors WHERE filename LIKE $1 ORDER BY line_number LIMIT 20;
