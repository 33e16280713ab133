output "service_names" {
  description = "Each service's ECS service name."
  value       = { for name, service in module.service : name => service.service_name }
}

output "migrate_task_definition_arns" {
  description = "Each service's migrate task definition."
  value       = { for name, service in module.service : name => service.migrate_task_definition_arn }
}
