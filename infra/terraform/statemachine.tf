# The rotation workflow: statemachine/rotation.asl.json with its placeholders filled.

locals {
  state_machine_name = "${var.prefix}rotation"
  state_machine_arn  = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:stateMachine:${local.state_machine_name}"
  # The Distributed Map (RotateEach) runs one child execution per connector,
  # of a state machine named after the parent and the map run's label:
  # stateMachine:<name>/<label>, executions execution:<name>/<label>:<id>
  # (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).
  # IAM matches a grant on the parent's ARN against neither, so every grant
  # acting on children names both forms: the parent's and "<parent>/*".
  child_state_machines_arn = "${local.state_machine_arn}/*"
  # The workflow's executions (the scanner asks whether one still runs).
  executions_arn = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:execution:${local.state_machine_name}:*"
  # The Distributed Map's child executions (one per connector).
  child_executions_arn = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:execution:${local.state_machine_name}/*"

  # ASL placeholder => function, as in core/src/aws/local.rs and the CDK app.
  workflow_functions = {
    RequestApprovalFunctionArn = "request-approval"
    NotifyFunctionArn          = "notify"
    RequestKeyFunctionArn      = "request-key"
    RotateFunctionArn          = "rotate"
    VerifyFunctionArn          = "verify"
    FinalizeFunctionArn        = "finalize"
    RollbackFunctionArn        = "rollback"
  }
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

resource "aws_cloudwatch_log_group" "workflow" {
  #checkov:skip=CKV_AWS_158:Execution data is excluded from the logs; CloudWatch encrypts them at rest
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "workflow_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "workflow" {
  name               = "${var.prefix}workflow"
  description        = "keyturn rotation workflow: invokes its seven step functions, writes its logs"
  assume_role_policy = data.aws_iam_policy_document.workflow_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "workflow" {
  statement {
    actions = ["lambda:InvokeFunction"]
    resources = flatten([
      for fn in values(local.workflow_functions) : [aws_lambda_function.function[fn].arn, "${aws_lambda_function.function[fn].arn}:*"]
    ])
  }
  # The Distributed Map starts and follows one child execution per connector
  # (the statements of "IAM policies for using Distributed Map states", Step
  # Functions Developer Guide, with the parent and child forms of each ARN;
  # aws-cdk-lib's StateMachine grants the same for a Distributed Map).
  # Not granted, because nothing here calls them: RedriveExecution (keyturn
  # never redrives: a failed change is retried by the next scan as a new
  # change), ListExecutions with a mapRunArn, DescribeMapRun, UpdateMapRun.
  statement {
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn, local.child_state_machines_arn]
  }
  statement {
    actions   = ["states:DescribeExecution", "states:StopExecution"]
    resources = [local.executions_arn, local.child_executions_arn]
  }
  # Vended log delivery: these actions take no resource-level permissions.
  statement {
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }
  dynamic "statement" {
    for_each = var.tracing ? [1] : []
    content {
      actions   = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "workflow" {
  name   = "invoke-steps"
  role   = aws_iam_role.workflow.id
  policy = data.aws_iam_policy_document.workflow.json
}

resource "aws_sfn_state_machine" "rotation" {
  #checkov:skip=CKV_AWS_285:Every state is logged (level ALL) but without execution data, on purpose: defence in depth for key material
  #checkov:skip=CKV_AWS_284:X-Ray is optional (var.tracing); the workflow logs every state
  name     = local.state_machine_name
  type     = "STANDARD"
  role_arn = aws_iam_role.workflow.arn
  definition = templatefile(coalesce(var.asl_path, "${path.module}/../../statemachine/rotation.asl.json"), {
    for placeholder, fn in local.workflow_functions : placeholder => aws_lambda_function.function[fn].arn
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.workflow.arn}:*"
    include_execution_data = false
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = var.tracing
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.workflow]
}
