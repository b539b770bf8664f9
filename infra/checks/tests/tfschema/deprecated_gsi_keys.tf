# expect: aws_dynamodb_table.t.global_secondary_index: hash_key is deprecated
# expect: aws_dynamodb_table.t.global_secondary_index: range_key is deprecated
resource "aws_dynamodb_table" "t" {
  name     = "t"
  hash_key = "pk"
  global_secondary_index {
    name            = "i"
    hash_key        = "a"
    range_key       = "b"
    projection_type = "ALL"
  }
}
