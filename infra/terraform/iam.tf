# Least privilege, one policy per function: exactly the calls that function's
# code makes (the table in infra/README.md; infra/checks/parity.py holds the
# CDK app to the same actions). No wildcard actions; wildcard resources nowhere.

locals {
  connector_secrets = "arn:${data.aws_partition.current.partition}:secretsmanager:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:secret:${var.connector_secret_prefix}*"
  ses_identities = [
    for id in distinct([var.email_from, split("@", var.email_from)[1]]) :
    "arn:${data.aws_partition.current.partition}:ses:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:identity/${id}"
  ]
  idp_secrets  = compact([var.entra_secret_arn, var.okta_secret_arn])
  jira_secrets = var.jira == null ? [] : [var.jira.credentials_secret_arn]

  # The rotation steps and the connector-secret actions each needs.
  step_secret_actions = {
    rotate   = ["secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]
    verify   = ["secretsmanager:GetSecretValue"]
    finalize = ["secretsmanager:GetSecretValue", "secretsmanager:UpdateSecretVersionStage"]
    rollback = ["secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds", "secretsmanager:UpdateSecretVersionStage"]
  }

  policies = {
    "scanner"           = data.aws_iam_policy_document.scanner.json
    "request-approval"  = data.aws_iam_policy_document.request_approval.json
    "approval-callback" = data.aws_iam_policy_document.approval_callback.json
    "notify"            = data.aws_iam_policy_document.notify.json
    "request-key"       = data.aws_iam_policy_document.request_key.json
    "rotate"            = data.aws_iam_policy_document.step["rotate"].json
    "verify"            = data.aws_iam_policy_document.step["verify"].json
    "finalize"          = data.aws_iam_policy_document.step["finalize"].json
    "rollback"          = data.aws_iam_policy_document.step["rollback"].json
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "keyturn-${each.key}"
  role     = aws_iam_role.function[each.key].id
  policy   = local.policies[each.key]
}

# Logs go to the function's own group, nothing else.
data "aws_iam_policy_document" "logs" {
  for_each = local.functions
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  for_each = local.functions
  name     = "logs"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.logs[each.key].json
}

# Shared pieces. Every function appends to the audit chain: read the head,
# put the next item; never UpdateItem or DeleteItem, the trail is append-only.
data "aws_iam_policy_document" "audit" {
  statement {
    sid       = "Audit"
    actions   = ["dynamodb:PutItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.audit.arn]
  }
}

data "aws_iam_policy_document" "read_connectors" {
  statement {
    sid       = "ReadConnectors"
    actions   = ["dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.connectors.arn]
  }
}

data "aws_iam_policy_document" "send_email" {
  statement {
    sid       = "Email"
    actions   = ["ses:SendEmail"]
    resources = local.ses_identities
  }
}

data "aws_iam_policy_document" "scanner" {
  # Reminders load the change's connectors and email fresh links.
  source_policy_documents = [data.aws_iam_policy_document.audit.json, data.aws_iam_policy_document.read_connectors.json, data.aws_iam_policy_document.send_email.json]
  statement {
    sid       = "DueKeys"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.connectors.arn}/index/expiry-index"]
  }
  statement {
    sid       = "ClaimConnectors"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.connectors.arn]
  }
  # PutItem/DeleteItem also take and give back the scan lock item; UpdateItem
  # claims each reminder and alert on its change, once; BatchGetItem reads
  # the key hand-overs still waiting for their owner.
  statement {
    sid       = "RecordChanges"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.changes.arn]
  }
  statement {
    sid       = "StartWorkflow"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
  # Is a change's execution still running? (wedge repair, stuck-run alerts)
  statement {
    sid       = "FollowWorkflow"
    actions   = ["states:DescribeExecution"]
    resources = [local.executions_arn]
  }
  statement {
    sid       = "ReminderLinksAndRouting"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.signing_key.arn, aws_secretsmanager_secret.routing.arn]
  }
  # The daily run rotates keyturn's own signing keys on schedule (a new version each).
  statement {
    sid       = "RotateSigningKeys"
    actions   = ["secretsmanager:PutSecretValue"]
    resources = [aws_secretsmanager_secret.signing_key.arn, aws_secretsmanager_secret.audit_key.arn]
  }
  # The daily signed digest: one day's chain heads from the day index, a
  # full read only for the first digest, and the signing key.
  statement {
    sid       = "DigestHeads"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.audit.arn}/index/day-index"]
  }
  statement {
    sid       = "FirstDigest"
    actions   = ["dynamodb:Scan"]
    resources = [aws_dynamodb_table.audit.arn]
  }
  statement {
    sid       = "DigestKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.audit_key.arn]
  }
}

data "aws_iam_policy_document" "request_approval" {
  source_policy_documents = [data.aws_iam_policy_document.read_connectors.json, data.aws_iam_policy_document.audit.json, data.aws_iam_policy_document.send_email.json]
  statement {
    sid       = "OpenApproval"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.changes.arn]
  }
  statement {
    sid       = "SigningKeyRoutingJira"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_secretsmanager_secret.signing_key.arn, aws_secretsmanager_secret.routing.arn], local.jira_secrets)
  }
}

data "aws_iam_policy_document" "approval_callback" {
  source_policy_documents = [data.aws_iam_policy_document.read_connectors.json, data.aws_iam_policy_document.audit.json]
  statement {
    sid       = "RecordDecision"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.changes.arn]
  }
  statement {
    sid       = "SigningKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.signing_key.arn]
  }
  # The key intake form stores a pasted key as AWSPENDING; nothing else.
  statement {
    sid       = "StorePastedKey"
    actions   = ["secretsmanager:PutSecretValue"]
    resources = [local.connector_secrets]
  }
  # The only function that can resume a paused workflow: approvals resume the
  # parent execution, key hand-overs (AwaitKey) a Distributed Map child.
  # SendTaskSuccess has no resource type in IAM's action list, yet IAM
  # evaluates it against the state machine of the execution that owns the
  # token (denials read "...states:SendTaskSuccess on resource:
  # arn:aws:states:...:stateMachine:..."; aws-cdk-lib's grantTaskResponse
  # grants the state machine ARN). A child's state machine is
  # stateMachine:<name>/<map run label>: both forms, or the hand-over is
  # denied on real AWS. Only SendTaskSuccess: keyturn never fails a task or
  # sends heartbeats (the waiting states time out by themselves).
  statement {
    sid       = "ResumeWorkflow"
    actions   = ["states:SendTaskSuccess"]
    resources = [local.state_machine_arn, local.child_state_machines_arn]
  }
}

data "aws_iam_policy_document" "notify" {
  source_policy_documents = [data.aws_iam_policy_document.read_connectors.json, data.aws_iam_policy_document.audit.json, data.aws_iam_policy_document.send_email.json]
  statement {
    sid       = "CloseChange"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.changes.arn]
  }
  statement {
    sid       = "RoutingJira"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_secretsmanager_secret.routing.arn], local.jira_secrets)
  }
}

data "aws_iam_policy_document" "request_key" {
  source_policy_documents = [data.aws_iam_policy_document.read_connectors.json, data.aws_iam_policy_document.audit.json, data.aws_iam_policy_document.send_email.json]
  statement {
    sid       = "StoreIntakeToken"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.changes.arn]
  }
  statement {
    sid       = "SigningKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.signing_key.arn]
  }
}

data "aws_iam_policy_document" "step" {
  source_policy_documents = [data.aws_iam_policy_document.read_connectors.json, data.aws_iam_policy_document.audit.json]
  for_each                = local.step_secret_actions
  # verify only reads; the other steps record the connector's state.
  dynamic "statement" {
    for_each = each.key == "verify" ? [] : [1]
    content {
      sid       = "ConnectorState"
      actions   = ["dynamodb:UpdateItem"]
      resources = [aws_dynamodb_table.connectors.arn]
    }
  }
  statement {
    sid       = "ConnectorSecrets"
    actions   = each.value
    resources = [local.connector_secrets]
  }
  dynamic "statement" {
    for_each = length(local.idp_secrets) > 0 ? [1] : []
    content {
      sid       = "IdentityProviderCredentials"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.idp_secrets
    }
  }
  # finalize and rollback record each connector's outcome on its change.
  dynamic "statement" {
    for_each = contains(["finalize", "rollback"], each.key) ? [1] : []
    content {
      sid       = "RecordOutcome"
      actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [aws_dynamodb_table.changes.arn]
    }
  }
  # A rollback pages on-call: the routing names the escalation channel.
  dynamic "statement" {
    for_each = each.key == "rollback" ? [1] : []
    content {
      sid       = "EscalationRouting"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [aws_secretsmanager_secret.routing.arn]
    }
  }
  dynamic "statement" {
    for_each = each.key == "rollback" ? [1] : []
    content {
      sid       = "Email"
      actions   = ["ses:SendEmail"]
      resources = local.ses_identities
    }
  }
}
