variable "name" {
  description = "Name prefix of every resource (tessera-production)."
  type        = string
}

variable "region" {
  description = "The AWS region (for the VPC endpoint service names)."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range, a /16."
  type        = string
}

variable "availability_zones" {
  description = "The availability zones to spread over: 2 or 3 of the region's (eu-west-1a, ...)."
  type        = list(string)
  validation {
    condition     = contains([2, 3], length(var.availability_zones))
    error_message = "Give 2 or 3 availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, but losing its zone cuts every task's way out); else one per zone."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "Create interface endpoints (ECR, CloudWatch Logs, Secrets Manager, KMS, SSM messages) in the private subnets."
  type        = bool
  default     = true
}

variable "log_kms_key_arn" {
  description = "KMS key encrypting the flow logs' log group."
  type        = string
}

variable "log_retention_days" {
  description = "How long flow logs are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
