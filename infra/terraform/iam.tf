# One role per function, each with only the actions its handler calls.
# docs/iam.md explains every statement; change the two together.
#
# A statement whose resource list is empty (say, no listener_rule_arns given)
# is left out instead of being widened: the function then simply has no such
# permission.

locals {
  # Every handler reads and writes its deployment record, the service lock and
  # task tokens, and queries the gsi1 ("in flight") and gsi2 ("latest per
  # service") indexes. TransactWriteItems has no IAM action of its own: each
  # item of a transaction is authorized as the operation it is (Put: PutItem,
  # Update: UpdateItem, Delete: DeleteItem, ConditionCheck: ConditionCheckItem),
  # so these cover Ferry's transactions too.
  table_item_actions = [
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
  ]

  # What each function may do in the table: "items" (the default) is every
  # item action on the table and its indexes; "deliveries" is the internet-facing
  # webhook intake's, which only records a delivery id (PutItem with
  # attribute_not_exists) and forgets it again when its event could not be
  # published (DeleteItem), on items whose partition key is DELIVERY#<id>
  # (crates/ferry-aws/src/deliveries.rs).
  table_access = {
    "webhook-intake" = "deliveries"
  }

  table_statements = {
    items = {
      sid        = "DeploymentTable"
      actions    = local.table_item_actions
      resources  = [aws_dynamodb_table.ferry.arn, "${aws_dynamodb_table.ferry.arn}/index/*"]
      conditions = []
    }
    deliveries = {
      sid       = "WebhookDeliveries"
      actions   = ["dynamodb:DeleteItem", "dynamodb:PutItem"]
      resources = [aws_dynamodb_table.ferry.arn]
      # ForAllValues: every partition key the request touches must match.
      conditions = [{
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = ["DELIVERY#*"]
      }]
    }
  }

  # The statements functions may be given, by the keys local.functions uses.
  permission_statements = {
    ecs_describe_services = {
      sid        = "EcsDescribeServices"
      actions    = ["ecs:DescribeServices"]
      resources  = local.ecs_service_patterns
      conditions = []
    }
    ecs_describe_task_sets = {
      sid        = "EcsDescribeTaskSets"
      actions    = ["ecs:DescribeTaskSets"]
      resources  = local.ecs_task_set_patterns
      conditions = []
    }
    ecs_register_task_definition = {
      sid     = "EcsRegisterTaskDefinition"
      actions = ["ecs:RegisterTaskDefinition"]
      # RegisterTaskDefinition has no resource type: IAM only accepts "*" for it.
      # What the task definitions may do is bounded by iam_pass_task_roles.
      # Without a service to deploy to, there is nothing to register for.
      resources  = length(local.ecs_service_patterns) > 0 ? ["*"] : []
      conditions = []
    }
    ecs_create_task_set = {
      sid     = "EcsCreateTaskSet"
      actions = ["ecs:CreateTaskSet"]
      # CreateTaskSet has no resource type either; the ecs:service condition key
      # restricts it to the allowed services.
      resources = length(local.ecs_service_patterns) > 0 ? ["*"] : []
      conditions = [{
        test     = "ArnLike"
        variable = "ecs:service"
        values   = local.ecs_service_patterns
      }]
    }
    ecs_tag_on_create = {
      sid     = "EcsTagOnCreate"
      actions = ["ecs:TagResource"]
      # Tags given to CreateTaskSet / RegisterTaskDefinition need TagResource on
      # the new resource; ecs:CreateAction allows nothing but tag-on-create.
      resources = length(local.ecs_service_patterns) > 0 ? concat(
        local.ecs_task_set_patterns,
        ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/*"],
      ) : []
      conditions = [{
        test     = "StringEquals"
        variable = "ecs:CreateAction"
        values   = ["CreateTaskSet", "RegisterTaskDefinition"]
      }]
    }
    iam_pass_task_roles = {
      # create-taskset registers task definitions that name these roles, and
      # run-hooks runs one-off tasks of such task definitions: RegisterTaskDefinition
      # and RunTask both need iam:PassRole for the task and execution role.
      sid       = "PassTaskRolesToEcs"
      actions   = ["iam:PassRole"]
      resources = var.task_role_arns
      conditions = [{
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs-tasks.amazonaws.com"]
      }]
    }
    ecs_update_primary_task_set = {
      sid        = "EcsUpdateServicePrimaryTaskSet"
      actions    = ["ecs:UpdateServicePrimaryTaskSet"]
      resources  = local.ecs_service_patterns
      conditions = []
    }
    ecs_update_task_set = {
      sid        = "EcsUpdateTaskSet"
      actions    = ["ecs:UpdateTaskSet"]
      resources  = local.ecs_task_set_patterns
      conditions = []
    }
    ecs_delete_task_set = {
      sid        = "EcsDeleteTaskSet"
      actions    = ["ecs:DeleteTaskSet"]
      resources  = local.ecs_task_set_patterns
      conditions = []
    }
    ecs_run_hook_tasks = {
      # run-hooks starts a task hook's one-off task where green runs: green's
      # task definition, or the one the hook names. Service Authorization
      # Reference: RunTask's resource type is task-definition (required), and it
      # supports the ecs:cluster condition key (dependent actions: iam:PassRole,
      # and ecs:TagResource for tags, which Ferry's RunTask never sets). Any task
      # definition of the account, since create-taskset registers green's and a
      # hook may name another; in the listed clusters only, and with no roles
      # but those of task_role_arns (iam_pass_task_roles).
      sid       = "EcsRunHookTasks"
      actions   = ["ecs:RunTask"]
      resources = length(local.ecs_clusters) > 0 ? ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/*"] : []
      conditions = [{
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = local.ecs_clusters
      }]
    }
    ecs_hook_tasks = {
      # run-hooks watches the task it started and stops it when the hook times
      # out. DescribeTasks and StopTask have the resource type task (required):
      # arn:…:task/<cluster>/<task id>, so the tasks of the listed clusters.
      sid        = "EcsHookTasks"
      actions    = ["ecs:DescribeTasks", "ecs:StopTask"]
      resources  = local.ecs_task_patterns
      conditions = []
    }
    elb_describe = {
      sid = "ElbDescribe"
      actions = [
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
      ]
      # The ELB Describe* actions have no resource-level permissions: IAM only
      # accepts "*" for them. They read configuration, never traffic, and are
      # only given when there is a listener or rule to shift.
      resources  = length(var.listener_arns) + length(var.listener_rule_arns) > 0 ? ["*"] : []
      conditions = []
    }
    elb_describe_listener_address = {
      # run-hooks turns the test listener into the URL of an http hook: the
      # listener's protocol and port (DescribeListeners) and its load balancer's
      # DNS name (DescribeLoadBalancers). Neither has a resource type in the
      # Service Authorization Reference: IAM only accepts "*". A statement of its
      # own, so that the functions that shift traffic do not get
      # DescribeLoadBalancers, which they never call. Only when there is a
      # listener (test listeners are listed in listener_arns).
      sid = "ElbDescribeListenerAddress"
      actions = [
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancers",
      ]
      resources  = length(var.listener_arns) > 0 ? ["*"] : []
      conditions = []
    }
    elb_modify_listener = {
      sid        = "ElbModifyListener"
      actions    = ["elasticloadbalancing:ModifyListener"]
      resources  = var.listener_arns
      conditions = []
    }
    elb_modify_rule = {
      sid        = "ElbModifyRule"
      actions    = ["elasticloadbalancing:ModifyRule"]
      resources  = var.listener_rule_arns
      conditions = []
    }
    alarms_describe = {
      sid     = "CloudWatchDescribeAlarms"
      actions = ["cloudwatch:DescribeAlarms"]
      # Ferry asks for metric and composite alarms (AlarmTypes MetricAlarm and
      # CompositeAlarm), and CloudWatch returns composite alarms only to a
      # DescribeAlarms permission on "*": scoped to alarm ARNs, a manifest's
      # composite alarm would look missing. DescribeAlarms only reads alarm
      # configuration and state. It is given only when alarms are listed
      # (alarm_arns, alarm_name_prefixes), which the plan checks manifests against.
      resources  = length(local.alarm_patterns) > 0 ? ["*"] : []
      conditions = []
    }
    states_send_task_failure = {
      sid     = "StatesSendTaskFailure"
      actions = ["states:SendTaskFailure"]
      # SendTask* have no resource type (a task token is not an ARN): IAM only
      # accepts "*". A token can only be used by whoever holds it, and tokens
      # live in the Ferry table.
      resources  = ["*"]
      conditions = []
    }
    states_send_task = {
      # control answers the waits people answer: SendTaskSuccess for ferry approve
      # (and promote, which ends the keep-blue-warm wait early), SendTaskFailure
      # for ferry reject and for ferry rollback of a wait nobody answered yet.
      sid     = "StatesSendTask"
      actions = ["states:SendTaskSuccess", "states:SendTaskFailure"]
      # As above: SendTask* have no resource type (a task token is not an ARN), so
      # IAM only accepts "*". A token can only be used by whoever holds it, tokens
      # live in the Ferry table, and control sends one only after the manifest's
      # rules (approvers, no self-approval) allowed the caller's answer.
      resources  = ["*"]
      conditions = []
    }
    states_start_traffic = {
      # alarm-watch rolls back a deployment that holds at a preset (its deploy
      # execution has ended) by starting the traffic workflow; control starts it
      # for ferry promote, rollback and traffic (presets). DescribeExecution,
      # as for push-deploy: a retried start finds the execution it started.
      sid     = "StartTrafficExecutions"
      actions = ["states:StartExecution", "states:DescribeExecution"]
      resources = [
        local.state_machine_arns["traffic"],
        "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_names["traffic"]}:*",
      ]
      conditions = []
    }
    states_start_deploy = {
      # push-deploy starts deployments; DescribeExecution tells a retry of its
      # own start (same input) from a commit someone else deployed first.
      sid     = "StartDeployExecutions"
      actions = ["states:StartExecution", "states:DescribeExecution"]
      resources = [
        local.state_machine_arns["deploy"],
        "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_names["deploy"]}:*",
      ]
      conditions = []
    }
    secrets_github_credentials = {
      sid        = "ReadGithubCredentials"
      actions    = ["secretsmanager:GetSecretValue"]
      resources  = [aws_secretsmanager_secret.github_credentials.arn]
      conditions = []
    }
    secrets_kms_decrypt = {
      # Only with a customer managed key; the AWS managed key needs no grant.
      sid       = "DecryptGithubSecrets"
      actions   = ["kms:Decrypt"]
      resources = var.secrets_kms_key_arn == null ? [] : [var.secrets_kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }]
    }
    events_put_events = {
      # The poller publishes push events here, and webhook-intake every GitHub event.
      sid        = "EventBridgePutEvents"
      actions    = ["events:PutEvents"]
      resources  = [aws_cloudwatch_event_bus.ferry.arn]
      conditions = []
    }
    secrets_read_webhook_secret = {
      sid        = "ReadGitHubWebhookSecret"
      actions    = ["secretsmanager:GetSecretValue"]
      resources  = [aws_secretsmanager_secret.github_webhook.arn]
      conditions = []
    }
    secrets_slack_bot_token = {
      # The functions that notify deployments read the bot token, only when a
      # deployment names a Slack channel (and only with slack_enabled).
      sid        = "ReadSlackBotToken"
      actions    = ["secretsmanager:GetSecretValue"]
      resources  = aws_secretsmanager_secret.slack_bot_token[*].arn
      conditions = []
    }
    secrets_slack_signing_secret = {
      sid        = "ReadSlackSigningSecret"
      actions    = ["secretsmanager:GetSecretValue"]
      resources  = aws_secretsmanager_secret.slack_signing_secret[*].arn
      conditions = []
    }
    lambda_invoke_hook_functions = {
      # run-hooks invokes the team's hook functions of lambda hooks
      # (RequestResponse), only those of hook_function_arns (none by default: no
      # statement). The resource is the function, version or alias ARN the call
      # names (local.hook_function_resources, main.tf).
      sid        = "InvokeHookFunctions"
      actions    = ["lambda:InvokeFunction"]
      resources  = local.hook_function_resources
      conditions = []
    }
    # What Lambda needs in a function's execution role to attach it to a VPC, only
    # with hooks_vpc_config (run-hooks): the actions of the AWS managed policy
    # AWSLambdaVPCAccessExecutionRole (v3, January 2024) but logs, which every
    # function has, scoped where the Service Authorization Reference allows.
    vpc_describe_network_interfaces = {
      # Neither has a resource type: IAM only accepts "*" (Lambda's guide says
      # DescribeNetworkInterfaces works only when allowed on all resources).
      sid        = "VpcDescribeNetworkInterfaces"
      actions    = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources  = var.hooks_vpc_config == null ? [] : ["*"]
      conditions = []
    }
    vpc_create_network_interfaces = {
      # CreateNetworkInterface authorizes the new network-interface (required),
      # the subnet (required) and the security groups: network interfaces of this
      # account and region, in the configured subnets with the configured groups.
      # The subnets' and groups' account is "*" because a shared VPC's subnets
      # belong to its owner account; their ids are unique.
      sid     = "VpcCreateNetworkInterfaces"
      actions = ["ec2:CreateNetworkInterface"]
      resources = var.hooks_vpc_config == null ? [] : concat(
        ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
        [for id in var.hooks_vpc_config.subnet_ids : "arn:${local.partition}:ec2:${local.region}:*:subnet/${id}"],
        [for id in var.hooks_vpc_config.security_group_ids : "arn:${local.partition}:ec2:${local.region}:*:security-group/${id}"],
      )
      conditions = []
    }
    vpc_manage_network_interfaces = {
      # The resource type of each is network-interface (required). Lambda's guide:
      # DeleteNetworkInterface needs the interface's id or all of them, so every
      # network interface of this account and region.
      sid = "VpcManageNetworkInterfaces"
      actions = [
        "ec2:AssignPrivateIpAddresses",
        "ec2:DeleteNetworkInterface",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources  = var.hooks_vpc_config == null ? [] : ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
      conditions = []
    }
    s3_put_payload = {
      # Oversized webhook payloads only; nothing else in the bucket is readable.
      sid        = "PutWebhookPayloads"
      actions    = ["s3:PutObject"]
      resources  = ["${aws_s3_bucket.payloads.arn}/github/*"]
      conditions = []
    }
  }
}

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = "${var.name_prefix}-${each.key}-fn"
  description        = "Ferry ${each.key} function: ${each.value.description}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
  tags               = local.tags
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    sid = "XRayTraces"
    # X-Ray trace submission has no resource-level permissions: "*" only.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  # The table: every item action, or only the delivery items (local.table_access).
  dynamic "statement" {
    for_each = {
      for key, table in local.table_statements : key => table
      if key == lookup(local.table_access, each.key, "items")
    }

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }

  dynamic "statement" {
    for_each = var.table_kms_key_arn == null ? [] : [var.table_kms_key_arn]

    content {
      sid       = "DeploymentTableKey"
      actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = {
      for key in each.value.permissions : key => local.permission_statements[key]
      if length(local.permission_statements[key].resources) > 0
    }

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "${var.name_prefix}-${each.key}"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}
