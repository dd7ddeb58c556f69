# ---------------------------------------------------------------------------
# Naming and packaging
# ---------------------------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of every named resource: functions are \"<prefix>-<function>\", state machines \"<prefix>-deploy\", \"<prefix>-traffic\" and \"<prefix>-plan\"."
  type        = string
  default     = "ferry"

  validation {
    # Keeps "<prefix>-<longest function>-fn" within IAM's 64-character role name limit.
    condition     = can(regex("^[a-z][a-z0-9-]{0,24}$", var.name_prefix))
    error_message = "name_prefix must be 1-25 characters of lowercase letters, digits and '-', starting with a letter."
  }
}

variable "package_dir" {
  description = "Directory holding one \"<function>.zip\" per Lambda function, as collected by scripts/package.sh. Null means \"<repository>/dist\" (path.module/../../dist)."
  type        = string
  default     = null
}

variable "statemachines_dir" {
  description = "Directory holding deploy.asl.json and traffic.asl.json. Null means \"<repository>/statemachines\" (path.module/../../statemachines), the files the local engine runs too."
  type        = string
  default     = null
}

variable "rust_log" {
  description = "RUST_LOG filter for every function (tracing-subscriber EnvFilter syntax), e.g. \"info\" or \"info,ferry_aws=debug\". The functions' Lambda application_log_level follows it (DEBUG or TRACE when it enables them), so that Lambda keeps the lines it lets through."
  type        = string
  default     = "info"
}

variable "tags" {
  description = "Tags added to every taggable resource this module creates."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------

variable "log_retention_days" {
  description = "Retention of the function and state machine log groups, in days. Deployment logs are part of the audit trail, so the default keeps a year."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "Customer managed KMS key for the log groups. Its key policy must allow the logs.<region>.amazonaws.com principal. Null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "state_machine_include_execution_data" {
  description = "Whether state machine logs (level ALL) include execution input and output. They hold manifests and deployment records, never secrets."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------
# Data stores
# ---------------------------------------------------------------------------

variable "table_name" {
  description = "Name of the DynamoDB table holding deployments, locks and task tokens (FERRY_TABLE)."
  type        = string
  default     = "ferry"
}

variable "table_kms_key_arn" {
  description = "Customer managed KMS key for the DynamoDB table. Null uses the AWS managed key aws/dynamodb."
  type        = string
  default     = null
}

variable "table_deletion_protection" {
  description = "Protect the DynamoDB table, the deployment history, from deletion. Set to false before destroying a trial installation."
  type        = bool
  default     = true
}

variable "event_bus_name" {
  description = "Name of the custom EventBridge bus that receives GitHub events (FERRY_EVENT_BUS)."
  type        = string
  default     = "ferry"
}

variable "secrets_kms_key_arn" {
  description = "Customer managed KMS key for the GitHub secrets in Secrets Manager. Null uses the AWS managed key aws/secretsmanager."
  type        = string
  default     = null
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once, otherwise 7-30)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

# ---------------------------------------------------------------------------
# GitHub webhooks (webhook-intake)
# ---------------------------------------------------------------------------

variable "tracked_branches" {
  description = "Branches whose pushes deploy (FERRY_TRACKED_BRANCHES): names, or prefixes ending in * (\"release/*\"). Empty means each repository's default branch."
  type        = list(string)
  default     = []
}

variable "watch_paths" {
  description = "Changed paths that make a push worth deploying (FERRY_WATCH_PATHS): \"dir/\" (a folder at any depth), \"*.ext\", an exact path, or \"*\" for every push (task definitions with $${GIT_SHA} images)."
  type        = list(string)
  default     = [".ferry/", "*.json"]
}

variable "payload_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the payload bucket with the payloads still in it. Off by default; the trial example (examples/complete) turns it on so that an uninstall leaves nothing behind."
  type        = bool
  default     = false
}

variable "public_url_reserved_concurrency" {
  description = "Reserved concurrency of each function behind a public function URL (webhook-intake): a cap on what a flood of requests can take from the account's concurrency. Null leaves them unreserved, for accounts whose concurrency quota is too low to reserve any (Lambda keeps 100 unreserved)."
  type        = number
  default     = 10

  validation {
    condition     = var.public_url_reserved_concurrency == null || try(var.public_url_reserved_concurrency >= 1, false)
    error_message = "public_url_reserved_concurrency must be null or at least 1 (0 would refuse every webhook)."
  }
}

variable "payload_retention_days" {
  description = "Days webhook payloads too big for an EventBridge event are kept in the payload bucket before they expire."
  type        = number
  default     = 7

  validation {
    condition     = var.payload_retention_days >= 1
    error_message = "payload_retention_days must be at least 1."
  }
}

# ---------------------------------------------------------------------------
# What Ferry may touch. Every list scopes IAM statements: leave one empty and
# the functions get no permission of that kind at all.
# ---------------------------------------------------------------------------

variable "ecs_cluster_arns" {
  description = "ECS clusters in which Ferry may deploy to every service (arn:aws:ecs:<region>:<account>:cluster/<name>). Prefer ecs_service_arns to name services one by one."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.ecs_cluster_arns : can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]+$", arn))])
    error_message = "Each ecs_cluster_arns entry must look like arn:aws:ecs:<region>:<account>:cluster/<name>."
  }
}

variable "ecs_service_arns" {
  description = "ECS services (EXTERNAL deployment controller) Ferry may deploy, in the long ARN format arn:aws:ecs:<region>:<account>:service/<cluster>/<service>."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.ecs_service_arns : can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:service/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+$", arn))])
    error_message = "Each ecs_service_arns entry must use the long ARN format arn:aws:ecs:<region>:<account>:service/<cluster>/<service>."
  }
}

variable "listener_arns" {
  description = "ALB listeners whose default action Ferry may re-weight: production listeners and test listeners."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.listener_arns : can(regex("^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:listener/app/", arn))])
    error_message = "Each listener_arns entry must be an Application Load Balancer listener ARN (…:listener/app/…)."
  }
}

variable "listener_rule_arns" {
  description = "ALB listener rules Ferry may re-weight, for manifests that set traffic.rule instead of shifting a listener's default action."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.listener_rule_arns : can(regex("^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:listener-rule/app/", arn))])
    error_message = "Each listener_rule_arns entry must be an Application Load Balancer listener rule ARN (…:listener-rule/app/…)."
  }
}

variable "task_role_arns" {
  description = "IAM roles Ferry may pass to ECS in the task definitions it registers: every taskRoleArn and executionRoleArn your task definitions name."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.task_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", arn))])
    error_message = "Each task_role_arns entry must be an IAM role ARN."
  }
}

variable "alarm_arns" {
  description = "CloudWatch alarms Ferry may read (the alarms your manifests list)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_arns : can(regex("^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:", arn))])
    error_message = "Each alarm_arns entry must be a CloudWatch alarm ARN (arn:aws:cloudwatch:<region>:<account>:alarm:<name>)."
  }
}

variable "alarm_name_prefixes" {
  description = "Alarm name prefixes Ferry may read in this account and region, for teams that name alarms by service (e.g. \"web-\")."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.alarm_name_prefixes : length(p) > 0 && !can(regex("[*?]", p))])
    error_message = "alarm_name_prefixes must be non-empty and must not contain wildcards."
  }
}

variable "hook_function_arns" {
  description = "Lambda functions the manifests' `lambda` verification hooks may invoke (run-hooks calls lambda:InvokeFunction, synchronously): function ARNs, or version or alias ARNs (arn:aws:lambda:<region>:<account>:function:<name>[:<version or alias>]). An unqualified ARN also allows that function's versions and aliases (<arn>:*). A function of another account must allow run-hooks' role in its resource policy too. Empty (the default) grants no invocation: `lambda` hooks then fail."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.hook_function_arns : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:(\\$LATEST|[A-Za-z0-9_-]{1,128}))?$", arn))])
    error_message = "Each hook_function_arns entry must be a Lambda function ARN, arn:aws:lambda:<region>:<account>:function:<name>, optionally with :<version> or :<alias>; no wildcards."
  }
}

variable "hooks_vpc_config" {
  description = "Attach run-hooks, and no other function, to your VPC, so that `http` hooks reach the test listener of an internal load balancer: the subnets and security groups of its network interfaces (Lambda allows up to 16 subnets and 5 security groups). The subnets need a route to the AWS APIs run-hooks calls (DynamoDB, ECS, Elastic Load Balancing, Lambda, Secrets Manager, X-Ray), through a NAT gateway or VPC endpoints, and the security groups must let run-hooks reach them and the test listener. Whoever applies the module needs ec2:DescribeSubnets, ec2:DescribeSecurityGroups and ec2:DescribeVpcs. Null (the default) keeps run-hooks outside any VPC, as every other function."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition = var.hooks_vpc_config == null || try(
      length(var.hooks_vpc_config.subnet_ids) >= 1 && length(var.hooks_vpc_config.subnet_ids) <= 16 &&
      length(var.hooks_vpc_config.security_group_ids) >= 1 && length(var.hooks_vpc_config.security_group_ids) <= 5 &&
      alltrue([for id in var.hooks_vpc_config.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))]) &&
      alltrue([for id in var.hooks_vpc_config.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))]),
      false
    )
    error_message = "hooks_vpc_config must be null, or name 1-16 subnet ids (subnet-...) and 1-5 security group ids (sg-...)."
  }
}

variable "github_api_url" {
  description = "GitHub REST API the pr-plan and poller functions call: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server."
  type        = string
  default     = "https://api.github.com"

  validation {
    condition     = can(regex("^https://[^/]+", var.github_api_url))
    error_message = "github_api_url must be an https URL."
  }
}

variable "poll_repositories" {
  description = "Branches the poller watches, as owner/name@branch, for repositories that cannot send webhooks to Ferry. Empty (the default) schedules no poller."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for entry in var.poll_repositories : can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@[^@,[:space:]]+$", entry))])
    error_message = "Each poll_repositories entry must be owner/name@branch."
  }
}

variable "poll_schedule" {
  description = "How often the poller runs (an EventBridge schedule expression). A 304 Not Modified answer costs no GitHub rate limit, so every minute is cheap."
  type        = string
  default     = "rate(1 minute)"
}

# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------

variable "create_operators_policy" {
  description = "Create the \"<prefix>-operators\" IAM managed policy (operators_policy_arn): what a person or role needs to run ferry approve, reject, promote, rollback and traffic through the control function's AWS_IAM URL. Attaching it is up to you. False when your own policies grant this (docs/iam.md shows the statements)."
  type        = bool
  default     = true
}

variable "slack_enabled" {
  description = "Post deployments to Slack and take clicks on their buttons: creates the Slack secrets (put their values afterwards, docs/install.md), gives the notifying functions the bot token's secret, and gives slack-callback its public function URL (the slack_interactivity_url output)."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------
# The web UI on Fargate (trial, ui.tf). Everything here only matters with
# create_ui = true; docs/install.md, "The web UI on Fargate (trial)".
# ---------------------------------------------------------------------------

variable "create_ui" {
  description = "Run the web UI (ferry-ui) as a Fargate ARM64 service (0.25 vCPU / 0.5 GB) behind an HTTPS load balancer that authenticates every request with OIDC or Cognito. Off by default: it costs money around the clock (docs/install.md has the figures)."
  type        = bool
  default     = false
}

variable "ui_image" {
  description = "Container image of ferry-ui (make image: infra/container/Dockerfile), e.g. \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry-ui:v0.1.0\" or \"…/ferry-ui@sha256:…\". From ECR in this account, the execution role may pull that repository only."
  type        = string
  default     = null

  validation {
    condition     = var.ui_image == null || can(regex("^[^[:space:]]+[:@][^[:space:]/]+$", var.ui_image))
    error_message = "ui_image must be an image reference with a tag or digest (repository:tag or repository@sha256:...)."
  }
}

variable "ui_cluster_arn" {
  description = "ECS cluster to run the UI service in. Null creates \"<prefix>-ui\" (with Container Insights)."
  type        = string
  default     = null

  validation {
    condition     = var.ui_cluster_arn == null || can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]+$", var.ui_cluster_arn))
    error_message = "ui_cluster_arn must look like arn:aws:ecs:<region>:<account>:cluster/<name>."
  }
}

variable "ui_vpc_id" {
  description = "VPC of the UI's load balancer, target group and tasks."
  type        = string
  default     = null

  validation {
    condition     = var.ui_vpc_id == null || can(regex("^vpc-[0-9a-f]+$", var.ui_vpc_id))
    error_message = "ui_vpc_id must be a VPC id (vpc-...)."
  }
}

variable "ui_subnet_ids" {
  description = "Private subnets for the UI task (no public IP). They need a route to the internet, a NAT gateway: the task calls AWS APIs and fetches the ALB's public keys from public-keys.auth.elb.<region>.amazonaws.com."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.ui_subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "Each ui_subnet_ids entry must be a subnet id (subnet-...)."
  }
}

variable "ui_public_subnet_ids" {
  description = "Subnets of the UI's load balancer, at least two in different availability zones: public ones, or private ones with ui_internal = true."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.ui_public_subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "Each ui_public_subnet_ids entry must be a subnet id (subnet-...)."
  }
}

variable "ui_internal" {
  description = "Make the UI's load balancer internal (reachable from the VPC and what is connected to it, e.g. a VPN) instead of internet-facing. It still needs outbound HTTPS to the identity provider."
  type        = bool
  default     = false
}

variable "ui_allowed_cidrs" {
  description = "IPv4 CIDR blocks that may reach the UI's load balancer (HTTPS, and HTTP, which only redirects). Every request must log in at the identity provider anyway; narrow this to your offices or VPN where you can."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.ui_allowed_cidrs) > 0 && alltrue([for cidr in var.ui_allowed_cidrs : can(cidrhost(cidr, 0)) && !can(regex(":", cidr))])
    error_message = "ui_allowed_cidrs must list at least one IPv4 CIDR block, e.g. \"203.0.113.0/24\"."
  }
}

variable "ui_certificate_arn" {
  description = "ACM certificate of the UI's HTTPS listener, in this region, for ui_domain_name."
  type        = string
  default     = null

  validation {
    condition     = var.ui_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/", var.ui_certificate_arn))
    error_message = "ui_certificate_arn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)."
  }
}

variable "ui_domain_name" {
  description = "Host name people open (e.g. \"ferry.example.com\"), covered by ui_certificate_arn; point it at the ui_alb_dns_name output (a CNAME, or a Route 53 alias with ui_alb_zone_id). Null uses the load balancer's own DNS name, which the certificate then has to cover."
  type        = string
  default     = null

  validation {
    condition     = var.ui_domain_name == null || can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", var.ui_domain_name))
    error_message = "ui_domain_name must be a lowercase host name such as \"ferry.example.com\" (no scheme, no path)."
  }
}

variable "ui_deletion_protection" {
  description = "Protect the UI's load balancer from deletion. Set to false before destroying a trial installation (examples/complete does)."
  type        = bool
  default     = true
}

variable "ui_access_logs_bucket" {
  description = "S3 bucket for the UI load balancer's access logs; its policy must let the region's Elastic Load Balancing account write. Null keeps no access logs (every action is still recorded with who took it)."
  type        = string
  default     = null
}

variable "ui_access_logs_prefix" {
  description = "Key prefix of the UI load balancer's access logs in ui_access_logs_bucket."
  type        = string
  default     = "ferry-ui"
}

variable "ui_authentication" {
  description = "How the UI's load balancer authenticates people: \"oidc\" (any OpenID Connect provider: the ui_oidc_* settings) or \"cognito\" (a Cognito user pool: the ui_cognito_* settings). ferry-ui acts as the token's email either way."
  type        = string
  default     = "oidc"

  validation {
    condition     = contains(["oidc", "cognito"], var.ui_authentication)
    error_message = "ui_authentication must be \"oidc\" or \"cognito\"."
  }
}

variable "ui_oidc_issuer" {
  description = "OIDC issuer (the `issuer` of the provider's .well-known/openid-configuration), e.g. \"https://accounts.google.com\"."
  type        = string
  default     = null

  validation {
    condition     = var.ui_oidc_issuer == null || can(regex("^https://[^[:space:]]+$", var.ui_oidc_issuer))
    error_message = "ui_oidc_issuer must be an https URL."
  }
}

variable "ui_oidc_authorization_endpoint" {
  description = "OIDC authorization endpoint (`authorization_endpoint` of the discovery document)."
  type        = string
  default     = null

  validation {
    condition     = var.ui_oidc_authorization_endpoint == null || can(regex("^https://[^[:space:]]+$", var.ui_oidc_authorization_endpoint))
    error_message = "ui_oidc_authorization_endpoint must be an https URL."
  }
}

variable "ui_oidc_token_endpoint" {
  description = "OIDC token endpoint (`token_endpoint` of the discovery document); the load balancer calls it, so it must be reachable from the internet."
  type        = string
  default     = null

  validation {
    condition     = var.ui_oidc_token_endpoint == null || can(regex("^https://[^[:space:]]+$", var.ui_oidc_token_endpoint))
    error_message = "ui_oidc_token_endpoint must be an https URL."
  }
}

variable "ui_oidc_user_info_endpoint" {
  description = "OIDC user info endpoint (`userinfo_endpoint` of the discovery document); the load balancer calls it for the claims it passes on (email)."
  type        = string
  default     = null

  validation {
    condition     = var.ui_oidc_user_info_endpoint == null || can(regex("^https://[^[:space:]]+$", var.ui_oidc_user_info_endpoint))
    error_message = "ui_oidc_user_info_endpoint must be an https URL."
  }
}

variable "ui_oidc_client_id" {
  description = "Client id of the OIDC application registered for the UI (redirect URI: the ui_oidc_callback_url output)."
  type        = string
  default     = null
}

variable "ui_oidc_client_secret" {
  description = "Client secret of the OIDC application. Give this or ui_oidc_client_secret_arn, not both. The load balancer's API takes it in clear, so it is in the Terraform state either way: keep the state encrypted and access-controlled."
  type        = string
  default     = null
  sensitive   = true
}

variable "ui_oidc_client_secret_arn" {
  description = "Secrets Manager secret holding the OIDC client secret as a plain string, read when planning (the caller needs secretsmanager:GetSecretValue on it). Keeps the secret out of variables and CI logs; it still ends up in the state (see ui_oidc_client_secret)."
  type        = string
  default     = null

  validation {
    condition     = var.ui_oidc_client_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:", var.ui_oidc_client_secret_arn))
    error_message = "ui_oidc_client_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "ui_oidc_scope" {
  description = "Scopes the load balancer asks the identity provider (or Cognito) for. ferry-ui needs the email claim: keep \"openid\" and \"email\"."
  type        = string
  default     = "openid email"

  validation {
    condition     = contains(split(" ", var.ui_oidc_scope), "openid") && contains(split(" ", var.ui_oidc_scope), "email")
    error_message = "ui_oidc_scope must include \"openid\" and \"email\" (ferry-ui acts as the token's email)."
  }
}

variable "ui_session_timeout" {
  description = "Seconds a login lasts at the load balancer before the identity provider is asked again (the ALB's default is 7 days; a UI that approves deployments keeps it to a working day)."
  type        = number
  default     = 28800

  validation {
    condition     = var.ui_session_timeout >= 60 && var.ui_session_timeout <= 604800
    error_message = "ui_session_timeout must be between 60 and 604800 seconds (7 days)."
  }
}

variable "ui_cognito_user_pool_arn" {
  description = "Cognito user pool that authenticates people, with ui_authentication = \"cognito\"."
  type        = string
  default     = null

  validation {
    condition     = var.ui_cognito_user_pool_arn == null || can(regex("^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:[0-9]{12}:userpool/", var.ui_cognito_user_pool_arn))
    error_message = "ui_cognito_user_pool_arn must be a Cognito user pool ARN."
  }
}

variable "ui_cognito_user_pool_client_id" {
  description = "App client of the Cognito user pool (with a client secret, the authorization code grant, and the ui_oidc_callback_url output as a callback URL)."
  type        = string
  default     = null
}

variable "ui_cognito_user_pool_domain" {
  description = "Domain prefix of the Cognito user pool's hosted login (the part before .auth.<region>.amazoncognito.com)."
  type        = string
  default     = null
}
