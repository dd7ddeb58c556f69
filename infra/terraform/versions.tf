terraform {
  # 1.5: `check` blocks and `terraform_data` are available; nothing newer is needed.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28 is the first with aws_lambda_permission's invoked_via_function_url, which a
      # public function URL needs since October 2025 (lambda.tf); everything else used
      # here (Lambda logging_config, SFN logging/tracing, DynamoDB deletion protection)
      # is older.
      version = ">= 6.28, < 7.0"
    }
  }
}
