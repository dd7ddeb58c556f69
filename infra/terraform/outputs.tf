output "table_name" {
  description = "DynamoDB table of deployments (FERRY_TABLE)."
  value       = aws_dynamodb_table.ferry.name
}

output "table_arn" {
  description = "ARN of the DynamoDB table."
  value       = aws_dynamodb_table.ferry.arn
}

output "event_bus_name" {
  description = "Custom EventBridge bus for GitHub events (FERRY_EVENT_BUS)."
  value       = aws_cloudwatch_event_bus.ferry.name
}

output "event_bus_arn" {
  description = "ARN of the custom EventBridge bus."
  value       = aws_cloudwatch_event_bus.ferry.arn
}

output "deploy_state_machine_arn" {
  description = "ARN of the deploy workflow (start it by hand with aws stepfunctions start-execution)."
  value       = aws_sfn_state_machine.workflow["deploy"].arn
}

output "traffic_state_machine_arn" {
  description = "ARN of the traffic workflow (preset shift, promote, rollback)."
  value       = aws_sfn_state_machine.workflow["traffic"].arn
}

output "state_machine_arns" {
  description = "State machine ARNs by workflow name."
  value       = { for key, machine in aws_sfn_state_machine.workflow : key => machine.arn }
}

output "function_names" {
  description = "Lambda function names by handler (directory under functions/)."
  value       = { for name, fn in aws_lambda_function.function : name => fn.function_name }
}

output "function_arns" {
  description = "Lambda function ARNs by handler."
  value       = { for name, fn in aws_lambda_function.function : name => fn.arn }
}

output "function_role_arns" {
  description = "IAM role ARNs of the functions by handler, e.g. to allow them in a KMS key policy."
  value       = { for name, role in aws_iam_role.function : name => role.arn }
}

output "github_webhook_secret_arn" {
  description = "Secrets Manager secret to put the GitHub webhook secret in."
  value       = aws_secretsmanager_secret.github_webhook.arn
}

output "github_credentials_secret_arn" {
  description = "Secrets Manager secret to put the GitHub credentials in."
  value       = aws_secretsmanager_secret.github_credentials.arn
}

output "webhook_url" {
  description = "Payload URL of the GitHub webhook (content type application/json, secret as in github_webhook_secret_arn, events push and pull_request)."
  value       = aws_lambda_function_url.webhook_intake.function_url
}

output "payload_bucket_name" {
  description = "S3 bucket where webhook-intake keeps GitHub payloads too big for an EventBridge event (FERRY_PAYLOAD_BUCKET)."
  value       = aws_s3_bucket.payloads.bucket
}

output "control_url" {
  description = "URL of the control function (auth type AWS_IAM): set FERRY_CONTROL_URL to it for ferry approve, reject, promote, rollback and traffic."
  value       = aws_lambda_function_url.control.function_url
}

output "operators_policy_arn" {
  description = "IAM managed policy to attach to the people and roles who operate deployments: it allows calling the control URL, nothing else. Null when create_operators_policy is false."
  value       = one(aws_iam_policy.operators[*].arn)
}

output "slack_interactivity_url" {
  description = "The Slack app's Interactivity Request URL (slack-callback's function URL); null without slack_enabled."
  value       = one(aws_lambda_function_url.slack_callback[*].function_url)
}

output "slack_bot_token_secret_arn" {
  description = "Secret to put the Slack app's bot token (xoxb-) into; null without slack_enabled."
  value       = one(aws_secretsmanager_secret.slack_bot_token[*].arn)
}

output "slack_signing_secret_arn" {
  description = "Secret to put the Slack app's signing secret into; null without slack_enabled."
  value       = one(aws_secretsmanager_secret.slack_signing_secret[*].arn)
}

output "ui_url" {
  description = "The web UI's address (https://<ui_domain_name, or the load balancer's DNS name>/); null without create_ui."
  value       = local.ui_enabled ? "https://${local.ui_host}/" : null
}

output "ui_oidc_callback_url" {
  description = "The redirect (callback) URL to register with the identity provider or the Cognito app client; null without create_ui."
  value       = local.ui_enabled ? "https://${local.ui_host}/oauth2/idpresponse" : null
}

output "ui_alb_arn" {
  description = "ARN of the UI's load balancer (ferry-ui checks the signer of every x-amzn-oidc-data token against it); null without create_ui."
  value       = one(aws_lb.ui[*].arn)
}

output "ui_alb_dns_name" {
  description = "DNS name of the UI's load balancer: point ui_domain_name at it. Null without create_ui."
  value       = one(aws_lb.ui[*].dns_name)
}

output "ui_alb_zone_id" {
  description = "Route 53 hosted zone id of the UI's load balancer, for an alias record. Null without create_ui."
  value       = one(aws_lb.ui[*].zone_id)
}

output "ui_task_role_arn" {
  description = "IAM role the ferry-ui task acts with; null without create_ui."
  value       = one(aws_iam_role.ui_task[*].arn)
}
