# Postgres on RDS: one database, one schema and one login role per service. Encrypted with our
# key, TLS enforced, automated backups, Performance Insights, enhanced monitoring; Multi-AZ and
# deletion protection where the environment asks for them. The master password is managed by
# RDS in Secrets Manager and never appears in Terraform's state.
#
# The per-service roles are created by a one-off ECS task running bootstrap.sql.tftpl with psql
# (terraform/scripts/run-task <env> db-bootstrap), not by the cyrilgdn/postgresql provider:
# the database is only reachable from inside the VPC, and the task needs no network path from
# wherever Terraform runs. Their passwords are generated here and kept in Secrets Manager.

locals {
  roles = { for service in var.services : service => replace(service, "-", "_") }
}

resource "aws_security_group" "this" {
  name        = "${var.name}-postgres"
  description = "Postgres: 5432 from the fleet only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-postgres" })
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each                     = merge(var.allowed_security_group_ids, { db-bootstrap-task = aws_security_group.bootstrap.id })
  security_group_id            = aws_security_group.this.id
  description                  = "Postgres from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-postgres16-"
  family      = "postgres16"
  description = "Postgres settings of ${var.name}"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "500" # ms: slow statements are logged
  }
  parameter {
    name  = "log_lock_waits"
    value = "1"
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
  parameter {
    name  = "log_disconnections"
    value = "1"
  }
  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements"
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }

  tags = var.tags
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  db_name        = var.database_name
  username       = "tessera_admin"
  port           = 5432

  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  publicly_accessible    = false
  multi_az               = var.multi_az
  parameter_group_name   = aws_db_parameter_group.this.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  iam_database_authentication_enabled = var.iam_database_authentication

  backup_retention_period   = var.backup_retention_days
  backup_window             = "02:00-03:00"
  maintenance_window        = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = "${var.name}-final"

  auto_minor_version_upgrade = true
  apply_immediately          = false

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = var.performance_insights_retention_days
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.postgres]
}

# The log groups RDS exports to, created first so they get our retention and key.
resource "aws_cloudwatch_log_group" "postgres" {
  for_each          = toset(["postgresql", "upgrade"])
  name              = "/aws/rds/instance/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# ---------------------------------------------------------------------------------------------
# One role per service: its password, and its DATABASE_URL, in Secrets Manager.

resource "random_password" "service" {
  for_each = local.roles
  length   = 40
  special  = false # goes into a URL unescaped
}

resource "aws_secretsmanager_secret" "service" {
  for_each                = local.roles
  name                    = "${var.secret_prefix}/${each.key}/database"
  description             = "Postgres role ${each.value} of ${each.key}: username, password, url (its DATABASE_URL)"
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "service" {
  for_each  = local.roles
  secret_id = aws_secretsmanager_secret.service[each.key].id
  secret_string = jsonencode({
    username = each.value
    password = random_password.service[each.key].result
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    dbname   = var.database_name
    # TLS is enforced by the server (rds.force_ssl); sqlx verifies the certificate only with the
    # RDS CA bundle in the image (sslmode=verify-full&sslrootcert=...), see docs/deploy.md.
    url = "postgres://${each.value}:${random_password.service[each.key].result}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.database_name}?sslmode=require"
  })
}

# ---------------------------------------------------------------------------------------------
# The one-off task that creates the roles (psql as the master user).

module "bootstrap_execution" {
  source                     = "../ecs-task-execution"
  name_prefix                = var.name
  name                       = "db-bootstrap"
  execution_policy_documents = [data.aws_iam_policy_document.bootstrap_execution.json]
  log_kms_key_arn            = var.log_kms_key_arn
  log_retention_days         = var.log_retention_days
  tags                       = var.tags
}

data "aws_iam_policy_document" "bootstrap_execution" {
  statement {
    sid       = "ReadTheMasterAndServicePasswords"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_db_instance.this.master_user_secret[0].secret_arn], [for s in aws_secretsmanager_secret.service : s.arn])
  }
  statement {
    sid       = "DecryptThem"
    actions   = ["kms:Decrypt"]
    resources = distinct([var.kms_key_arn, var.secrets_kms_key_arn])
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_security_group" "bootstrap" {
  name        = "${var.name}-db-bootstrap"
  description = "The role-creating task: out to Postgres and to its image registry"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-db-bootstrap" })
}

resource "aws_vpc_security_group_egress_rule" "bootstrap_postgres" {
  security_group_id = aws_security_group.bootstrap.id
  description       = "Postgres"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "bootstrap_https" {
  security_group_id = aws_security_group.bootstrap.id
  description       = "The image registry and AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

locals {
  bootstrap_sql = templatefile("${path.module}/bootstrap.sql.tftpl", {
    database = var.database_name
    roles    = values(local.roles)
  })
}

resource "aws_ecs_task_definition" "bootstrap" {
  family                   = "${var.name}-db-bootstrap"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = module.bootstrap_execution.execution_role_arn

  container_definitions = jsonencode([{
    name                   = "db-bootstrap"
    image                  = var.bootstrap_image
    essential              = true
    user                   = "postgres"
    readonlyRootFilesystem = true
    # Passwords come from the environment (\getenv), never from the command line.
    entryPoint = ["/bin/sh", "-ec"]
    command    = ["psql --no-psqlrc --set ON_ERROR_STOP=1 --echo-errors <<'SQL'\n${local.bootstrap_sql}\nSQL\n"]
    environment = [
      { name = "PGHOST", value = aws_db_instance.this.address },
      { name = "PGPORT", value = tostring(aws_db_instance.this.port) },
      { name = "PGDATABASE", value = var.database_name },
      { name = "PGSSLMODE", value = "require" },
      { name = "PGCONNECT_TIMEOUT", value = "10" },
      { name = "PGAPPNAME", value = "db-bootstrap" },
    ]
    secrets = concat(
      [
        { name = "PGUSER", valueFrom = "${aws_db_instance.this.master_user_secret[0].secret_arn}:username::" },
        { name = "PGPASSWORD", valueFrom = "${aws_db_instance.this.master_user_secret[0].secret_arn}:password::" },
      ],
      [for service, role in local.roles : { name = "${upper(role)}_PASSWORD", valueFrom = "${aws_secretsmanager_secret.service[service].arn}:password::" }],
    )
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = module.bootstrap_execution.log_group_name
        awslogs-region        = var.region
        awslogs-stream-prefix = "db-bootstrap"
      }
    }
  }])

  tags = var.tags
}
