# expect: reference aws_sns_topic.t.arnn: aws_sns_topic has no attribute arnn
# expect: reference aws_sns_topic.other: no resource aws_sns_topic named other is declared
# expect: reference data.aws_caller_identity.me: no data aws_caller_identity named me is declared
# expect: reference local.nope: no such local value
resource "aws_sns_topic" "t" {
  name = "t"
}

resource "aws_sns_topic_policy" "p" {
  arn    = aws_sns_topic.t.arnn
  policy = "${aws_sns_topic.other.arn}:${data.aws_caller_identity.me.account_id}:${local.nope}"
}
