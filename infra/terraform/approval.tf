# The approval page: approval-callback behind a public Function URL. auth NONE
# is deliberate: the signed link is the credential (HMAC, expiring, single use);
# GET only shows a confirmation page, POST decides.

resource "aws_lambda_function" "approval_callback" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously through its Function URL; a DLQ would hold nothing
  #checkov:skip=CKV_AWS_117:Talks only to AWS APIs over TLS; a VPC adds NAT cost and no isolation here
  #checkov:skip=CKV_AWS_173:Environment holds table names, ARNs and URLs only; credentials live in Secrets Manager
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the deployer owns; enable it with your own profile if required
  #checkov:skip=CKV_AWS_115:A cap would turn approvals away at the moment people click
  function_name    = "${var.prefix}approval-callback"
  role             = aws_iam_role.function["approval-callback"].arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)
  memory_size      = local.functions["approval-callback"].memory
  timeout          = local.functions["approval-callback"].timeout

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.function["approval-callback"].name
  }

  environment {
    variables = merge(local.common_env, { KEYTURN_FUNCTION = "approval-callback" })
  }

  tracing_config {
    mode = "PassThrough"
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.function]
}

# With authorization_type NONE the provider (>= 6.28.0, versions.tf) adds both
# statements a public Function URL needs to the function's policy on create:
# FunctionURLAllowPublicAccess (lambda:InvokeFunctionUrl, FunctionUrlAuthType
# NONE) and FunctionURLAllowInvokeAction (lambda:InvokeFunction,
# InvokedViaFunctionUrl true), the second one required for URLs created since
# October 2025 (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html).
# Provider CHANGELOG 6.28.0, #44858; resource docs: "These policies are NOT
# removed from AWS when the resource is destroyed" (they go with the function).
# A second aws_lambda_permission pair would only duplicate them under other
# statement ids. docs/first-deploy.md checks both statements on a real deploy.
resource "aws_lambda_function_url" "approval" {
  #checkov:skip=CKV_AWS_258:Public by design: each request carries an HMAC-signed, expiring, single-use link
  function_name      = aws_lambda_function.approval_callback.function_name
  authorization_type = "NONE"
}

resource "aws_cloudfront_distribution" "approval" {
  #checkov:skip=CKV_AWS_305:Every path is served by the function; there is no static root object
  #checkov:skip=CKV_AWS_68:No WAF by default: the origin verifies HMAC links; attach your web ACL if you have one
  #checkov:skip=CKV_AWS_86:Access logging is the deployer's choice of bucket; the function logs every request
  #checkov:skip=CKV_AWS_310:One origin, the Function URL; there is nothing to fail over to
  #checkov:skip=CKV_AWS_374:Approvers are wherever the company is; geo restriction is the deployer's choice
  #checkov:skip=CKV2_AWS_32:The page sets its own security headers (CSP, frame-ancestors, no-referrer)
  #checkov:skip=CKV2_AWS_47:No WAF by default (see CKV_AWS_68)
  count           = var.approval_domain == null ? 0 : 1
  enabled         = true
  aliases         = [var.approval_domain.domain_name]
  comment         = "keyturn approval links"
  is_ipv6_enabled = true

  origin {
    origin_id   = "approval-callback"
    domain_name = trimsuffix(trimprefix(aws_lambda_function_url.approval.function_url, "https://"), "/")
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id         = "approval-callback"
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    cache_policy_id          = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" # Managed-CachingDisabled
    origin_request_policy_id = "b689b0a8-53d0-40ab-baf2-68738e2966ac" # Managed-AllViewerExceptHostHeader
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = var.approval_domain.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  tags = var.tags
}

locals {
  approval_url = var.approval_domain == null ? aws_lambda_function_url.approval.function_url : "https://${var.approval_domain.domain_name}/"
}
