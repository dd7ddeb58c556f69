# What the people (and roles, such as a chatops bot's) who operate deployments
# need: to call the control function through its AWS_IAM function URL
# (lambda.tf), nothing else. The function does the rest with its own role and
# checks the caller against the manifest's approvers. docs/iam.md explains it.
#
# Since October 2025 a caller of an AWS_IAM function URL in the function's own
# account needs both lambda:InvokeFunctionUrl and lambda:InvokeFunction in its
# identity-based policy (or the function's resource-based policy; Ferry adds
# none). Each is limited to the URL: InvokeFunctionUrl to auth type AWS_IAM
# (lambda:FunctionUrlAuthType), InvokeFunction to invocations through a function
# URL (lambda:InvokedViaFunctionUrl), so the policy never lets anyone call Invoke
# on the function directly with a payload of their own.
#
# The function is named by its static ARN (local.function_arns), as everywhere in
# IAM here. The module creates the policy and attaches it to nobody: attach it to
# the IAM users, groups or roles of the people who approve, promote and roll back.

data "aws_iam_policy_document" "operators" {
  count = var.create_operators_policy ? 1 : 0

  statement {
    sid       = "InvokeControlUrl"
    actions   = ["lambda:InvokeFunctionUrl"]
    resources = [local.function_arns["control"]]

    condition {
      test     = "StringEquals"
      variable = "lambda:FunctionUrlAuthType"
      values   = ["AWS_IAM"]
    }
  }

  statement {
    sid       = "InvokeControlViaUrl"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.function_arns["control"]]

    condition {
      test     = "Bool"
      variable = "lambda:InvokedViaFunctionUrl"
      values   = ["true"]
    }
  }
}

resource "aws_iam_policy" "operators" {
  count = var.create_operators_policy ? 1 : 0

  name        = "${var.name_prefix}-operators"
  description = "Operate Ferry deployments: call the ${local.function_names["control"]} function through its AWS_IAM function URL (ferry approve, reject, promote, rollback, traffic)."
  policy      = data.aws_iam_policy_document.operators[0].json
  tags        = local.tags
}
