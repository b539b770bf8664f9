terraform {
  # 1.11: write-only arguments (the link-signing key never enters the state).
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: ephemeral aws_secretsmanager_random_password, secret_string_wo,
      # lambda_permission.invoked_via_function_url.
      version = ">= 6.20, < 7.0"
    }
  }
}
