# The five services: what sets each apart (the map below), what they share, their security
# groups and the three waves that start them.

locals {
  # Each service, by its name (ECS service, Service Connect name, binary, ECR repository):
  #   port         its HTTP port, registered in Service Connect as <name>:<port>
  #                (gateway/kong.yaml, JWKS_URL and the URLs below call it there);
  #   env_prefix   of its own settings (<PREFIX>__HOST, ...);
  #   consumer     its Kafka consumer group, whose topics are modules/msk/topics.tf's;
  #   calls        the services it calls: they let it reach their port and start before it;
  #   start        its start wave (below): later than that of every service it calls;
  #   egress_internet_ports  what it may reach on the internet, through NAT;
  #   environment  its own settings, beside the fleet's;
  #   secrets      its own secrets: environment variable => secret of module.secrets.
  # Sizes (CPU, memory, task counts) are the environment's: var.service_sizes.
  services = {
    user-service = {
      port                  = 3001
      env_prefix            = "USER"
      consumer              = "user"
      calls                 = []
      start                 = 1
      egress_internet_ports = [443, 465, 587] # mail: SMTP over TLS and STARTTLS
      environment = {
        USER__MAIL_FROM = var.mail_from
      }
      secrets = {
        USER__PII_KEY                  = "user-service/pii-key"
        USER__SMTP_URL                 = "user-service/smtp-url"
        USER__RECONCILER_CLIENT_SECRET = "shared/reconciler-client-secret"
      }
    }
    point-service = {
      port                  = 3002
      env_prefix            = "POINT"
      consumer              = "point"
      calls                 = ["user-service"]
      start                 = 2
      egress_internet_ports = [443]
      environment           = {}
      secrets               = {}
    }
    rewards-service = {
      port                  = 3003
      env_prefix            = "REWARDS"
      consumer              = "rewards"
      calls                 = ["user-service", "point-service"]
      start                 = 3
      egress_internet_ports = [443]
      environment = {
        REWARDS__POINT_URL = "http://point-service:3002"
      }
      secrets = {}
    }
    admin-service = {
      port                  = 3004
      env_prefix            = "ADMIN"
      consumer              = "admin"
      calls                 = ["user-service", "point-service", "payment-service"] # the reconciler
      start                 = 3
      egress_internet_ports = [443]
      environment = {
        ADMIN__RECONCILER__USER_URL    = "http://user-service:3001"
        ADMIN__RECONCILER__POINT_URL   = "http://point-service:3002"
        ADMIN__RECONCILER__PAYMENT_URL = "http://payment-service:3005"
      }
      secrets = {
        ADMIN__RECONCILER__CLIENT_SECRET = "shared/reconciler-client-secret"
      }
    }
    payment-service = {
      port                  = 3005
      env_prefix            = "PAYMENT"
      consumer              = "payment"
      calls                 = ["user-service"]
      start                 = 2
      egress_internet_ports = [443] # the PSPs
      environment = {
        PAYMENT__STRIPE__BASE_URL = var.stripe_base_url
        PAYMENT__PAYPAL__BASE_URL = var.paypal_base_url
        PAYMENT__ROUTING          = var.payment_routing
      }
      secrets = {
        PAYMENT__STRIPE__SECRET_KEY     = "payment-service/stripe-secret-key"
        PAYMENT__STRIPE__WEBHOOK_SECRET = "payment-service/stripe-webhook-secret"
        PAYMENT__PAYPAL__CLIENT_ID      = "payment-service/paypal-client-id"
        PAYMENT__PAYPAL__CLIENT_SECRET  = "payment-service/paypal-client-secret"
        PAYMENT__PAYPAL__WEBHOOK_ID     = "payment-service/paypal-webhook-id"
      }
    }
  }

  ecr_account_id = coalesce(var.ecr_account_id, var.account_id)
  registry       = "${local.ecr_account_id}.dkr.ecr.${var.region}.amazonaws.com"

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

  # The arguments of ecs-service (through service-wave) for each service: its own, then the
  # fleet's shared ones.
  service_arguments = {
    for name, service in local.services : name => {
      port                 = service.port
      image                = "${local.registry}/tessera/${name}:${var.image_tag}"
      migrate_image        = var.migrate_image_tag == null ? null : "${local.registry}/tessera/${name}:${var.migrate_image_tag}"
      image_repository_arn = "arn:aws:ecr:${var.region}:${local.ecr_account_id}:repository/tessera/${name}"
      cpu                  = var.service_sizes[name].cpu
      memory               = var.service_sizes[name].memory
      min_count            = var.services_running ? var.service_sizes[name].min : 0
      max_count            = var.service_sizes[name].max
      consumer_lag = {
        msk_cluster_name = module.msk.cluster_name
        consumer_group   = service.consumer
        topics           = module.msk.consumed_topics[service.consumer]
        target_per_task  = var.consumer_lag_target_per_task
      }
      egress_internet_ports = service.egress_internet_ports
      calls                 = service.calls

      environment = merge(local.fleet_environment, { "${service.env_prefix}__HOST" = "0.0.0.0" }, service.environment)
      secrets = merge(
        {
          DATABASE_URL = { arn = module.rds.service_secret_arns[name], key = "url" }
          REDIS_URL    = { arn = module.redis.url_secret_arn, key = "url" }
        },
        { for env_name, secret in service.secrets : env_name => { arn = module.secrets.arns[secret] } },
      )
      secret_kms_key_arns = [module.secrets_key.key_arn, module.data_key.key_arn]

      # Its callers: Kong, and every service whose `calls` names it.
      security_group_id = aws_security_group.service[name].id
      allowed_security_group_ids = merge(
        { kong = module.kong.security_group_id },
        { for caller, other in local.services : caller => aws_security_group.service[caller].id if contains(other.calls, name) },
      )

      name_prefix                   = local.name
      region                        = var.region
      cluster_arn                   = module.cluster.cluster_arn
      cluster_name                  = module.cluster.cluster_name
      service_connect_namespace_arn = module.cluster.service_connect_namespace_arn
      vpc_cidr                      = module.network.vpc_cidr
      subnet_ids                    = module.network.private_subnet_ids
      log_kms_key_arn               = module.logs_key.key_arn
      log_retention_days            = var.log_retention_days
      use_spot                      = var.use_spot
      enable_execute_command        = var.enable_execute_command
    }
  }

  service_security_groups = { for name, group in aws_security_group.service : name => group.id }
  service_names = merge(
    module.services_wave_1.service_names,
    module.services_wave_2.service_names,
    module.services_wave_3.service_names,
  )
  migrate_task_definition_arns = merge(
    module.services_wave_1.migrate_task_definition_arns,
    module.services_wave_2.migrate_task_definition_arns,
    module.services_wave_3.migrate_task_definition_arns,
  )
}

# ---------------------------------------------------------------------------------------------
# Security groups. They are made here, not by ecs-service, so that Postgres, Redis, Kafka and
# the services a service calls can let it in (referring to resources, not to the services'
# modules) before the service itself is created; ecs-service adds their rules.

resource "aws_security_group" "service" {
  for_each    = local.services
  name        = "${local.name}-${each.key}"
  description = "${each.key}: its port from its callers only"
  vpc_id      = module.network.vpc_id
  tags        = { Name = "${local.name}-${each.key}" }

  lifecycle {
    precondition {
      condition     = contains([1, 2, 3], each.value.start)
      error_message = "${each.key}: start must be 1, 2 or 3, one of the waves of services.tf."
    }
  }
}

# ---------------------------------------------------------------------------------------------
# The services, in start waves. A task resolves only the Service Connect names that existed
# when it started, so a service is created after every service it calls (on the first apply;
# later deployments see them all). Terraform orders whole module calls, never the instances of
# one for_each, so each wave is a call of its own, created after the waves before it (`started`,
# which feeds each service's start_after):
#   1. the user service, whose JWKS every service reads;
#   2. point and payment, which call the user service;
#   3. rewards (calls point) and admin (its reconciler calls user, point and payment).
# Kong comes after all of them (module.kong's upstream_services).

module "services_wave_1" {
  source   = "../service-wave"
  services = { for name, arguments in local.service_arguments : name => arguments if local.services[name].start == 1 }
}

module "services_wave_2" {
  source   = "../service-wave"
  services = { for name, arguments in local.service_arguments : name => arguments if local.services[name].start == 2 }
  started  = module.services_wave_1.service_names
}

module "services_wave_3" {
  source   = "../service-wave"
  services = { for name, arguments in local.service_arguments : name => arguments if local.services[name].start == 3 }
  started  = merge(module.services_wave_1.service_names, module.services_wave_2.service_names)
}
