# expect: unknown resource type aws_lambda_functoin
resource "aws_lambda_functoin" "x" {
  function_name = "x"
}
