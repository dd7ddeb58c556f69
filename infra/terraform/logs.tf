# Log groups are created here, before the functions and state machines write
# to them, so that retention and encryption are ours rather than the defaults
# of an implicitly created group.

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:A customer managed key is optional (var.log_kms_key_arn); by default CloudWatch Logs encrypts with its own keys, which keeps an idle installation free of KMS key charges.
  for_each = local.functions

  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

resource "aws_cloudwatch_log_group" "state_machine" {
  #checkov:skip=CKV_AWS_158:A customer managed key is optional (var.log_kms_key_arn); by default CloudWatch Logs encrypts with its own keys, which keeps an idle installation free of KMS key charges.
  for_each = local.state_machine_names

  # The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's
  # CloudWatch Logs resource policy with one entry per log group.
  name              = "/aws/vendedlogs/states/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}
