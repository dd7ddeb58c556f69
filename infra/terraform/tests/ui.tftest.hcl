# Unit tests of the web UI service (ui.tf, create_ui), with a mocked AWS
# provider: nothing is created and no credentials are needed. Run from
# infra/terraform, as the IAM tests:
#
#   terraform init -backend=false && terraform test
#
# The task role must be the control function's grants (without logs and X-Ray,
# which the awslogs driver and no tracer need) plus the read-only views, and the
# task 0.25 vCPU / 0.5 GB on ARM64.

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

  mock_data "aws_secretsmanager_secret_version" {
    defaults = { secret_string = "client-secret-from-secrets-manager" }
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

  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/ferry-ui" }
  }

  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/ferry-ui:1" }
  }

  mock_resource "aws_lb" {
    defaults = {
      arn      = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/ferry-ui/0123456789abcdef"
      dns_name = "ferry-ui-123456789.eu-west-1.elb.amazonaws.com"
      zone_id  = "Z32O12XQLNTSW2"
    }
  }

  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ferry-ui/0123456789abcdef" }
  }

  mock_resource "aws_lb_listener" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/ferry-ui/0123456789abcdef/fedcba9876543210" }
  }
}

variables {
  package_dir       = "./tests/fixtures/dist"
  statemachines_dir = "./tests/fixtures/statemachines"

  ecs_service_arns   = ["arn:aws:ecs:eu-west-1:123456789012:service/prod/web"]
  listener_arns      = ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/demo/0123456789abcdef/1111111111111111"]
  listener_rule_arns = []
  task_role_arns     = ["arn:aws:iam::123456789012:role/web-task", "arn:aws:iam::123456789012:role/web-execution"]
  alarm_arns         = ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-5xx"]
}

run "the_ui_is_off_by_default" {
  command = apply

  assert {
    condition     = length(aws_ecs_service.ui) == 0 && length(aws_lb.ui) == 0 && length(aws_iam_role.ui_task) == 0 && length(aws_ecs_cluster.ui) == 0
    error_message = "create_ui defaults to false: no UI service, load balancer, role or cluster."
  }

  assert {
    condition     = output.ui_url == null && output.ui_alb_arn == null && output.ui_task_role_arn == null
    error_message = "Without create_ui the UI outputs are null."
  }
}

run "create_ui_without_a_network_fails_clearly" {
  command = plan

  variables {
    create_ui = true
  }

  expect_failures = [aws_lb.ui]
}

run "oidc_without_a_client_secret_fails_clearly" {
  command = plan

  variables {
    create_ui                      = true
    ui_image                       = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry-ui:v0.1.0"
    ui_vpc_id                      = "vpc-0123456789abcdef0"
    ui_subnet_ids                  = ["subnet-0a0a0a0a0a0a0a0a0", "subnet-0b0b0b0b0b0b0b0b0"]
    ui_public_subnet_ids           = ["subnet-01010101010101010", "subnet-02020202020202020"]
    ui_certificate_arn             = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    ui_oidc_issuer                 = "https://login.example.com"
    ui_oidc_authorization_endpoint = "https://login.example.com/oauth2/authorize"
    ui_oidc_token_endpoint         = "https://login.example.com/oauth2/token"
    ui_oidc_user_info_endpoint     = "https://login.example.com/oauth2/userinfo"
    ui_oidc_client_id              = "ferry-ui"
  }

  expect_failures = [aws_lb_listener.ui_https]
}

run "the_ui_task_acts_as_control_does_and_reads_what_it_shows" {
  command = apply

  variables {
    create_ui                      = true
    ui_image                       = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry-ui:v0.1.0"
    ui_vpc_id                      = "vpc-0123456789abcdef0"
    ui_subnet_ids                  = ["subnet-0a0a0a0a0a0a0a0a0", "subnet-0b0b0b0b0b0b0b0b0"]
    ui_public_subnet_ids           = ["subnet-01010101010101010", "subnet-02020202020202020"]
    ui_certificate_arn             = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    ui_domain_name                 = "ferry.example.com"
    ui_oidc_issuer                 = "https://login.example.com"
    ui_oidc_authorization_endpoint = "https://login.example.com/oauth2/authorize"
    ui_oidc_token_endpoint         = "https://login.example.com/oauth2/token"
    ui_oidc_user_info_endpoint     = "https://login.example.com/oauth2/userinfo"
    ui_oidc_client_id              = "ferry-ui"
    ui_oidc_client_secret          = "client-secret"
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.ui_task[0].statement : s.actions])) == toset([
      "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "states:SendTaskSuccess", "states:SendTaskFailure", "states:StartExecution", "states:DescribeExecution",
      "ecs:DescribeServices", "ecs:DescribeTaskSets", "ecs:DescribeTaskDefinition",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
      "cloudwatch:DescribeAlarms",
    ])
    error_message = "The UI task may use the table, answer waits and start the traffic workflow (as control), and read services, task sets, task definitions, listeners, rules, target groups and alarms: nothing else."
  }

  assert {
    condition = setsubtract(
      toset(flatten([for s in data.aws_iam_policy_document.function["control"].statement : s.actions])),
      toset(flatten([for s in data.aws_iam_policy_document.ui_task[0].statement : s.actions])),
    ) == toset(["logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"])
    error_message = "The UI task gets every action of the control function but its Lambda logs and X-Ray."
  }

  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.ui_task[0].statement : alltrue([for a in s.actions : !strcontains(a, "*")])])
    error_message = "No wildcard in the UI task role's actions."
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.ui_task[0].statement : [
        for a in s.actions : contains([
          "ecs:DescribeTaskDefinition", "states:SendTaskSuccess", "states:SendTaskFailure", "cloudwatch:DescribeAlarms",
          "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
        ], a)
      ] if contains(s.resources, "*")
    ]))
    error_message = "Only actions without resource-level permissions (and DescribeAlarms, for composite alarms) may use \"*\"."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.ui_task[0].statement :
      toset(s.resources) == toset(["arn:aws:ecs:eu-west-1:123456789012:service/prod/web"])
      if contains(s.actions, "ecs:DescribeServices")
    ])
    error_message = "DescribeServices is limited to the services Ferry may deploy."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.ui_task[0].statement :
      toset(s.resources) == toset(["arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-traffic", "arn:aws:states:eu-west-1:123456789012:execution:ferry-traffic:*"])
      if contains(s.actions, "states:StartExecution")
    ])
    error_message = "The UI starts the traffic workflow only, as control does."
  }

  assert {
    condition     = aws_ecs_task_definition.ui[0].cpu == "256" && aws_ecs_task_definition.ui[0].memory == "512"
    error_message = "The UI task is 0.25 vCPU / 0.5 GB."
  }

  assert {
    condition     = aws_ecs_task_definition.ui[0].runtime_platform[0].cpu_architecture == "ARM64" && aws_ecs_task_definition.ui[0].runtime_platform[0].operating_system_family == "LINUX" && toset(aws_ecs_task_definition.ui[0].requires_compatibilities) == toset(["FARGATE"])
    error_message = "The UI task runs on Fargate, Linux on ARM64."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.ui[0].container_definitions)[0].readonlyRootFilesystem == true && jsondecode(aws_ecs_task_definition.ui[0].container_definitions)[0].user == "65532:65532"
    error_message = "The container has a read-only root file system and runs as 65532:65532."
  }

  assert {
    condition = { for e in jsondecode(aws_ecs_task_definition.ui[0].container_definitions)[0].environment : e.name => e.value } == merge(aws_lambda_function.function["control"].environment[0].variables, {
      AWS_REGION       = "eu-west-1"
      FERRY_UI_AUTH    = "alb-oidc"
      FERRY_UI_ALB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/ferry-ui/0123456789abcdef"
      FERRY_UI_LISTEN  = "0.0.0.0:8080"
    })
    error_message = "ferry-ui gets the control function's environment, and its ALB's ARN to check the token's signer against."
  }

  assert {
    condition     = aws_ecs_service.ui[0].launch_type == "FARGATE" && aws_ecs_service.ui[0].desired_count == 1 && aws_ecs_service.ui[0].network_configuration[0].assign_public_ip == false && aws_ecs_service.ui[0].deployment_circuit_breaker[0].rollback == true
    error_message = "One Fargate task without a public IP; a deployment that never gets healthy rolls back."
  }

  assert {
    condition     = [for a in aws_lb_listener.ui_https[0].default_action : a.type] == ["authenticate-oidc", "forward"] && aws_lb_listener.ui_https[0].ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    error_message = "Every HTTPS request is authenticated (OIDC) before it is forwarded, with TLS 1.2 or 1.3."
  }

  assert {
    condition     = aws_lb_listener.ui_http[0].default_action[0].type == "redirect" && aws_lb_listener.ui_http[0].default_action[0].redirect[0].protocol == "HTTPS"
    error_message = "Plain HTTP only redirects to HTTPS."
  }

  assert {
    condition     = aws_lb.ui[0].drop_invalid_header_fields == true && aws_lb.ui[0].enable_deletion_protection == true && aws_lb.ui[0].internal == false
    error_message = "The load balancer drops invalid headers and is protected from deletion by default."
  }

  assert {
    condition     = aws_lb_target_group.ui[0].target_type == "ip" && aws_lb_target_group.ui[0].health_check[0].path == "/healthz"
    error_message = "The target group registers the task's IP and checks /healthz."
  }

  assert {
    condition     = output.ui_url == "https://ferry.example.com/" && output.ui_oidc_callback_url == "https://ferry.example.com/oauth2/idpresponse"
    error_message = "The UI's URL and the OIDC callback use ui_domain_name."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.ui_execution[0].statement : s.actions])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken",
    ]) && contains(flatten([for s in data.aws_iam_policy_document.ui_execution[0].statement : s.resources]), "arn:aws:ecr:eu-west-1:123456789012:repository/ferry-ui")
    error_message = "The execution role writes the UI's logs and pulls its image's ECR repository, nothing else."
  }
}

run "the_client_secret_can_come_from_secrets_manager" {
  command = apply

  variables {
    create_ui                      = true
    ui_image                       = "ghcr.io/example/ferry-ui:v0.1.0"
    ui_vpc_id                      = "vpc-0123456789abcdef0"
    ui_subnet_ids                  = ["subnet-0a0a0a0a0a0a0a0a0"]
    ui_public_subnet_ids           = ["subnet-01010101010101010", "subnet-02020202020202020"]
    ui_certificate_arn             = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    ui_oidc_issuer                 = "https://login.example.com"
    ui_oidc_authorization_endpoint = "https://login.example.com/oauth2/authorize"
    ui_oidc_token_endpoint         = "https://login.example.com/oauth2/token"
    ui_oidc_user_info_endpoint     = "https://login.example.com/oauth2/userinfo"
    ui_oidc_client_id              = "ferry-ui"
    ui_oidc_client_secret_arn      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/ui/oidc-AbCdEf"
    ui_cluster_arn                 = "arn:aws:ecs:eu-west-1:123456789012:cluster/platform"
  }

  assert {
    condition     = aws_lb_listener.ui_https[0].default_action[0].authenticate_oidc[0].client_secret == "client-secret-from-secrets-manager"
    error_message = "ui_oidc_client_secret_arn gives the listener the secret's value."
  }

  assert {
    condition     = length(aws_ecs_cluster.ui) == 0 && aws_ecs_service.ui[0].cluster == "arn:aws:ecs:eu-west-1:123456789012:cluster/platform"
    error_message = "ui_cluster_arn reuses a cluster instead of creating one."
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.ui_execution[0].statement : s.actions])) == toset(["logs:CreateLogStream", "logs:PutLogEvents"])
    error_message = "An image outside ECR gets no ECR permission."
  }

  assert {
    condition     = output.ui_url == "https://ferry-ui-123456789.eu-west-1.elb.amazonaws.com/"
    error_message = "Without ui_domain_name, the UI is at the load balancer's DNS name."
  }
}

run "cognito_can_authenticate_instead" {
  command = apply

  variables {
    create_ui                      = true
    ui_image                       = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry-ui@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    ui_vpc_id                      = "vpc-0123456789abcdef0"
    ui_subnet_ids                  = ["subnet-0a0a0a0a0a0a0a0a0"]
    ui_public_subnet_ids           = ["subnet-01010101010101010", "subnet-02020202020202020"]
    ui_certificate_arn             = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    ui_authentication              = "cognito"
    ui_cognito_user_pool_arn       = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEfGhI"
    ui_cognito_user_pool_client_id = "0123456789abcdefghijklmnop"
    ui_cognito_user_pool_domain    = "ferry-example"
  }

  assert {
    condition     = [for a in aws_lb_listener.ui_https[0].default_action : a.type] == ["authenticate-cognito", "forward"]
    error_message = "ui_authentication = \"cognito\" authenticates with the user pool before forwarding."
  }

  assert {
    condition     = contains(flatten([for s in data.aws_iam_policy_document.ui_execution[0].statement : s.resources]), "arn:aws:ecr:eu-west-1:123456789012:repository/ferry-ui")
    error_message = "An image pinned by digest still names its ECR repository."
  }
}
