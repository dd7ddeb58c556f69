# An example application for Ferry to deploy: a VPC with two public subnets,
# an ALB with a production listener (80) and a test listener (8080), blue and
# green target groups, and a Fargate service with the EXTERNAL deployment
# controller whose first task set serves 100% of traffic from "blue".
#
# No NAT gateway: tasks run in the public subnets with public IPs (reachable
# only from the ALB's security group), which keeps the idle cost to the ALB
# and the running tasks.

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first two zone names are used (local.azs slices them), so a zone AWS adds later never changes the subnets.
  state = "available"
}

data "aws_region" "current" {}

locals {
  azs  = slice(data.aws_availability_zones.available.names, 0, 2)
  tags = merge({ "ferry:example" = var.name }, var.tags)

  # Ferry's manifest and task definition (committed in the application
  # repository) are the source of the container definition; Terraform fills
  # in what depends on this environment: the log group and the region.
  task_definition_file = jsondecode(file("${path.module}/ecs/web.json"))
  container_definitions = [
    for c in local.task_definition_file.containerDefinitions : merge(c, {
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = data.aws_region.current.id
          awslogs-stream-prefix = var.service_name
        }
      }
    })
  ]
}
