#!/usr/bin/env python3
"""Compare the AWS calls Ferry's functions make with the IAM actions Terraform grants them.

    python3 scripts/check_iam_calls.py [DIR]        (DIR defaults to target/aws-calls)

Reads every *.jsonl file in DIR. Each line is one recorded AWS SDK call:

    {"function": "create-taskset", "service": "ECS", "operation": "CreateTaskSet"}

`function` is a key of local.functions (infra/terraform/main.tf), or `ui` (the web UI's
task role, infra/terraform/ui.tf), `service` the AWS
SDK's service id ("ECS", "Elastic Load Balancing v2", "CloudWatch", "DynamoDB",
"SFN", ...) and `operation` the API operation. Each call becomes the IAM actions
it needs: the service id maps to its IAM prefix (SERVICE_PREFIXES) and the
operation is the action of the same name, except where OPERATION_ACTIONS says
otherwise. Notably:

  DynamoDB TransactWriteItems  has no IAM action of its own: DynamoDB authorizes
      each item of the transaction as the operation it is (Put as PutItem, Update
      as UpdateItem, Delete as DeleteItem, ConditionCheck as ConditionCheckItem;
      https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
      Ferry's one transaction (the plan's lock and record, and for a pushed
      commit the settling of the service's desired state) is two conditional
      Puts and a conditional Update. A recording does not say which items a
      transaction held, so this check asks for dynamodb:PutItem,
      dynamodb:UpdateItem and dynamodb:ConditionCheckItem
      (local.table_item_actions, iam.tf, has them all).
  DynamoDB TransactGetItems    needs dynamodb:GetItem, likewise.
  S3 HeadObject / ListObjectsV2  need s3:GetObject / s3:ListBucket.
  STS GetCallerIdentity        needs no permission.
  Lambda Invoke                needs lambda:InvokeFunction (run-hooks' `lambda`
      hooks; the action's name is not the operation's).
  ECS CreateTaskSet, RegisterTaskDefinition, RunTask  may also need
      ecs:TagResource (tags given at creation) and iam:PassRole (the task
      definition's roles: RunTask of run-hooks' task hooks passes them too),
      which a recording cannot show: never reported missing, but those grants
      count as used when the call is recorded (MAY_ALSO_NEED).

The grants are read from the Terraform (python-hcl2, in the virtual environment
scripts/terraform_checks.py uses): per function, the statements of
data.aws_iam_policy_document.function (iam.tf), that is, the statements every
function gets, its table access (local.table_access) and the statements its
`permissions` keys name. Statements whose resources come from the scoping
variables (listener_arns, alarm_arns, ...) count as granted, as they are when
those variables list something. Wildcards in granted actions
(elasticloadbalancing:Describe*) match as IAM matches them, case-insensitively.

Reported:
  MISSING  a call whose action the function is not granted: fails (exit 1)
  note     a grant the function never used in the recordings (logs:, xray: and
           kms: grants, and the network interface actions Lambda needs to attach
           run-hooks to a VPC (hooks_vpc_config), are used by AWS on the
           function's behalf, never by its own calls, and are not listed)
  note     functions of local.functions that never appear ("not exercised"), and
           recordings of functions that are not in local.functions (e.g. the
           ferry CLI), which are ignored

Exit status: 0 when every call is granted, 1 when one is not, 2 when the
recordings or the Terraform cannot be read. The last line reads
"iam-calls: N functions checked, N missing grants, N unused grants".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
sys.dont_write_bytecode = True  # no scripts/__pycache__ from the import below

import terraform_checks as tfc  # noqa: E402  (shares the HCL helpers and the venv)

DEFAULT_DIR = tfc.REPO / "target" / "aws-calls"

# AWS SDK service ids (the `service` field) -> IAM service prefix.
SERVICE_PREFIXES = {
    "application auto scaling": "application-autoscaling",
    "cloudwatch": "cloudwatch",
    "cloudwatch events": "events",
    "cloudwatch logs": "logs",
    "dynamodb": "dynamodb",
    "ec2": "ec2",
    "ecr": "ecr",
    "ecs": "ecs",
    "elastic load balancing": "elasticloadbalancing",
    "elastic load balancing v2": "elasticloadbalancing",
    "eventbridge": "events",
    "iam": "iam",
    "kms": "kms",
    "lambda": "lambda",
    "s3": "s3",
    "secrets manager": "secretsmanager",
    "sfn": "states",
    "sns": "sns",
    "sqs": "sqs",
    "ssm": "ssm",
    "sts": "sts",
    "xray": "xray",
    # SigV4 signing names, as the integration tests' HTTP layer records them.
    "elasticloadbalancing": "elasticloadbalancing",
    "monitoring": "cloudwatch",
    "states": "states",
    "events": "events",
    "secretsmanager": "secretsmanager",
}

# (IAM prefix, operation) -> the IAM actions the call needs, where they are not
# "<prefix>:<operation>". An empty list: the call needs no permission.
OPERATION_ACTIONS: dict[tuple[str, str], list[str]] = {
    ("dynamodb", "TransactWriteItems"): ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
    ("dynamodb", "TransactGetItems"): ["dynamodb:GetItem"],
    ("s3", "HeadObject"): ["s3:GetObject"],
    ("s3", "HeadBucket"): ["s3:ListBucket"],
    ("s3", "ListObjects"): ["s3:ListBucket"],
    ("s3", "ListObjectsV2"): ["s3:ListBucket"],
    ("s3", "CreateMultipartUpload"): ["s3:PutObject"],
    ("s3", "UploadPart"): ["s3:PutObject"],
    ("s3", "CompleteMultipartUpload"): ["s3:PutObject"],
    ("s3", "CopyObject"): ["s3:GetObject", "s3:PutObject"],
    ("s3", "DeleteObjects"): ["s3:DeleteObject"],
    ("sqs", "SendMessageBatch"): ["sqs:SendMessage"],
    ("sqs", "DeleteMessageBatch"): ["sqs:DeleteMessage"],
    ("sqs", "ChangeMessageVisibilityBatch"): ["sqs:ChangeMessageVisibility"],
    ("lambda", "Invoke"): ["lambda:InvokeFunction"],
    ("lambda", "InvokeWithResponseStream"): ["lambda:InvokeFunction"],
    ("sts", "GetCallerIdentity"): [],
}

# Calls that may need more actions than their own, depending on their input: a
# CreateTaskSet or RegisterTaskDefinition with tags needs ecs:TagResource (tag on
# create), a task definition that names roles needs iam:PassRole. A recording
# does not carry the input, so these are never reported missing; but a grant of
# them counts as used when the call is recorded.
MAY_ALSO_NEED: dict[str, list[str]] = {
    "ecs:CreateTaskSet": ["ecs:TagResource"],
    "ecs:RegisterTaskDefinition": ["ecs:TagResource", "iam:PassRole"],
    # Dependent actions of RunTask in the Service Authorization Reference: PassRole
    # for a task definition with a task or execution role, TagResource for tags.
    "ecs:RunTask": ["ecs:TagResource", "iam:PassRole"],
}

# Granted for AWS to use on the function's behalf (the Lambda runtime writes its
# logs and traces; DynamoDB and Secrets Manager use the KMS key), never called by
# the function's own code: not reported as unused.
PLATFORM_PREFIXES = ("logs:", "xray:", "kms:")
# Lambda creates and manages the network interfaces of a function in a VPC with
# the function's role (AWSLambdaVPCAccessExecutionRole's actions): run-hooks with
# hooks_vpc_config. No handler calls EC2 itself.
PLATFORM_ACTIONS = frozenset({
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
})


@dataclass
class Call:
    """The recorded calls that need one IAM action."""

    sources: set[str] = field(default_factory=set)
    count: int = 0


class InputError(Exception):
    pass


# ---------------------------------------------------------------------------
# The grants, from the Terraform
# ---------------------------------------------------------------------------


def resolve(module: tfc.Module, value: object, depth: int = 0) -> object:
    """A literal HCL value with `${local.x}` references replaced by their values."""
    if depth > 10:
        raise InputError(f"local references nest too deep at {value!r}")
    if isinstance(value, list):
        return [resolve(module, item, depth + 1) for item in value]
    if isinstance(value, str):
        ref = re.fullmatch(r"\$\{local\.([A-Za-z_][A-Za-z0-9_]*)\}", value.strip())
        if ref:
            if ref.group(1) not in module.locals:
                raise InputError(f"local.{ref.group(1)} is not defined")
            return resolve(module, module.locals[ref.group(1)], depth + 1)
        return tfc.unquote(value)
    return value


def action_list(module: tfc.Module, value: object, where: str) -> list[str]:
    actions = resolve(module, value)
    if not isinstance(actions, list) or not all(isinstance(a, str) and ":" in a for a in actions):
        raise InputError(f"{where}: cannot read the actions {value!r} as a list of literal IAM actions")
    return actions


def entries(mapping: object) -> dict[str, object]:
    if not isinstance(mapping, dict):
        return {}
    return {str(tfc.unquote(k)): v for k, v in mapping.items() if not str(k).startswith("__")}


def function_grants(module: tfc.Module) -> dict[str, set[str]]:
    """function -> the IAM actions its role is granted (iam.tf's policy document)."""
    functions = entries(module.locals.get("functions"))
    if not functions:
        raise InputError("no `locals { functions = { ... } }` map in infra/terraform")
    statements = entries(module.locals.get("permission_statements"))
    table_statements = entries(module.locals.get("table_statements"))
    table_access = {k: str(tfc.unquote(v)) for k, v in entries(module.locals.get("table_access")).items()}

    document = None
    for path, doc in module.files.items():
        for block in doc.get("data", []):
            for dtype, named in block.items():
                if tfc.unquote(dtype) == "aws_iam_policy_document":
                    for name, body in entries(named).items():
                        if name == "function":
                            document = (path, body)
    if document is None:
        raise InputError('no data "aws_iam_policy_document" "function" in infra/terraform')
    path, body = document
    where = f"{tfc.rel(path)}: data.aws_iam_policy_document.function"

    common: set[str] = set()
    for statement in body.get("statement", []) or []:
        common.update(action_list(module, statement.get("actions"), f"{where} statement {statement.get('sid')}"))

    per_function_keys = False
    table_from_statements = False
    for dynamic in body.get("dynamic", []) or []:
        for label, spec in entries(dynamic).items():
            if label != "statement" or not isinstance(spec, dict):
                continue
            for_each = str(spec.get("for_each", ""))
            content = (spec.get("content") or [{}])[0]
            if "permission_statements" in for_each:
                per_function_keys = True
            elif "table_statements" in for_each:
                table_from_statements = True
            else:
                # A statement given to every function when a variable is set
                # (the table's customer managed key): granted, as when it is.
                if "each.value" in str(content.get("actions")) or "statement.value" in str(content.get("actions")):
                    raise InputError(f"{where}: a dynamic statement over {for_each} that this script does not know")
                common.update(action_list(module, content.get("actions"), f"{where} dynamic statement"))
    if not per_function_keys:
        raise InputError(f"{where}: no dynamic statement over local.permission_statements")

    grants: dict[str, set[str]] = {}
    for name, settings in functions.items():
        granted = set(common)
        if table_from_statements:
            access = table_access.get(name, "items")
            if access not in table_statements:
                raise InputError(f"local.table_access gives {name} {access!r}, which local.table_statements lacks")
            granted.update(action_list(module, entries(table_statements[access]).get("actions"), f"local.table_statements.{access}"))
        for key in resolve(module, entries(settings).get("permissions", [])) or []:
            if key not in statements:
                raise InputError(f"function {name} asks for permission {key!r}, not in local.permission_statements")
            granted.update(action_list(module, entries(statements[key]).get("actions"), f"local.permission_statements.{key}"))
        grants[name] = granted
    ui = ui_grants(module, functions, statements, table_statements)
    if ui is not None:
        grants["ui"] = ui
    return grants


def ui_grants(module: tfc.Module, functions: dict, statements: dict, table_statements: dict) -> set[str] | None:
    """The web UI's task role (ui.tf, recorded as `ui`): the table's item actions, the control
    function's permission keys, local.ui_view_permissions, and the literal actions
    local.ui_permission_statements adds (ecs:DescribeTaskDefinition)."""
    views = module.locals.get("ui_view_permissions")
    added = module.locals.get("ui_permission_statements")
    if views is None or added is None:
        return None
    granted: set[str] = set()
    if "items" in table_statements:
        granted.update(action_list(module, entries(table_statements["items"]).get("actions"), "local.table_statements.items"))
    control = entries(functions.get("control"))
    for key in list(resolve(module, control.get("permissions", [])) or []) + list(resolve(module, views) or []):
        if key not in statements:
            raise InputError(f"the UI asks for permission {key!r}, not in local.permission_statements")
        granted.update(action_list(module, entries(statements[key]).get("actions"), f"local.permission_statements.{key}"))
    granted.update(re.findall(r"\b(ecs:[A-Za-z]+)", str(added)))
    return granted


# ---------------------------------------------------------------------------
# The calls, from the recordings
# ---------------------------------------------------------------------------


def actions_for(service: str, operation: str) -> list[str]:
    prefix = SERVICE_PREFIXES.get(service.strip().lower())
    if prefix is None:
        raise InputError(
            f"service id {service!r} has no IAM prefix here; add it to SERVICE_PREFIXES in {Path(__file__).name}"
        )
    return OPERATION_ACTIONS.get((prefix, operation), [f"{prefix}:{operation}"])


def read_recordings(directory: Path) -> tuple[dict[str, dict[str, Call]], int, int]:
    """function -> action -> Call, the number of files and of calls."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no such directory (record the calls first)")
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise InputError(f"{directory}: no *.jsonl recordings")
    calls: dict[str, dict[str, Call]] = {}
    total = 0
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: not JSON: {exc}") from None
            if not isinstance(record, dict) or not all(isinstance(record.get(k), str) and record.get(k) for k in ("function", "service", "operation")):
                raise InputError(f'{where}: expected {{"function": ..., "service": ..., "operation": ...}} strings')
            total += 1
            source = f"{record['service']} {record['operation']}"
            calls.setdefault(record["function"], {})
            for action in actions_for(record["service"], record["operation"]):
                call = calls[record["function"]].setdefault(action, Call())
                call.sources.add(source)
                call.count += 1
    return calls, len(files), total


# ---------------------------------------------------------------------------


def pattern(grant: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in grant), re.I)


def granted_by(action: str, grants: set[str]) -> list[str]:
    return [grant for grant in grants if pattern(grant).fullmatch(action)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", default=str(DEFAULT_DIR), help="directory of *.jsonl recordings (default target/aws-calls)")
    args = parser.parse_args()

    tfc.ensure_hcl2(__file__)
    summary = "iam-calls: {checked} functions checked, {missing} missing grants, {unused} unused grants"
    try:
        errors: list[str] = []
        modules = tfc.load_modules(errors)
        if errors:
            raise InputError("; ".join(errors))
        root = modules.get(tfc.TF_ROOT)
        if root is None:
            raise InputError(f"no .tf files in {tfc.rel(tfc.TF_ROOT)}")
        grants = function_grants(root)
        directory = Path(args.directory)
        calls, files, total = read_recordings(directory if directory.is_absolute() else Path.cwd() / directory)
    except InputError as exc:
        print(f"error: {exc}")
        print(summary.format(checked=0, missing=0, unused=0))
        return 2

    print(f"iam-calls: {total} calls in {files} recordings from {args.directory}; grants from {tfc.rel(tfc.TF_ROOT)}")
    missing: list[str] = []
    unused: list[str] = []
    checked = sorted(name for name in calls if name in grants)
    for name in checked:
        used: set[str] = set()
        for action, call in sorted(calls[name].items()):
            matches = granted_by(action, grants[name])
            used.update(matches)
            for implied in MAY_ALSO_NEED.get(action, []):
                used.update(granted_by(implied, grants[name]))
            if not matches:
                missing.append(f"{name}: {action}")
                print(f"MISSING  {name}: {action} (called as {', '.join(sorted(call.sources))}, {call.count}x)")
        idle_grants = sorted(
            grant for grant in grants[name] - used if not grant.startswith(PLATFORM_PREFIXES) and grant not in PLATFORM_ACTIONS
        )
        if idle_grants:
            unused.extend(f"{name}: {grant}" for grant in idle_grants)
            print(f"note     {name}: granted, never called: {', '.join(idle_grants)}")
    for name in sorted(set(calls) - set(grants)):
        count = sum(call.count for call in calls[name].values())
        print(f"note     {name}: not a function of local.functions; its {count} recorded calls are ignored")
    idle = sorted(set(grants) - set(calls))
    if idle:
        print(f"note     not exercised (no recorded call): {', '.join(idle)}")
    print(summary.format(checked=len(checked), missing=len(missing), unused=len(unused)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
