terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28: the Ferry module needs aws_lambda_permission.invoked_via_function_url.
      version = ">= 6.28, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      "ferry:example" = "complete"
    }
  }
}
