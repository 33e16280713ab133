output "state_bucket" {
  description = "bucket of the environments' backend.hcl."
  value       = aws_s3_bucket.state.id
}

output "lock_table" {
  description = "dynamodb_table of the environments' backend.hcl."
  value       = aws_dynamodb_table.locks.name
}

output "state_kms_key_alias" {
  description = "kms_key_id of the environments' backend.hcl."
  value       = aws_kms_alias.state.name
}

output "registry" {
  description = "Where to push the images: <registry>/tessera/<service>:<tag>."
  value       = "${var.account_id}.dkr.ecr.${var.region}.amazonaws.com"
}

output "repositories" {
  description = "The image repositories."
  value       = { for name, repo in aws_ecr_repository.service : name => repo.repository_url }
}
