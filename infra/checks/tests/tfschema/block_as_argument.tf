# expect: aws_dynamodb_table.t: ttl is a block, not an argument
resource "aws_dynamodb_table" "t" {
  name     = "t"
  hash_key = "pk"
  ttl      = { attribute_name = "expires", enabled = true }
}
