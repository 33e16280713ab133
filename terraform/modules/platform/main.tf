# One environment of the fleet on AWS: network, keys, the ECS cluster, Postgres, Redis, Kafka,
# the secrets, the five services (services.tf) and Kong in front of them. Each environment
# (environments/staging, environments/production) calls this module once; they differ only in
# the variables they pass.

locals {
  name   = "tessera-${var.environment}"
  prefix = "tessera/${var.environment}"
}

# ---------------------------------------------------------------------------------------------
# Keys and network.

module "logs_key" {
  source                = "../kms"
  alias                 = "${local.name}-logs"
  description           = "CloudWatch Logs and ECS Exec sessions of ${local.name}"
  region                = var.region
  allow_cloudwatch_logs = true
}

module "data_key" {
  source      = "../kms"
  alias       = "${local.name}-data"
  description = "Postgres, Redis and Kafka storage of ${local.name}"
  region      = var.region
}

module "secrets_key" {
  source      = "../kms"
  alias       = "${local.name}-secrets"
  description = "Secrets Manager secrets of ${local.name}"
  region      = var.region
}

module "network" {
  source              = "../network"
  name                = local.name
  region              = var.region
  cidr_block          = var.vpc_cidr
  availability_zones  = var.availability_zones
  single_nat_gateway  = var.single_nat_gateway
  interface_endpoints = var.interface_endpoints
  log_kms_key_arn     = module.logs_key.key_arn
  log_retention_days  = var.log_retention_days
}

module "cluster" {
  source             = "../cluster"
  name               = local.name
  log_kms_key_arn    = module.logs_key.key_arn
  log_retention_days = var.log_retention_days
}

# ---------------------------------------------------------------------------------------------
# Data stores, open to the services' security groups (services.tf).

module "rds" {
  source                              = "../rds"
  name                                = local.name
  region                              = var.region
  vpc_id                              = module.network.vpc_id
  vpc_cidr                            = module.network.vpc_cidr
  subnet_ids                          = module.network.data_subnet_ids
  allowed_security_group_ids          = local.service_security_groups
  services                            = keys(local.services)
  secret_prefix                       = local.prefix
  instance_class                      = var.db_instance_class
  allocated_storage                   = var.db_allocated_storage
  multi_az                            = var.db_multi_az
  backup_retention_days               = var.db_backup_retention_days
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = !var.deletion_protection
  performance_insights_retention_days = var.db_performance_insights_retention_days
  kms_key_arn                         = module.data_key.key_arn
  secrets_kms_key_arn                 = module.secrets_key.key_arn
  log_kms_key_arn                     = module.logs_key.key_arn
  log_retention_days                  = var.log_retention_days
}

module "redis" {
  source                     = "../redis"
  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.data_subnet_ids
  allowed_security_group_ids = local.service_security_groups
  node_type                  = var.redis_node_type
  replicas                   = var.redis_replicas
  secret_prefix              = local.prefix
  kms_key_arn                = module.data_key.key_arn
  secrets_kms_key_arn        = module.secrets_key.key_arn
  log_kms_key_arn            = module.logs_key.key_arn
  log_retention_days         = var.log_retention_days
}

module "msk" {
  source                     = "../msk"
  name                       = local.name
  region                     = var.region
  vpc_id                     = module.network.vpc_id
  vpc_cidr                   = module.network.vpc_cidr
  subnet_ids                 = module.network.data_subnet_ids
  allowed_security_group_ids = local.service_security_groups
  broker_count               = var.kafka_broker_count
  instance_type              = var.kafka_instance_type
  volume_size                = var.kafka_volume_size
  replication_factor         = var.kafka_replication_factor
  min_insync_replicas        = var.kafka_min_insync_replicas
  partitions                 = var.kafka_partitions
  plaintext_listener         = var.kafka_plaintext_listener
  enhanced_monitoring        = var.kafka_enhanced_monitoring
  kms_key_arn                = module.data_key.key_arn
  log_kms_key_arn            = module.logs_key.key_arn
  log_retention_days         = var.log_retention_days
}

module "secrets" {
  source      = "../secrets"
  prefix      = local.prefix
  kms_key_arn = module.secrets_key.key_arn
  operator_secrets = {
    "user-service/pii-key"                  = "USER__PII_KEY: 32 random bytes, base64 (openssl rand -base64 32). Losing it loses every stored email address and phone number."
    "user-service/smtp-url"                 = "USER__SMTP_URL: smtps://<SES SMTP user>:<SES SMTP password>@email-smtp.<region>.amazonaws.com:465"
    "payment-service/stripe-secret-key"     = "PAYMENT__STRIPE__SECRET_KEY: sk_live_... (sk_test_... in staging)"
    "payment-service/stripe-webhook-secret" = "PAYMENT__STRIPE__WEBHOOK_SECRET: whsec_... of the endpoint https://<host>/api/v1/payments/webhooks/stripe"
    "payment-service/paypal-client-id"      = "PAYMENT__PAYPAL__CLIENT_ID of the PayPal REST app"
    "payment-service/paypal-client-secret"  = "PAYMENT__PAYPAL__CLIENT_SECRET of the PayPal REST app"
    "payment-service/paypal-webhook-id"     = "PAYMENT__PAYPAL__WEBHOOK_ID of the webhook https://<host>/api/v1/payments/webhooks/paypal"
  }
  # USER__RECONCILER_CLIENT_SECRET and ADMIN__RECONCILER__CLIENT_SECRET: one value, both sides.
  generated_secrets = ["shared/reconciler-client-secret"]
}

# ---------------------------------------------------------------------------------------------
# The edge: Kong starts after the services (upstream_services), which it reaches by their
# Service Connect names.

module "kong" {
  source                        = "../kong"
  name                          = local.name
  region                        = var.region
  vpc_id                        = module.network.vpc_id
  vpc_cidr                      = module.network.vpc_cidr
  public_subnet_ids             = module.network.public_subnet_ids
  private_subnet_ids            = module.network.private_subnet_ids
  trusted_proxy_cidrs           = module.network.public_subnet_cidrs
  cluster_arn                   = module.cluster.cluster_arn
  cluster_name                  = module.cluster.cluster_name
  service_connect_namespace_arn = module.cluster.service_connect_namespace_arn
  certificate_arn               = var.certificate_arn
  upstream_services             = values(local.service_names)
  declarative_config            = file("${path.module}/../../../gateway/kong.yaml")
  min_count                     = var.kong_min_count
  max_count                     = var.kong_max_count
  deletion_protection           = var.deletion_protection
  waf_enabled                   = var.waf_enabled
  access_logs_force_destroy     = !var.deletion_protection
  log_kms_key_arn               = module.logs_key.key_arn
  log_retention_days            = var.log_retention_days
}
