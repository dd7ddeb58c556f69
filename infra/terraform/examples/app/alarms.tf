# The two alarms the manifest lists (.ferry/web.yaml). Blue and green swap
# target groups with every deployment (the new version always goes to the
# target group the old one is not on), so each alarm watches both target
# groups: one query per target group, combined with metric math. An alarm on
# either colour during a deployment rolls it back.

locals {
  target_groups = {
    blue  = aws_lb_target_group.this["blue"].arn_suffix
    green = aws_lb_target_group.this["green"].arn_suffix
  }
}

resource "aws_cloudwatch_metric_alarm" "target_5xx" {
  alarm_name          = "${var.service_name}-5xx"
  alarm_description   = "Target 5xx responses of ${var.service_name}, blue and green summed, per minute. Ferry rolls a deployment back when this fires."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_threshold
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "errors"
    expression  = "FILL(blue, 0) + FILL(green, 0)"
    label       = "Target 5xx (blue + green)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.target_groups

    content {
      id = metric_query.key

      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = "HTTPCode_Target_5XX_Count"
        period      = 60
        stat        = "Sum"
        dimensions = {
          LoadBalancer = aws_lb.this.arn_suffix
          TargetGroup  = metric_query.value
        }
      }
    }
  }

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "target_p99_latency" {
  alarm_name          = "${var.service_name}-p99-latency"
  alarm_description   = "p99 target response time of ${var.service_name}, the worse of blue and green. Ferry rolls a deployment back when this fires."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_p99_latency_seconds
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "latency"
    expression  = "MAX([blue, green])"
    label       = "Target p99 response time (worst colour)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.target_groups

    content {
      id = metric_query.key

      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = "TargetResponseTime"
        period      = 60
        stat        = "p99"
        dimensions = {
          LoadBalancer = aws_lb.this.arn_suffix
          TargetGroup  = metric_query.value
        }
      }
    }
  }

  tags = local.tags
}
