# Kong 3.9 (DB-less, gateway/kong.yaml) on Fargate behind an internet-facing ALB, and the small
# Redis its rate limits count in.
#
# The ALB terminates TLS (ACM certificate), redirects HTTP to HTTPS, drops invalid headers,
# logs every request to S3 and, optionally, sits behind AWS WAF. Kong trusts X-Forwarded-For
# only from the ALB's subnets, so the client address it rate-limits on (and passes on) is the
# real one. Kong reaches the services by their Service Connect names, exactly as written in
# gateway/kong.yaml (http://user-service:3001, ...).

data "aws_caller_identity" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  proxy_port  = 8000
  status_port = 8100
}

# ---------------------------------------------------------------------------------------------
# Access logs. ALB log delivery supports only SSE-S3 on the bucket.

resource "aws_s3_bucket" "access_logs" {
  bucket        = "${var.name}-alb-logs-${local.account_id}"
  force_destroy = var.access_logs_force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_logs_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "AlbWritesAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/alb/AWSLogs/${local.account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }
  statement {
    sid       = "AlbLogDeliveryWritesAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/alb/AWSLogs/${local.account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  policy     = data.aws_iam_policy_document.access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

# ---------------------------------------------------------------------------------------------
# Security groups: the world reaches the ALB on 443 (and 80, which only redirects); only the
# ALB reaches Kong.

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "The public load balancer"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from anywhere"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from anywhere, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_kong" {
  for_each                     = toset([tostring(local.proxy_port), tostring(local.status_port)])
  security_group_id            = aws_security_group.alb.id
  description                  = "To Kong on ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.key)
  to_port                      = tonumber(each.key)
  referenced_security_group_id = aws_security_group.kong.id
}

resource "aws_security_group" "kong" {
  name        = "${var.name}-kong"
  description = "Kong: proxy and status ports from the load balancer only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-kong" })
}

resource "aws_vpc_security_group_ingress_rule" "kong_from_alb" {
  for_each                     = toset([tostring(local.proxy_port), tostring(local.status_port)])
  security_group_id            = aws_security_group.kong.id
  description                  = "From the load balancer on ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.key)
  to_port                      = tonumber(each.key)
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "kong_vpc" {
  security_group_id = aws_security_group.kong.id
  description       = "The services (Service Connect) inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 1
  to_port           = 65535
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "kong_https" {
  security_group_id = aws_security_group.kong.id
  description       = "The image registry and AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# ---------------------------------------------------------------------------------------------
# The load balancer.

resource "aws_lb" "this" {
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  desync_mitigation_mode     = "defensive"
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 60

  access_logs {
    bucket  = aws_s3_bucket.access_logs.id
    prefix  = "alb"
    enabled = true
  }

  tags       = var.tags
  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_lb_target_group" "kong" {
  name                 = "${var.name}-kong"
  port                 = local.proxy_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    # Kong's status API: ready once it has loaded the declarative configuration.
    path                = "/status/ready"
    port                = tostring(local.status_port)
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.kong.arn
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

# ---------------------------------------------------------------------------------------------
# WAF (optional): AWS's common, known-bad-input and IP-reputation rules and a per-address rate
# limit. The common rules' 8 KB body limit is only counted: Kong enforces the body limits of
# gateway/kong.yaml (1 MiB, 16 MiB for settlement files).

resource "aws_cloudwatch_log_group" "waf" {
  count             = var.waf_enabled ? 1 : 0
  name              = "aws-waf-logs-${var.name}" # WAF requires the prefix
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_wafv2_web_acl" "this" {
  count = var.waf_enabled ? 1 : 0
  name  = var.name
  scope = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "aws-common"
    priority = 10
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 20
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-ip-reputation"
    priority = 30
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-ip-reputation"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "rate-per-address"
    priority = 40
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit_per_5_minutes
        aggregate_key_type = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-per-address"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  count                   = var.waf_enabled ? 1 : 0
  resource_arn            = aws_wafv2_web_acl.this[0].arn
  log_destination_configs = [aws_cloudwatch_log_group.waf[0].arn]

  # Tokens and keys never reach the logs.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  count        = var.waf_enabled ? 1 : 0
  resource_arn = aws_lb.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this[0].arn
}

# ---------------------------------------------------------------------------------------------
# Kong on Fargate.

# Its log group, the execution role that writes it and a task role: Kong itself calls no AWS
# API, so its task role has no permissions.
module "kong_execution" {
  source             = "../ecs-task-execution"
  name_prefix        = var.name
  name               = "kong"
  task_role          = true
  log_kms_key_arn    = var.log_kms_key_arn
  log_retention_days = var.log_retention_days
  tags               = var.tags
}

resource "aws_ecs_task_definition" "kong" {
  family                   = "${var.name}-kong"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = module.kong_execution.execution_role_arn
  task_role_arn            = module.kong_execution.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name      = "kong"
    image     = var.image
    essential = true
    # Kong renders nginx.conf into its prefix at start, which must be writable; Fargate has no
    # tmpfs to put it on.
    readonlyRootFilesystem = false
    portMappings = [
      { name = "proxy", containerPort = local.proxy_port, protocol = "tcp" },
      { name = "status", containerPort = local.status_port, protocol = "tcp" },
    ]
    environment = [
      { name = "KONG_DATABASE", value = "off" },
      # The routing table, as JSON (yamldecode also checks the YAML at plan time).
      { name = "KONG_DECLARATIVE_CONFIG_STRING", value = jsonencode(yamldecode(var.declarative_config)) },
      { name = "KONG_PROXY_LISTEN", value = "0.0.0.0:${local.proxy_port}" },
      { name = "KONG_STATUS_LISTEN", value = "0.0.0.0:${local.status_port}" },
      { name = "KONG_ADMIN_LISTEN", value = "off" },
      # The client address: X-Forwarded-For as written by the ALB, whose nodes are in these subnets.
      { name = "KONG_TRUSTED_IPS", value = join(",", var.trusted_proxy_cidrs) },
      { name = "KONG_REAL_IP_HEADER", value = "X-Forwarded-For" },
      { name = "KONG_REAL_IP_RECURSIVE", value = "on" },
      { name = "KONG_PROXY_ACCESS_LOG", value = "/dev/stdout" },
      { name = "KONG_PROXY_ERROR_LOG", value = "/dev/stderr" },
      { name = "KONG_ADMIN_ERROR_LOG", value = "/dev/stderr" },
      { name = "KONG_STATUS_ACCESS_LOG", value = "off" },
      { name = "KONG_STATUS_ERROR_LOG", value = "/dev/stderr" },
      { name = "KONG_HEADERS", value = "off" },
      { name = "KONG_ANONYMOUS_REPORTS", value = "off" },
      { name = "KONG_NGINX_WORKER_PROCESSES", value = var.worker_processes },
    ]
    healthCheck = {
      command     = ["CMD", "kong", "health"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 30
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = module.kong_execution.log_group_name
        awslogs-region        = var.region
        awslogs-stream-prefix = "kong"
        mode                  = "non-blocking"
        max-buffer-size       = "25m"
      }
    }
    stopTimeout = 30
    ulimits     = [{ name = "nofile", softLimit = 65536, hardLimit = 65536 }]
  }])

  tags = var.tags
}

# Kong's tasks resolve only the Service Connect names that existed when they started: the
# services and Kong's Redis come first.
resource "terraform_data" "upstreams" {
  input = concat(var.upstream_services, [aws_ecs_service.redis.name])
}

resource "aws_ecs_service" "kong" {
  name                    = "kong"
  cluster                 = var.cluster_arn
  task_definition         = aws_ecs_task_definition.kong.arn
  desired_count           = var.min_count
  platform_version        = "LATEST"
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  wait_for_steady_state             = var.wait_for_steady_state
  health_check_grace_period_seconds = 60

  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.kong.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.kong.arn
    container_name   = "kong"
    container_port   = local.proxy_port
  }

  # A client of the namespace: user-service, point-service, ... resolve inside Kong's tasks.
  service_connect_configuration {
    enabled   = true
    namespace = var.service_connect_namespace_arn
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.https, terraform_data.upstreams]
  tags       = var.tags
}

resource "aws_appautoscaling_target" "kong" {
  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.kong.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_count
  max_capacity       = var.max_count
}

resource "aws_appautoscaling_policy" "kong_cpu" {
  name               = "${var.name}-kong-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.kong.service_namespace
  resource_id        = aws_appautoscaling_target.kong.resource_id
  scalable_dimension = aws_appautoscaling_target.kong.scalable_dimension

  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
    target_value       = 60
    scale_out_cooldown = 60
    scale_in_cooldown  = 300
  }
}

# ---------------------------------------------------------------------------------------------
# Kong's Redis: gateway/kong.yaml counts the authentication rate limit in Redis at `redis:6379`,
# without a password, so that every Kong task shares one budget per client. That is a Redis of
# Kong's own, registered in Service Connect as `redis`: the fleet's ElastiCache keeps its AUTH
# token and is never reachable from Kong. It holds only one-minute counters, in memory: one task
# (two would split the counts), and while it restarts Kong lets requests through
# (fault_tolerant) and the user service's own limit still applies.

module "redis_execution" {
  source             = "../ecs-task-execution"
  name_prefix        = var.name
  name               = "kong-redis"
  log_kms_key_arn    = var.log_kms_key_arn
  log_retention_days = var.log_retention_days
  tags               = var.tags
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-kong-redis"
  description = "Kong's rate-limit Redis: 6379 from Kong only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-kong-redis" })
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_kong" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from Kong"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.kong.id
}

resource "aws_vpc_security_group_egress_rule" "redis_https" {
  security_group_id = aws_security_group.redis.id
  description       = "The image registry and AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_ecs_task_definition" "redis" {
  family                   = "${var.name}-kong-redis"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = module.redis_execution.execution_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name      = "redis"
    image     = var.redis_image
    essential = true
    # The image's redis user: its entrypoint then starts the server without chown-ing anything.
    user                   = "999:999"
    readonlyRootFilesystem = true
    portMappings           = [{ name = "redis", containerPort = 6379, protocol = "tcp" }]
    # Counters only: nothing saved, bounded memory, oldest keys evicted first.
    command = [
      "redis-server",
      "--save", "",
      "--appendonly", "no",
      "--maxmemory", "128mb",
      "--maxmemory-policy", "allkeys-lru",
      "--protected-mode", "no",
    ]
    healthCheck = {
      command     = ["CMD", "redis-cli", "ping"]
      interval    = 10
      timeout     = 5
      retries     = 3
      startPeriod = 10
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = module.redis_execution.log_group_name
        awslogs-region        = var.region
        awslogs-stream-prefix = "kong-redis"
      }
    }
  }])

  tags = var.tags
}

resource "aws_ecs_service" "redis" {
  name                    = "kong-redis"
  cluster                 = var.cluster_arn
  task_definition         = aws_ecs_task_definition.redis.arn
  desired_count           = 1
  platform_version        = "LATEST"
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  # One task at a time: a replacement starts after the old one stops, counters start afresh.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  wait_for_steady_state = var.wait_for_steady_state

  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.redis.id]
    assign_public_ip = false
  }

  service_connect_configuration {
    enabled   = true
    namespace = var.service_connect_namespace_arn
    service {
      port_name      = "redis"
      discovery_name = "redis"
      client_alias {
        port     = 6379
        dns_name = "redis"
      }
    }
  }

  tags = var.tags
}
