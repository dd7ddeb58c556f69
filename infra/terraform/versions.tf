terraform {
  # 1.5: `check` blocks and `terraform_data` are available; nothing newer is needed.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.40 has every argument used here (Lambda logging_config, SFN logging/tracing,
      # DynamoDB deletion protection). Tested against 5.x; nothing used is removed in 6.x.
      version = ">= 5.40, < 7.0"
    }
  }
}
