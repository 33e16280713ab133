output "address" {
  description = "The instance's host name."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "The instance's port."
  value       = aws_db_instance.this.port
}

output "security_group_id" {
  description = "The instance's security group."
  value       = aws_security_group.this.id
}

output "master_secret_arn" {
  description = "The master user's secret, managed by RDS."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "service_secret_arns" {
  description = "Each service's database secret (JSON: username, password, host, port, dbname, url)."
  value       = { for service, secret in aws_secretsmanager_secret.service : service => secret.arn }
}

output "bootstrap_task_definition_arn" {
  description = "The one-off task that creates the service roles."
  value       = aws_ecs_task_definition.bootstrap.arn
}

output "bootstrap_task_security_group_id" {
  description = "The db-bootstrap task's security group."
  value       = aws_security_group.bootstrap.id
}
