# Valid: must produce no error at all (a checker that over-reports fails here).
resource "aws_sns_topic" "alarms" {
  name = "alarms"
}

data "aws_iam_policy_document" "topic" {
  statement {
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.topic.json
}

ephemeral "aws_secretsmanager_random_password" "key" {
  password_length = 64
}

resource "aws_dynamodb_table" "t" {
  name         = "t"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  attribute {
    name = "pk"
    type = "S"
  }
  global_secondary_index {
    name            = "by-pk"
    projection_type = "ALL"
    key_schema {
      attribute_name = "pk"
      key_type       = "HASH"
    }
  }
}
