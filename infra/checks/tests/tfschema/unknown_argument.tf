# expect: aws_sns_topic.t: unknown argument nmae
resource "aws_sns_topic" "t" {
  nmae = "alarms"
}
