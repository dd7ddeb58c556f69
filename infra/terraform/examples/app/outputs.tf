output "url" {
  description = "Production URL of the example service."
  value       = "http://${aws_lb.this.dns_name}/"
}

output "test_url" {
  description = "Test listener URL (green only); reachable from var.test_ingress_cidrs."
  value       = "http://${aws_lb.this.dns_name}:8080/"
}

output "cluster_name" {
  description = "ECS cluster name (manifest: cluster)."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "ECS service name (manifest: service)."
  value       = aws_ecs_service.web.name
}

output "service_arn" {
  description = "ECS service ARN, for the Ferry module's ecs_service_arns."
  value       = aws_ecs_service.web.id
}

output "production_listener_arn" {
  description = "Production listener ARN (manifest: traffic.listener)."
  value       = aws_lb_listener.production.arn
}

output "test_listener_arn" {
  description = "Test listener ARN (manifest: traffic.testListener)."
  value       = aws_lb_listener.test.arn
}

output "listener_arns" {
  description = "Both listeners, for the Ferry module's listener_arns."
  value       = [aws_lb_listener.production.arn, aws_lb_listener.test.arn]
}

output "blue_target_group_arn" {
  description = "Target group of the initial task set (manifest: traffic.targetGroups[0])."
  value       = aws_lb_target_group.this["blue"].arn
}

output "green_target_group_arn" {
  description = "Target group of the first new version (manifest: traffic.targetGroups[1])."
  value       = aws_lb_target_group.this["green"].arn
}

output "target_group_arns" {
  description = "Blue and green target group ARNs, in manifest order."
  value       = [aws_lb_target_group.this["blue"].arn, aws_lb_target_group.this["green"].arn]
}

output "alarm_names" {
  description = "Alarm names (manifest: alarms)."
  value       = [aws_cloudwatch_metric_alarm.target_5xx.alarm_name, aws_cloudwatch_metric_alarm.target_p99_latency.alarm_name]
}

output "alarm_arns" {
  description = "Alarm ARNs, for the Ferry module's alarm_arns."
  value       = [aws_cloudwatch_metric_alarm.target_5xx.arn, aws_cloudwatch_metric_alarm.target_p99_latency.arn]
}

output "task_role_arn" {
  description = "Task role ARN (ecs/web.json: taskRoleArn)."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "Task execution role ARN (ecs/web.json: executionRoleArn)."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "Log group of the containers (ecs/web.json: awslogs-group)."
  value       = aws_cloudwatch_log_group.app.name
}

output "ferry_manifest" {
  description = "The .ferry/web.yaml traffic section for this environment, with the real ARNs: paste it over the illustrative one."
  value = templatefile("${path.module}/manifest.yaml.tftpl", {
    service       = aws_ecs_service.web.name
    cluster       = aws_ecs_cluster.this.name
    container     = var.service_name
    port          = var.container_port
    listener      = aws_lb_listener.production.arn
    test_listener = aws_lb_listener.test.arn
    blue          = aws_lb_target_group.this["blue"].arn
    green         = aws_lb_target_group.this["green"].arn
    alarm_5xx     = aws_cloudwatch_metric_alarm.target_5xx.alarm_name
    alarm_p99     = aws_cloudwatch_metric_alarm.target_p99_latency.alarm_name
  })
}

output "vpc_id" {
  description = "The example VPC, for services added next to the application (examples/complete puts Ferry's web UI there)."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR block of the example VPC; the public subnets take its first two /24s."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "The two public subnets (one per availability zone of availability_zones, in that order)."
  value       = aws_subnet.public[*].id
}

output "availability_zones" {
  description = "The availability zones of the public subnets."
  value       = local.azs
}
