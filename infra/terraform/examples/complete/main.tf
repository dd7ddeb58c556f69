# Ferry and an application for it to deploy, in one apply: the example
# application's ARNs scope every permission of the Ferry functions. With
# create_ui (on by default here), Ferry's web UI runs on Fargate in the
# example VPC (ui.tf): give it a certificate and an OIDC application
# (ui.tfvars.example), or set create_ui = false.

module "app" {
  source = "../app"

  test_ingress_cidrs = var.test_ingress_cidrs
  bootstrap_task_set = var.bootstrap_task_set
}

module "ferry" {
  source = "../../"

  package_dir = var.package_dir

  # A trial installation must uninstall cleanly and reinstall at once.
  table_deletion_protection    = var.table_deletion_protection
  secret_recovery_window_days  = var.secret_recovery_window_days
  payload_bucket_force_destroy = var.payload_bucket_force_destroy

  public_url_reserved_concurrency = var.public_url_reserved_concurrency

  ecs_service_arns = [module.app.service_arn]
  listener_arns    = module.app.listener_arns
  task_role_arns   = [module.app.task_role_arn, module.app.execution_role_arn]
  alarm_arns       = module.app.alarm_arns

  # Verification hooks (the manifest's `hooks`, run by run-hooks): the functions
  # `lambda` hooks may invoke. `task` hooks need nothing more (the service's
  # cluster and task_role_arns above), nor do `http` hooks of the test listener:
  # the example's load balancer is internet-facing. With an internal one, attach
  # run-hooks to subnets that reach it and the AWS APIs (NAT or endpoints):
  #   hooks_vpc_config = { subnet_ids = ["subnet-…"], security_group_ids = ["sg-…"] }
  hook_function_arns = var.hook_function_arns

  # The web UI: the task in the private subnets of ui.tf, the load balancer in the
  # application's public subnets.
  create_ui              = var.create_ui
  ui_image               = var.ui_image
  ui_vpc_id              = module.app.vpc_id
  ui_subnet_ids          = local.ui_task_subnet_ids
  ui_public_subnet_ids   = module.app.public_subnet_ids
  ui_allowed_cidrs       = var.ui_allowed_cidrs
  ui_certificate_arn     = var.ui_certificate_arn
  ui_domain_name         = var.ui_domain_name
  ui_deletion_protection = var.ui_deletion_protection

  ui_oidc_issuer                 = var.ui_oidc_issuer
  ui_oidc_authorization_endpoint = var.ui_oidc_authorization_endpoint
  ui_oidc_token_endpoint         = var.ui_oidc_token_endpoint
  ui_oidc_user_info_endpoint     = var.ui_oidc_user_info_endpoint
  ui_oidc_client_id              = var.ui_oidc_client_id
  ui_oidc_client_secret          = var.ui_oidc_client_secret
  ui_oidc_client_secret_arn      = var.ui_oidc_client_secret_arn
}
