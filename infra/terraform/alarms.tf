# Alarms on failures, not only on success: every failure, rollback, stuck
# approval and unwatched expiry pages someone through the alarm topic.

resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key; alarm text holds no secrets
  name = "${var.prefix}alarms"
  tags = var.tags
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "AlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
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

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  # name => what it means, and the metric behind it. keyturn's own metrics are
  # CloudWatch EMF lines (namespace keyturn) written by the functions.
  alarms = {
    "workflow-failed" = {
      description = "A rotation workflow failed, timed out or was aborted"
      namespace   = "AWS/States", metric = "ExecutionsFailed", statistic = "Sum", period = 300
      dimensions  = { StateMachineArn = aws_sfn_state_machine.rotation.arn }
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    "rotation-rolled-back" = {
      description = "A rotation failed verification and was rolled back (connector needs_manual_intervention)"
      namespace   = "keyturn", metric = "RotationRolledBack", statistic = "Sum", period = 300
      dimensions  = { Step = "rollback" }
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    "rollback-failed" = {
      description = "A rollback could not restore the old key: act now"
      namespace   = "keyturn", metric = "RollbackFailed", statistic = "Sum", period = 300
      dimensions  = { Step = "rollback" }
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    "auth-failures" = {
      description = "A new key was refused (401/403) during verification"
      namespace   = "keyturn", metric = "AuthFailures", statistic = "Sum", period = 300
      dimensions  = { Step = "verify" }
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    "needs-manual-intervention" = {
      description = "Connectors are waiting for a human (keyturn status)"
      namespace   = "keyturn", metric = "NeedsManualIntervention", statistic = "Maximum", period = 86400
      dimensions  = {}
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    "approvals-overdue" = {
      description = "An approval or key intake has waited longer than the overdue bound"
      namespace   = "keyturn", metric = "ApprovalsOverdue", statistic = "Maximum", period = 86400
      dimensions  = {}
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    "expiring-unhandled" = {
      description = "A key expires within 7 days and no change is running for it"
      namespace   = "keyturn", metric = "ExpiringUnhandled", statistic = "Maximum", period = 86400
      dimensions  = {}
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    "wedges-repaired" = {
      description = "The scanner reset connectors left rotating by an execution that ended"
      namespace   = "keyturn", metric = "WedgesRepaired", statistic = "Maximum", period = 86400
      dimensions  = {}
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    "stuck-executions" = {
      description = "A change has run past its bound (KEYTURN_STUCK_AFTER)"
      namespace   = "keyturn", metric = "StuckExecutions", statistic = "Maximum", period = 86400
      dimensions  = {}
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    "scanner-errors" = {
      description = "The scanner failed or left work undone"
      namespace   = "AWS/Lambda", metric = "Errors", statistic = "Sum", period = 3600
      dimensions  = { FunctionName = aws_lambda_function.function["scanner"].function_name }
      comparison  = "GreaterThanOrEqualToThreshold", periods = 1, missing = "notBreaching"
    }
    # Silence is a failure too: no scan in two days means nobody watches expiries.
    "scanner-silent" = {
      description = "The scanner has not run for two days"
      namespace   = "AWS/Lambda", metric = "Invocations", statistic = "Sum", period = 86400
      dimensions  = { FunctionName = aws_lambda_function.function["scanner"].function_name }
      comparison  = "LessThanThreshold", periods = 2, missing = "breaching"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "alarm" {
  for_each            = local.alarms
  alarm_name          = "${var.prefix}${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  period              = each.value.period
  dimensions          = each.value.dimensions
  threshold           = 1
  comparison_operator = each.value.comparison
  evaluation_periods  = each.value.periods
  treat_missing_data  = each.value.missing
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_dashboard" "overview" {
  dashboard_name = "${var.prefix}overview"
  dashboard_body = jsonencode({
    widgets = concat(
      [for i, name in keys(local.alarms) : {
        type       = "alarm", x = (i % 3) * 8, y = floor(i / 3) * 6, width = 8, height = 6
        properties = { title = name, alarms = [aws_cloudwatch_metric_alarm.alarm[name].arn] }
      }],
      [
        {
          type = "metric", x = 0, y = 18, width = 12, height = 6
          properties = {
            title   = "Rotations", region = data.aws_region.current.region, stat = "Sum", period = 300
            metrics = [["keyturn", "RotationSucceeded", "Step", "finalize"], ["keyturn", "RotationRolledBack", "Step", "rollback"]]
          }
        },
        {
          type = "metric", x = 12, y = 18, width = 12, height = 6
          properties = {
            title   = "Time to rotate (s)", region = data.aws_region.current.region, stat = "p90", period = 300
            metrics = [["keyturn", "TimeToRotate", "Step", "finalize"]]
          }
        },
        {
          type = "metric", x = 0, y = 24, width = 24, height = 6
          properties = {
            title   = "Keys by state (scanner)", region = data.aws_region.current.region, stat = "Maximum", period = 86400
            metrics = [for m in ["DueKeys", "ExpiredKeys", "InvalidRecords", "NeedsManualIntervention", "ApprovalsOverdue", "ExpiringUnhandled"] : ["keyturn", m]]
          }
        },
      ],
    )
  })
}
