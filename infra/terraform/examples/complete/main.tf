# Ferry and an application for it to deploy, in one apply: the example
# application's ARNs scope every permission of the Ferry functions.

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
}
