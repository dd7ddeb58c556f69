variable "region" {
  description = "AWS region to install Ferry and the example application in."
  type        = string
  default     = "eu-west-1"
}

variable "package_dir" {
  description = "Directory with the function zips (make package). Null means the repository's dist/."
  type        = string
  default     = null
}

variable "test_ingress_cidrs" {
  description = "CIDR blocks allowed to reach the example's test listener (port 8080), e.g. your own address as [\"203.0.113.7/32\"]."
  type        = list(string)
  default     = []
}

variable "bootstrap_task_set" {
  description = "Create the example's first task set. Set to false after Ferry's first successful deployment (see docs/install.md)."
  type        = bool
  default     = true
}

variable "table_deletion_protection" {
  description = "Protect the Ferry table from deletion. The trial default is false so that `terraform destroy` cleans up everything."
  type        = bool
  default     = false
}

variable "secret_recovery_window_days" {
  description = "Recovery window of Ferry's secrets when they are deleted. The trial default 0 deletes them at once on `terraform destroy`, so that a reinstall within a week can create secrets of the same names."
  type        = number
  default     = 0
}

variable "payload_bucket_force_destroy" {
  description = "Let `terraform destroy` empty and delete Ferry's payload bucket. The trial default is true so that an uninstall leaves nothing behind."
  type        = bool
  default     = true
}

variable "public_url_reserved_concurrency" {
  description = "Reserved concurrency of Ferry's webhook intake. Null in an account whose Lambda concurrency quota is too low to reserve any (new accounts may have 10; Lambda keeps 100 unreserved)."
  type        = number
  default     = 10
}

variable "hook_function_arns" {
  description = "Lambda functions the manifest's `lambda` verification hooks may invoke (the module's hook_function_arns), e.g. [\"arn:aws:lambda:eu-west-1:123456789012:function:web-smoke-test\"]. Empty: no `lambda` hooks."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------------------
# Ferry's web UI (ui.tf and the module's create_ui). ui.tfvars.example has
# example values: copy it to terraform.tfvars and fill in yours.
# ---------------------------------------------------------------------------

variable "create_ui" {
  description = "Run Ferry's web UI on Fargate behind an OIDC-authenticating HTTPS load balancer, with two private subnets and a NAT gateway for it. Needs ui_image, ui_certificate_arn and the ui_oidc_* settings; false leaves the UI (and its cost) out."
  type        = bool
  default     = true
}

variable "ui_image" {
  description = "The ferry-ui image (make image), e.g. \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry-ui:v0.1.0\"."
  type        = string
  default     = null
}

variable "ui_certificate_arn" {
  description = "ACM certificate for ui_domain_name, in var.region."
  type        = string
  default     = null
}

variable "ui_domain_name" {
  description = "Host name of the UI (e.g. \"ferry.example.com\"), covered by ui_certificate_arn; point it at the ferry_ui_alb_dns_name output."
  type        = string
  default     = null
}

variable "ui_allowed_cidrs" {
  description = "IPv4 CIDR blocks that may reach the UI's load balancer, e.g. your own address as [\"203.0.113.7/32\"]."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "ui_deletion_protection" {
  description = "Protect the UI's load balancer from deletion. The trial default is false so that `terraform destroy` cleans up everything."
  type        = bool
  default     = false
}

variable "ui_oidc_issuer" {
  description = "OIDC issuer of your identity provider (its .well-known/openid-configuration lists this and the endpoints below)."
  type        = string
  default     = null
}

variable "ui_oidc_authorization_endpoint" {
  description = "OIDC authorization endpoint."
  type        = string
  default     = null
}

variable "ui_oidc_token_endpoint" {
  description = "OIDC token endpoint."
  type        = string
  default     = null
}

variable "ui_oidc_user_info_endpoint" {
  description = "OIDC user info endpoint."
  type        = string
  default     = null
}

variable "ui_oidc_client_id" {
  description = "Client id of the OIDC application (redirect URI: the ferry_ui_oidc_callback_url output)."
  type        = string
  default     = null
}

variable "ui_oidc_client_secret" {
  description = "Client secret of the OIDC application (or ui_oidc_client_secret_arn). Pass it as TF_VAR_ui_oidc_client_secret rather than in a file."
  type        = string
  default     = null
  sensitive   = true
}

variable "ui_oidc_client_secret_arn" {
  description = "Secrets Manager secret holding the OIDC client secret (or ui_oidc_client_secret)."
  type        = string
  default     = null
}
