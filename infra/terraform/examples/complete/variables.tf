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
