output "log_group_name" {
  description = "The task's log group (awslogs-group)."
  value       = aws_cloudwatch_log_group.this.name
}

output "execution_role_arn" {
  description = "The execution role (the task definition's execution_role_arn)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "The task role (the task definition's task_role_arn), or null without one."
  value       = one(aws_iam_role.task[*].arn)
}

output "task_role_name" {
  description = "The task role's name, to attach policies to, or null without one."
  value       = one(aws_iam_role.task[*].name)
}
