# The web UI as a trial service (var.create_ui, off by default): the ferry-ui
# container (crates/ferry-ui, image from infra/container/Dockerfile, `make image`)
# on Fargate ARM64, 0.25 vCPU / 0.5 GB, behind an HTTPS Application Load Balancer
# whose listener authenticates every request with OIDC (or a Cognito user pool)
# before forwarding it. docs/install.md, "The web UI on Fargate (trial)", walks
# through it; docs/iam.md lists the task role's actions.
#
# Who acts: the ALB signs the identity it authenticated into the
# x-amzn-oidc-data header (ES256, the region's ELB key). ferry-ui verifies that
# JWT, checks that its `signer` is this ALB (FERRY_UI_ALB_ARN) and acts as the
# token's email (email:alice@example.com in a manifest's approvers); a request
# without a valid header is refused. The tasks accept connections from the ALB's
# security group only, so nothing else can hand them a header.
#
# What the task may do: what the control function may do (the same table
# access and permission statements, read from local.functions["control"] and
# iam.tf, never copied), plus reading the services, task sets, task definitions,
# listeners, rules, target groups and alarms it shows.

locals {
  ui_enabled = var.create_ui
  ui_name    = "${var.name_prefix}-ui"

  # The container: one process, the port the ALB forwards to, the task's size
  # (0.25 vCPU / 0.5 GB, the smallest Fargate task; ferry-ui is one Rust binary).
  ui_container_name = "ferry-ui"
  ui_container_port = 8080
  ui_cpu            = 256
  ui_memory         = 512

  ui_cluster_arn = var.ui_cluster_arn != null ? var.ui_cluster_arn : one(aws_ecs_cluster.ui[*].arn)

  # The OIDC client secret: given (sensitive), or read from Secrets Manager at plan
  # time. Either way the listener, and so the Terraform state, holds it: the ALB's
  # API takes it in clear.
  ui_oidc_client_secret = (
    var.ui_oidc_client_secret != null ? var.ui_oidc_client_secret :
    one(data.aws_secretsmanager_secret_version.ui_oidc_client_secret[*].secret_string)
  )

  # Where people reach the UI: the certificate's host name when given, else the
  # ALB's own DNS name (which the certificate must then cover).
  ui_host = var.ui_domain_name != null ? var.ui_domain_name : one(aws_lb.ui[*].dns_name)

  # An ECR image ("<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>" or
  # "@sha256:..."): the execution role may pull from that repository only. Another
  # registry needs no ECR permission (a private one needs repositoryCredentials,
  # which this trial does not set up).
  ui_ecr_image = var.ui_image == null ? null : try(regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^:@]+)", var.ui_image), null)
  ui_ecr_repository_arn = local.ui_ecr_image == null ? null : (
    "arn:${local.partition}:ecr:${local.ui_ecr_image[1]}:${local.ui_ecr_image[0]}:repository/${local.ui_ecr_image[2]}"
  )

  # Exactly the environment of the control function (lambda.tf: common plus its
  # own), and the UI's own settings. AWS_REGION is given explicitly, so that the
  # task definition says everything the binary reads.
  ui_environment = merge(
    local.common_environment,
    local.functions["control"].environment,
    {
      AWS_REGION       = local.region
      FERRY_UI_AUTH    = "alb-oidc"
      FERRY_UI_ALB_ARN = one(aws_lb.ui[*].arn)
      FERRY_UI_LISTEN  = "0.0.0.0:${local.ui_container_port}"
    },
  )

  # The task role's statements: the control function's (its permission keys,
  # local.permission_statements in iam.tf), the read-only views, and
  # DescribeTaskDefinition, which no function needs. A statement whose resource
  # list is empty (nothing listed in the scoping variables) is left out, as in iam.tf.
  ui_view_permissions = ["ecs_describe_services", "ecs_describe_task_sets", "elb_describe", "alarms_describe"]
  ui_permission_statements = merge(
    {
      for key in distinct(concat(local.functions["control"].permissions, local.ui_view_permissions)) :
      key => local.permission_statements[key]
    },
    {
      ecs_describe_task_definition = {
        sid     = "EcsDescribeTaskDefinition"
        actions = ["ecs:DescribeTaskDefinition"]
        # DescribeTaskDefinition has no resource type: IAM only accepts "*" for it,
        # so the role could read any task definition of the account and region
        # (images, sizes, plain environment values; `secrets` are only ARNs). The UI
        # reads those of blue and green. Only given when there are services.
        resources  = length(local.ecs_service_patterns) > 0 ? ["*"] : []
        conditions = []
      }
    },
  )
}

# ---------------------------------------------------------------------------
# Logs and the cluster
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "ui" {
  #checkov:skip=CKV_AWS_158:A customer managed key is optional (var.log_kms_key_arn); by default CloudWatch Logs encrypts with its own keys, as for the functions' log groups.
  count = local.ui_enabled ? 1 : 0

  name              = "/ecs/${local.ui_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

resource "aws_ecs_cluster" "ui" {
  # (Nested rather than &&: checkov evaluates this form, and so checks the cluster.)
  count = local.ui_enabled ? (var.ui_cluster_arn == null ? 1 : 0) : 0

  name = local.ui_name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

# ---------------------------------------------------------------------------
# Roles: the execution role starts the task (pulls the image, writes the logs),
# the task role is what ferry-ui acts with.
# ---------------------------------------------------------------------------

# The task role: assumable by ECS for this account's tasks in this region only
# (aws:SourceAccount, aws:SourceArn: the confused deputy protection ECS documents
# for task roles).
data "aws_iam_policy_document" "ui_task_assume_role" {
  count = local.ui_enabled ? 1 : 0

  statement {
    sid     = "EcsTasksAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

# The execution role: assumed by the ECS agent to start the task, with the plain
# trust policy ECS documents for it. It can only pull the image and write the logs.
data "aws_iam_policy_document" "ui_execution_assume_role" {
  count = local.ui_enabled ? 1 : 0

  statement {
    sid     = "EcsTasksAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ui_execution" {
  count = local.ui_enabled ? 1 : 0

  name               = "${local.ui_name}-execution"
  description        = "Ferry web UI: lets ECS pull the ferry-ui image and write its logs."
  assume_role_policy = data.aws_iam_policy_document.ui_execution_assume_role[0].json
  tags               = local.tags
}

data "aws_iam_policy_document" "ui_execution" {
  count = local.ui_enabled ? 1 : 0

  statement {
    sid       = "WriteUiLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.ui[0].arn}:*"]
  }

  dynamic "statement" {
    for_each = local.ui_ecr_repository_arn == null ? [] : [local.ui_ecr_repository_arn]

    content {
      sid       = "PullUiImage"
      actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.ui_ecr_repository_arn == null ? [] : [local.ui_ecr_repository_arn]

    content {
      sid = "EcrAuthorizationToken"
      # GetAuthorizationToken has no resource type: IAM only accepts "*". The token
      # only lets the role do what its other statements allow (pull one repository).
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "ui_execution" {
  count = local.ui_enabled ? 1 : 0

  name   = "${local.ui_name}-execution"
  role   = aws_iam_role.ui_execution[0].id
  policy = data.aws_iam_policy_document.ui_execution[0].json
}

resource "aws_iam_role" "ui_task" {
  count = local.ui_enabled ? 1 : 0

  name               = "${local.ui_name}-task"
  description        = "Ferry web UI: what the control function may do, and reading the services, listeners and alarms it shows."
  assume_role_policy = data.aws_iam_policy_document.ui_task_assume_role[0].json
  tags               = local.tags
}

data "aws_iam_policy_document" "ui_task" {
  count = local.ui_enabled ? 1 : 0

  # The table, exactly as the control function uses it (local.table_access): acting
  # claims the answer on the deployment record with a conditional write before the
  # wait is answered, so reads alone would not do.
  dynamic "statement" {
    for_each = {
      for key, table in local.table_statements : key => table
      if key == lookup(local.table_access, "control", "items")
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
      # iam.tf's DeploymentTableKey, with its GenerateDataKey* and ReEncrypt* spelled
      # out: the UI's role has no wildcard action.
      sid       = "DeploymentTableKey"
      actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
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
      for key, s in local.ui_permission_statements : key => s
      if length(s.resources) > 0
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

resource "aws_iam_role_policy" "ui_task" {
  count = local.ui_enabled ? 1 : 0

  name   = "${local.ui_name}-task"
  role   = aws_iam_role.ui_task[0].id
  policy = data.aws_iam_policy_document.ui_task[0].json
}

# ---------------------------------------------------------------------------
# The task and the service
# ---------------------------------------------------------------------------

resource "aws_ecs_task_definition" "ui" {
  count = local.ui_enabled ? 1 : 0

  family                   = local.ui_name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = local.ui_cpu
  memory                   = local.ui_memory
  execution_role_arn       = aws_iam_role.ui_execution[0].arn
  task_role_arn            = aws_iam_role.ui_task[0].arn

  runtime_platform {
    cpu_architecture        = "ARM64"
    operating_system_family = "LINUX"
  }

  container_definitions = jsonencode([{
    name      = local.ui_container_name
    image     = var.ui_image
    essential = true

    portMappings = [{
      containerPort = local.ui_container_port
      protocol      = "tcp"
    }]

    environment = [for name in sort(keys(local.ui_environment)) : { name = name, value = local.ui_environment[name] }]

    # The image is FROM scratch: one static binary and a CA bundle. It writes
    # nothing to disk and needs no privilege.
    readonlyRootFilesystem = true
    user                   = "65532:65532"
    linuxParameters = {
      capabilities = { drop = ["ALL"] }
    }

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ui[0].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "ui"
      }
    }
  }])

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.ui_image != null
      error_message = "create_ui = true needs ui_image: the ferry-ui image URI (make image; see docs/install.md)."
    }
  }
}

resource "aws_ecs_service" "ui" {
  count = local.ui_enabled ? 1 : 0

  name             = local.ui_name
  cluster          = local.ui_cluster_arn
  task_definition  = aws_ecs_task_definition.ui[0].arn
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  desired_count    = 1

  # A new task definition starts a second task and stops the first once the
  # target group finds the new one healthy; one that never gets healthy is rolled
  # back to the previous task definition.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.ui_subnet_ids
    security_groups  = [aws_security_group.ui_task[0].id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.ui[0].arn
    container_name   = local.ui_container_name
    container_port   = local.ui_container_port
  }

  enable_execute_command  = false
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  tags                    = local.tags

  # The target group must belong to a listener before a service can use it, and
  # the task must be able to act from its first request on.
  depends_on = [aws_lb_listener.ui_https, aws_iam_role_policy.ui_task, aws_iam_role_policy.ui_execution]

  lifecycle {
    precondition {
      condition     = length(var.ui_subnet_ids) > 0
      error_message = "create_ui = true needs ui_subnet_ids: private subnets for the task, with a route to the internet (a NAT gateway) for the AWS APIs and the ALB's public keys."
    }
  }
}

# ---------------------------------------------------------------------------
# Network: the ALB takes HTTPS (and HTTP, to redirect it) from ui_allowed_cidrs
# and talks to the identity provider and the tasks; the tasks take the ALB's
# connections only, and reach HTTPS (AWS APIs, the ALB's public keys, the image).
# ---------------------------------------------------------------------------

resource "aws_security_group" "ui_alb" {
  count = local.ui_enabled ? 1 : 0

  name        = "${local.ui_name}-alb"
  description = "Ferry web UI load balancer: HTTPS from the allowed networks"
  vpc_id      = var.ui_vpc_id
  tags        = merge(local.tags, { Name = "${local.ui_name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "ui_alb_https" {
  for_each = local.ui_enabled ? toset(var.ui_allowed_cidrs) : toset([])

  security_group_id = aws_security_group.ui_alb[0].id
  description       = "HTTPS listener (the UI, behind the identity provider's login)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "ui_alb_http" {
  #checkov:skip=CKV_AWS_260:Port 80 only answers with a redirect to HTTPS (aws_lb_listener.ui_http); nothing is served or forwarded over plain HTTP, and ui_allowed_cidrs narrows it like 443.
  for_each = local.ui_enabled ? toset(var.ui_allowed_cidrs) : toset([])

  security_group_id = aws_security_group.ui_alb[0].id
  description       = "HTTP listener: redirects to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "ui_alb_to_tasks" {
  count = local.ui_enabled ? 1 : 0

  security_group_id            = aws_security_group.ui_alb[0].id
  description                  = "ALB to the ferry-ui tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.ui_container_port
  to_port                      = local.ui_container_port
  referenced_security_group_id = aws_security_group.ui_task[0].id
}

resource "aws_vpc_security_group_egress_rule" "ui_alb_to_idp" {
  count = local.ui_enabled ? 1 : 0

  security_group_id = aws_security_group.ui_alb[0].id
  description       = "ALB to the identity provider's token and user info endpoints (HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "ui_task" {
  count = local.ui_enabled ? 1 : 0

  name        = "${local.ui_name}-task"
  description = "Ferry web UI tasks: reachable from the UI load balancer only"
  vpc_id      = var.ui_vpc_id
  tags        = merge(local.tags, { Name = "${local.ui_name}-task" })
}

resource "aws_vpc_security_group_ingress_rule" "ui_task_from_alb" {
  count = local.ui_enabled ? 1 : 0

  security_group_id            = aws_security_group.ui_task[0].id
  description                  = "ferry-ui's port, from the UI load balancer only"
  ip_protocol                  = "tcp"
  from_port                    = local.ui_container_port
  to_port                      = local.ui_container_port
  referenced_security_group_id = aws_security_group.ui_alb[0].id
}

resource "aws_vpc_security_group_egress_rule" "ui_task_https" {
  count = local.ui_enabled ? 1 : 0

  security_group_id = aws_security_group.ui_task[0].id
  description       = "HTTPS: AWS APIs, the ELB public keys (public-keys.auth.elb.<region>.amazonaws.com), the image"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# ---------------------------------------------------------------------------
# The load balancer
# ---------------------------------------------------------------------------

resource "aws_lb" "ui" {
  #checkov:skip=CKV2_AWS_28:A WAF web ACL costs money every month, more than this trial service; every request must first pass the identity provider's login. Attach your own web ACL to ui_alb_arn if you need one.
  #checkov:skip=CKV2_AWS_76:No WAF here (see CKV2_AWS_28), so no AWSManagedRulesKnownBadInputsRuleSet either; ferry-ui is Rust, not Java, so Log4j does not apply.
  #checkov:skip=CKV_AWS_150:Deletion protection is var.ui_deletion_protection, on by default; only the trial example (examples/complete) turns it off, so that `terraform destroy` removes the trial.
  #checkov:skip=CKV_AWS_91:Access logs are optional (ui_access_logs_bucket): they need an S3 bucket with a policy for the regional ELB account, which this module does not own; every action is recorded with who took it in the deployment record.
  count = local.ui_enabled ? 1 : 0

  name                       = local.ui_name
  load_balancer_type         = "application"
  internal                   = var.ui_internal
  security_groups            = [aws_security_group.ui_alb[0].id]
  subnets                    = var.ui_public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.ui_deletion_protection
  tags                       = local.tags

  dynamic "access_logs" {
    for_each = var.ui_access_logs_bucket == null ? [] : [var.ui_access_logs_bucket]

    content {
      bucket  = access_logs.value
      prefix  = var.ui_access_logs_prefix
      enabled = true
    }
  }

  lifecycle {
    precondition {
      condition     = var.ui_vpc_id != null && length(var.ui_public_subnet_ids) >= 2
      error_message = "create_ui = true needs ui_vpc_id and ui_public_subnet_ids: the load balancer's subnets, at least two, in different availability zones (public ones unless ui_internal)."
    }
  }
}

resource "aws_lb_target_group" "ui" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the tasks sit in private subnets and take connections from the load balancer's security group only.
  count = local.ui_enabled ? 1 : 0

  name                 = local.ui_name
  port                 = local.ui_container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.ui_vpc_id
  deregistration_delay = 30

  health_check {
    path                = "/healthz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

# Every request is authenticated by the identity provider before it is
# forwarded: OIDC (ui_authentication = "oidc") or a Cognito user pool
# ("cognito"). The ALB keeps the session in a cookie for ui_session_timeout.
resource "aws_lb_listener" "ui_https" {
  count = local.ui_enabled ? 1 : 0

  load_balancer_arn = aws_lb.ui[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.ui_certificate_arn

  dynamic "default_action" {
    for_each = var.ui_authentication == "oidc" ? [1] : []

    content {
      type  = "authenticate-oidc"
      order = 1

      authenticate_oidc {
        issuer                     = var.ui_oidc_issuer
        authorization_endpoint     = var.ui_oidc_authorization_endpoint
        token_endpoint             = var.ui_oidc_token_endpoint
        user_info_endpoint         = var.ui_oidc_user_info_endpoint
        client_id                  = var.ui_oidc_client_id
        client_secret              = local.ui_oidc_client_secret
        scope                      = var.ui_oidc_scope
        session_timeout            = var.ui_session_timeout
        on_unauthenticated_request = "authenticate"
      }
    }
  }

  dynamic "default_action" {
    for_each = var.ui_authentication == "cognito" ? [1] : []

    content {
      type  = "authenticate-cognito"
      order = 1

      authenticate_cognito {
        user_pool_arn              = var.ui_cognito_user_pool_arn
        user_pool_client_id        = var.ui_cognito_user_pool_client_id
        user_pool_domain           = var.ui_cognito_user_pool_domain
        scope                      = var.ui_oidc_scope
        session_timeout            = var.ui_session_timeout
        on_unauthenticated_request = "authenticate"
      }
    }
  }

  default_action {
    type             = "forward"
    order            = 2
    target_group_arn = aws_lb_target_group.ui[0].arn
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.ui_certificate_arn != null
      error_message = "create_ui = true needs ui_certificate_arn: an ACM certificate for the UI's host name (ui_domain_name), in this region."
    }

    precondition {
      condition = var.ui_authentication != "oidc" || (
        var.ui_oidc_issuer != null && var.ui_oidc_authorization_endpoint != null && var.ui_oidc_token_endpoint != null &&
        var.ui_oidc_user_info_endpoint != null && var.ui_oidc_client_id != null &&
        (var.ui_oidc_client_secret != null) != (var.ui_oidc_client_secret_arn != null)
      )
      error_message = "ui_authentication = \"oidc\" needs ui_oidc_issuer, ui_oidc_authorization_endpoint, ui_oidc_token_endpoint, ui_oidc_user_info_endpoint, ui_oidc_client_id, and exactly one of ui_oidc_client_secret and ui_oidc_client_secret_arn (your identity provider's discovery document, .well-known/openid-configuration, lists the endpoints)."
    }

    precondition {
      condition = var.ui_authentication != "cognito" || (
        var.ui_cognito_user_pool_arn != null && var.ui_cognito_user_pool_client_id != null && var.ui_cognito_user_pool_domain != null
      )
      error_message = "ui_authentication = \"cognito\" needs ui_cognito_user_pool_arn, ui_cognito_user_pool_client_id and ui_cognito_user_pool_domain."
    }
  }
}

resource "aws_lb_listener" "ui_http" {
  count = local.ui_enabled ? 1 : 0

  load_balancer_arn = aws_lb.ui[0].arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = local.tags
}

data "aws_secretsmanager_secret_version" "ui_oidc_client_secret" {
  count = local.ui_enabled && var.ui_authentication == "oidc" && var.ui_oidc_client_secret == null && var.ui_oidc_client_secret_arn != null ? 1 : 0

  secret_id = var.ui_oidc_client_secret_arn
}
