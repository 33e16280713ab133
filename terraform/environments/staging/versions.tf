terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Partial configuration: the bucket, lock table and key come from backend.hcl
  # (terraform init -backend-config=backend.hcl), made by terraform/bootstrap.
  backend "s3" {}
}
