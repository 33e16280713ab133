# The staging environment: the AWS provider of its account and region, and the platform
# (terraform/modules/platform) built with this folder's variables (variables.tf, whose defaults
# size the environment, and terraform.tfvars, the account's own values).

provider "aws" {
  region = var.region
  # A plan for this environment never touches another account by mistake.
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = {
      Project     = "tessera"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

module "platform" {
  source = "../../modules/platform"

  environment                            = var.environment
  account_id                             = var.account_id
  region                                 = var.region
  ecr_account_id                         = var.ecr_account_id
  image_tag                              = var.image_tag
  migrate_image_tag                      = var.migrate_image_tag
  certificate_arn                        = var.certificate_arn
  mail_from                              = var.mail_from
  vpc_cidr                               = var.vpc_cidr
  availability_zones                     = var.availability_zones
  single_nat_gateway                     = var.single_nat_gateway
  interface_endpoints                    = var.interface_endpoints
  log_retention_days                     = var.log_retention_days
  deletion_protection                    = var.deletion_protection
  db_instance_class                      = var.db_instance_class
  db_allocated_storage                   = var.db_allocated_storage
  db_multi_az                            = var.db_multi_az
  db_backup_retention_days               = var.db_backup_retention_days
  db_performance_insights_retention_days = var.db_performance_insights_retention_days
  redis_node_type                        = var.redis_node_type
  redis_replicas                         = var.redis_replicas
  kafka_broker_count                     = var.kafka_broker_count
  kafka_instance_type                    = var.kafka_instance_type
  kafka_volume_size                      = var.kafka_volume_size
  kafka_replication_factor               = var.kafka_replication_factor
  kafka_min_insync_replicas              = var.kafka_min_insync_replicas
  kafka_partitions                       = var.kafka_partitions
  kafka_plaintext_listener               = var.kafka_plaintext_listener
  kafka_enhanced_monitoring              = var.kafka_enhanced_monitoring
  service_sizes                          = var.service_sizes
  services_running                       = var.services_running
  use_spot                               = var.use_spot
  consumer_lag_target_per_task           = var.consumer_lag_target_per_task
  enable_execute_command                 = var.enable_execute_command
  rust_log                               = var.rust_log
  otlp_endpoint                          = var.otlp_endpoint
  stripe_base_url                        = var.stripe_base_url
  paypal_base_url                        = var.paypal_base_url
  payment_routing                        = var.payment_routing
  kong_min_count                         = var.kong_min_count
  kong_max_count                         = var.kong_max_count
  waf_enabled                            = var.waf_enabled
}
