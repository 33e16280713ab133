output "alb_dns_name" {
  description = "Point the public host name at this (a Route 53 alias with alb_zone_id)."
  value       = module.platform.alb_dns_name
}

output "alb_zone_id" {
  description = "The load balancer's hosted zone id."
  value       = module.platform.alb_zone_id
}

output "cluster_name" {
  description = "The ECS cluster."
  value       = module.platform.cluster_name
}

output "task_subnet_ids" {
  description = "Private subnets one-off tasks run in."
  value       = module.platform.task_subnet_ids
}

output "one_off_tasks" {
  description = "The tasks run by hand (terraform/scripts/run-task): their task definition and security group."
  value       = module.platform.one_off_tasks
}

output "secrets_to_fill" {
  description = "Secrets Manager secrets holding REPLACE_ME until someone puts the real value in."
  value       = module.platform.secrets_to_fill
}

output "kafka_bootstrap_brokers" {
  description = "KAFKA_BROKERS of the services."
  value       = module.platform.kafka_bootstrap_brokers
}

output "postgres_address" {
  description = "The Postgres host."
  value       = module.platform.postgres_address
}

output "nat_public_ips" {
  description = "Addresses the fleet reaches the internet from (for PSP and mail allow-lists)."
  value       = module.platform.nat_public_ips
}
