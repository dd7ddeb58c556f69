# The two Standard workflows. Their definitions are the very files the local
# engine runs (statemachines/*.asl.json); templatefile() binds the function
# ARN placeholders listed in main.tf (deploy_definition_vars,
# traffic_definition_vars).

locals {
  # A machine's role may invoke exactly the functions its definition binds.
  state_machine_function_arns = {
    deploy  = sort(distinct(values(local.deploy_definition_vars)))
    traffic = sort(distinct(values(local.traffic_definition_vars)))
    plan    = sort(distinct(values(local.plan_definition_vars)))
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

resource "aws_sfn_state_machine" "deploy" {
  name     = local.state_machine_names["deploy"]
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine["deploy"].arn

  definition = templatefile("${local.statemachine_dir}/deploy.asl.json", local.deploy_definition_vars)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine["deploy"].arn}:*"
    include_execution_data = var.state_machine_include_execution_data
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.state_machine]
}

resource "aws_sfn_state_machine" "traffic" {
  name     = local.state_machine_names["traffic"]
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine["traffic"].arn

  definition = templatefile("${local.statemachine_dir}/traffic.asl.json", local.traffic_definition_vars)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine["traffic"].arn}:*"
    include_execution_data = var.state_machine_include_execution_data
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.state_machine]
}

# The pull request plan: started by the github-pull-request rule (eventbridge.tf)
# with the event's detail; pr-plan comments the plan and sets the status.
resource "aws_sfn_state_machine" "plan" {
  name     = local.state_machine_names["plan"]
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine["plan"].arn

  definition = templatefile("${local.statemachine_dir}/plan.asl.json", local.plan_definition_vars)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine["plan"].arn}:*"
    include_execution_data = var.state_machine_include_execution_data
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.state_machine]
}
