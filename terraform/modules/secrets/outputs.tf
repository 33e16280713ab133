output "arns" {
  description = "Every secret's ARN by its name under the prefix."
  value = merge(
    { for name, secret in aws_secretsmanager_secret.operator : name => secret.arn },
    { for name, secret in aws_secretsmanager_secret.generated : name => secret.arn },
  )
}
