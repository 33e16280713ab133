variable "name_prefix" {
  description = "Prefix of the names (tessera-production): the log group is /ecs/<name_prefix>/<name>, the roles <name_prefix>-<name>-execution and -task."
  type        = string
}

variable "name" {
  description = "The task's name (user-service, kong, kafka-topics)."
  type        = string
}

variable "execution_policy_documents" {
  description = "IAM policy documents (JSON) with what else the execution role may do to start the task: pull its image, read its secrets."
  type        = list(string)
  default     = []
}

variable "task_role" {
  description = "Also make a task role (with no permissions; the caller may attach some)."
  type        = bool
  default     = false
}

variable "log_kms_key_arn" {
  description = "KMS key of the log group."
  type        = string
}

variable "log_retention_days" {
  description = "How long the task's logs are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
