resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs need an S3 bucket with its own policy, encryption, lifecycle and logging; the example keeps to what a blue/green deployment needs. Enable access_logs for a real service.
  #checkov:skip=CKV_AWS_150:The example is meant to be destroyed after a trial; deletion protection would make `terraform destroy` fail. Enable it for a real service.
  #checkov:skip=CKV2_AWS_28:A WAF web ACL costs money every month even when idle; a real service should put one in front of its ALB.
  #checkov:skip=CKV2_AWS_20:The example has no domain name or certificate, so it serves plain HTTP; a real service redirects 80 to an HTTPS listener.
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = aws_subnet.public[*].id
  drop_invalid_header_fields = true
  tags                       = local.tags
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; traffic to the tasks stays inside the VPC, and the example has no certificate for the containers.
  for_each = toset(["blue", "green"])

  name                 = "${var.name}-${each.key}"
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.this.id
  deregistration_delay = 30

  health_check {
    path                = "/"
    matcher             = "200-399"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(local.tags, { "ferry:color" = each.key })
}

# Production listener: 100% blue, 0% green. Ferry changes the weights from
# here on, so Terraform ignores them after creation.
resource "aws_lb_listener" "production" {
  #checkov:skip=CKV_AWS_2:The example has no domain name or certificate, so the production listener is HTTP; a real service listens on HTTPS.
  #checkov:skip=CKV_AWS_103:TLS policy applies to HTTPS listeners only; this one is HTTP (see CKV_AWS_2).
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "forward"

    forward {
      target_group {
        arn    = aws_lb_target_group.this["blue"].arn
        weight = 100
      }

      target_group {
        arn    = aws_lb_target_group.this["green"].arn
        weight = 0
      }
    }
  }

  tags = local.tags

  lifecycle {
    ignore_changes = [default_action]
  }
}

# Test listener: serves green only, so a new version can be checked before it
# takes real traffic. Ferry may repoint it; Terraform ignores that too.
resource "aws_lb_listener" "test" {
  #checkov:skip=CKV_AWS_2:The example has no domain name or certificate, so the test listener is HTTP; a real service listens on HTTPS.
  #checkov:skip=CKV_AWS_103:TLS policy applies to HTTPS listeners only; this one is HTTP (see CKV_AWS_2).
  load_balancer_arn = aws_lb.this.arn
  port              = 8080
  protocol          = "HTTP"

  default_action {
    type = "forward"

    forward {
      target_group {
        arn    = aws_lb_target_group.this["green"].arn
        weight = 100
      }
    }
  }

  tags = local.tags

  lifecycle {
    ignore_changes = [default_action]
  }
}
