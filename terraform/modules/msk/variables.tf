variable "name" {
  description = "Name of the cluster (tessera-production)."
  type        = string
}

variable "region" {
  description = "The AWS region."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's range."
  type        = string
}

variable "subnet_ids" {
  description = "Data subnets of the brokers, one per availability zone."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Who may reach the brokers: a name (for the rule's description) to a security group."
  type        = map(string)
}

variable "kafka_version" {
  description = "MSK's Kafka version; the .kraft ones run without ZooKeeper."
  type        = string
  default     = "3.9.x.kraft"
}

variable "broker_count" {
  description = "Brokers: a multiple of the number of subnets."
  type        = number
}

variable "instance_type" {
  description = "Broker instance type."
  type        = string
}

variable "volume_size" {
  description = "EBS storage per broker, GiB."
  type        = number
  default     = 100
}

variable "replication_factor" {
  description = "Replicas of every partition."
  type        = number
}

variable "min_insync_replicas" {
  description = "Replicas that must have a write before it is acknowledged (the producers use acks=all)."
  type        = number
}

variable "partitions" {
  description = "Partitions of each event topic: the most consumers of one group that can work at once."
  type        = number
}

variable "dead_letter_partitions" {
  description = "Partitions of each dead-letter topic."
  type        = number
  default     = 1
}

variable "retention_hours" {
  description = "How long events are kept on the brokers."
  type        = number
  default     = 168
}

variable "plaintext_listener" {
  description = "Also open the unauthenticated PLAINTEXT listener inside the VPC, which the services need until they speak TLS and SASL."
  type        = bool
  default     = false
}

variable "enhanced_monitoring" {
  description = "DEFAULT, PER_BROKER, PER_TOPIC_PER_BROKER or PER_TOPIC_PER_PARTITION. Consumer lag is published at every level."
  type        = string
  default     = "PER_TOPIC_PER_BROKER"
}

variable "kms_key_arn" {
  description = "KMS key encrypting the brokers' storage and the SCRAM secret."
  type        = string
}

variable "log_kms_key_arn" {
  description = "KMS key of the broker and task log groups."
  type        = string
}

variable "log_retention_days" {
  description = "How long broker logs are kept."
  type        = number
  default     = 365
}

variable "tools_image" {
  description = "Image with kafka-topics.sh for the topic task (mirror it into ECR to avoid Docker Hub's pull limits)."
  type        = string
  default     = "apache/kafka:3.9.1"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
