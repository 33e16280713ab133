variable "prefix" {
  description = "Prefix of every secret's name (tessera/production)."
  type        = string
}

variable "operator_secrets" {
  description = "Secrets a person fills in after the first apply: the name under the prefix to what it holds."
  type        = map(string)
  default     = {}
}

variable "generated_secrets" {
  description = "Secrets generated here (64 random letters and digits): their names under the prefix."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key encrypting the secrets."
  type        = string
}

variable "tags" {
  description = "Tags for every secret."
  type        = map(string)
  default     = {}
}
