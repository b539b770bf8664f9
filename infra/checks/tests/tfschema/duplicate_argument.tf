# expect: aws_sns_topic.t: argument name given twice
resource "aws_sns_topic" "t" {
  name = "t"
  name = "u"
}
