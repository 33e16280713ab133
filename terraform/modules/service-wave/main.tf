# The services of one start wave: one ecs-service per entry of `services`, each created after
# the services it calls, which earlier waves started (`started`).
#
# A task resolves only the Service Connect names that existed when it started, so a service must
# be registered before its callers start (on the first apply; later deployments see them all).
# Terraform orders whole module calls, never the instances of one for_each, so the platform calls
# this module once per wave: see modules/platform/services.tf.

module "service" {
  source   = "../ecs-service"
  for_each = var.services

  name                  = each.key
  port                  = each.value.port
  image                 = each.value.image
  migrate_image         = each.value.migrate_image
  image_repository_arn  = each.value.image_repository_arn
  cpu                   = each.value.cpu
  memory                = each.value.memory
  min_count             = each.value.min_count
  max_count             = each.value.max_count
  use_spot              = each.value.use_spot
  consumer_lag          = each.value.consumer_lag
  egress_internet_ports = each.value.egress_internet_ports
  start_after           = [for callee in each.value.calls : var.started[callee]]

  environment         = each.value.environment
  secrets             = each.value.secrets
  secret_kms_key_arns = each.value.secret_kms_key_arns

  security_group_id          = each.value.security_group_id
  allowed_security_group_ids = each.value.allowed_security_group_ids

  name_prefix                   = each.value.name_prefix
  region                        = each.value.region
  cluster_arn                   = each.value.cluster_arn
  cluster_name                  = each.value.cluster_name
  service_connect_namespace_arn = each.value.service_connect_namespace_arn
  vpc_cidr                      = each.value.vpc_cidr
  subnet_ids                    = each.value.subnet_ids
  log_kms_key_arn               = each.value.log_kms_key_arn
  log_retention_days            = each.value.log_retention_days
  enable_execute_command        = each.value.enable_execute_command
}
