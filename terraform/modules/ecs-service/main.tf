# One service of the fleet on Fargate: its task definition (and a twin that runs `migrate` once
# before a deploy), the ECS service reachable by Service Connect as <name>:<port>, the rules of
# its security group, its logs and its two roles (ecs-task-execution), and its autoscaling.
#
# The security group itself is the caller's (security_group_id): the platform makes the fleet's
# groups first, so that Postgres, Redis, Kafka and the other services can let a service in
# before it exists.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  family     = "${var.name_prefix}-${var.name}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Secrets Manager references: the whole secret, or one key of a JSON secret ("arn:key::").
  secret_refs = {
    for env_name, ref in var.secrets :
    env_name => ref.key == null ? ref.arn : "${ref.arn}:${ref.key}::"
  }
  secret_arns = distinct([for ref in values(var.secrets) : ref.arn])

  log_configuration = {
    logDriver = "awslogs"
    options = {
      awslogs-group         = module.execution.log_group_name
      awslogs-region        = var.region
      awslogs-stream-prefix = "app"
      # A slow log pipeline must not block the service's stdout.
      mode            = "non-blocking"
      max-buffer-size = "25m"
    }
  }

  container = {
    name                   = "app"
    image                  = var.image
    essential              = true
    readonlyRootFilesystem = true
    environment            = [for k in sort(keys(var.environment)) : { name = k, value = var.environment[k] }]
    secrets                = [for k in sort(keys(local.secret_refs)) : { name = k, valueFrom = local.secret_refs[k] }]
    logConfiguration       = local.log_configuration
    # The binary is PID 1 and handles SIGTERM itself (drains HTTP, stops the consumers after
    # their current batch); this is how long ECS waits before SIGKILL.
    stopTimeout     = 30
    linuxParameters = { initProcessEnabled = true }
    ulimits         = [{ name = "nofile", softLimit = 65536, hardLimit = 65536 }]
  }
}

# ---------------------------------------------------------------------------------------------
# Logs and roles. The execution role is what ECS uses to start the task (pull the image, read
# the secrets, write logs); the task role is what the service itself may do in AWS: nothing,
# unless ECS Exec is allowed.

module "execution" {
  source                     = "../ecs-task-execution"
  name_prefix                = var.name_prefix
  name                       = var.name
  execution_policy_documents = [data.aws_iam_policy_document.execution.json]
  task_role                  = true
  log_kms_key_arn            = var.log_kms_key_arn
  log_retention_days         = var.log_retention_days
  tags                       = var.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # the action has no resource-level permissions
  }
  statement {
    sid       = "PullTheServiceImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [var.image_repository_arn]
  }
  dynamic "statement" {
    for_each = length(local.secret_arns) > 0 ? [1] : []
    content {
      sid       = "ReadItsSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.secret_arns
    }
  }
  dynamic "statement" {
    for_each = length(var.secret_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptItsSecrets"
      actions   = ["kms:Decrypt"]
      resources = var.secret_kms_key_arns
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${var.region}.amazonaws.com"]
      }
    }
  }
}

data "aws_iam_policy_document" "exec" {
  statement {
    sid = "EcsExecChannel"
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"] # these actions have no resource-level permissions
  }
  statement {
    sid       = "EcsExecSessionEncryption"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.log_kms_key_arn]
  }
  statement {
    sid       = "EcsExecSessionLog"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/ecs/${var.cluster_name}/exec:*"]
  }
  statement {
    sid       = "EcsExecFindsItsLogGroup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
  }
}

resource "aws_iam_role_policy" "exec" {
  count  = var.enable_execute_command ? 1 : 0
  name   = "ecs-exec"
  role   = module.execution.task_role_name
  policy = data.aws_iam_policy_document.exec.json
}

# ---------------------------------------------------------------------------------------------
# Network: only the callers named in allowed_security_group_ids (Kong, the services that call
# this one) reach the port; out, the VPC (Postgres, Redis, Kafka, the other services) and the
# internet on the listed ports (PSPs, mail, AWS APIs).

resource "aws_vpc_security_group_ingress_rule" "callers" {
  for_each                     = var.allowed_security_group_ids
  security_group_id            = var.security_group_id
  description                  = "${var.name} port from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_egress_rule" "vpc" {
  security_group_id = var.security_group_id
  description       = "Postgres, Redis, Kafka and the other services inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 1
  to_port           = 65535
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "internet" {
  for_each          = toset([for p in var.egress_internet_ports : tostring(p)])
  security_group_id = var.security_group_id
  description       = "Out to the internet on ${each.key}"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.key)
  to_port           = tonumber(each.key)
  cidr_ipv4         = "0.0.0.0/0"
}

# ---------------------------------------------------------------------------------------------
# Task definitions.

resource "aws_ecs_task_definition" "service" {
  family                   = local.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = module.execution.execution_role_arn
  task_role_arn            = module.execution.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([merge(local.container, {
    command = ["serve"]
    # appProtocol http: Service Connect's proxy balances per request and reports HTTP metrics.
    portMappings = [{ name = "http", containerPort = var.port, protocol = "tcp", appProtocol = "http" }]
    healthCheck = {
      # The image has no shell and no curl: the binary asks its own /health/live.
      command     = ["CMD", "/usr/local/bin/service", "healthcheck"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 60 # connects and migrates its schema before it listens
    }
  })])

  tags = var.tags
}

# The same container running `migrate`: applies the schema's migrations and exits. Run once per
# release before the services roll (terraform/scripts/run-task).
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${local.family}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = module.execution.execution_role_arn
  task_role_arn            = module.execution.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([merge(local.container, {
    image   = coalesce(var.migrate_image, var.image)
    command = ["migrate"]
    logConfiguration = merge(local.log_configuration, {
      options = merge(local.log_configuration.options, { awslogs-stream-prefix = "migrate" })
    })
  })])

  tags = var.tags
}

# ---------------------------------------------------------------------------------------------
# The service.

# A task resolves only the Service Connect names that existed when it started: the services
# this one calls must be registered first (on the first apply; later deployments see them all).
resource "terraform_data" "start_after" {
  input = var.start_after
}

resource "aws_ecs_service" "this" {
  name                    = var.name
  cluster                 = var.cluster_arn
  task_definition         = aws_ecs_task_definition.service.arn
  desired_count           = var.min_count
  platform_version        = "LATEST"
  enable_execute_command  = var.enable_execute_command
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  # Roll one new task in beside each old one; a deployment whose tasks never turn healthy is
  # stopped and rolled back to the last one that did.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  # terraform apply returns once the new tasks are healthy (or fails when they roll back).
  wait_for_steady_state = var.wait_for_steady_state

  capacity_provider_strategy {
    capacity_provider = var.use_spot ? "FARGATE_SPOT" : "FARGATE"
    weight            = 1
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_id]
    assign_public_ip = false
  }

  service_connect_configuration {
    enabled   = true
    namespace = var.service_connect_namespace_arn

    service {
      port_name      = "http"
      discovery_name = var.name
      client_alias {
        port     = var.port
        dns_name = var.name
      }
      timeout {
        # Longer than Kong's upstream timeout's share of a request (a 16 MiB settlement file).
        per_request_timeout_seconds = var.request_timeout_seconds
      }
    }

    log_configuration {
      log_driver = "awslogs"
      options = {
        awslogs-group         = module.execution.log_group_name
        awslogs-region        = var.region
        awslogs-stream-prefix = "service-connect"
      }
    }
  }

  lifecycle {
    # Autoscaling owns the count once the service exists.
    ignore_changes = [desired_count]
  }

  depends_on = [terraform_data.start_after]
  tags       = var.tags
}

# ---------------------------------------------------------------------------------------------
# Autoscaling: on CPU, and for consumers on the Kafka lag per task. Scale-out is whichever asks
# for more tasks; scale-in only happens when both agree.

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_count
  max_capacity       = var.max_count
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${local.family}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
    target_value       = var.cpu_target_percent
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
  }
}

# MSK publishes SumOffsetLag per consumer group and topic (AWS/Kafka); this policy keeps the
# group's total lag over every topic it consumes, divided by the running tasks, near the target.
# More tasks than partitions would sit idle: keep max_count at or below the topics' partitions.
resource "aws_appautoscaling_policy" "consumer_lag" {
  count              = var.consumer_lag == null ? 0 : 1
  name               = "${local.family}-consumer-lag"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.consumer_lag.target_per_task
    scale_out_cooldown = 60
    scale_in_cooldown  = 600

    customized_metric_specification {
      dynamic "metrics" {
        for_each = var.consumer_lag.topics
        content {
          id          = "lag${metrics.key}"
          label       = "lag of ${var.consumer_lag.consumer_group} on ${metrics.value}"
          return_data = false
          metric_stat {
            stat = "Sum"
            metric {
              namespace   = "AWS/Kafka"
              metric_name = "SumOffsetLag"
              dimensions {
                name  = "Cluster Name"
                value = var.consumer_lag.msk_cluster_name
              }
              dimensions {
                name  = "Consumer Group"
                value = var.consumer_lag.consumer_group
              }
              dimensions {
                name  = "Topic"
                value = metrics.value
              }
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        label       = "running tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = var.cluster_name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.this.name
            }
          }
        }
      }

      metrics {
        id = "lag_per_task"
        # SUM over the array skips topics without a data point (a group publishes lag only for
        # topics it has committed offsets on).
        expression  = "SUM([${join(",", [for i in range(length(var.consumer_lag.topics)) : "lag${i}"])}]) / tasks"
        label       = "consumer lag per task"
        return_data = true
      }
    }
  }
}
