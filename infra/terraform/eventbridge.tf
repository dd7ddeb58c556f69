# EventBridge: the "ferry" bus for GitHub events, and the rules that start
# workflows or wake alarm-watch. Event patterns live in rules/<name>.json so
# that the local runtime matches events with the very same files.

resource "aws_cloudwatch_event_bus" "ferry" {
  name = var.event_bus_name
  tags = local.tags
}

# ---------------------------------------------------------------------------
# CloudWatch alarm state changes (default bus) -> alarm-watch
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "alarm_state_change" {
  name           = "${var.name_prefix}-alarm-state-change"
  description    = "CloudWatch alarms entering ALARM (or INSUFFICIENT_DATA, for rollback.onInsufficientData: rollback): alarm-watch rolls back the deployments the alarm guards."
  event_bus_name = "default"
  event_pattern  = file("${local.rules_dir}/alarm-state-change.json")
  tags           = local.tags
}

resource "aws_cloudwatch_event_target" "alarm_watch" {
  rule           = aws_cloudwatch_event_rule.alarm_state_change.name
  event_bus_name = aws_cloudwatch_event_rule.alarm_state_change.event_bus_name
  target_id      = "alarm-watch"
  arn            = aws_lambda_function.function["alarm-watch"].arn

  # An alarm event older than a bake step is of no use: check-alarms will have
  # read the alarm by then.
  retry_policy {
    maximum_event_age_in_seconds = 300
    maximum_retry_attempts       = 10
  }
}

resource "aws_lambda_permission" "alarm_watch_events" {
  statement_id  = "AllowAlarmStateChangeRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["alarm-watch"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.alarm_state_change.arn
}

# ---------------------------------------------------------------------------
# GitHub push (ferry bus) -> push-deploy -> deploy state machine
#
# A push may touch several manifests, or none: push-deploy reads them at the
# pushed commit, records the commit as each touched service's desired state and
# deploys it, or queues it behind the service's running deployment.
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "github_push" {
  name           = "${var.name_prefix}-github-push"
  description    = "Pushes published by webhook-intake or the poller: push-deploy deploys (or queues) the commit for each service whose manifest they touch."
  event_bus_name = aws_cloudwatch_event_bus.ferry.name
  event_pattern  = file("${local.rules_dir}/github-push.json")
  tags           = local.tags
}

resource "aws_cloudwatch_event_target" "github_push_deploy" {
  rule           = aws_cloudwatch_event_rule.github_push.name
  event_bus_name = aws_cloudwatch_event_rule.github_push.event_bus_name
  target_id      = "push-deploy"
  arn            = aws_lambda_function.function["push-deploy"].arn

  # The function's input is the event's detail, as webhook-intake or the
  # poller published it (and as the local runtime passes it).
  input_transformer {
    input_paths = {
      detail = "$.detail"
    }
    input_template = "<detail>"
  }

  # This policy covers delivering the event to Lambda. A function error (say,
  # GitHub rate limiting) is retried twice more by Lambda's asynchronous
  # invocation; push-deploy is idempotent (a push already desired changes
  # nothing, executions are named by the desired generation), so a retry of a
  # push that failed halfway starts only what is missing.
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 20
  }
}

resource "aws_lambda_permission" "push_deploy_events" {
  statement_id  = "AllowGithubPushRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["push-deploy"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.github_push.arn
}

# ---------------------------------------------------------------------------
# A deploy execution ended (default bus) -> converge
#
# Whatever ended it (success, rollback, a failure, a timeout, someone stopping
# it), the service may have a newer push waiting: converge deploys it. The
# rule file matches Step Functions' status changes; the deploy state machine's
# ARN is added here, as it depends on name_prefix.
# ---------------------------------------------------------------------------

locals {
  deploy_ended_pattern = jsondecode(file("${local.rules_dir}/deploy-ended.json"))
}

resource "aws_cloudwatch_event_rule" "deploy_ended" {
  name           = "${var.name_prefix}-deploy-ended"
  description    = "A deploy execution ended: converge deploys the latest push of each service that waits."
  event_bus_name = "default"
  event_pattern = jsonencode(merge(local.deploy_ended_pattern, {
    detail = merge(local.deploy_ended_pattern.detail, { stateMachineArn = [local.state_machine_arns["deploy"]] })
  }))
  tags = local.tags
}

resource "aws_cloudwatch_event_target" "deploy_ended_converge" {
  rule           = aws_cloudwatch_event_rule.deploy_ended.name
  event_bus_name = aws_cloudwatch_event_rule.deploy_ended.event_bus_name
  target_id      = "converge"
  arn            = aws_lambda_function.function["converge"].arn

  # converge reconciles every waiting service, so a late or repeated event is
  # harmless, and one lost is made up by the next deployment's end or push.
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 20
  }
}

resource "aws_lambda_permission" "converge_events" {
  statement_id  = "AllowDeployEndedRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["converge"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.deploy_ended.arn
}

data "aws_iam_policy_document" "events_assume_role" {
  statement {
    sid     = "EventBridgeAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# ---------------------------------------------------------------------------
# GitHub pull_request (ferry bus) -> plan workflow
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "github_pull_request" {
  name           = "${var.name_prefix}-github-pull-request"
  description    = "Pull requests opened, reopened or synchronized, published by webhook-intake: the plan workflow comments the deployment plan."
  event_bus_name = aws_cloudwatch_event_bus.ferry.name
  event_pattern  = file("${local.rules_dir}/github-pull-request.json")
  tags           = local.tags
}

resource "aws_cloudwatch_event_target" "github_pull_request_plan" {
  rule           = aws_cloudwatch_event_rule.github_pull_request.name
  event_bus_name = aws_cloudwatch_event_rule.github_pull_request.event_bus_name
  target_id      = "plan"
  arn            = aws_sfn_state_machine.workflow["plan"].arn
  role_arn       = aws_iam_role.events_start_plan.arn

  # The execution input is the event's detail (repository, number, headSha, ...).
  input_transformer {
    input_paths = {
      detail = "$.detail"
    }
    input_template = "<detail>"
  }

  # A plan is only worth posting while the pull request is fresh.
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 20
  }
}

resource "aws_iam_role" "events_start_plan" {
  name               = "${var.name_prefix}-events-start-plan"
  description        = "Lets the Ferry github-pull-request rule start the plan state machine"
  assume_role_policy = data.aws_iam_policy_document.events_assume_role.json
  tags               = local.tags
}

data "aws_iam_policy_document" "events_start_plan" {
  statement {
    sid       = "StartPlan"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arns["plan"]]
  }
}

resource "aws_iam_role_policy" "events_start_plan" {
  name   = "${var.name_prefix}-events-start-plan"
  role   = aws_iam_role.events_start_plan.id
  policy = data.aws_iam_policy_document.events_start_plan.json
}

# ---------------------------------------------------------------------------
# The poller (default bus, on a schedule): only when branches are listed
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "poller" {
  count = length(var.poll_repositories) > 0 ? 1 : 0

  name                = "${var.name_prefix}-poller"
  description         = "Runs the poller: tracked branches that moved become push events on the Ferry bus."
  schedule_expression = var.poll_schedule
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "poller" {
  count = length(var.poll_repositories) > 0 ? 1 : 0

  rule      = aws_cloudwatch_event_rule.poller[0].name
  target_id = "poller"
  arn       = aws_lambda_function.function["poller"].arn
  # The branches come from FERRY_POLL_REPOSITORIES (events/poller/scheduled.json).
  input = jsonencode({})

  # A missed tick is made up by the next one.
  retry_policy {
    maximum_event_age_in_seconds = 60
    maximum_retry_attempts       = 0
  }
}

resource "aws_lambda_permission" "poller_schedule" {
  count = length(var.poll_repositories) > 0 ? 1 : 0

  statement_id  = "AllowPollerSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["poller"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.poller[0].arn
}
