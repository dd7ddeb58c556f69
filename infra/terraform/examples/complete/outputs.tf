output "app_url" {
  description = "Production URL of the example service."
  value       = module.app.url
}

output "app_test_url" {
  description = "Test listener URL of the example service (green only)."
  value       = module.app.test_url
}

output "app_ferry_manifest" {
  description = "service/cluster/traffic/alarms for .ferry/web.yaml, with this environment's ARNs."
  value       = module.app.ferry_manifest
}

output "app_task_role_arn" {
  description = "taskRoleArn for ecs/web.json."
  value       = module.app.task_role_arn
}

output "app_execution_role_arn" {
  description = "executionRoleArn for ecs/web.json."
  value       = module.app.execution_role_arn
}

output "ferry_table_name" {
  description = "Ferry's DynamoDB table."
  value       = module.ferry.table_name
}

output "ferry_event_bus_name" {
  description = "Ferry's EventBridge bus."
  value       = module.ferry.event_bus_name
}

output "ferry_deploy_state_machine_arn" {
  description = "Ferry's deploy workflow."
  value       = module.ferry.deploy_state_machine_arn
}

output "ferry_traffic_state_machine_arn" {
  description = "Ferry's traffic workflow."
  value       = module.ferry.traffic_state_machine_arn
}

output "ferry_function_names" {
  description = "Ferry's Lambda functions."
  value       = module.ferry.function_names
}

output "ferry_github_webhook_secret_arn" {
  description = "Put the GitHub webhook secret here."
  value       = module.ferry.github_webhook_secret_arn
}

output "ferry_github_credentials_secret_arn" {
  description = "Put the GitHub credentials here."
  value       = module.ferry.github_credentials_secret_arn
}

output "ferry_webhook_url" {
  description = "Payload URL of the GitHub webhook of the application repository."
  value       = module.ferry.webhook_url
}

output "ferry_control_url" {
  description = "Ferry's control URL: export FERRY_CONTROL_URL with it for ferry approve, reject, promote, rollback and traffic."
  value       = module.ferry.control_url
}

output "ferry_operators_policy_arn" {
  description = "Attach this IAM policy to the people and roles who operate deployments."
  value       = module.ferry.operators_policy_arn
}

output "ferry_ui_url" {
  description = "Ferry's web UI; null with create_ui = false."
  value       = module.ferry.ui_url
}

output "ferry_ui_oidc_callback_url" {
  description = "Register this redirect URI with the OIDC application."
  value       = module.ferry.ui_oidc_callback_url
}

output "ferry_ui_alb_dns_name" {
  description = "Point ui_domain_name at this name (CNAME or Route 53 alias)."
  value       = module.ferry.ui_alb_dns_name
}

output "ferry_ui_task_role_arn" {
  description = "The IAM role the UI acts with."
  value       = module.ferry.ui_task_role_arn
}
