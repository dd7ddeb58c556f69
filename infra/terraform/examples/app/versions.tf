terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
  }
}

# No provider block: used on its own, this root module takes the region and
# credentials from the environment (AWS_REGION, AWS_PROFILE, ...); called from
# examples/complete, it inherits that module's provider.
