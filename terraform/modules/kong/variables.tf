variable "name" {
  description = "Name prefix (tessera-production)."
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
  description = "The VPC's range: Kong may connect anywhere inside it."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of Kong's tasks."
  type        = list(string)
}

variable "trusted_proxy_cidrs" {
  description = "Where the load balancer's nodes connect from (the public subnets): KONG_TRUSTED_IPS."
  type        = list(string)
}

variable "cluster_arn" {
  description = "The ECS cluster."
  type        = string
}

variable "cluster_name" {
  description = "The ECS cluster's name."
  type        = string
}

variable "service_connect_namespace_arn" {
  description = "The Service Connect namespace the services are named in."
  type        = string
}

variable "upstream_services" {
  description = "The services Kong routes to (their names, from the service modules' outputs), created before Kong."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the public host name, in the same region."
  type        = string
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "declarative_config" {
  description = "Kong's declarative configuration (the text of gateway/kong.yaml)."
  type        = string
}

variable "image" {
  description = "Kong's image (the official image's mirror on ECR Public avoids Docker Hub's pull limits)."
  type        = string
  default     = "public.ecr.aws/docker/library/kong:3.9.1"
}

variable "redis_image" {
  description = "Image of Kong's rate-limit Redis."
  type        = string
  default     = "public.ecr.aws/docker/library/redis:7.4.2"
}

variable "cpu" {
  description = "Task CPU units."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Task memory, MiB."
  type        = number
  default     = 1024
}

variable "worker_processes" {
  description = "Nginx worker processes: one per vCPU of the task."
  type        = string
  default     = "1"
}

variable "min_count" {
  description = "Fewest Kong tasks."
  type        = number
  default     = 2
}

variable "max_count" {
  description = "Most Kong tasks."
  type        = number
  default     = 6
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer."
  type        = bool
}

variable "waf_enabled" {
  description = "Put AWS WAF in front of the load balancer."
  type        = bool
  default     = true
}

variable "waf_rate_limit_per_5_minutes" {
  description = "Requests per client address per 5 minutes above which WAF blocks (Kong's own limits are finer)."
  type        = number
  default     = 6000
}

variable "access_logs_retention_days" {
  description = "How long ALB access logs are kept."
  type        = number
  default     = 365
}

variable "access_logs_force_destroy" {
  description = "Let terraform destroy the access-log bucket with its logs (staging)."
  type        = bool
  default     = false
}

variable "log_kms_key_arn" {
  description = "KMS key of Kong's and WAF's log groups."
  type        = string
}

variable "log_retention_days" {
  description = "How long Kong's and WAF's logs are kept."
  type        = number
  default     = 365
}

variable "wait_for_steady_state" {
  description = "Make terraform apply wait for Kong's deployment to finish."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
