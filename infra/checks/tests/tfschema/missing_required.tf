# expect: aws_lambda_permission.p: missing required argument principal
resource "aws_lambda_permission" "p" {
  action        = "lambda:InvokeFunction"
  function_name = "f"
}
