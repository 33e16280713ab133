variable "name" {
  description = "Name of the cluster and of the Service Connect namespace (tessera-production)."
  type        = string
}

variable "log_kms_key_arn" {
  description = "KMS key for ECS Exec sessions and their log group."
  type        = string
}

variable "log_retention_days" {
  description = "How long ECS Exec session logs are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
