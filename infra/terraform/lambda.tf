# One Lambda per handler under functions/, all from local.functions (main.tf).
# Code comes from "<package_dir>/<function>.zip" (scripts/package.sh builds it
# with cargo-lambda for arm64).

resource "aws_lambda_function" "function" {
  #checkov:skip=CKV_AWS_116:Step Functions invokes these synchronously and owns retries and catches; alarm-watch's asynchronous events are a fast path only, since check-alarms reads the same alarms after every bake; push-deploy's failures are logged with the push, and the next push or the poller deploys the branch's newer head, so a dead-letter queue would hold nothing actionable.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is carved out of the account's pool (as little as 10 in new accounts) and would make the module fail to apply there; one active deployment per service bounds the concurrency anyway.
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs; running them in a VPC would need NAT or interface endpoints, which cost money around the clock and contradict Ferry costing nothing when idle.
  #checkov:skip=CKV_AWS_173:The environment holds only a table name, a bus name and a log filter; no secret is ever put there (secrets come from Secrets Manager), so a customer managed key would protect nothing.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and signing in the release pipeline, which the project does not have yet; the release workflow publishes the zips with their checksums instead.
  for_each = local.functions

  function_name = local.function_names[each.key]
  description   = each.value.description
  role          = aws_iam_role.function[each.key].arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["arm64"]
  memory_size   = each.value.memory
  timeout       = each.value.timeout

  filename         = "${local.package_dir}/${each.key}.zip"
  source_code_hash = filebase64sha256("${local.package_dir}/${each.key}.zip")

  environment {
    variables = merge(local.common_environment, each.value.environment)
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
  }

  tracing_config {
    mode = "Active"
  }

  tags = local.tags

  # The role must be able to write logs before the first invocation.
  depends_on = [aws_iam_role_policy.function]
}

# ---------------------------------------------------------------------------
# Function URL of webhook-intake: what the GitHub webhook posts to.
#
# authorization_type = "NONE" because GitHub cannot sign requests with AWS
# credentials (SigV4). The function authenticates every request itself: it
# verifies X-Hub-Signature-256 (HMAC-SHA256 of the body under the webhook
# secret, in constant time) before reading anything, and answers 401 otherwise.
# The Slack callback (later) gets its URL the same way.
# ---------------------------------------------------------------------------

resource "aws_lambda_function_url" "webhook_intake" {
  #checkov:skip=CKV_AWS_258:GitHub cannot sign webhook requests with SigV4; webhook-intake authenticates each request by its X-Hub-Signature-256 HMAC before parsing it, and refuses unsigned ones with 401.
  function_name      = aws_lambda_function.function["webhook-intake"].function_name
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "webhook_intake_url" {
  #checkov:skip=CKV_AWS_301:This is the public function URL GitHub posts webhooks to; the function refuses every request whose X-Hub-Signature-256 does not verify, and the permission allows only InvokeFunctionUrl with auth type NONE.
  statement_id           = "AllowPublicFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.function["webhook-intake"].function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}
