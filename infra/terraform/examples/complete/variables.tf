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
