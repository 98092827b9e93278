output "bucket" {
  description = "SEXTANT_OBJECT_STORE is s3://<bucket>."
  value       = aws_s3_bucket.data.bucket
}

output "redis_url" {
  description = "SEXTANT_REDIS_URL."
  value       = "redis://${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379"
}

output "redshift_endpoint" {
  description = "Host of SEXTANT_WAREHOUSE (redshift://user:password@<host>:5439/dev?sslmode=require)."
  value       = aws_redshiftserverless_workgroup.warehouse.endpoint[0].address
}

output "redshift_copy_role_arn" {
  description = "SEXTANT_REDSHIFT_IAM_ROLE."
  value       = aws_iam_role.redshift_copy.arn
}
