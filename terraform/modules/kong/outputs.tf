output "alb_dns_name" {
  description = "The load balancer's DNS name: point the public host name at it (alias record)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "The load balancer's hosted zone, for a Route 53 alias record."
  value       = aws_lb.this.zone_id
}

output "security_group_id" {
  description = "Kong's tasks' security group: allow it into the services."
  value       = aws_security_group.kong.id
}

output "service_name" {
  description = "Kong's ECS service."
  value       = aws_ecs_service.kong.name
}

output "access_logs_bucket" {
  description = "Where the ALB writes its access logs."
  value       = aws_s3_bucket.access_logs.id
}
