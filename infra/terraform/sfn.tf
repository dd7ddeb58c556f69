# The three Standard workflows (aws_sfn_state_machine.workflow, one instance each):
#
#   deploy   plans a manifest at a commit, creates green, shifts traffic step
#            by step, watches alarms, finishes or rolls back (started by
#            push-deploy, or by hand)
#   traffic  moves a held deployment to a preset, promotes or rolls back
#            (started by control and alarm-watch, or by hand)
#   plan     plans a pull request: pr-plan comments the plan and sets the
#            status (started by the github-pull-request rule, eventbridge.tf)
#
# Their definitions are the very files the local engine runs
# (statemachines/*.asl.json); templatefile() binds the function ARN
# placeholders listed in main.tf (deploy_definition_vars,
# traffic_definition_vars, plan_definition_vars). Names, log groups (logs.tf)
# and roles (below) are keyed alike, by local.state_machine_names (main.tf).

locals {
  # One entry per key of local.state_machine_names:
  #   definition_file  the file under statemachines/ (local.statemachine_dir)
  #   definition_vars  its templatefile() bindings (main.tf); scripts/terraform_checks.py
  #                    checks them against the file's placeholders
  state_machines = {
    deploy = {
      definition_file = "deploy.asl.json"
      definition_vars = local.deploy_definition_vars
    }
    traffic = {
      definition_file = "traffic.asl.json"
      definition_vars = local.traffic_definition_vars
    }
    plan = {
      definition_file = "plan.asl.json"
      definition_vars = local.plan_definition_vars
    }
  }

  # A machine's role may invoke exactly the functions its definition binds.
  state_machine_function_arns = {
    for key, machine in local.state_machines :
    key => sort(distinct(values(machine.definition_vars)))
  }
}

data "aws_iam_policy_document" "state_machine_assume_role" {
  for_each = local.state_machine_names

  statement {
    sid     = "StepFunctionsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    # Confused-deputy protection: only this account's machine of this name.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arns[each.key]]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  for_each = local.state_machine_names

  name               = "${each.value}-sfn"
  description        = "Ferry ${each.key} state machine"
  assume_role_policy = data.aws_iam_policy_document.state_machine_assume_role[each.key].json
  tags               = local.tags
}

data "aws_iam_policy_document" "state_machine" {
  for_each = local.state_machine_names

  statement {
    sid       = "InvokeOwnFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = local.state_machine_function_arns[each.key]
  }

  statement {
    sid = "DeliverExecutionLogs"
    # Step Functions sets up log delivery through the CloudWatch Logs vended-logs
    # API, whose actions have no resource-level permissions: "*" only.
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }

  statement {
    sid = "XRayTraces"
    # X-Ray has no resource-level permissions for these actions: "*" only.
    actions = [
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  for_each = local.state_machine_names

  name   = each.value
  role   = aws_iam_role.state_machine[each.key].id
  policy = data.aws_iam_policy_document.state_machine[each.key].json
}

# Every machine alike: Standard, execution logs at level ALL in its own log
# group, X-Ray tracing, its own role.
resource "aws_sfn_state_machine" "workflow" {
  for_each = local.state_machines

  name     = local.state_machine_names[each.key]
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine[each.key].arn

  definition = templatefile("${local.statemachine_dir}/${each.value.definition_file}", each.value.definition_vars)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine[each.key].arn}:*"
    include_execution_data = var.state_machine_include_execution_data
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.state_machine]

  lifecycle {
    precondition {
      condition     = keys(local.state_machines) == keys(local.state_machine_names)
      error_message = "local.state_machines (sfn.tf) and local.state_machine_names (main.tf) must have the same keys: every machine needs a name, a role and a log group, and nothing else may get them."
    }
  }
}

# The machines were separate resources until they were made one with for_each;
# these keep existing installations from destroying and recreating them.
moved {
  from = aws_sfn_state_machine.deploy
  to   = aws_sfn_state_machine.workflow["deploy"]
}

moved {
  from = aws_sfn_state_machine.traffic
  to   = aws_sfn_state_machine.workflow["traffic"]
}

moved {
  from = aws_sfn_state_machine.plan
  to   = aws_sfn_state_machine.workflow["plan"]
}
