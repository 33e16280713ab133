output "service_name" {
  description = "The ECS service."
  value       = aws_ecs_service.this.name
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
  value       = module.execution.log_group_name
}
