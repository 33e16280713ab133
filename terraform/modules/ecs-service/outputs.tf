output "service_name" {
  description = "The ECS service."
  value       = aws_ecs_service.this.name
}

output "security_group_id" {
  description = "The tasks' security group: allow it where the service connects (Postgres, Redis, Kafka, other services)."
  value       = aws_security_group.this.id
}

output "task_definition_arn" {
  description = "The service's task definition."
  value       = aws_ecs_task_definition.service.arn
}

output "migrate_task_definition_arn" {
  description = "The one-off task that migrates the service's schema."
  value       = aws_ecs_task_definition.migrate.arn
}

output "log_group_name" {
  description = "The service's log group."
  value       = aws_cloudwatch_log_group.this.name
}
