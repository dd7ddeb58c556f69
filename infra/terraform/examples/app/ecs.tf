resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "app" {
  #checkov:skip=CKV_AWS_158:Example environment: CloudWatch Logs' own encryption is enough for the demo application's access logs, and a customer managed key would cost money while the example sits idle.
  name              = "/ecs/${var.name}/${var.service_name}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

# ---------------------------------------------------------------------------
# Roles named predictably ("<name>-<service>-execution" / "-task") so that
# ecs/web.json can name them with nothing but the account id.
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume_role" {
  statement {
    sid     = "EcsTasksAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-${var.service_name}-execution"
  description        = "ECS task execution role of the Ferry example service"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume_role.json
  tags               = local.tags
}

# The image comes from the public ECR gallery, which needs no credentials, so
# the execution role only writes the container's logs.
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "WriteContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.app.arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.name}-${var.service_name}-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# The application itself calls no AWS API: the task role has no policy.
resource "aws_iam_role" "task" {
  name               = "${var.name}-${var.service_name}-task"
  description        = "ECS task role of the Ferry example service (no permissions)"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume_role.json
  tags               = local.tags
}

# ---------------------------------------------------------------------------
# The first version. Later versions are registered by Ferry from ecs/web.json.
# ---------------------------------------------------------------------------

resource "aws_ecs_task_definition" "initial" {
  family                   = var.service_name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = local.task_definition_file.cpu
  memory                   = local.task_definition_file.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.container_definitions)

  runtime_platform {
    cpu_architecture        = local.task_definition_file.runtimePlatform.cpuArchitecture
    operating_system_family = local.task_definition_file.runtimePlatform.operatingSystemFamily
  }

  dynamic "volume" {
    for_each = try(local.task_definition_file.volumes, [])

    content {
      name = volume.value.name
    }
  }

  tags = local.tags

  lifecycle {
    # Ferry registers the following revisions; keep this one as it was.
    ignore_changes = all
  }
}

resource "aws_ecs_service" "web" {
  name          = var.service_name
  cluster       = aws_ecs_cluster.this.id
  desired_count = var.desired_count
  # `terraform destroy` must not wait for task sets Ferry created outside Terraform.
  force_delete = true

  # Task sets, and so Ferry, decide what runs: launch type, network, load
  # balancers and task definition belong to each task set, not the service.
  deployment_controller {
    type = "EXTERNAL"
  }

  tags = local.tags

  lifecycle {
    # ECS copies these from the primary task set; Terraform must not fight it.
    ignore_changes = [task_definition, load_balancer, network_configuration, launch_type, platform_version, capacity_provider_strategy]
  }
}

# Blue: the first task set, on the blue target group, at scale 100%.
resource "aws_ecs_task_set" "initial" {
  count = var.bootstrap_task_set ? 1 : 0

  service          = aws_ecs_service.web.id
  cluster          = aws_ecs_cluster.this.id
  task_definition  = aws_ecs_task_definition.initial.arn
  external_id      = "terraform-initial"
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  network_configuration {
    subnets         = aws_subnet.public[*].id
    security_groups = [aws_security_group.task.id]
    # No NAT gateway in the example: tasks need a public IP to pull the image.
    # Their security group admits nothing but the ALB.
    assign_public_ip = true
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this["blue"].arn
    container_name   = var.service_name
    container_port   = var.container_port
  }

  scale {
    unit  = "PERCENT"
    value = 100
  }

  wait_until_stable         = true
  wait_until_stable_timeout = "15m"

  # `terraform destroy` deletes it while it still serves 100% of the traffic,
  # instead of waiting for a scale-down nothing would start.
  force_delete = true

  tags = local.tags

  lifecycle {
    # From the first deployment on, Ferry owns the task sets.
    ignore_changes = all
  }
}

# The AWS provider cannot mark a task set primary (UpdateServicePrimaryTaskSet),
# so this runs the AWS CLI once, with the same credentials as Terraform.
resource "terraform_data" "initial_primary" {
  count = var.bootstrap_task_set ? 1 : 0

  triggers_replace = [aws_ecs_task_set.initial[0].arn]

  provisioner "local-exec" {
    command = join(" ", [
      "aws ecs update-service-primary-task-set",
      "--region ${data.aws_region.current.id}",
      "--cluster ${aws_ecs_cluster.this.name}",
      "--service ${aws_ecs_service.web.name}",
      "--primary-task-set ${aws_ecs_task_set.initial[0].arn}",
    ])
  }
}
