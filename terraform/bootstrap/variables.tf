variable "account_id" {
  description = "The AWS account being bootstrapped."
  type        = string
}

variable "region" {
  description = "The region of the state bucket, the lock table and the image repositories."
  type        = string
}

variable "images_kept" {
  description = "Tagged images kept per repository (enough to roll back several releases)."
  type        = number
  default     = 100
}

variable "pull_account_ids" {
  description = "Other accounts whose environments pull the images from these repositories."
  type        = list(string)
  default     = []
}
