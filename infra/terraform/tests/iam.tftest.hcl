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
    error_message = "plan must only read Git (the GitHub credentials), the service, its task sets, the load balancer and the alarms, and use the table (its TransactWriteItems is two conditional Puts and, for a pushed commit, a conditional Update: PutItem and UpdateItem)."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["push-deploy"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "secretsmanager:GetSecretValue", "states:StartExecution", "states:DescribeExecution", "states:SendTaskFailure",
    ])
    error_message = "push-deploy must only read Git (the GitHub credentials), start deploy executions, and roll back a deployment a newer push cancels (onNewerPush: cancel)."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["converge"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "states:StartExecution", "states:DescribeExecution", "states:SendTaskFailure",
    ])
    error_message = "converge must only use the table, start deploy executions, and roll back a deployment a newer push cancels; it reads no Git."
  }

  assert {
    condition = alltrue(flatten([
      for fn in ["push-deploy", "converge"] : [
        for s in data.aws_iam_policy_document.function[fn].statement :
        contains([
          toset([
            "arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-deploy",
            "arn:aws:states:eu-west-1:123456789012:execution:ferry-deploy:*",
          ]),
          toset([
            "arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-traffic",
            "arn:aws:states:eu-west-1:123456789012:execution:ferry-traffic:*",
          ]),
        ], toset(s.resources))
        if contains(s.actions, "states:StartExecution")
      ]
    ]))
    error_message = "push-deploy and converge may start and describe executions of the deploy and traffic state machines only."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "states:StartExecution")
    ] == ["alarm-watch", "control", "converge", "push-deploy", "slack-callback"]
    error_message = "Only push-deploy and converge (deployments, and rollbacks for onNewerPush: cancel), alarm-watch (traffic rollbacks), and control and slack-callback (promote, rollback, presets) may start executions."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["slack-callback"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "states:SendTaskSuccess", "states:SendTaskFailure", "states:StartExecution", "states:DescribeExecution",
    ])
    error_message = "slack-callback (internet-facing) may answer waits and start the traffic workflow, as control; without slack_enabled it reads no secret."
  }

  assert {
    condition     = length(aws_lambda_function_url.slack_callback) == 0 && length(aws_secretsmanager_secret.slack_bot_token) == 0 && !contains(keys(aws_lambda_function.function["plan"].environment[0].variables), "FERRY_SLACK_BOT_TOKEN_SECRET_ARN")
    error_message = "Without slack_enabled (the default) there is no Slack URL, no Slack secret, and no function looks for one."
  }

  assert {
    condition     = aws_cloudwatch_event_target.deploy_ended_converge.arn == aws_lambda_function.function["converge"].arn && aws_lambda_permission.converge_events.source_arn == aws_cloudwatch_event_rule.deploy_ended.arn && jsondecode(aws_cloudwatch_event_rule.deploy_ended.event_pattern).detail.stateMachineArn == ["arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-deploy"]
    error_message = "The end of a deploy execution (and only of the deploy state machine's) goes to converge, and only that rule may invoke it."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["alarm-watch"].statement :
      toset(s.resources) == toset([
        "arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-traffic",
        "arn:aws:states:eu-west-1:123456789012:execution:ferry-traffic:*",
      ])
      if contains(s.actions, "states:StartExecution")
    ])
    error_message = "alarm-watch may start and describe executions of the traffic state machine only."
  }

  assert {
    condition     = aws_lambda_function.function["alarm-watch"].environment[0].variables["FERRY_TRAFFIC_STATE_MACHINE_ARN"] == "arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-traffic"
    error_message = "alarm-watch must be told the traffic state machine (FERRY_TRAFFIC_STATE_MACHINE_ARN), as a static ARN."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["control"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "states:SendTaskSuccess", "states:SendTaskFailure", "states:StartExecution", "states:DescribeExecution",
    ])
    error_message = "control must only answer task tokens, start traffic executions and use the table (records, gsi1 and gsi2)."
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.function["control"].statement : s.sid] == ["WriteOwnLogs", "XRayTraces", "DeploymentTable", "StatesSendTask", "StartTrafficExecutions"]
    error_message = "control's statements: logs, X-Ray, the table, SendTask* and the traffic workflow."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["control"].statement :
      toset(s.resources) == toset(["*"]) && toset(s.actions) == toset(["states:SendTaskSuccess", "states:SendTaskFailure"])
      if anytrue([for action in s.actions : startswith(action, "states:SendTask")])
    ])
    error_message = "control's SendTaskSuccess and SendTaskFailure are on \"*\" (a task token is not an ARN), in a statement of their own."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["control"].statement :
      toset(s.resources) == toset([
        "arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-traffic",
        "arn:aws:states:eu-west-1:123456789012:execution:ferry-traffic:*",
      ])
      if contains(s.actions, "states:StartExecution")
    ])
    error_message = "control may start and describe executions of the traffic state machine only, never deployments."
  }

  assert {
    condition     = aws_lambda_function.function["control"].environment[0].variables["FERRY_TRAFFIC_STATE_MACHINE_ARN"] == "arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-traffic" && aws_lambda_function.function["control"].timeout == 30 && aws_lambda_function.function["control"].memory_size == 256
    error_message = "control must be told the traffic state machine (FERRY_TRAFFIC_STATE_MACHINE_ARN), as a static ARN."
  }

  assert {
    condition     = aws_lambda_function_url.control.authorization_type == "AWS_IAM" && aws_lambda_function_url.control.function_name == aws_lambda_function.function["control"].function_name
    error_message = "The control URL must be AWS_IAM: AWS authenticates the caller, whose IAM principal is the actor checked against the approvers. NONE would let anyone on the internet act, as nobody."
  }

  assert {
    condition = toset([
      for s in data.aws_iam_policy_document.operators[0].statement :
      "${join(",", s.actions)} ${join(",", s.resources)} ${one(s.condition).test} ${one(s.condition).variable}=${one(one(s.condition).values)}"
      ]) == toset([
      "lambda:InvokeFunctionUrl arn:aws:lambda:eu-west-1:123456789012:function:ferry-control StringEquals lambda:FunctionUrlAuthType=AWS_IAM",
      "lambda:InvokeFunction arn:aws:lambda:eu-west-1:123456789012:function:ferry-control Bool lambda:InvokedViaFunctionUrl=true",
    ])
    error_message = "The operators policy allows exactly calling the control function through its AWS_IAM URL: InvokeFunctionUrl (auth type AWS_IAM) and InvokeFunction (via a function URL only)."
  }

  assert {
    condition     = length(aws_iam_policy.operators) == 1 && aws_iam_policy.operators[0].name == "ferry-operators"
    error_message = "create_operators_policy (default true) creates the \"<prefix>-operators\" policy."
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
      "ecs:DescribeTaskSets", "ecs:DescribeServices", "ecs:UpdateServicePrimaryTaskSet", "ecs:UpdateTaskSet", "ecs:DeleteTaskSet",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:ModifyListener",
      "secretsmanager:GetSecretValue",
    ])
    error_message = "finalize must only confirm the weights, point the test listener at green, promote green, scale blue down and remove it, and read the GitHub credentials (the deployment's success on GitHub)."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["wait-stable"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "ecs:DescribeTaskSets", "ecs:DescribeServices",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:ModifyListener",
    ])
    error_message = "wait-stable must only read green and point the test listener at it."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["rollback"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
      "ecs:DescribeServices", "ecs:DescribeTaskSets", "ecs:UpdateServicePrimaryTaskSet", "ecs:DeleteTaskSet",
      "secretsmanager:GetSecretValue",
    ])
    error_message = "rollback must only move traffic back, restore blue as primary and remove green, and read the GitHub credentials (the failure on GitHub)."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["shift-weights"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
      "ecs:DescribeTaskSets",
    ])
    error_message = "shift-weights must only read and modify listeners and rules, and check that green still exists."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["alarm-watch"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "states:SendTaskFailure", "states:StartExecution", "states:DescribeExecution",
    ])
    error_message = "alarm-watch must only fail task tokens and start traffic rollbacks (and use the table)."
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
      for fn in ["plan", "push-deploy", "pr-plan", "poller", "finalize", "rollback"] : alltrue([
        for s in data.aws_iam_policy_document.function[fn].statement :
        toset(s.resources) == toset([aws_secretsmanager_secret.github_credentials.arn])
        if contains(s.actions, "secretsmanager:GetSecretValue")
      ])
    ])
    error_message = "plan, push-deploy, pr-plan, poller, finalize and rollback may read the GitHub credentials secret only (without slack_enabled)."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["webhook-intake"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:DeleteItem", "dynamodb:PutItem",
      "secretsmanager:GetSecretValue", "events:PutEvents", "s3:PutObject",
    ])
    error_message = "webhook-intake must only read the webhook secret, put events on the bus, put oversized payloads and record or forget delivery ids."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["webhook-intake"].statement :
      toset(s.resources) == toset([aws_dynamodb_table.ferry.arn]) && one(s.condition).test == "ForAllValues:StringLike" && one(s.condition).variable == "dynamodb:LeadingKeys" && one(one(s.condition).values) == "DELIVERY#*"
      if anytrue([for action in s.actions : startswith(action, "dynamodb:")])
    ])
    error_message = "The internet-facing intake may write only delivery items (partition key DELIVERY#<id>), on the table, not its indexes."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if !contains([for s in doc.statement : s.sid], "DeploymentTable")
    ] == ["webhook-intake"]
    error_message = "Every function but webhook-intake uses the whole table; webhook-intake only its delivery items."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "s3:PutObject") || contains([for s in doc.statement : s.sid], "ReadGitHubWebhookSecret")
    ] == ["webhook-intake"]
    error_message = "Only webhook-intake may read the webhook secret and write payloads."
  }

  assert {
    condition     = aws_lambda_function_url.webhook_intake.authorization_type == "NONE" && aws_lambda_permission.webhook_intake_url.action == "lambda:InvokeFunctionUrl" && aws_lambda_permission.webhook_intake_url.function_url_auth_type == "NONE"
    error_message = "The webhook URL is public (GitHub cannot sign with SigV4): InvokeFunctionUrl for auth type NONE."
  }

  assert {
    condition     = aws_lambda_permission.webhook_intake_url_invoke.action == "lambda:InvokeFunction" && aws_lambda_permission.webhook_intake_url_invoke.invoked_via_function_url == true && aws_lambda_permission.webhook_intake_url_invoke.function_name == aws_lambda_function_url.webhook_intake.function_name
    error_message = "A public function URL also needs lambda:InvokeFunction (since October 2025), limited to invocations through the URL (lambda:InvokedViaFunctionUrl)."
  }

  assert {
    condition = alltrue([
      for fn, f in aws_lambda_function.function :
      contains(["webhook-intake", "slack-callback"], fn) ? f.reserved_concurrent_executions == 10 : coalesce(f.reserved_concurrent_executions, -1) == -1
    ])
    error_message = "The functions behind public URLs (local.public_url_functions) have a reserved concurrency cap (public_url_reserved_concurrency, 10); the others are unreserved."
  }

  assert {
    condition = alltrue([
      for fn in ["approval", "bake", "check-alarms"] :
      toset(flatten([for s in data.aws_iam_policy_document.function[fn].statement : s.actions])) == toset([
        "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
        "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "cloudwatch:DescribeAlarms",
      ])
    ])
    error_message = "approval, bake and check-alarms only read the alarms (and use the table): bake fails at once, and approval checks them first, when a guarding alarm fires."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "cloudwatch:DescribeAlarms")
    ] == ["approval", "bake", "check-alarms", "plan"]
    error_message = "Only plan, approval, bake and check-alarms read alarms."
  }

  assert {
    condition     = aws_lambda_function.function["create-taskset"].timeout < 65 && aws_lambda_function.function["shift-weights"].timeout < 65
    error_message = "the fence lease (ferry_handlers::Settings::fence_lease, 65 s) must outlast the Lambda timeout of every handler that raises a fence."
  }

  assert {
    condition     = aws_lambda_function.function["rollback"].timeout >= 120 && aws_lambda_function.function["alarm-watch"].timeout >= 120
    error_message = "rollback may wait out the fence lease (65 s) for a traffic change in flight, and alarm-watch handles every deployment the alarm guards one after another: their timeouts must leave room."
  }

  assert {
    condition     = alltrue([for fn, f in aws_lambda_function.function : f.logging_config[0].log_format == "JSON" && f.logging_config[0].application_log_level == "INFO"])
    error_message = "With rust_log = \"info\", Lambda keeps INFO and above of the JSON logs."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "states:SendTaskFailure")
    ] == ["alarm-watch", "control", "converge", "push-deploy", "slack-callback"]
    error_message = "Only alarm-watch (alarms), control and slack-callback (people), and push-deploy and converge (onNewerPush: cancel) may fail task tokens."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "states:SendTaskSuccess")
    ] == ["control", "slack-callback"]
    error_message = "Only control and slack-callback may succeed task tokens: people answer waits through them alone."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "iam:PassRole")
    ] == ["create-taskset", "run-hooks"]
    error_message = "Only create-taskset (task definitions it registers) and run-hooks (one-off tasks of task hooks) may pass roles."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.function["run-hooks"].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "ecs:DescribeServices", "ecs:RunTask", "ecs:DescribeTasks", "ecs:StopTask", "iam:PassRole",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancers",
      "cloudwatch:DescribeAlarms",
    ])
    error_message = "run-hooks must only find green's network, read the guarding alarms, run, watch and stop a task hook's task (passing the task roles), and read the test listener's address; without hook_function_arns it invokes no function, without hooks_vpc_config it manages no network interface, and without slack_enabled it reads no secret."
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.function["run-hooks"].statement : s.sid] == ["WriteOwnLogs", "XRayTraces", "DeploymentTable", "CloudWatchDescribeAlarms", "EcsDescribeServices", "EcsHookTasks", "EcsRunHookTasks", "ElbDescribeListenerAddress", "PassTaskRolesToEcs"]
    error_message = "run-hooks' statements: logs, X-Ray, the table, the alarms, the service, the hook tasks, RunTask, the listener's address and PassRole (no InvokeHookFunctions and no Vpc* statement by default)."
  }

  assert {
    condition     = aws_lambda_function.function["run-hooks"].timeout == 60 && aws_lambda_function.function["run-hooks"].memory_size == 256 && length(aws_lambda_function.function["run-hooks"].vpc_config) == 0
    error_message = "run-hooks: 60 s (one attempt is at most a 20 s request or a 45 s Invoke), 256 MB, outside any VPC unless hooks_vpc_config is set."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if anytrue([for action in flatten([for s in doc.statement : s.actions]) : contains(["ecs:RunTask", "ecs:DescribeTasks", "ecs:StopTask", "elasticloadbalancing:DescribeLoadBalancers", "lambda:InvokeFunction"], action)])
    ] == ["run-hooks"]
    error_message = "Only run-hooks runs, describes and stops tasks, reads load balancers and invokes functions."
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
            "elasticloadbalancing:DescribeLoadBalancers",
            "xray:PutTraceSegments", "xray:PutTelemetryRecords", "states:SendTaskFailure", "states:SendTaskSuccess",
            "cloudwatch:DescribeAlarms",
          ], action)
        ]) if contains(s.resources, "*")
      ]
    ]))
    error_message = "Only actions without resource-level permissions (and CreateTaskSet, scoped by condition, and DescribeAlarms, which returns composite alarms only on \"*\") may use \"*\"."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["check-alarms"].statement :
      toset(s.resources) == toset(["*"])
      if contains(s.actions, "cloudwatch:DescribeAlarms")
    ])
    error_message = "DescribeAlarms must be on \"*\": CloudWatch returns composite alarms to no narrower grant."
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
    condition = alltrue(flatten([
      for fn in ["rollback", "wait-stable", "finalize"] : [
        for s in data.aws_iam_policy_document.function[fn].statement :
        s.resources == toset(var.listener_arns)
        if contains(s.actions, "elasticloadbalancing:ModifyListener")
      ]
    ]))
    error_message = "ModifyListener must be limited to the listed listeners."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["run-hooks"].statement :
      toset(s.resources) == toset(["arn:aws:ecs:eu-west-1:123456789012:task-definition/*"]) && one(s.condition).test == "ArnEquals" && one(s.condition).variable == "ecs:cluster" && one(one(s.condition).values) == "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"
      if contains(s.actions, "ecs:RunTask")
    ])
    error_message = "RunTask (resource type task-definition) must be limited with ecs:cluster to the clusters of the listed services."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["run-hooks"].statement :
      toset(s.resources) == toset(["arn:aws:ecs:eu-west-1:123456789012:task/prod/*"]) && toset(s.actions) == toset(["ecs:DescribeTasks", "ecs:StopTask"])
      if contains(s.actions, "ecs:DescribeTasks") || contains(s.actions, "ecs:StopTask")
    ])
    error_message = "DescribeTasks and StopTask (resource type task) must be limited to the tasks of the listed services' clusters."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.function["run-hooks"].statement :
      s.resources == toset(var.task_role_arns) && one(s.condition).variable == "iam:PassedToService" && one(one(s.condition).values) == "ecs-tasks.amazonaws.com"
      if contains(s.actions, "iam:PassRole")
    ])
    error_message = "run-hooks may pass the task roles to ECS tasks only, as create-taskset."
  }
}

run "each_state_machine_may_invoke_only_its_own_functions" {
  command = apply

  assert {
    condition = local.state_machine_function_arns["traffic"] == tolist([
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-bake",
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-finalize",
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-rollback",
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-run-hooks",
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-shift-weights",
    ])
    error_message = "The traffic machine may invoke shift-weights, bake (keeping blue warm), run-hooks (the hooks of a preset's step), finalize and rollback only."
  }

  assert {
    condition     = length(local.state_machine_function_arns["deploy"]) == 10 && contains(local.state_machine_function_arns["deploy"], "arn:aws:lambda:eu-west-1:123456789012:function:ferry-run-hooks") && !contains(local.state_machine_function_arns["deploy"], "arn:aws:lambda:eu-west-1:123456789012:function:ferry-alarm-watch")
    error_message = "The deploy machine invokes every handler but alarm-watch, which EventBridge invokes."
  }

  assert {
    condition = local.state_machine_function_arns["plan"] == tolist([
      "arn:aws:lambda:eu-west-1:123456789012:function:ferry-pr-plan",
    ])
    error_message = "The plan machine may invoke pr-plan only."
  }
}

run "every_workflow_is_standard_with_its_own_role_logs_and_tracing" {
  command = apply

  assert {
    condition     = keys(aws_sfn_state_machine.workflow) == ["deploy", "plan", "traffic"] && keys(output.state_machine_arns) == ["deploy", "plan", "traffic"]
    error_message = "aws_sfn_state_machine.workflow holds the deploy, traffic and plan machines, and state_machine_arns lists each."
  }

  assert {
    condition = alltrue([
      for key, sm in aws_sfn_state_machine.workflow :
      sm.name == "ferry-${key}" && sm.type == "STANDARD" && sm.role_arn == aws_iam_role.state_machine[key].arn
    ])
    error_message = "Each workflow is a Standard state machine named <prefix>-<key>, run by its own role."
  }

  assert {
    condition = alltrue([
      for key, sm in aws_sfn_state_machine.workflow :
      sm.logging_configuration[0].level == "ALL" && sm.logging_configuration[0].include_execution_data == true && sm.logging_configuration[0].log_destination == "${aws_cloudwatch_log_group.state_machine[key].arn}:*" && sm.tracing_configuration[0].enabled == true
    ])
    error_message = "Each workflow logs at level ALL (with execution data, by default) to its own log group and is traced with X-Ray."
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
      for fn in ["create-taskset", "wait-stable", "approval", "shift-weights", "bake", "check-alarms"] :
      length(data.aws_iam_policy_document.function[fn].statement) == 3
    ])
    error_message = "With nothing listed, the functions keep logs, X-Ray and the table only (no alarm listed: no DescribeAlarms, not even on \"*\")."
  }

  assert {
    condition = alltrue([
      for fn in ["finalize", "rollback"] :
      [for s in data.aws_iam_policy_document.function[fn].statement : s.sid] == ["WriteOwnLogs", "XRayTraces", "DeploymentTable", "ReadGithubCredentials"]
    ])
    error_message = "With nothing listed, finalize and rollback keep logs, X-Ray, the table and the GitHub credentials (deployment statuses) only."
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.function["plan"].statement : s.sid] == ["WriteOwnLogs", "XRayTraces", "DeploymentTable", "ReadGithubCredentials"]
    error_message = "With nothing listed, plan keeps logs, X-Ray, the table and Git only."
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.function["run-hooks"].statement : s.sid] == ["WriteOwnLogs", "XRayTraces", "DeploymentTable"]
    error_message = "With nothing listed, run-hooks keeps logs, X-Ray and the table only: no RunTask on \"*\", no listener, no function."
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

  assert {
    condition     = toset(local.ecs_clusters) == toset(["arn:aws:ecs:eu-west-1:123456789012:cluster/prod"]) && toset(local.ecs_task_patterns) == toset(["arn:aws:ecs:eu-west-1:123456789012:task/prod/*"])
    error_message = "A cluster ARN must allow hook tasks in that cluster (RunTask's ecs:cluster, DescribeTasks and StopTask on its tasks)."
  }
}

run "lambda_keeps_the_log_levels_rust_log_enables" {
  command = apply

  variables {
    rust_log = "info,ferry_aws=debug"
  }

  assert {
    condition     = alltrue([for fn, f in aws_lambda_function.function : f.logging_config[0].application_log_level == "DEBUG"])
    error_message = "rust_log enabling debug for a target must set application_log_level DEBUG, or Lambda drops those JSON lines."
  }
}

run "a_bare_rust_log_target_enables_every_level" {
  command = apply

  variables {
    rust_log = "warn,ferry_handlers"
  }

  assert {
    condition     = alltrue([for fn, f in aws_lambda_function.function : f.logging_config[0].application_log_level == "TRACE"])
    error_message = "A target without a level enables every level: application_log_level must be TRACE."
  }
}

run "public_url_concurrency_can_be_left_unreserved" {
  command = apply

  variables {
    public_url_reserved_concurrency = null
  }

  assert {
    condition     = alltrue([for fn, f in aws_lambda_function.function : coalesce(f.reserved_concurrent_executions, -1) == -1])
    error_message = "public_url_reserved_concurrency = null reserves nothing (accounts with a low concurrency quota)."
  }
}

run "operators_policy_can_be_left_out" {
  command = apply

  variables {
    create_operators_policy = false
  }

  assert {
    condition     = length(aws_iam_policy.operators) == 0 && output.operators_policy_arn == null
    error_message = "create_operators_policy = false creates no operators policy, and operators_policy_arn is null."
  }

  assert {
    condition     = aws_lambda_function_url.control.authorization_type == "AWS_IAM"
    error_message = "Without the operators policy the control URL stays AWS_IAM: callers need grants of their own."
  }
}

run "hook_functions_may_be_invoked_with_their_versions_and_aliases" {
  command = apply

  variables {
    hook_function_arns = [
      "arn:aws:lambda:eu-west-1:123456789012:function:web-smoke-test",
      "arn:aws:lambda:eu-west-1:123456789012:function:web-contract-test:live",
    ]
  }

  assert {
    condition = [
      for s in data.aws_iam_policy_document.function["run-hooks"].statement : toset(s.resources)
      if contains(s.actions, "lambda:InvokeFunction")
      ] == [toset([
        "arn:aws:lambda:eu-west-1:123456789012:function:web-smoke-test",
        "arn:aws:lambda:eu-west-1:123456789012:function:web-smoke-test:*",
        "arn:aws:lambda:eu-west-1:123456789012:function:web-contract-test:live",
    ])]
    error_message = "run-hooks may invoke the listed hook functions: an unqualified ARN with its versions and aliases (<arn>:*), a qualified one exactly."
  }

  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.function["run-hooks"].statement : s.actions if s.sid == "InvokeHookFunctions"])) == toset(["lambda:InvokeFunction"])
    error_message = "The hook functions statement allows lambda:InvokeFunction and nothing else."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if contains(flatten([for s in doc.statement : s.actions]), "lambda:InvokeFunction")
    ] == ["run-hooks"]
    error_message = "Only run-hooks invokes functions (the state machines invoke Ferry's own, with their own roles)."
  }
}

run "hook_function_arns_must_be_function_arns" {
  command = plan

  variables {
    hook_function_arns = ["arn:aws:lambda:eu-west-1:123456789012:function:*"]
  }

  expect_failures = [var.hook_function_arns]
}

run "hooks_vpc_config_attaches_run_hooks_alone" {
  command = apply

  variables {
    hooks_vpc_config = {
      subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
      security_group_ids = ["sg-0123456789abcdef0"]
    }
  }

  assert {
    condition     = toset(aws_lambda_function.function["run-hooks"].vpc_config[0].subnet_ids) == toset(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]) && toset(aws_lambda_function.function["run-hooks"].vpc_config[0].security_group_ids) == toset(["sg-0123456789abcdef0"])
    error_message = "hooks_vpc_config attaches run-hooks to its subnets and security groups."
  }

  assert {
    condition     = alltrue([for fn, f in aws_lambda_function.function : length(f.vpc_config) == 0 if fn != "run-hooks"])
    error_message = "No other function runs in a VPC."
  }

  assert {
    condition = {
      for s in data.aws_iam_policy_document.function["run-hooks"].statement : s.sid => [toset(s.actions), toset(s.resources)]
      if startswith(s.sid, "Vpc")
      } == {
      VpcDescribeNetworkInterfaces = [toset(["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]), toset(["*"])]
      VpcCreateNetworkInterfaces = [toset(["ec2:CreateNetworkInterface"]), toset([
        "arn:aws:ec2:eu-west-1:123456789012:network-interface/*",
        "arn:aws:ec2:eu-west-1:*:subnet/subnet-0123456789abcdef0",
        "arn:aws:ec2:eu-west-1:*:subnet/subnet-0fedcba9876543210",
        "arn:aws:ec2:eu-west-1:*:security-group/sg-0123456789abcdef0",
      ])]
      VpcManageNetworkInterfaces = [toset(["ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"]), toset(["arn:aws:ec2:eu-west-1:123456789012:network-interface/*"])]
    }
    error_message = "In a VPC, run-hooks may describe network interfaces and subnets (no resource type: \"*\"), create network interfaces in the configured subnets with the configured security groups, and manage the network interfaces of this account and region."
  }

  assert {
    condition = [
      for fn, doc in data.aws_iam_policy_document.function : fn
      if anytrue([for action in flatten([for s in doc.statement : s.actions]) : startswith(action, "ec2:")])
    ] == ["run-hooks"]
    error_message = "Only run-hooks gets network interface permissions."
  }
}
