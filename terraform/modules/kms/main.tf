# One customer managed key with yearly rotation, and a key policy naming who may use it: the
# account (whose IAM policies then grant it to roles) and, optionally, AWS services that
# encrypt on the account's behalf (CloudWatch Logs cannot use a key through IAM alone).
#
# The key policy is written as JSON rather than with aws_iam_policy_document: in a key policy
# "Resource": "*" means this key, which IAM-policy linters otherwise read as "everything".

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  statements = concat(
    [{
      Sid       = "AccountAdministersTheKey"
      Effect    = "Allow"
      Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }],
    var.allow_cloudwatch_logs ? [{
      Sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
      Effect    = "Allow"
      Principal = { Service = "logs.${var.region}.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      Resource  = "*"
      Condition = {
        ArnLike = {
          "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"
        }
      }
    }] : [],
    length(var.service_principals) > 0 ? [{
      Sid       = "ServicesUseTheKeyForThisAccount"
      Effect    = "Allow"
      Principal = { Service = var.service_principals }
      Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
      }
    }] : [],
  )
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = jsonencode({ Version = "2012-10-17", Statement = local.statements })
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
