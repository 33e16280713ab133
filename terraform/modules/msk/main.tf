# Amazon MSK (provisioned, KRaft): encrypted at rest with our key, TLS between brokers, broker
# logs in CloudWatch, SASL/SCRAM on the TLS listener.
#
# The services' librdkafka is built without TLS and SASL (the workspace's rdkafka has no `ssl`
# feature and libs/events sets no security.protocol), so while `plaintext_listener` is on they
# use the in-VPC PLAINTEXT listener (9092), reachable only from the fleet's security groups.
# Turning it off (TLS only) needs that change in the services first: see docs/deploy.md.

data "aws_caller_identity" "current" {}

locals {
  scram_username = "tessera-admin"
}

resource "aws_security_group" "this" {
  name        = "${var.name}-msk"
  description = "Kafka brokers: the listeners from the fleet only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-msk" })
}

locals {
  # 9092 PLAINTEXT (only while plaintext_listener), 9094 TLS, 9096 SASL/SCRAM over TLS.
  broker_ports = concat(var.plaintext_listener ? [9092] : [], [9094, 9096])
  clients      = merge(var.allowed_security_group_ids, { kafka-topics-task = aws_security_group.tools.id })
  client_rules = {
    for pair in setproduct(keys(local.clients), local.broker_ports) : "${pair[0]}-${pair[1]}" => {
      client = pair[0]
      port   = pair[1]
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each                     = local.client_rules
  security_group_id            = aws_security_group.this.id
  description                  = "Kafka ${each.value.port} from ${each.value.client}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = local.clients[each.value.client]
}

resource "aws_msk_configuration" "this" {
  name = "${var.name}-brokers"
  # Topics are created on purpose, never by a typo in a producer.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=${var.replication_factor}
    min.insync.replicas=${var.min_insync_replicas}
    num.partitions=${var.partitions}
    unclean.leader.election.enable=false
    log.retention.hours=${var.retention_hours}
  PROPERTIES
}

resource "aws_cloudwatch_log_group" "brokers" {
  name              = "/msk/${var.name}/brokers"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count
  enhanced_monitoring    = var.enhanced_monitoring

  broker_node_group_info {
    instance_type   = var.instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.this.id]
    storage_info {
      ebs_storage_info {
        volume_size = var.volume_size
      }
    }
    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = var.kms_key_arn
    encryption_in_transit {
      client_broker = var.plaintext_listener ? "TLS_PLAINTEXT" : "TLS"
      in_cluster    = true
    }
  }

  client_authentication {
    unauthenticated = var.plaintext_listener
    sasl {
      scram = true
    }
  }

  # JMX and node exporters for Prometheus (open monitoring), beside CloudWatch.
  open_monitoring {
    prometheus {
      jmx_exporter {
        enabled_in_broker = true
      }
      node_exporter {
        enabled_in_broker = true
      }
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.brokers.name
      }
    }
  }

  tags = var.tags
}

# SASL/SCRAM credentials (MSK requires the AmazonMSK_ prefix and a customer managed key). The
# topic task uses them; the services will once they speak TLS.
resource "random_password" "scram" {
  length  = 32
  special = false
}

resource "aws_secretsmanager_secret" "scram" {
  name                    = "AmazonMSK_${var.name}_admin"
  description             = "SASL/SCRAM credentials of ${local.scram_username} on ${var.name}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "scram" {
  secret_id     = aws_secretsmanager_secret.scram.id
  secret_string = jsonencode({ username = local.scram_username, password = random_password.scram.result })
}

data "aws_iam_policy_document" "scram" {
  statement {
    sid       = "MskReadsTheCredentials"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.scram.arn]
    principals {
      type        = "Service"
      identifiers = ["kafka.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_secretsmanager_secret_policy" "scram" {
  secret_arn = aws_secretsmanager_secret.scram.arn
  policy     = data.aws_iam_policy_document.scram.json
}

resource "aws_msk_scram_secret_association" "this" {
  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [aws_secretsmanager_secret.scram.arn]
  depends_on      = [aws_secretsmanager_secret_version.scram]
}

# ---------------------------------------------------------------------------------------------
# The one-off task that creates the topics (kafka-topics.sh over SASL/SCRAM and TLS).

module "tools_execution" {
  source                     = "../ecs-task-execution"
  name_prefix                = var.name
  name                       = "kafka-topics"
  execution_policy_documents = [data.aws_iam_policy_document.tools_execution.json]
  log_kms_key_arn            = var.log_kms_key_arn
  log_retention_days         = var.log_retention_days
  tags                       = var.tags
}

data "aws_iam_policy_document" "tools_execution" {
  statement {
    sid       = "ReadTheScramCredentials"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.scram.arn]
  }
  statement {
    sid       = "DecryptTheScramCredentials"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_security_group" "tools" {
  name        = "${var.name}-kafka-topics"
  description = "The topic-creating task: out to the brokers and to its image registry"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-kafka-topics" })
}

resource "aws_vpc_security_group_egress_rule" "tools_brokers" {
  security_group_id = aws_security_group.tools.id
  description       = "SASL/SCRAM listener of the brokers"
  ip_protocol       = "tcp"
  from_port         = 9096
  to_port           = 9096
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "tools_https" {
  security_group_id = aws_security_group.tools.id
  description       = "The image registry and AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_ecs_task_definition" "topics" {
  family                   = "${var.name}-kafka-topics"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = module.tools_execution.execution_role_arn

  container_definitions = jsonencode([{
    name      = "kafka-topics"
    image     = var.tools_image
    essential = true
    # kafka-topics.sh writes its client configuration and JVM scratch files to /tmp.
    readonlyRootFilesystem = false
    entryPoint             = ["/bin/sh", "-ec"]
    command = [<<-SCRIPT
      umask 077
      cat > /tmp/client.properties <<EOF
      security.protocol=SASL_SSL
      sasl.mechanism=SCRAM-SHA-512
      sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_USERNAME" password="$KAFKA_PASSWORD";
      EOF
      topics() { /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP_SERVERS" --command-config /tmp/client.properties "$@"; }
      existing=$(topics --list)
      create() {
        partitions=$1; shift
        for topic in "$@"; do
          if printf '%s\n' "$existing" | grep -qxF "$topic"; then echo "exists: $topic"; continue; fi
          topics --create --if-not-exists --topic "$topic" --partitions "$partitions" \
            --replication-factor "$REPLICATION_FACTOR" --config min.insync.replicas="$MIN_INSYNC_REPLICAS"
          echo "created: $topic"
        done
      }
      create "$PARTITIONS" $EVENT_TOPICS
      create "$DEAD_LETTER_PARTITIONS" $DEAD_LETTER_TOPICS
    SCRIPT
    ]
    environment = [
      { name = "BOOTSTRAP_SERVERS", value = aws_msk_cluster.this.bootstrap_brokers_sasl_scram },
      { name = "EVENT_TOPICS", value = join(" ", local.event_topics) },
      { name = "DEAD_LETTER_TOPICS", value = join(" ", local.dead_letter_topics) },
      { name = "PARTITIONS", value = tostring(var.partitions) },
      { name = "DEAD_LETTER_PARTITIONS", value = tostring(var.dead_letter_partitions) },
      { name = "REPLICATION_FACTOR", value = tostring(var.replication_factor) },
      { name = "MIN_INSYNC_REPLICAS", value = tostring(var.min_insync_replicas) },
    ]
    secrets = [
      { name = "KAFKA_USERNAME", valueFrom = "${aws_secretsmanager_secret.scram.arn}:username::" },
      { name = "KAFKA_PASSWORD", valueFrom = "${aws_secretsmanager_secret.scram.arn}:password::" },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = module.tools_execution.log_group_name
        awslogs-region        = var.region
        awslogs-stream-prefix = "kafka-topics"
      }
    }
  }])

  tags = var.tags
}
