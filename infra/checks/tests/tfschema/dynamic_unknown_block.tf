# expect: dynamic 'statment': statment is not a block here
data "aws_iam_policy_document" "d" {
  dynamic "statment" {
    for_each = [1]
    content {
      actions = ["s3:GetObject"]
    }
  }
}
