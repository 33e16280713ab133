output "cluster_name" {
  description = "The MSK cluster's name (the Cluster Name dimension of its metrics)."
  value       = aws_msk_cluster.this.cluster_name
}

output "cluster_arn" {
  description = "The MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers" {
  description = "PLAINTEXT bootstrap servers (host:9092,...), the services' KAFKA_BROKERS while plaintext_listener is on."
  value       = aws_msk_cluster.this.bootstrap_brokers
}

output "bootstrap_brokers_sasl_scram" {
  description = "SASL/SCRAM over TLS bootstrap servers (host:9096,...)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "security_group_id" {
  description = "The brokers' security group."
  value       = aws_security_group.this.id
}

output "event_topics" {
  description = "Every event topic."
  value       = local.event_topics
}

output "consumed_topics" {
  description = "Each consumer group's topics."
  value       = local.consumers
}

output "topics_task_definition_arn" {
  description = "The one-off task that creates the topics."
  value       = aws_ecs_task_definition.topics.arn
}

output "topics_task_security_group_id" {
  description = "The topic task's security group."
  value       = aws_security_group.tools.id
}
