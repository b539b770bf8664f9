# expect: aws_lambda_function_url.u: function_url is computed (read-only), it cannot be set
resource "aws_lambda_function_url" "u" {
  function_name      = "f"
  authorization_type = "NONE"
  function_url       = "https://example.com/"
}
