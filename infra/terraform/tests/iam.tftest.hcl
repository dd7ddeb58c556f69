# Unit tests of the module's IAM, with a mocked AWS provider: nothing is
# created and no credentials are needed. Run from infra/terraform:
#
#   terraform init -backend=false && terraform test
#
# (scripts/terraform_checks.py runs them when terraform >= 1.7 and the AWS
# provider are available offline.) The fixtures stand in for the zips of
# `make package` and for statemachines/*.asl.json.

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  override_data {
    target = data.aws_region.current
    values = { id = "eu-west-1", name = "eu-west-1" }
  }

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws" }
  }

  # The provider still validates policy arguments: give mocked documents valid JSON.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  # Mocked ARNs must still look like ARNs: the provider validates arguments.
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
  }

  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:mock" }
  }

  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:mock" }
  }

  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:123456789012:rule/mock" }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/ferry" }
  }

  mock_resource "aws_cloudwatch_event_bus" {
    defaults = { arn = "arn:aws:events:eu-west-1:123456789012:event-bus/ferry" }
  }
}

variables {
  package_dir       = "./tests/fixtures/dist"
  statemachines_dir = "./tests/fixtures/statemachines"

  ecs_service_arns   = ["arn:aws:ecs:eu-west-1:123456789012:service/prod/web"]
  listener_arns      = ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/demo/0123456789abcdef/1111111111111111"]
  listener_rule_arns = ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/demo/0123456789abcdef/1111111111111111/2222222222222222"]
  task_role_arns     = ["arn:aws:iam::123456789012:role/web-task", "arn:aws:iam::123456789012:role/web-execution"]
  alarm_arns         = ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-5xx"]
}

run "each_function_gets_exactly_the_actions_its_handler_calls" {
  command = apply

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["plan"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "ecs:DescribeServices", "ecs:DescribeTaskSets",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
      "cloudwatch:DescribeAlarms",
      "secretsmanager:GetSecretValue",
    ])
    error_message = "plan must only read Git (the GitHub credentials), the service, the load balancer and the alarms (and use the table)."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["push-deploy"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "secretsmanager:GetSecretValue", "states:StartExecution", "states:DescribeExecution",
    ])
    error_message = "push-deploy must only read Git (the GitHub credentials) and start deploy executions."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["push-deploy"].statement :
      toset(s.resources) == toset([
        "arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-deploy",
        "arn:aws:states:eu-west-1:123456789012:execution:ferry-deploy:*",
      ])
      if contains(s.actions, "states:StartExecution")
    ])
    error_message = "push-deploy may start and describe executions of the deploy state machine only."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "states:StartExecution")
    ] == ["push-deploy"]
    error_message = "Only push-deploy may start executions."
  }

  assert {
    condition     = aws_cloudwatch_event_target.github_push_deploy.arn == aws_lambda_function.function["push-deploy"].arn && aws_cloudwatch_event_target.github_push_deploy.input_transformer[0].input_template == "<detail>" && aws_lambda_permission.push_deploy_events.source_arn == aws_cloudwatch_event_rule.github_push.arn
    error_message = "Pushes on the bus go to push-deploy with the event's detail, and only that rule may invoke it."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["create-taskset"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "ecs:DescribeServices", "ecs:RegisterTaskDefinition", "ecs:CreateTaskSet", "ecs:DescribeTaskSets", "ecs:TagResource", "iam:PassRole",
    ])
    error_message = "create-taskset must only register, create, describe and tag task sets and pass the task roles."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["finalize"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "ecs:DescribeTaskSets", "ecs:UpdateServicePrimaryTaskSet", "ecs:DeleteTaskSet",
    ])
    error_message = "finalize must only promote green and remove blue."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["rollback"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
      "ecs:DescribeTaskSets", "ecs:UpdateServicePrimaryTaskSet", "ecs:DeleteTaskSet",
    ])
    error_message = "rollback must only move traffic back, restore blue as primary and remove green."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["shift-weights"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
    ])
    error_message = "shift-weights must only read and modify listeners and rules."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["alarm-watch"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "states:SendTaskFailure",
    ])
    error_message = "alarm-watch must only fail task tokens (and use the table)."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["pr-plan"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "secretsmanager:GetSecretValue",
    ])
    error_message = "pr-plan reads only the GitHub credentials: it compares with the base branch, never with AWS."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["poller"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "secretsmanager:GetSecretValue", "events:PutEvents",
    ])
    error_message = "poller reads the GitHub credentials and publishes to the Ferry bus, nothing else."
  }

  assert {
    condition = alltrue([
      for fn in ["plan", "push-deploy", "pr-plan", "poller"] : alltrue([
        for s in data.aws_iam_policy_document.function[fn].statement :
        toset(s.resources) == toset([aws_secretsmanager_secret.github_credentials.arn])
        if contains(s.actions, "secretsmanager:GetSecretValue")
      ])
    ])
    error_message = "plan, push-deploy, pr-plan and poller may read the GitHub credentials secret only."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["webhook-intake"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "secretsmanager:GetSecretValue", "events:PutEvents", "s3:PutObject",
    ])
    error_message = "webhook-intake must only read the webhook secret, put events on the bus and put oversized payloads (and use the table)."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "s3:PutObject") || contains([for s in doc.statement : s.sid], "ReadGitHubWebhookSecret")
    ] == ["webhook-intake"]
    error_message = "Only webhook-intake may read the webhook secret and write payloads."
  }

  assert {
    condition     = aws_lambda_function_url.webhook_intake.authorization_type == "NONE" && aws_lambda_permission.webhook_intake_url.action == "lambda:InvokeFunctionUrl"
    error_message = "The webhook URL is public (GitHub cannot sign with SigV4) and allows nothing but InvokeFunctionUrl."
  }

  assert {
    condition = alltrue([
      for fn in ["approval", "bake"] :
      length(data.aws_iam_policy_document.function[fn].statement) == 3
    ])
    error_message = "approval and bake only store task tokens: logs, X-Ray and the table, nothing else."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "states:SendTaskFailure")
    ] == ["alarm-watch"]
    error_message = "Only alarm-watch may fail task tokens."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "iam:PassRole")
    ] == ["create-taskset"]
    error_message = "Only create-taskset may pass roles."
  }
}

run "resources_are_scoped_to_what_the_variables_list" {
  command = apply

  assert {
    condition = alltrue(flatten([
      for fn, doc in data.aws_iam_policy_document.function : [
        for s in doc.statement : alltrue([
          for action in s.actions : contains([
            "ecs:RegisterTaskDefinition", "ecs:CreateTaskSet",
            "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
            "xray:PutTraceSegments", "xray:PutTelemetryRecords", "states:SendTaskFailure",
          ], action)
        ]) if contains(s.resources, "*")
      ]
    ]))
    error_message = "Only actions without resource-level permissions (and CreateTaskSet, scoped by condition) may use \"*\"."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["create-taskset"].statement :
      one(s.condition).variable == "ecs:service" && one(one(s.condition).values) == "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"
      if contains(s.actions, "ecs:CreateTaskSet")
    ])
    error_message = "CreateTaskSet must be limited to the listed services with the ecs:service condition."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["create-taskset"].statement :
      s.resources == toset(var.task_role_arns) && one(s.condition).variable == "iam:PassedToService" && one(one(s.condition).values) == "ecs-tasks.amazonaws.com"
      if contains(s.actions, "iam:PassRole")
    ])
    error_message = "PassRole must be limited to the task roles, passed to ECS tasks only."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["finalize"].statement :
      s.resources == toset(["arn:aws:ecs:eu-west-1:123456789012:task-set/prod/web/*"])
      if contains(s.actions, "ecs:DeleteTaskSet")
    ])
    error_message = "DeleteTaskSet must be limited to the task sets of the listed services."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["rollback"].statement :
      s.resources == toset(var.listener_arns)
      if contains(s.actions, "elasticloadbalancing:ModifyListener")
    ])
    error_message = "ModifyListener must be limited to the listed listeners."
  }
}

run "each_state_machine_may_invoke_only_its_own_functions" {
  command = apply

  assert {
    condition = local.state_machine_function_arns["traffic"] == tolist([
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-finalize",
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-rollback",
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-shift-weights",
    ])
    error_message = "The traffic machine may invoke shift-weights, finalize and rollback only."
  }

  assert {
    condition     = length(local.state_machine_function_arns["deploy"]) == 9 && !contains(local.state_machine_function_arns["deploy"], "arn:aws:lambda:eu-west-1:123456789012:function:ferry-alarm-watch")
    error_message = "The deploy machine invokes every handler but alarm-watch, which EventBridge invokes."
  }

  assert {
    condition = local.state_machine_function_arns["plan"] == tolist([
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-pr-plan",
    ])
    error_message = "The plan machine may invoke pr-plan only."
  }
}

run "empty_scoping_lists_grant_nothing_instead_of_everything" {
  command = apply

  variables {
    ecs_service_arns   = []
    listener_arns      = []
    listener_rule_arns = []
    task_role_arns     = []
    alarm_arns         = []
  }

  assert {
    condition = alltrue([
      for fn in ["create-taskset", "wait-stable", "shift-weights", "check-alarms", "finalize", "rollback"] :
      length(data.aws_iam_policy_document.function[fn].statement) == 3
    ])
    error_message = "With nothing listed, the functions keep logs, X-Ray and the table only."
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.function["plan"].statement : s.sid] == ["WriteOwnLogs", "XRayTraces", "DeploymentTable", "ReadGithubCredentials"]
    error_message = "With nothing listed, plan keeps logs, X-Ray, the table and Git only."
  }
}

run "clusters_allow_every_service_they_hold" {
  command = apply

  variables {
    ecs_service_arns = []
    ecs_cluster_arns = ["arn:aws:ecs:eu-west-1:123456789012:cluster/prod"]
  }

  assert {
    condition     = toset(local.ecs_service_patterns) == toset(["arn:aws:ecs:eu-west-1:123456789012:service/prod/*"])
    error_message = "A cluster ARN must allow the services of that cluster."
  }

  assert {
    condition     = toset(local.ecs_task_set_patterns) == toset(["arn:aws:ecs:eu-west-1:123456789012:task-set/prod/*/*"])
    error_message = "A cluster ARN must allow the task sets of that cluster's services."
  }
}
