# One Lambda per function: provided.al2023 on arm64, all running the one
# bootstrap `make lambdas` builds (keyturn-lambda: every function in one
# binary); KEYTURN_FUNCTION says which function each one is.

locals {
  lambda_dir = coalesce(var.lambda_dir, "${path.module}/../../target/lambda")
  lambda_zip = "${local.lambda_dir}/keyturn-lambda/bootstrap.zip"

  # Memory (MB) and timeout (s); the rotation steps wait on vendors with bounded retries.
  functions = {
    "scanner"           = { memory = 256, timeout = 300 }
    "request-approval"  = { memory = 128, timeout = 60 }
    "approval-callback" = { memory = 128, timeout = 30 }
    "notify"            = { memory = 128, timeout = 60 }
    "request-key"       = { memory = 128, timeout = 60 }
    "rotate"            = { memory = 128, timeout = 120 }
    "verify"            = { memory = 128, timeout = 300 }
    "finalize"          = { memory = 128, timeout = 120 }
    "rollback"          = { memory = 128, timeout = 120 }
  }

  signing_key_secret_name = "${trimsuffix(var.prefix, "-")}/link-signing-key"
  routing_secret_name     = "${trimsuffix(var.prefix, "-")}/approver-routing"
  audit_key_secret_name   = "${trimsuffix(var.prefix, "-")}/audit-signing-key"

  common_env = merge(
    {
      KEYTURN_CONNECTORS_TABLE        = aws_dynamodb_table.connectors.name
      KEYTURN_CHANGES_TABLE           = aws_dynamodb_table.changes.name
      KEYTURN_AUDIT_TABLE             = aws_dynamodb_table.audit.name
      KEYTURN_EMAIL_FROM              = var.email_from
      KEYTURN_SIGNING_KEY_SECRET      = local.signing_key_secret_name
      KEYTURN_ROUTING_SECRET          = local.routing_secret_name
      KEYTURN_AUDIT_KEY_SECRET        = local.audit_key_secret_name
      KEYTURN_DUE_WITHIN_DAYS         = tostring(var.due_within_days)
      KEYTURN_GROUPING                = var.grouping
      KEYTURN_APPROVAL_TIMEOUT        = var.approval_timeout
      KEYTURN_URGENT_APPROVAL_TIMEOUT = var.urgent_approval_timeout
      KEYTURN_INTAKE_TIMEOUT          = var.intake_timeout
      KEYTURN_APPROVAL_OVERDUE_HOURS  = tostring(var.approval_overdue_hours)
      KEYTURN_MAP_CONCURRENCY         = tostring(var.map_concurrency)
      RUST_LOG                        = "info"
    },
    var.link_ttl == null ? {} : { KEYTURN_LINK_TTL = var.link_ttl },
    length(var.allowed_hosts) == 0 ? {} : { KEYTURN_ALLOWED_HOSTS = join(",", var.allowed_hosts) },
    var.entra_secret_arn == null ? {} : { KEYTURN_ENTRA_SECRET = var.entra_secret_arn },
    var.okta_secret_arn == null ? {} : { KEYTURN_OKTA_SECRET = var.okta_secret_arn },
    var.jira == null ? {} : {
      KEYTURN_JIRA_URL     = var.jira.url
      KEYTURN_JIRA_PROJECT = var.jira.project
      KEYTURN_JIRA_SECRET  = var.jira.credentials_secret_arn
    },
  )

  # Only what a function reads beyond the common set; the state machine ARN
  # is built from its name so the scanner does not wait on the workflow.
  extra_env = {
    # The scanner signs fresh links for its reminders.
    "scanner"          = { KEYTURN_STATE_MACHINE_ARN = local.state_machine_arn, KEYTURN_APPROVAL_URL = local.approval_url }
    "request-approval" = { KEYTURN_APPROVAL_URL = local.approval_url }
    "request-key"      = { KEYTURN_APPROVAL_URL = local.approval_url }
  }
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:Logs hold ids and fingerprints, never key material; CloudWatch encrypts them at rest
  for_each          = local.functions
  name              = "/aws/lambda/${var.prefix}${each.key}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "${var.prefix}${each.key}"
  description        = "keyturn ${each.key}: exactly the calls it makes (see infra/README.md)"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_lambda_function" "function" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by Step Functions, Scheduler or the Function URL, which retry and alarm; a DLQ would hold nothing
  #checkov:skip=CKV_AWS_117:Talks only to AWS APIs and vendor SaaS endpoints over TLS; a VPC adds NAT cost and no isolation here
  #checkov:skip=CKV_AWS_173:Environment holds table names, ARNs and URLs only; credentials live in Secrets Manager
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the deployer owns; enable it with your own profile if required
  #checkov:skip=CKV_AWS_115:Scanner is capped at 1; the others are bounded by the workflow's Map MaxConcurrency and a cap would only drop approvals
  # approval-callback has its own block (approval.tf): request-approval's
  # environment names its URL, which a single for_each could not wait for.
  for_each         = { for k, v in local.functions : k => v if k != "approval-callback" }
  function_name    = "${var.prefix}${each.key}"
  role             = aws_iam_role.function[each.key].arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)
  memory_size      = each.value.memory
  timeout          = each.value.timeout
  # Two scans at once would race for the same changes; the conditional writes
  # make that safe, this makes it rare.
  reserved_concurrent_executions = each.key == "scanner" ? 1 : -1

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
  }

  environment {
    variables = merge(local.common_env, lookup(local.extra_env, each.key, {}), { KEYTURN_FUNCTION = each.key })
  }

  tracing_config {
    mode = "PassThrough"
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.function]
}
