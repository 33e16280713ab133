variable "name" {
  description = "Replication group id (tessera-production)."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "subnet_ids" {
  description = "Data subnets of the nodes."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Who may reach Redis: a name (for the rule's description) to a security group."
  type        = map(string)
}

variable "engine_version" {
  description = "Redis version."
  type        = string
  default     = "7.1"
}

variable "node_type" {
  description = "Node type."
  type        = string
}

variable "replicas" {
  description = "Replicas in other zones (automatic failover and Multi-AZ need at least one)."
  type        = number
  validation {
    condition     = var.replicas >= 1
    error_message = "Give Redis at least one replica."
  }
}

variable "transit_encryption_mode" {
  description = "preferred (TLS and plaintext) or required (TLS only)."
  type        = string
  default     = "preferred"
  validation {
    condition     = contains(["preferred", "required"], var.transit_encryption_mode)
    error_message = "transit_encryption_mode must be preferred or required."
  }
}

variable "snapshot_retention_days" {
  description = "Days of daily snapshots."
  type        = number
  default     = 7
}

variable "secret_prefix" {
  description = "Prefix of the secret holding REDIS_URL (tessera/production)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the data at rest."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key of the REDIS_URL secret."
  type        = string
}

variable "log_kms_key_arn" {
  description = "KMS key of the slow-log group."
  type        = string
}

variable "log_retention_days" {
  description = "How long the slow log is kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
