variable "name" {
  description = "Name of the example environment: the ECS cluster, the load balancer and the prefix of roles and target groups."
  type        = string
  default     = "ferry-demo"

  validation {
    # Target group names ("<name>-green") are limited to 32 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{0,25}$", var.name))
    error_message = "name must be 1-26 characters of lowercase letters, digits and '-', starting with a letter."
  }
}

variable "service_name" {
  description = "ECS service name; also the container name, the task definition family and the prefix of the alarm names."
  type        = string
  default     = "web"
}

variable "vpc_cidr" {
  description = "CIDR block of the example VPC; the two public subnets take its first two /24s."
  type        = string
  default     = "10.42.0.0/16"
}

variable "container_port" {
  description = "Port the container listens on (the nginx-unprivileged image listens on 8080)."
  type        = number
  default     = 8080
}

variable "desired_count" {
  description = "Number of tasks of the service; every task set runs this many at scale 100%."
  type        = number
  default     = 2
}

variable "production_ingress_cidrs" {
  description = "CIDR blocks allowed to reach the production listener (port 80)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "test_ingress_cidrs" {
  description = "CIDR blocks allowed to reach the test listener (port 8080), which serves green before it takes real traffic. Empty keeps it closed."
  type        = list(string)
  default     = []
}

variable "bootstrap_task_set" {
  description = "Create the first (blue) task set. Set to false once Ferry has finished its first deployment: from then on Ferry owns the task sets, and Terraform must not recreate the one it removed."
  type        = bool
  default     = true
}

variable "alarm_5xx_threshold" {
  description = "Target 5xx responses per minute, summed over both target groups, above which the 5xx alarm fires."
  type        = number
  default     = 5
}

variable "alarm_p99_latency_seconds" {
  description = "p99 target response time in seconds, on either target group, above which the latency alarm fires."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "Retention of the application and VPC flow log groups, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}
