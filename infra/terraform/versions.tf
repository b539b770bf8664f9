terraform {
  # 1.11: write-only arguments (the link-signing key never enters the state).
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.40 is the floor, for three reasons (provider CHANGELOG.md):
      # - 6.28.0: aws_lambda_function_url with authorization_type NONE adds
      #   both public-URL permissions itself, lambda:InvokeFunction with
      #   InvokedViaFunctionUrl included (#44858), which Function URLs created
      #   since October 2025 need;
      # - 6.29.0: global_secondary_index.key_schema (#45357), replacing the
      #   deprecated hash_key/range_key; its perpetual diff on a GSI with a
      #   range key (#46442) and its removal of every GSI when one is removed
      #   (#46602) were fixed in February 2026, well before 6.40;
      # - 6.40.0 is the oldest version whose schema infra-check can read
      #   offline (@cdktn/provider-aws 23.7.0), so the floor itself is validated.
      # Also used: ephemeral aws_secretsmanager_random_password, secret_string_wo.
      version = ">= 6.40, < 7.0"
    }
  }
}
