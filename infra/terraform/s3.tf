# The payload bucket: GitHub payloads too big for one EventBridge event (256 KB),
# written by webhook-intake under github/<event>/<delivery>.json and referenced
# from the event. They matter only while the workflows the event starts read
# them, so they expire after var.payload_retention_days.

resource "aws_s3_bucket" "payloads" {
  #checkov:skip=CKV_AWS_18:The objects are short-lived copies of webhook payloads GitHub already keeps in its delivery log; access logging would cost more than the data is worth.
  #checkov:skip=CKV_AWS_144:The payloads expire within days and GitHub can redeliver them; replicating them to another region protects nothing.
  #checkov:skip=CKV_AWS_145:Server-side encryption with S3 managed keys (SSE-S3) is on; a customer managed KMS key would add a monthly charge to an idle installation for copies of webhook payloads.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to new payloads: the event that references a payload is what the workflows receive.
  #checkov:skip=CKV_AWS_21:Every object is written once under a unique delivery id and expires within days; versions would only keep expired payloads longer.
  bucket_prefix = "${var.name_prefix}-payloads-"
  # Payloads are short-lived copies; a trial installation (examples/complete)
  # lets `terraform destroy` delete them with the bucket.
  force_destroy = var.payload_bucket_force_destroy
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "payloads" {
  bucket                  = aws_s3_bucket.payloads.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "payloads" {
  bucket = aws_s3_bucket.payloads.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "payloads" {
  bucket = aws_s3_bucket.payloads.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "payloads" {
  bucket = aws_s3_bucket.payloads.id

  rule {
    id     = "expire-payloads"
    status = "Enabled"

    filter {}

    expiration {
      days = var.payload_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "payloads" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.payloads.arn, "${aws_s3_bucket.payloads.arn}/*"]

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
}

resource "aws_s3_bucket_policy" "payloads" {
  bucket = aws_s3_bucket.payloads.id
  policy = data.aws_iam_policy_document.payloads.json

  depends_on = [aws_s3_bucket_public_access_block.payloads]
}
