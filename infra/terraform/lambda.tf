# One Lambda per handler under functions/, all from local.functions (main.tf).
# Code comes from "<package_dir>/<function>.zip" (scripts/package.sh builds it
# with cargo-lambda for arm64).

locals {
  # The functions behind a public function URL (authorization_type NONE): each
  # gets a reserved concurrency cap, so that a flood of requests cannot take
  # the account's concurrency from the deployments in flight.
  public_url_functions = ["webhook-intake", "slack-callback"]

  # With log_format JSON, Lambda drops application log lines below
  # application_log_level (INFO when unset). The functions filter by RUST_LOG
  # themselves, so Lambda's level is the most verbose one var.rust_log enables:
  # "info,ferry_aws=debug" needs DEBUG, and a bare target ("ferry_aws")
  # enables every level.
  rust_log_directives = [for directive in split(",", lower(var.rust_log)) : trimspace(directive) if trimspace(directive) != ""]
  rust_log_levels = [
    for directive in local.rust_log_directives :
    length(split("=", directive)) > 1 ? trimspace(reverse(split("=", directive))[0]) : (
      contains(["off", "error", "warn", "info", "debug", "trace"], directive) ? directive : "trace"
    )
  ]
  application_log_level = (
    contains(local.rust_log_levels, "trace") ? "TRACE" :
    contains(local.rust_log_levels, "debug") ? "DEBUG" : "INFO"
  )
}

resource "aws_lambda_function" "function" {
  #checkov:skip=CKV_AWS_116:Step Functions invokes these synchronously and owns retries and catches; alarm-watch's asynchronous events are a fast path only, since check-alarms reads the same alarms after every bake; push-deploy's failures are logged with the push, and the next push or the poller deploys the branch's newer head; webhook-intake and control answer their caller synchronously through their function URLs. A dead-letter queue would hold nothing actionable.
  #checkov:skip=CKV_AWS_115:Only the functions behind a public function URL get reserved concurrency (var.public_url_reserved_concurrency): it is carved out of the account's pool (as little as 10 in new accounts), and one active deployment per service bounds the others anyway.
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs; running them in a VPC would need NAT or interface endpoints, which cost money around the clock and contradict Ferry costing nothing when idle. The one exception is opt-in: hooks_vpc_config attaches run-hooks alone to your VPC, so that http hooks reach an internal load balancer's test listener.
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

  # A cap on the functions the internet can invoke; null (unreserved) for the others.
  reserved_concurrent_executions = contains(local.public_url_functions, each.key) ? var.public_url_reserved_concurrency : null

  filename         = "${local.package_dir}/${each.key}.zip"
  source_code_hash = filebase64sha256("${local.package_dir}/${each.key}.zip")

  environment {
    variables = merge(local.common_environment, each.value.environment)
  }

  # Only a function whose entry in local.functions sets vpc_config runs in a VPC
  # (run-hooks with hooks_vpc_config); its role then has the network interface
  # permissions Lambda needs (iam.tf, vpc_*_network_interfaces).
  dynamic "vpc_config" {
    for_each = lookup(each.value, "vpc_config", null) == null ? [] : [each.value.vpc_config]

    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function[each.key].name
    application_log_level = local.application_log_level
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
# The Slack callback gets its URL the same way (below).
#
# Since October 2025 a new function URL with auth type NONE needs two
# statements in the function's resource policy: lambda:InvokeFunctionUrl
# (scoped to auth type NONE) and lambda:InvokeFunction (scoped with
# lambda:InvokedViaFunctionUrl to invocations through the URL, so the function
# cannot be invoked directly). scripts/terraform_checks.py requires both for
# every public URL.
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

resource "aws_lambda_permission" "webhook_intake_url_invoke" {
  #checkov:skip=CKV_AWS_301:The second statement a public function URL needs since October 2025; invoked_via_function_url limits it to invocations through the URL (condition lambda:InvokedViaFunctionUrl), so nobody can invoke the function directly, and the function still verifies X-Hub-Signature-256.
  statement_id             = "AllowPublicFunctionUrlInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.function["webhook-intake"].function_name
  principal                = "*"
  invoked_via_function_url = true
}

# ---------------------------------------------------------------------------
# Function URL of slack-callback: the Slack app's Interactivity Request URL
# (the slack_interactivity_url output), only with slack_enabled.
#
# authorization_type = "NONE" for the same reason as the webhook: Slack cannot
# sign with SigV4. The function verifies X-Slack-Signature (v0, HMAC-SHA256 of
# "v0:timestamp:body" under the signing secret, constant time) and a timestamp
# within 5 minutes before reading anything, and answers 401 otherwise; who acts
# is the Slack user of the verified payload, checked against the manifest's
# approvers. Reserved concurrency caps what a flood can take
# (local.public_url_functions).
# ---------------------------------------------------------------------------

resource "aws_lambda_function_url" "slack_callback" {
  #checkov:skip=CKV_AWS_258:Slack cannot sign requests with SigV4; slack-callback authenticates each request by its X-Slack-Signature HMAC and timestamp before parsing it, and refuses others with 401.
  count = var.slack_enabled ? 1 : 0

  function_name      = aws_lambda_function.function["slack-callback"].function_name
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "slack_callback_url" {
  #checkov:skip=CKV_AWS_301:This is the public function URL Slack posts button clicks to; the function refuses every request whose X-Slack-Signature does not verify, and the permission allows only InvokeFunctionUrl with auth type NONE.
  count = var.slack_enabled ? 1 : 0

  statement_id           = "AllowPublicFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.function["slack-callback"].function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "slack_callback_url_invoke" {
  #checkov:skip=CKV_AWS_301:The second statement a public function URL needs since October 2025; invoked_via_function_url limits it to invocations through the URL, and the function still verifies X-Slack-Signature.
  count = var.slack_enabled ? 1 : 0

  statement_id             = "AllowPublicFunctionUrlInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.function["slack-callback"].function_name
  principal                = "*"
  invoked_via_function_url = true
}

# ---------------------------------------------------------------------------
# Function URL of control: what `ferry approve|reject|promote|rollback|traffic`
# call (FERRY_CONTROL_URL, the control_url output).
#
# authorization_type = "AWS_IAM": every request must be SigV4-signed, and AWS,
# not the function, authenticates the caller and checks that its identity-based
# policy allows the call (operators.tf: lambda:InvokeFunctionUrl and, since
# October 2025, lambda:InvokeFunction through the URL). AWS then hands the
# function the caller's IAM principal ARN, and that principal is the actor the
# manifest's approvers are checked against: nothing in the request body or its
# headers can name someone else.
#
# No aws_lambda_permission: callers are principals of this account, which need
# no resource-based policy when their identity-based policy allows the call. A
# statement for principal "*" would let principals of any account invoke it;
# scripts/terraform_checks.py fails on one, and on this URL becoming NONE. Not in
# local.public_url_functions: the internet cannot reach it unsigned.
# ---------------------------------------------------------------------------

resource "aws_lambda_function_url" "control" {
  function_name      = aws_lambda_function.function["control"].function_name
  authorization_type = "AWS_IAM"
}
