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
