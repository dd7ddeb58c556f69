# Ferry control plane: one Lambda per handler, three Standard state machines
# (deploy, traffic, plan), an EventBridge bus and rules, a DynamoDB table and
# the GitHub secrets.
# Every file here holds one concern; this one holds the facts they share.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # `id` is the region name in provider 5.x and 6.x alike (`name` is deprecated in 6.x).
  region = data.aws_region.current.id

  package_dir      = coalesce(var.package_dir, "${path.module}/../../dist")
  statemachine_dir = coalesce(var.statemachines_dir, "${path.module}/../../statemachines")
  rules_dir        = "${path.module}/rules"

  # -------------------------------------------------------------------------
  # The functions: one entry per directory under functions/ (the check in
  # scripts/terraform_checks.py keeps the two sets equal). Each Lambda, log
  # group, role and policy below is made from this map.
  #
  #   memory, timeout  Lambda settings (MB, seconds)
  #   permissions      keys of local.permission_statements (iam.tf); the
  #                    function gets exactly these, plus logs, X-Ray and the
  #                    table, which every handler uses (webhook-intake only its
  #                    delivery items: local.table_access in iam.tf)
  #   environment      extra environment, merged over local.common_environment
  #   vpc_config       optional: { subnet_ids, security_group_ids } attaches the
  #                    function to a VPC (lambda.tf); null or absent keeps it
  #                    outside, as every function but run-hooks always is
  # -------------------------------------------------------------------------
  functions = {
    "plan" = {
      description = "Reads the manifest at the commit from GitHub, validates it against the live service, listener and alarms and computes the step plan."
      memory      = 256
      timeout     = 30
      permissions = ["ecs_describe_services", "ecs_describe_task_sets", "elb_describe", "alarms_describe", "secrets_github_credentials", "secrets_kms_decrypt", "secrets_slack_bot_token"]
      environment = merge(local.github_environment, local.slack_environment)
    }
    "create-taskset" = {
      description = "Registers the task definition and creates the green task set at 0% traffic."
      memory      = 256
      timeout     = 60
      permissions = ["ecs_describe_services", "ecs_register_task_definition", "ecs_create_task_set", "ecs_describe_task_sets", "ecs_tag_on_create", "iam_pass_task_roles"]
      environment = {}
    }
    "wait-stable" = {
      description = "Reports whether the green task set has reached a steady state; then points the test listener (traffic.testListener) at green."
      memory      = 256
      # Under the 65-second fence lease: it raises a fence before it moves the test listener.
      timeout     = 60
      permissions = ["ecs_describe_task_sets", "ecs_describe_services", "elb_describe", "elb_modify_listener"]
      environment = {}
    }
    "approval" = {
      description = "Stores the approval task token (invoked with .waitForTaskToken) and asks the approvers; once traffic has moved, first checks the alarms."
      memory      = 256
      timeout     = 30
      permissions = ["alarms_describe", "secrets_slack_bot_token", "secrets_kms_decrypt"]
      environment = local.slack_environment
    }
    "shift-weights" = {
      description = "Sets and verifies the blue/green listener weights for the current step."
      memory      = 256
      timeout     = 60
      permissions = ["elb_describe", "elb_modify_listener", "elb_modify_rule", "ecs_describe_task_sets", "secrets_slack_bot_token", "secrets_kms_decrypt"]
      environment = local.slack_environment
    }
    "bake" = {
      description = "Stores the task token of a bake or of the keep-blue-warm wait (invoked with .waitForTaskToken) so an alarm can end it early; fails at once when a guarding alarm already fires."
      memory      = 256
      timeout     = 30
      permissions = ["alarms_describe", "secrets_slack_bot_token", "secrets_kms_decrypt"]
      environment = local.slack_environment
    }
    "check-alarms" = {
      description = "Reads the manifest's CloudWatch alarms after a bake and reports the analysis."
      memory      = 256
      timeout     = 30
      permissions = ["alarms_describe", "secrets_slack_bot_token", "secrets_kms_decrypt"]
      environment = local.slack_environment
    }
    "run-hooks" = {
      description = "Runs the manifest's verification hooks of a stage, one attempt per call: an HTTP GET (the test listener or any URL), a synchronous invocation of the team's hook function, or a one-off ECS task where green runs."
      memory      = 256
      # One attempt per call: at most one HTTP request of 20 s or one synchronous
      # Invoke of 45 s (ferry_handlers::run_hooks, ferry_aws::hooks), plus reading
      # and saving the record; a longer hook answers IN_PROGRESS and is called again.
      timeout = 60
      # DescribeServices finds green's network when the record lacks it; RunTask,
      # DescribeTasks and StopTask run a task hook (PassRole for its task
      # definition's roles); the listener's address for an http hook's test URL;
      # the team's hook functions (hook_function_arns); the network interfaces
      # Lambda needs when hooks_vpc_config attaches run-hooks to a VPC; the alarms,
      # read on every call once traffic moved (a hook may run for an hour).
      permissions = [
        "ecs_describe_services", "ecs_run_hook_tasks", "ecs_hook_tasks", "iam_pass_task_roles",
        "elb_describe_listener_address", "lambda_invoke_hook_functions",
        "vpc_describe_network_interfaces", "vpc_create_network_interfaces", "vpc_manage_network_interfaces",
        "alarms_describe", "secrets_slack_bot_token", "secrets_kms_decrypt",
      ]
      environment = local.slack_environment
      # Only run-hooks may run in a VPC: http hooks of an internal load balancer's
      # test listener need it (null: outside any VPC, as the other functions).
      vpc_config = var.hooks_vpc_config
    }
    "finalize" = {
      description = "Makes the green task set primary; after keepOldFor removes the old one and releases the lock."
      memory      = 256
      timeout     = 60
      permissions = ["ecs_describe_task_sets", "ecs_describe_services", "ecs_update_primary_task_set", "ecs_update_task_set", "ecs_delete_task_set", "elb_describe", "elb_modify_listener", "secrets_slack_bot_token", "secrets_kms_decrypt", "secrets_github_credentials"]
      environment = merge(local.github_environment, local.slack_environment)
    }
    "rollback" = {
      description = "Restores all traffic to blue (verified), makes blue primary again if green was promoted, removes green."
      memory      = 256
      # Moves the weights back, waits up to 65 seconds (the fence lease) for a
      # traffic change in flight to settle, then sets and verifies them again.
      timeout     = 180
      permissions = ["elb_describe", "elb_modify_listener", "elb_modify_rule", "ecs_describe_services", "ecs_describe_task_sets", "ecs_update_primary_task_set", "ecs_delete_task_set", "secrets_slack_bot_token", "secrets_kms_decrypt", "secrets_github_credentials"]
      environment = merge(local.github_environment, local.slack_environment)
    }
    "alarm-watch" = {
      description = "Receives CloudWatch alarm state changes: fails the waiting task of a deployment (SendTaskFailure) for an immediate rollback, or starts a traffic rollback of one that holds at a preset."
      memory      = 256
      # Handles every deployment the alarm guards, one after another: fails its
      # waiting task or starts the traffic workflow for it.
      timeout     = 120
      permissions = ["states_send_task_failure", "states_start_traffic", "secrets_slack_bot_token", "secrets_kms_decrypt"]
      environment = merge(local.slack_environment, {
        FERRY_TRAFFIC_STATE_MACHINE_ARN = local.state_machine_arns["traffic"]
      })
    }
    "pr-plan" = {
      description = "Plans a pull request: validates its .ferry manifests, diffs their task definitions against the base branch, keeps one comment up to date and sets the ferry/plan status."
      memory      = 256
      timeout     = 60
      permissions = ["secrets_github_credentials", "secrets_kms_decrypt"]
      environment = local.github_environment
    }
    "poller" = {
      description = "On a schedule, asks GitHub where the tracked branches point (conditional requests) and publishes a push event for each that moved."
      memory      = 256
      timeout     = 60
      permissions = ["secrets_github_credentials", "secrets_kms_decrypt", "events_put_events"]
      environment = merge(local.github_environment, {
        FERRY_POLL_REPOSITORIES = join(",", var.poll_repositories)
      })
    }
    "push-deploy" = {
      description = "Target of the github-push rule: makes the pushed commit the desired state of each service whose manifest it touches, and starts its deployment unless the service is busy (then it waits, or with onNewerPush: cancel rolls the running one back)."
      memory      = 256
      timeout     = 60
      permissions = ["secrets_github_credentials", "secrets_kms_decrypt", "states_start_deploy", "states_send_task_failure", "states_start_traffic"]
      environment = merge(local.github_environment, {
        FERRY_DEPLOY_STATE_MACHINE_ARN  = local.state_machine_arns["deploy"]
        FERRY_TRAFFIC_STATE_MACHINE_ARN = local.state_machine_arns["traffic"]
      })
    }
    "converge" = {
      description = "Target of the deploy-ended rule: when a deploy execution ends, deploys each service's desired commit that waits (the latest push), once."
      memory      = 256
      timeout     = 60
      # Starts deployments; with onNewerPush: cancel it rolls a running one back
      # as a person's rollback would (fails its wait, or starts the traffic workflow).
      permissions = ["states_start_deploy", "states_send_task_failure", "states_start_traffic"]
      environment = {
        FERRY_DEPLOY_STATE_MACHINE_ARN  = local.state_machine_arns["deploy"]
        FERRY_TRAFFIC_STATE_MACHINE_ARN = local.state_machine_arns["traffic"]
      }
    }
    "webhook-intake" = {
      description = "GitHub webhooks behind a function URL: verifies X-Hub-Signature-256, de-duplicates the delivery and puts one event on the Ferry bus."
      memory      = 256
      # GitHub gives up after 10 seconds; the intake answers within 8 whatever happens.
      timeout     = 10
      permissions = ["secrets_read_webhook_secret", "secrets_kms_decrypt", "events_put_events", "s3_put_payload"]
      environment = {
        FERRY_GITHUB_WEBHOOK_SECRET_ARN = aws_secretsmanager_secret.github_webhook.arn
        FERRY_PAYLOAD_BUCKET            = aws_s3_bucket.payloads.bucket
        FERRY_TRACKED_BRANCHES          = join(",", var.tracked_branches)
        FERRY_WATCH_PATHS               = join(",", var.watch_paths)
      }
    }
    "slack-callback" = {
      description = "Slack's button clicks behind a public function URL: verifies X-Slack-Signature, then approves, rejects, promotes or rolls back as the clicking Slack user (checked against the manifest's approvers) and updates the message."
      memory      = 256
      # Slack wants an answer within 3 s: the action, then the message update (bounded).
      timeout = 10
      # As control: it answers the waits people answer, and starts the traffic workflow.
      permissions = ["states_send_task", "states_start_traffic", "secrets_slack_bot_token", "secrets_slack_signing_secret", "secrets_kms_decrypt"]
      environment = merge(local.slack_environment, {
        FERRY_TRAFFIC_STATE_MACHINE_ARN = local.state_machine_arns["traffic"]
        FERRY_SLACK_SIGNING_SECRET_ARN  = join("", aws_secretsmanager_secret.slack_signing_secret[*].arn)
      })
    }
    "control" = {
      description = "Control API behind an AWS_IAM function URL: approves, rejects, promotes, rolls back or moves a deployment, and reads the records, as the caller's IAM principal (checked against the manifest's approvers)."
      memory      = 256
      timeout     = 30
      # The only path through which people answer task tokens (alarm-watch fails
      # them on its own); promote, rollback and presets start the traffic workflow.
      permissions = ["states_send_task", "states_start_traffic", "secrets_slack_bot_token", "secrets_kms_decrypt"]
      environment = merge(local.slack_environment, {
        FERRY_TRAFFIC_STATE_MACHINE_ARN = local.state_machine_arns["traffic"]
      })
    }
  }

  # Static ARNs, built from names rather than resource attributes, so the state
  # machine definitions and IAM policies never depend on the functions they name.
  function_names = { for name, _ in local.functions : name => "${var.name_prefix}-${name}" }
  function_arns = {
    for name, fn_name in local.function_names :
    name => "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${fn_name}"
  }

  state_machine_names = {
    deploy  = "${var.name_prefix}-deploy"
    traffic = "${var.name_prefix}-traffic"
    plan    = "${var.name_prefix}-plan"
  }
  state_machine_arns = {
    for key, sm_name in local.state_machine_names :
    key => "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${sm_name}"
  }

  # -------------------------------------------------------------------------
  # templatefile() bindings of statemachines/*.asl.json. Placeholder names are
  # "<function with - replaced by _>_function_arn". Each machine binds exactly
  # the functions its file uses: scripts/terraform_checks.py fails when a
  # placeholder is unbound or a binding is unused. A machine's role may invoke
  # only the functions bound here (sfn.tf).
  # -------------------------------------------------------------------------
  deploy_definition_vars = {
    plan_function_arn           = local.function_arns["plan"]
    create_taskset_function_arn = local.function_arns["create-taskset"]
    wait_stable_function_arn    = local.function_arns["wait-stable"]
    approval_function_arn       = local.function_arns["approval"]
    shift_weights_function_arn  = local.function_arns["shift-weights"]
    bake_function_arn           = local.function_arns["bake"]
    check_alarms_function_arn   = local.function_arns["check-alarms"]
    run_hooks_function_arn      = local.function_arns["run-hooks"]
    finalize_function_arn       = local.function_arns["finalize"]
    rollback_function_arn       = local.function_arns["rollback"]
  }

  traffic_definition_vars = {
    shift_weights_function_arn = local.function_arns["shift-weights"]
    bake_function_arn          = local.function_arns["bake"]
    run_hooks_function_arn     = local.function_arns["run-hooks"]
    finalize_function_arn      = local.function_arns["finalize"]
    rollback_function_arn      = local.function_arns["rollback"]
  }

  plan_definition_vars = {
    pr_plan_function_arn = local.function_arns["pr-plan"]
  }

  # What the functions that talk to GitHub (plan and push-deploy read Git,
  # pr-plan and poller more) read: the credentials secret (a token or GitHub
  # App, see docs/install.md) and the API.
  github_environment = {
    FERRY_GITHUB_CREDENTIALS_SECRET_ARN = aws_secretsmanager_secret.github_credentials.arn
    FERRY_GITHUB_API_URL                = var.github_api_url
  }

  # Where the notifying functions find Slack's bot token (nothing without slack_enabled).
  slack_environment = var.slack_enabled ? {
    FERRY_SLACK_BOT_TOKEN_SECRET_ARN = join("", aws_secretsmanager_secret.slack_bot_token[*].arn)
  } : {}

  common_environment = {
    FERRY_TABLE     = var.table_name
    FERRY_EVENT_BUS = var.event_bus_name
    RUST_LOG        = var.rust_log
  }

  # -------------------------------------------------------------------------
  # Resource patterns for IAM, derived from the scoping variables.
  # -------------------------------------------------------------------------
  ecs_service_patterns = distinct(concat(
    var.ecs_service_arns,
    [for arn in var.ecs_cluster_arns : "${replace(arn, ":cluster/", ":service/")}/*"],
  ))
  # arn:…:service/<cluster>/<service> -> arn:…:task-set/<cluster>/<service>/*
  ecs_task_set_patterns = [for arn in local.ecs_service_patterns : "${replace(arn, ":service/", ":task-set/")}/*"]

  # The clusters of those services, as cluster ARNs: every cluster of
  # ecs_cluster_arns, and arn:…:service/<cluster>/<service> ->
  # arn:…:cluster/<cluster> for each of ecs_service_arns. A task hook's one-off
  # task runs in its service's cluster (ecs:cluster condition of RunTask).
  ecs_clusters = distinct(concat(
    var.ecs_cluster_arns,
    [for arn in var.ecs_service_arns : replace(join("/", slice(split("/", arn), 0, 2)), ":service/", ":cluster/")],
  ))
  # arn:…:cluster/<cluster> -> arn:…:task/<cluster>/* (the tasks of those clusters)
  ecs_task_patterns = [for arn in local.ecs_clusters : "${replace(arn, ":cluster/", ":task/")}/*"]

  # lambda:InvokeFunction is authorized on the ARN the call names, and a version
  # or an alias is a resource of its own: the unqualified ARN allows invoking the
  # function by name or unqualified ARN only. An unqualified entry therefore also
  # gets "<arn>:*" (its versions and aliases, nothing else); a qualified entry
  # (…:function:<name>:<version or alias>) allows exactly that one.
  hook_function_resources = distinct(flatten([
    for arn in var.hook_function_arns :
    length(split(":", arn)) == 7 ? [arn, "${arn}:*"] : [arn]
  ]))

  alarm_patterns = distinct(concat(
    var.alarm_arns,
    [for prefix in var.alarm_name_prefixes : "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${prefix}*"],
  ))

  tags = merge({ "ferry:component" = "control-plane" }, var.tags)
}
