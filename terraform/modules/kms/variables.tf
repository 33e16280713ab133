variable "alias" {
  description = "The key's alias, without the alias/ prefix (tessera-production-logs)."
  type        = string
}

variable "description" {
  description = "What the key encrypts."
  type        = string
}

variable "region" {
  description = "The region the key lives in (for the CloudWatch Logs service principal)."
  type        = string
}

variable "allow_cloudwatch_logs" {
  description = "Let CloudWatch Logs encrypt this account's log groups with the key."
  type        = bool
  default     = false
}

variable "service_principals" {
  description = "AWS service principals (kafka.amazonaws.com, ...) allowed to use the key on this account's behalf."
  type        = list(string)
  default     = []
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled deletion takes effect."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for the key."
  type        = map(string)
  default     = {}
}
