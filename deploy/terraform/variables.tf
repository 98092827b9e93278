variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "sextant"
}

variable "region" {
  description = "AWS region of every resource (the bucket, Redis, Redshift and ECS share it)."
  type        = string
  default     = "eu-west-1"
}

variable "vpc_id" {
  description = "VPC the services run in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two, in different availability zones) for Redis, Redshift Serverless and the ECS tasks."
  type        = list(string)
}

variable "image" {
  description = "The Sextant container image (built from the repository's Dockerfile)."
  type        = string
}

variable "api_count" {
  description = "API tasks."
  type        = number
  default     = 2
}

variable "worker_count" {
  description = "Worker tasks."
  type        = number
  default     = 2
}

variable "raw_transition_days" {
  description = "Days after which raw uploads (raw/) move to Glacier Instant Retrieval."
  type        = number
  default     = 30
}

variable "raw_expiration_days" {
  description = "Days after which raw uploads (raw/) are deleted; 0 keeps them forever."
  type        = number
  default     = 0
}

variable "redshift_base_capacity" {
  description = "Redshift Serverless base capacity in RPUs."
  type        = number
  default     = 8
}

variable "redshift_admin_username" {
  description = "Admin user of the Redshift Serverless namespace (its password is generated and kept in Secrets Manager by Redshift)."
  type        = string
  default     = "sextant_admin"
}

variable "warehouse_url_secret_arn" {
  description = "Secrets Manager secret holding SEXTANT_WAREHOUSE (redshift://user:password@<workgroup endpoint>:5439/dev?sslmode=require) for the Sextant database user."
  type        = string
}

variable "signing_secret_arn" {
  description = "Secrets Manager secret holding SEXTANT_SIGNING_SECRET: one value shared by every API and worker task."
  type        = string
}
