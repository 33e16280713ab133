# One environment of the fleet on AWS: network, keys, the ECS cluster, Postgres, Redis, Kafka,
# the secrets, the five services and Kong in front of them. environments/staging/main.tf and
# environments/production/main.tf are the same file; the environments differ in their
# variables (variables.tf defaults, terraform.tfvars) and backend.hcl.

locals {
  name   = "tessera-${var.environment}"
  prefix = "tessera/${var.environment}"
  tags = {
    Project     = "tessera"
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  # Every service, its port and its consumer group (the name it passes to the event consumer).
  services = {
    user-service    = { port = 3001, consumer = "user" }
    point-service   = { port = 3002, consumer = "point" }
    rewards-service = { port = 3003, consumer = "rewards" }
    admin-service   = { port = 3004, consumer = "admin" }
    payment-service = { port = 3005, consumer = "payment" }
  }

  registry = "${coalesce(var.ecr_account_id, var.account_id)}.dkr.ecr.${var.region}.amazonaws.com"
  image    = { for s in keys(local.services) : s => "${local.registry}/tessera/${s}:${var.image_tag}" }
  migrate_image = {
    for s in keys(local.services) : s => var.migrate_image_tag == null ? null : "${local.registry}/tessera/${s}:${var.migrate_image_tag}"
  }
  repository_arn = {
    for s in keys(local.services) : s => "arn:aws:ecr:${var.region}:${coalesce(var.ecr_account_id, var.account_id)}:repository/tessera/${s}"
  }

  # What every service reads, without a prefix (docs/configuration.md).
  fleet_environment = merge(
    {
      LOG_FORMAT          = "json"
      RUST_LOG            = var.rust_log
      KAFKA_BROKERS       = module.msk.bootstrap_brokers
      KAFKA_CREATE_TOPICS = "false" # created with the cluster's replication by the kafka-topics task
      JWKS_URL            = "http://user-service:3001/api/v1/auth/jwks.json"
      # X-Forwarded-For is believed from Kong's subnets and from loopback: Service Connect's
      # proxy in each task hands the requests over from 127.0.0.1.
      TRUSTED_PROXIES = join(",", concat(["127.0.0.1/32"], module.network.private_subnet_cidrs))
      # KAFKA_GROUP_INSTANCE_ID stays unset: Fargate tasks have no stable name, and one value
      # shared by a service's tasks would make them fence each other out of the group.
    },
    var.otlp_endpoint == null ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT = var.otlp_endpoint },
  )

  fleet_secrets = {
    for s in keys(local.services) : s => {
      DATABASE_URL = { arn = module.rds.service_secret_arns[s], key = "url" }
      REDIS_URL    = { arn = module.redis.url_secret_arn, key = "url" }
    }
  }

  secret_keys = [module.secrets_key.key_arn, module.data_key.key_arn]

  service_security_groups = {
    user-service    = module.user_service.security_group_id
    point-service   = module.point_service.security_group_id
    rewards-service = module.rewards_service.security_group_id
    admin-service   = module.admin_service.security_group_id
    payment-service = module.payment_service.security_group_id
  }

  service_names = {
    user-service    = module.user_service.service_name
    point-service   = module.point_service.service_name
    rewards-service = module.rewards_service.service_name
    admin-service   = module.admin_service.service_name
    payment-service = module.payment_service.service_name
  }

  lag_scaling = {
    for s, service in local.services : s => {
      msk_cluster_name = module.msk.cluster_name
      consumer_group   = service.consumer
      topics           = module.msk.consumed_topics[service.consumer]
      target_per_task  = var.consumer_lag_target_per_task
    }
  }

  # Shared by every service module call.
  service_defaults = {
    name_prefix                   = local.name
    region                        = var.region
    cluster_arn                   = module.cluster.cluster_arn
    cluster_name                  = module.cluster.cluster_name
    service_connect_namespace_arn = module.cluster.service_connect_namespace_arn
    vpc_id                        = module.network.vpc_id
    vpc_cidr                      = module.network.vpc_cidr
    subnet_ids                    = module.network.private_subnet_ids
    log_kms_key_arn               = module.logs_key.key_arn
  }
}

# ---------------------------------------------------------------------------------------------
# Keys and network.

module "logs_key" {
  source                = "../../modules/kms"
  alias                 = "${local.name}-logs"
  description           = "CloudWatch Logs and ECS Exec sessions of ${local.name}"
  region                = var.region
  allow_cloudwatch_logs = true
}

module "data_key" {
  source      = "../../modules/kms"
  alias       = "${local.name}-data"
  description = "Postgres, Redis and Kafka storage of ${local.name}"
  region      = var.region
}

module "secrets_key" {
  source      = "../../modules/kms"
  alias       = "${local.name}-secrets"
  description = "Secrets Manager secrets of ${local.name}"
  region      = var.region
}

module "network" {
  source              = "../../modules/network"
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
  source             = "../../modules/cluster"
  name               = local.name
  log_kms_key_arn    = module.logs_key.key_arn
  log_retention_days = var.log_retention_days
}

# ---------------------------------------------------------------------------------------------
# Data stores.

module "rds" {
  source                              = "../../modules/rds"
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
  source                     = "../../modules/redis"
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
  source                     = "../../modules/msk"
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
  source      = "../../modules/secrets"
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
# The services. Who may call whom: Kong calls all five; every service reads the user service's
# JWKS; rewards reads points (REWARDS__POINT_URL); the admin service's reconciler calls user,
# point and payment.

module "user_service" {
  source = "../../modules/ecs-service"

  name                  = "user-service"
  port                  = local.services["user-service"].port
  image                 = local.image["user-service"]
  migrate_image         = local.migrate_image["user-service"]
  image_repository_arn  = local.repository_arn["user-service"]
  cpu                   = var.service_sizes["user-service"].cpu
  memory                = var.service_sizes["user-service"].memory
  min_count             = var.services_running ? var.service_sizes["user-service"].min : 0
  max_count             = var.service_sizes["user-service"].max
  use_spot              = var.use_spot
  consumer_lag          = local.lag_scaling["user-service"]
  egress_internet_ports = [443, 465, 587] # mail: SMTP over TLS and STARTTLS

  environment = merge(local.fleet_environment, {
    USER__HOST      = "0.0.0.0"
    USER__MAIL_FROM = var.mail_from
  })
  secrets = merge(local.fleet_secrets["user-service"], {
    USER__PII_KEY                  = { arn = module.secrets.arns["user-service/pii-key"] }
    USER__SMTP_URL                 = { arn = module.secrets.arns["user-service/smtp-url"] }
    USER__RECONCILER_CLIENT_SECRET = { arn = module.secrets.arns["shared/reconciler-client-secret"] }
  })
  secret_kms_key_arns = local.secret_keys

  allowed_security_group_ids = {
    kong            = module.kong.security_group_id
    point-service   = module.point_service.security_group_id
    rewards-service = module.rewards_service.security_group_id
    admin-service   = module.admin_service.security_group_id
    payment-service = module.payment_service.security_group_id
  }

  name_prefix                   = local.service_defaults.name_prefix
  region                        = local.service_defaults.region
  cluster_arn                   = local.service_defaults.cluster_arn
  cluster_name                  = local.service_defaults.cluster_name
  service_connect_namespace_arn = local.service_defaults.service_connect_namespace_arn
  vpc_id                        = local.service_defaults.vpc_id
  vpc_cidr                      = local.service_defaults.vpc_cidr
  subnet_ids                    = local.service_defaults.subnet_ids
  log_kms_key_arn               = local.service_defaults.log_kms_key_arn
  log_retention_days            = var.log_retention_days
  enable_execute_command        = var.enable_execute_command
}

module "point_service" {
  source = "../../modules/ecs-service"

  name                 = "point-service"
  port                 = local.services["point-service"].port
  image                = local.image["point-service"]
  migrate_image        = local.migrate_image["point-service"]
  image_repository_arn = local.repository_arn["point-service"]
  cpu                  = var.service_sizes["point-service"].cpu
  memory               = var.service_sizes["point-service"].memory
  min_count            = var.services_running ? var.service_sizes["point-service"].min : 0
  max_count            = var.service_sizes["point-service"].max
  use_spot             = var.use_spot
  consumer_lag         = local.lag_scaling["point-service"]
  start_after          = [module.user_service.service_name]

  environment = merge(local.fleet_environment, {
    POINT__HOST = "0.0.0.0"
  })
  secrets             = local.fleet_secrets["point-service"]
  secret_kms_key_arns = local.secret_keys

  allowed_security_group_ids = {
    kong            = module.kong.security_group_id
    rewards-service = module.rewards_service.security_group_id
    admin-service   = module.admin_service.security_group_id
  }

  name_prefix                   = local.service_defaults.name_prefix
  region                        = local.service_defaults.region
  cluster_arn                   = local.service_defaults.cluster_arn
  cluster_name                  = local.service_defaults.cluster_name
  service_connect_namespace_arn = local.service_defaults.service_connect_namespace_arn
  vpc_id                        = local.service_defaults.vpc_id
  vpc_cidr                      = local.service_defaults.vpc_cidr
  subnet_ids                    = local.service_defaults.subnet_ids
  log_kms_key_arn               = local.service_defaults.log_kms_key_arn
  log_retention_days            = var.log_retention_days
  enable_execute_command        = var.enable_execute_command
}

module "rewards_service" {
  source = "../../modules/ecs-service"

  name                 = "rewards-service"
  port                 = local.services["rewards-service"].port
  image                = local.image["rewards-service"]
  migrate_image        = local.migrate_image["rewards-service"]
  image_repository_arn = local.repository_arn["rewards-service"]
  cpu                  = var.service_sizes["rewards-service"].cpu
  memory               = var.service_sizes["rewards-service"].memory
  min_count            = var.services_running ? var.service_sizes["rewards-service"].min : 0
  max_count            = var.service_sizes["rewards-service"].max
  use_spot             = var.use_spot
  consumer_lag         = local.lag_scaling["rewards-service"]
  start_after          = [module.user_service.service_name, module.point_service.service_name]

  environment = merge(local.fleet_environment, {
    REWARDS__HOST      = "0.0.0.0"
    REWARDS__POINT_URL = "http://point-service:3002"
  })
  secrets             = local.fleet_secrets["rewards-service"]
  secret_kms_key_arns = local.secret_keys

  allowed_security_group_ids = {
    kong = module.kong.security_group_id
  }

  name_prefix                   = local.service_defaults.name_prefix
  region                        = local.service_defaults.region
  cluster_arn                   = local.service_defaults.cluster_arn
  cluster_name                  = local.service_defaults.cluster_name
  service_connect_namespace_arn = local.service_defaults.service_connect_namespace_arn
  vpc_id                        = local.service_defaults.vpc_id
  vpc_cidr                      = local.service_defaults.vpc_cidr
  subnet_ids                    = local.service_defaults.subnet_ids
  log_kms_key_arn               = local.service_defaults.log_kms_key_arn
  log_retention_days            = var.log_retention_days
  enable_execute_command        = var.enable_execute_command
}

module "admin_service" {
  source = "../../modules/ecs-service"

  name                 = "admin-service"
  port                 = local.services["admin-service"].port
  image                = local.image["admin-service"]
  migrate_image        = local.migrate_image["admin-service"]
  image_repository_arn = local.repository_arn["admin-service"]
  cpu                  = var.service_sizes["admin-service"].cpu
  memory               = var.service_sizes["admin-service"].memory
  min_count            = var.services_running ? var.service_sizes["admin-service"].min : 0
  max_count            = var.service_sizes["admin-service"].max
  use_spot             = var.use_spot
  consumer_lag         = local.lag_scaling["admin-service"]
  start_after = [
    module.user_service.service_name,
    module.point_service.service_name,
    module.payment_service.service_name,
  ]

  environment = merge(local.fleet_environment, {
    ADMIN__HOST                    = "0.0.0.0"
    ADMIN__RECONCILER__USER_URL    = "http://user-service:3001"
    ADMIN__RECONCILER__POINT_URL   = "http://point-service:3002"
    ADMIN__RECONCILER__PAYMENT_URL = "http://payment-service:3005"
  })
  secrets = merge(local.fleet_secrets["admin-service"], {
    ADMIN__RECONCILER__CLIENT_SECRET = { arn = module.secrets.arns["shared/reconciler-client-secret"] }
  })
  secret_kms_key_arns = local.secret_keys

  allowed_security_group_ids = {
    kong = module.kong.security_group_id
  }

  name_prefix                   = local.service_defaults.name_prefix
  region                        = local.service_defaults.region
  cluster_arn                   = local.service_defaults.cluster_arn
  cluster_name                  = local.service_defaults.cluster_name
  service_connect_namespace_arn = local.service_defaults.service_connect_namespace_arn
  vpc_id                        = local.service_defaults.vpc_id
  vpc_cidr                      = local.service_defaults.vpc_cidr
  subnet_ids                    = local.service_defaults.subnet_ids
  log_kms_key_arn               = local.service_defaults.log_kms_key_arn
  log_retention_days            = var.log_retention_days
  enable_execute_command        = var.enable_execute_command
}

module "payment_service" {
  source = "../../modules/ecs-service"

  name                 = "payment-service"
  port                 = local.services["payment-service"].port
  image                = local.image["payment-service"]
  migrate_image        = local.migrate_image["payment-service"]
  image_repository_arn = local.repository_arn["payment-service"]
  cpu                  = var.service_sizes["payment-service"].cpu
  memory               = var.service_sizes["payment-service"].memory
  min_count            = var.services_running ? var.service_sizes["payment-service"].min : 0
  max_count            = var.service_sizes["payment-service"].max
  use_spot             = var.use_spot
  consumer_lag         = local.lag_scaling["payment-service"]
  start_after          = [module.user_service.service_name]

  environment = merge(local.fleet_environment, {
    PAYMENT__HOST             = "0.0.0.0"
    PAYMENT__STRIPE__BASE_URL = var.stripe_base_url
    PAYMENT__PAYPAL__BASE_URL = var.paypal_base_url
    PAYMENT__ROUTING          = var.payment_routing
  })
  secrets = merge(local.fleet_secrets["payment-service"], {
    PAYMENT__STRIPE__SECRET_KEY     = { arn = module.secrets.arns["payment-service/stripe-secret-key"] }
    PAYMENT__STRIPE__WEBHOOK_SECRET = { arn = module.secrets.arns["payment-service/stripe-webhook-secret"] }
    PAYMENT__PAYPAL__CLIENT_ID      = { arn = module.secrets.arns["payment-service/paypal-client-id"] }
    PAYMENT__PAYPAL__CLIENT_SECRET  = { arn = module.secrets.arns["payment-service/paypal-client-secret"] }
    PAYMENT__PAYPAL__WEBHOOK_ID     = { arn = module.secrets.arns["payment-service/paypal-webhook-id"] }
  })
  secret_kms_key_arns = local.secret_keys

  allowed_security_group_ids = {
    kong          = module.kong.security_group_id
    admin-service = module.admin_service.security_group_id
  }

  name_prefix                   = local.service_defaults.name_prefix
  region                        = local.service_defaults.region
  cluster_arn                   = local.service_defaults.cluster_arn
  cluster_name                  = local.service_defaults.cluster_name
  service_connect_namespace_arn = local.service_defaults.service_connect_namespace_arn
  vpc_id                        = local.service_defaults.vpc_id
  vpc_cidr                      = local.service_defaults.vpc_cidr
  subnet_ids                    = local.service_defaults.subnet_ids
  log_kms_key_arn               = local.service_defaults.log_kms_key_arn
  log_retention_days            = var.log_retention_days
  enable_execute_command        = var.enable_execute_command
}

# ---------------------------------------------------------------------------------------------
# The edge.

module "kong" {
  source                        = "../../modules/kong"
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
