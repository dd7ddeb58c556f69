# GitHub secrets. Terraform creates the secrets only: their values never enter
# the Terraform state. Put them afterwards (docs/install.md):
#
#   aws secretsmanager put-secret-value --secret-id ferry/github/webhook-secret \
#     --secret-string "$(openssl rand -hex 32)"
#   aws secretsmanager put-secret-value --secret-id ferry/github/credentials \
#     --secret-string file://github-credentials.json
#
# The functions that read them (webhook-intake, and the GitHub client for PR
# comments) arrive with a later issue; their roles get secretsmanager:GetSecretValue
# on these two ARNs only.

resource "aws_secretsmanager_secret" "github_webhook" {
  #checkov:skip=CKV2_AWS_57:The webhook secret is shared with GitHub, which Secrets Manager cannot update; it is rotated by hand in both places (docs/install.md).
  #checkov:skip=CKV_AWS_149:A customer managed key is optional (var.secrets_kms_key_arn); the default AWS managed key aws/secretsmanager avoids a monthly key charge on an idle installation.
  name                    = "${var.name_prefix}/github/webhook-secret"
  description             = "Secret of the GitHub webhook that posts to Ferry (X-Hub-Signature-256)."
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret" "github_credentials" {
  #checkov:skip=CKV2_AWS_57:GitHub tokens and app keys are issued by GitHub, not by a rotation Lambda; rotate them in GitHub and put the new value (docs/install.md).
  #checkov:skip=CKV_AWS_149:A customer managed key is optional (var.secrets_kms_key_arn); the default AWS managed key aws/secretsmanager avoids a monthly key charge on an idle installation.
  name                    = "${var.name_prefix}/github/credentials"
  description             = "GitHub credentials Ferry uses to read manifests and comment on pull requests (JSON)."
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}

# Slack secrets, only with slack_enabled. As above, Terraform creates the
# secrets, never their values (docs/install.md, "Slack"):
#
#   aws secretsmanager put-secret-value --secret-id ferry/slack/bot-token --secret-string xoxb-...
#   aws secretsmanager put-secret-value --secret-id ferry/slack/signing-secret --secret-string ...

resource "aws_secretsmanager_secret" "slack_bot_token" {
  #checkov:skip=CKV2_AWS_57:The bot token is issued by Slack, not by a rotation Lambda; reinstall the app in Slack and put the new value (docs/install.md).
  #checkov:skip=CKV_AWS_149:A customer managed key is optional (var.secrets_kms_key_arn); the default AWS managed key aws/secretsmanager avoids a monthly key charge on an idle installation.
  count = var.slack_enabled ? 1 : 0

  name                    = "${var.name_prefix}/slack/bot-token"
  description             = "Bot token (xoxb-) of Ferry's Slack app: posts and updates deployment messages."
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret" "slack_signing_secret" {
  #checkov:skip=CKV2_AWS_57:The signing secret is issued by Slack; regenerate it in the app's settings and put the new value (docs/install.md).
  #checkov:skip=CKV_AWS_149:A customer managed key is optional (var.secrets_kms_key_arn); the default AWS managed key aws/secretsmanager avoids a monthly key charge on an idle installation.
  count = var.slack_enabled ? 1 : 0

  name                    = "${var.name_prefix}/slack/signing-secret"
  description             = "Signing secret of Ferry's Slack app: slack-callback verifies X-Slack-Signature with it."
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}
