output "approval_url" {
  description = "Where approval links point (the Function URL, or your domain when approval_domain is set)."
  value       = local.approval_url
}

output "state_machine_arn" {
  description = "The rotation workflow."
  value       = aws_sfn_state_machine.rotation.arn
}

output "table_names" {
  description = "The DynamoDB tables, for KEYTURN_*_TABLE when running the CLI against this deployment."
  value = {
    connectors = aws_dynamodb_table.connectors.name
    changes    = aws_dynamodb_table.changes.name
    audit      = aws_dynamodb_table.audit.name
  }
}

output "audit_table_arn" {
  description = "For `aws dynamodb export-table-to-point-in-time --table-arn ...`."
  value       = aws_dynamodb_table.audit.arn
}

output "export_bucket" {
  description = "Where audit exports land (encrypted, versioned, private)."
  value       = aws_s3_bucket.exports.bucket
}

output "alarm_topic_arn" {
  description = "Subscribe on-call here (email, chat integrations)."
  value       = aws_sns_topic.alarms.arn
}

output "secret_names" {
  description = "keyturn's own secrets: the link-signing key and the approver routing (`keyturn approvers set FILE` writes it)."
  value = {
    signing_key = aws_secretsmanager_secret.signing_key.name
    routing     = aws_secretsmanager_secret.routing.name
  }
}

output "function_names" {
  description = "Every keyturn function."
  value       = merge({ for k, f in aws_lambda_function.function : k => f.function_name }, { "approval-callback" = aws_lambda_function.approval_callback.function_name })
}
