output "primary_endpoint" {
  description = "The primary's host name."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "security_group_id" {
  description = "Redis's security group."
  value       = aws_security_group.this.id
}

output "url_secret_arn" {
  description = "The secret holding REDIS_URL (JSON key url) and the AUTH token (auth_token)."
  value       = aws_secretsmanager_secret.url.arn
}
