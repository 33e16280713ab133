variable "name" {
  description = "The service's name, also its Service Connect name and its binary (user-service)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the resource names (tessera-production)."
  type        = string
}

variable "region" {
  description = "The AWS region."
  type        = string
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
  description = "The Service Connect namespace the service registers in."
  type        = string
}

variable "image" {
  description = "The service's image, by tag or digest (<account>.dkr.ecr.<region>.amazonaws.com/tessera/user-service:<git sha>)."
  type        = string
}

variable "migrate_image" {
  description = "The image the migrate task runs; null runs the service's image. Set to the next release's image to migrate before the services roll."
  type        = string
  default     = null
}

variable "image_repository_arn" {
  description = "The ECR repository of the image, which the execution role may pull from."
  type        = string
}

variable "port" {
  description = "The service's HTTP port (3001..3005)."
  type        = number
}

variable "cpu" {
  description = "Task CPU units (256 = 1/4 vCPU)."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Task memory, MiB."
  type        = number
  default     = 1024
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64: the architecture the image was built for."
  type        = string
  default     = "X86_64"
}

variable "environment" {
  description = "Plain environment variables of the container."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variables read from Secrets Manager at task start: the secret's ARN and, for a JSON secret, the key."
  type = map(object({
    arn = string
    key = optional(string)
  }))
  default = {}
}

variable "secret_kms_key_arns" {
  description = "KMS keys the secrets are encrypted with, which the execution role may decrypt through Secrets Manager."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  description = "The VPC's range: the service may connect anywhere inside it."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "security_group_id" {
  description = "The tasks' security group, made by the caller; this module adds its rules."
  type        = string
}

variable "allowed_security_group_ids" {
  description = "Who may reach the service's port: a name (for the rule's description) to a security group."
  type        = map(string)
}

variable "egress_internet_ports" {
  description = "TCP ports the service may reach on the internet, through NAT (443: PSPs, mail APIs, AWS)."
  type        = list(number)
  default     = [443]
}

variable "log_kms_key_arn" {
  description = "KMS key of the log group (and of ECS Exec sessions)."
  type        = string
}

variable "log_retention_days" {
  description = "How long the service's logs are kept."
  type        = number
  default     = 365
}

variable "min_count" {
  description = "Fewest running tasks, and the count the service starts with (0 creates it stopped)."
  type        = number
  default     = 2
}

variable "max_count" {
  description = "Most running tasks."
  type        = number
  default     = 6
}

variable "cpu_target_percent" {
  description = "Average CPU the CPU policy scales to."
  type        = number
  default     = 60
}

variable "consumer_lag" {
  description = "Scale on Kafka consumer lag: the MSK cluster, the service's consumer group, the topics it consumes and the lag per task to aim for. null: CPU only."
  type = object({
    msk_cluster_name = string
    consumer_group   = string
    topics           = list(string)
    target_per_task  = number
  })
  default = null
}

variable "start_after" {
  description = "Services (their names, from the other modules' outputs) to create before this one: the ones it calls."
  type        = list(string)
  default     = []
}

variable "request_timeout_seconds" {
  description = "Service Connect's per-request timeout towards this service."
  type        = number
  default     = 60
}

variable "use_spot" {
  description = "Run on Fargate Spot (staging): cheaper, tasks can be reclaimed with two minutes' notice."
  type        = bool
  default     = false
}

variable "enable_execute_command" {
  description = "Allow ECS Exec into the tasks (the image has no shell, so mostly for the proxy)."
  type        = bool
  default     = false
}

variable "wait_for_steady_state" {
  description = "Make terraform apply wait for the deployment to finish."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
