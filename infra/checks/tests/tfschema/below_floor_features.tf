# Provider 6.25 has neither invoked_via_function_url (6.28) nor GSI key_schema (6.29).
# at: 6.25
# expect: aws_lambda_permission.p: unknown argument invoked_via_function_url (provider 6.25.0)
# expect: aws_dynamodb_table.t.global_secondary_index: unknown block key_schema (provider 6.25.0)
# (and, before key_schema, a GSI needed hash_key)
# expect: aws_dynamodb_table.t.global_secondary_index: missing required argument hash_key
resource "aws_lambda_permission" "p" {
  action                   = "lambda:InvokeFunction"
  function_name            = "f"
  principal                = "*"
  invoked_via_function_url = true
}

resource "aws_dynamodb_table" "t" {
  name     = "t"
  hash_key = "pk"
  global_secondary_index {
    name            = "i"
    projection_type = "ALL"
    key_schema {
      attribute_name = "a"
      key_type       = "HASH"
    }
  }
}
