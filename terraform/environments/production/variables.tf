# The environment's settings, passed to the platform module (main.tf): what differs between
# environments is here (the defaults size the environment) and in terraform.tfvars (the
# account's own values). modules/platform/variables.tf describes what each one does.

variable "environment" {
  description = "The environment's name, in every resource name."
  type        = string
  default     = "production"
  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "account_id" {
  description = "The AWS account the environment lives in; Terraform refuses to touch any other."
  type        = string
}

variable "region" {
  description = "The AWS region."
  type        = string
}

variable "ecr_account_id" {
  description = "The account of the ECR repositories (terraform/bootstrap), when not this one."
  type        = string
  default     = null
}

variable "image_tag" {
  description = "The release the services run: the tag pushed to ECR (the git commit)."
  type        = string
}

variable "migrate_image_tag" {
  description = "The release the migrate tasks run, when it is not image_tag: set it to the next release to migrate before the services roll."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "ACM certificate of the public host name (the ALB's HTTPS listener)."
  type        = string
}

variable "mail_from" {
  description = "Sender of every email (USER__MAIL_FROM), an address SES may send from."
  type        = string
}

# Network -------------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "The VPC's range."
  type        = string
  default     = "10.30.0.0/16"
}

variable "availability_zones" {
  description = "The availability zones of the VPC (2 or 3); MSK's broker count is a multiple of their number."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per zone."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "Interface endpoints for ECR, logs, Secrets Manager, KMS and SSM."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "How long every log group keeps its logs."
  type        = number
  default     = 365
}

variable "deletion_protection" {
  description = "Protect Postgres and the load balancer from deletion (and keep final snapshots and access logs)."
  type        = bool
  default     = true
}

# Postgres ------------------------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.r7g.large"
}

variable "db_allocated_storage" {
  description = "Initial storage, GiB."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "A standby in another zone."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated backups."
  type        = number
  default     = 30
}

variable "db_performance_insights_retention_days" {
  description = "Performance Insights retention: 7 or a multiple of 31."
  type        = number
  default     = 31
}

# Redis ---------------------------------------------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_replicas" {
  description = "Redis replicas in other zones (at least 1)."
  type        = number
  default     = 1
}

# Kafka ---------------------------------------------------------------------------------------

variable "kafka_broker_count" {
  description = "MSK brokers, a multiple of the number of availability zones."
  type        = number
  default     = 3
}

variable "kafka_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "kafka_volume_size" {
  description = "Storage per broker, GiB."
  type        = number
  default     = 500
}

variable "kafka_replication_factor" {
  description = "Replicas of every partition."
  type        = number
  default     = 3
}

variable "kafka_min_insync_replicas" {
  description = "Replicas acknowledging a write."
  type        = number
  default     = 2
}

variable "kafka_partitions" {
  description = "Partitions per event topic: the most tasks of one service that consume at once."
  type        = number
  default     = 12
}

variable "kafka_plaintext_listener" {
  description = "Open MSK's PLAINTEXT listener inside the VPC: needed until the services speak TLS and SASL to Kafka."
  type        = bool
  default     = true
}

variable "kafka_enhanced_monitoring" {
  description = "MSK monitoring level."
  type        = string
  default     = "PER_TOPIC_PER_BROKER"
}

# Services ------------------------------------------------------------------------------------

variable "service_sizes" {
  description = "Per service: task CPU units, memory MiB, fewest and most tasks (keep max at or below kafka_partitions)."
  type = map(object({
    cpu    = number
    memory = number
    min    = number
    max    = number
  }))
  default = {
    user-service    = { cpu = 1024, memory = 2048, min = 3, max = 12 }
    point-service   = { cpu = 1024, memory = 2048, min = 3, max = 12 }
    rewards-service = { cpu = 512, memory = 1024, min = 2, max = 12 }
    admin-service   = { cpu = 512, memory = 1024, min = 2, max = 6 }
    payment-service = { cpu = 512, memory = 1024, min = 3, max = 12 }
  }
}

variable "services_running" {
  description = "Run the services' tasks. false (the first apply) creates everything with no service task, so that secrets, roles, topics and migrations can be done before any starts."
  type        = bool
  default     = true
}

variable "use_spot" {
  description = "Run the services on Fargate Spot."
  type        = bool
  default     = false
}

variable "consumer_lag_target_per_task" {
  description = "Kafka messages behind per task that the lag policy scales to."
  type        = number
  default     = 1000
}

variable "enable_execute_command" {
  description = "Allow ECS Exec into the service tasks."
  type        = bool
  default     = false
}

variable "rust_log" {
  description = "RUST_LOG of every service."
  type        = string
  default     = "info"
}

variable "otlp_endpoint" {
  description = "OTEL_EXPORTER_OTLP_ENDPOINT (an OpenTelemetry collector), or null for no traces."
  type        = string
  default     = null
}

variable "stripe_base_url" {
  description = "PAYMENT__STRIPE__BASE_URL (test or live mode is the key's, not the URL's)."
  type        = string
  default     = "https://api.stripe.com"
}

variable "paypal_base_url" {
  description = "PAYMENT__PAYPAL__BASE_URL."
  type        = string
  default     = "https://api-m.paypal.com"
}

variable "payment_routing" {
  description = "PAYMENT__ROUTING: which PSP takes a charge, per currency."
  type        = string
  default     = "*:stripe>paypal"
}

# Kong ----------------------------------------------------------------------------------------

variable "kong_min_count" {
  description = "Fewest Kong tasks."
  type        = number
  default     = 3
}

variable "kong_max_count" {
  description = "Most Kong tasks."
  type        = number
  default     = 12
}

variable "waf_enabled" {
  description = "AWS WAF in front of the load balancer."
  type        = bool
  default     = true
}
