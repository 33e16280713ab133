output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "The VPC's address range."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Subnets of the load balancer."
  value       = aws_subnet.public[*].id
}

output "public_subnet_cidrs" {
  description = "Address ranges of the public subnets: where the load balancer's nodes connect from (Kong's KONG_TRUSTED_IPS)."
  value       = aws_subnet.public[*].cidr_block
}

output "private_subnet_ids" {
  description = "Subnets of the ECS tasks."
  value       = aws_subnet.private[*].id
}

output "private_subnet_cidrs" {
  description = "Address ranges of the private subnets: where Kong's tasks connect from (the services' TRUSTED_PROXIES)."
  value       = aws_subnet.private[*].cidr_block
}

output "data_subnet_ids" {
  description = "Subnets of Postgres, Redis and Kafka."
  value       = aws_subnet.data[*].id
}

output "nat_public_ips" {
  description = "The addresses the tasks reach the internet from (to allow-list at PSPs and mail providers)."
  value       = aws_eip.nat[*].public_ip
}
