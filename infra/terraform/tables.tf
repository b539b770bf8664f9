# The three tables of infra/tables.json (the local stack and the CDK app read
# that file; infra/checks/parity.py fails if these blocks drift from it).

resource "aws_dynamodb_table" "connectors" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key; no key material is stored in these tables
  name                        = "${var.prefix}connectors"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "connector_id"
  deletion_protection_enabled = true

  attribute {
    name = "connector_id"
    type = "S"
  }
  attribute {
    name = "expiry_scope"
    type = "S"
  }
  attribute {
    name = "expires_at"
    type = "S"
  }

  # Sparse: only non-retired connectors carry expiry_scope, so the scanner reads due items only.
  global_secondary_index {
    name            = "expiry-index"
    projection_type = "ALL"
    key_schema {
      attribute_name = "expiry_scope"
      key_type       = "HASH"
    }
    key_schema {
      attribute_name = "expires_at"
      key_type       = "RANGE"
    }
  }

  point_in_time_recovery {
    enabled = true
  }
  tags = var.tags
}

resource "aws_dynamodb_table" "changes" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key; no key material is stored in these tables
  name                        = "${var.prefix}changes"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "change_id"
  deletion_protection_enabled = false

  attribute {
    name = "change_id"
    type = "S"
  }

  ttl {
    attribute_name = "expires_ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }
  tags = var.tags
}

resource "aws_dynamodb_table" "audit" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key; no key material is stored in these tables
  name                        = "${var.prefix}audit"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "connector_id"
  range_key                   = "seq"
  deletion_protection_enabled = true

  attribute {
    name = "connector_id"
    type = "S"
  }
  attribute {
    name = "seq"
    type = "N"
  }
  attribute {
    name = "day"
    type = "S"
  }

  # Events by UTC day: the daily signed digest reads one day's chain heads here.
  global_secondary_index {
    name               = "day-index"
    projection_type    = "INCLUDE"
    non_key_attributes = ["hash"]
    key_schema {
      attribute_name = "day"
      key_type       = "HASH"
    }
    key_schema {
      attribute_name = "connector_id"
      key_type       = "RANGE"
    }
  }

  # Required by ExportTableToPointInTime, which is how auditors get the trail.
  point_in_time_recovery {
    enabled = true
  }
  tags = var.tags
}

# ---- where audit exports land -------------------------------------------------

resource "aws_s3_bucket" "export_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log bucket itself
  #checkov:skip=CKV_AWS_144:Cross-region replication is the deployer's choice; the source tables keep PITR
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256); a CMK would add key policy work for auditors' readers
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of access logs
  bucket_prefix = "${var.prefix}export-logs-"
  tags          = var.tags
}

resource "aws_s3_bucket" "exports" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is the deployer's choice; the source tables keep PITR
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256); a CMK would add key policy work for auditors' readers
  #checkov:skip=CKV2_AWS_62:Exports are read on demand by auditors and Athena, nothing listens for them
  bucket_prefix = "${var.prefix}audit-exports-"
  tags          = var.tags
}

resource "aws_s3_bucket_versioning" "exports" {
  for_each = { exports = aws_s3_bucket.exports.id, export_logs = aws_s3_bucket.export_logs.id }
  bucket   = each.value
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "exports" {
  for_each = { exports = aws_s3_bucket.exports.id, export_logs = aws_s3_bucket.export_logs.id }
  bucket   = each.value
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "exports" {
  for_each                = { exports = aws_s3_bucket.exports.id, export_logs = aws_s3_bucket.export_logs.id }
  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

locals {
  export_log_prefix = "audit-exports/"
}

resource "aws_s3_bucket_logging" "exports" {
  bucket        = aws_s3_bucket.exports.id
  target_bucket = aws_s3_bucket.export_logs.id
  target_prefix = local.export_log_prefix
}

resource "aws_s3_bucket_lifecycle_configuration" "exports" {
  bucket = aws_s3_bucket.exports.id
  rule {
    id     = "old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 400
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "export_logs" {
  bucket = aws_s3_bucket.export_logs.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = 400
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# Every bucket refuses plain HTTP. The access-log bucket also lets S3's log
# delivery write the export bucket's access logs: buckets are created with
# ACLs disabled (BucketOwnerEnforced), so this policy grant is the only way
# logs arrive ("Permissions for log delivery", S3 User Guide,
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general).
# The CDK app writes the same statement (serverAccessLogsUseBucketPolicy);
# infra/checks/parity.py compares the two bucket policies statement by statement.
data "aws_iam_policy_document" "bucket" {
  for_each = { exports = aws_s3_bucket.exports.arn, export_logs = aws_s3_bucket.export_logs.arn }
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value, "${each.value}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  dynamic "statement" {
    for_each = each.key == "export_logs" ? [1] : []
    content {
      sid       = "S3ServerAccessLogsPolicy"
      effect    = "Allow"
      actions   = ["s3:PutObject"]
      resources = ["${each.value}/${local.export_log_prefix}*"]
      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = [aws_s3_bucket.exports.arn]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "exports" {
  for_each = { exports = aws_s3_bucket.exports.id, export_logs = aws_s3_bucket.export_logs.id }
  bucket   = each.value
  policy   = data.aws_iam_policy_document.bucket[each.key].json
}

# Was named for its only statement; renamed without replacing the policies.
moved {
  from = aws_s3_bucket_policy.tls_only
  to   = aws_s3_bucket_policy.exports
}
