# expect: unknown data source aws_iam_policy_documnet
data "aws_iam_policy_documnet" "x" {}
