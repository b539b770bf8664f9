# expect: aws_sns_topic.t: tags is an argument, not a block
resource "aws_sns_topic" "t" {
  name = "t"
  tags {
    app = "keyturn"
  }
}
