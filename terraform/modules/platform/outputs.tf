output "alb_dns_name" {
  description = "Point the public host name at this (a Route 53 alias with alb_zone_id)."
  value       = module.kong.alb_dns_name
}

output "alb_zone_id" {
  description = "The load balancer's hosted zone id."
  value       = module.kong.alb_zone_id
}

output "cluster_name" {
  description = "The ECS cluster."
  value       = module.cluster.cluster_name
}

output "task_subnet_ids" {
  description = "Private subnets one-off tasks run in."
  value       = module.network.private_subnet_ids
}

output "one_off_tasks" {
  description = "The tasks run by hand (terraform/scripts/run-task): their task definition and security group."
  value = merge(
    {
      for name, arn in local.migrate_task_definition_arns : "${name}-migrate" => {
        task_definition = arn
        security_group  = aws_security_group.service[name].id
      }
    },
    {
      db-bootstrap = {
        task_definition = module.rds.bootstrap_task_definition_arn
        security_group  = module.rds.bootstrap_task_security_group_id
      }
      kafka-topics = {
        task_definition = module.msk.topics_task_definition_arn
        security_group  = module.msk.topics_task_security_group_id
      }
    },
  )
}

output "secrets_to_fill" {
  description = "Secrets Manager secrets holding REPLACE_ME until someone puts the real value in."
  value       = [for name in keys(module.secrets.arns) : "${local.prefix}/${name}" if name != "shared/reconciler-client-secret"]
}

output "kafka_bootstrap_brokers" {
  description = "KAFKA_BROKERS of the services."
  value       = module.msk.bootstrap_brokers
}

output "postgres_address" {
  description = "The Postgres host."
  value       = module.rds.address
}

output "nat_public_ips" {
  description = "Addresses the fleet reaches the internet from (for PSP and mail allow-lists)."
  value       = module.network.nat_public_ips
}
