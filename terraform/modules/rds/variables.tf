variable "name" {
  description = "Identifier of the instance (tessera-production)."
  type        = string
}

variable "region" {
  description = "The AWS region."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's range."
  type        = string
}

variable "subnet_ids" {
  description = "Data subnets of the instance."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Who may reach Postgres: a name (for the rule's description) to a security group."
  type        = map(string)
}

variable "services" {
  description = "The services that get a role (user-service gets user_service)."
  type        = list(string)
}

variable "secret_prefix" {
  description = "Prefix of the per-service database secrets (tessera/production)."
  type        = string
}

variable "database_name" {
  description = "The database every schema lives in."
  type        = string
  default     = "tessera"
}

variable "engine_version" {
  description = "Postgres version; a major version picks the newest minor, which auto_minor_version_upgrade then follows."
  type        = string
  default     = "16"
}

variable "instance_class" {
  description = "Instance class."
  type        = string
}

variable "allocated_storage" {
  description = "Initial storage, GiB."
  type        = number
  default     = 50
}

variable "max_allocated_storage" {
  description = "Storage autoscaling ceiling, GiB."
  type        = number
  default     = 500
}

variable "multi_az" {
  description = "A synchronous standby in another zone, failed over to automatically."
  type        = bool
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
}

variable "skip_final_snapshot" {
  description = "Delete without a final snapshot (never in production)."
  type        = bool
  default     = false
}

variable "performance_insights_retention_days" {
  description = "Performance Insights retention: 7 (free) or a multiple of 31."
  type        = number
  default     = 7
}

variable "iam_database_authentication" {
  description = "Also accept IAM tokens for people connecting with aws rds generate-db-auth-token; the services use passwords."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "KMS key of the storage, backups, Performance Insights and the master secret."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key of the per-service database secrets."
  type        = string
}

variable "log_kms_key_arn" {
  description = "KMS key of the log groups."
  type        = string
}

variable "log_retention_days" {
  description = "How long Postgres and task logs are kept."
  type        = number
  default     = 365
}

variable "bootstrap_image" {
  description = "Image with psql 16 for the db-bootstrap task."
  type        = string
  default     = "public.ecr.aws/docker/library/postgres:16.9-bookworm"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
