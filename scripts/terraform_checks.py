#!/usr/bin/env python3
"""Static checks of Ferry's Terraform (infra/terraform), runnable without AWS.

    python3 scripts/terraform_checks.py [--no-checkov] [--no-terraform]

Checks, each reported as passed, failed or skipped (with the reason):

  parse        every .tf under infra/terraform parses (python-hcl2); every
               variable has a description and a type, every output a description
  statemachines  every templatefile() of a statemachines/*.asl.json binds every
               ${...} placeholder of that file, and uses every name it binds;
               binding <fn>_function_arn points at local.function_arns["<fn>"].
               A call in a resource with for_each = local.<map> that reads
               each.value.<attr> (sfn.tf's workflow) is checked once per entry
  functions    the functions in local.functions equal the directories under
               functions/ that have a Cargo.toml; their permission keys exist
  rules        every file() of an EventBridge pattern is valid JSON, and every
               rules/*.json is used
  function-urls  every aws_lambda_function_url with authorization_type "NONE"
               has both resource-policy statements a public URL needs since
               October 2025: lambda:InvokeFunctionUrl with function_url_auth_type
               "NONE", and lambda:InvokeFunction with invoked_via_function_url =
               true; no permission gives anyone lambda:InvokeFunction without
               that flag; and the function has reserved concurrency. Every
               function of IAM_AUTH_URL_FUNCTIONS (control) has a URL, and its
               authorization_type is "AWS_IAM"; no URL of auth type AWS_IAM has
               a permission for principal "*" (anyone in any account)
  lambda-logs  every aws_lambda_function with log_format "JSON" sets
               application_log_level, derived from var.rust_log (or DEBUG/TRACE),
               so that Lambda does not drop the debug lines RUST_LOG lets through
  ui           the web UI service (ui.tf): create_ui defaults to false and gates
               every UI resource; the task is Fargate, Linux/ARM64, 256 CPU units
               / 512 MiB, read-only root file system, non-root user; its role
               reuses the control function's table access and permission keys
               (local.functions["control"]) and has no wildcard action; its
               environment is control's plus FERRY_UI_*; the service has no public
               IP and rolls back; the load balancer drops invalid headers, its
               HTTPS listener (TLS13-1-2-2021-06) authenticates before it forwards,
               HTTP only redirects, and the target group checks /healthz
  skips        every "#checkov:skip=CKV_...:reason" carries a reason
  terraform    `terraform fmt -check`; and when an AWS provider the module
               accepts (infra/terraform/versions.tf) is available offline
               (TF_PLUGIN_DIR, or /opt/tf-plugins): `terraform validate`
               of the module and the examples, and `terraform test` (the IAM
               unit tests in infra/terraform/tests, with a mocked provider);
               skipped without terraform
  checkov      checkov -d infra/terraform --framework terraform --skip-download
               --compact --quiet: no failed check, every skip with a reason, and
               the UI_CHECKOV_RESOURCES of ui.tf scanned (checkov drops resources
               whose count it evaluates to 0: examples/complete keeps create_ui on)

The tools come from pinned versions in virtual environments under
$FERRY_TOOLS_DIR/terraform-checks (default ~/.cache/ferry), created on first
use: python-hcl2 and checkov cannot share one environment, since checkov's
HCL fork installs a package of the same name.

Exit status: 0 when nothing failed, 1 when a check failed, 2 when the tools
could not be installed. The last line reads "terraform-checks: N passed,
N failed, N skipped".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HCL2_REQUIREMENT = "python-hcl2==8.1.4"
CHECKOV_REQUIREMENT = "checkov==3.3.30"

REPO = Path(__file__).resolve().parent.parent
TF_ROOT = REPO / "infra" / "terraform"
STATEMACHINES = REPO / "statemachines"
FUNCTIONS = REPO / "functions"
TOOLS_DIR = Path(os.environ.get("FERRY_TOOLS_DIR", Path.home() / ".cache" / "ferry")) / "terraform-checks"
REEXEC_MARKER = "FERRY_TERRAFORM_CHECKS_IN_VENV"

# Root modules to `terraform validate` (the control plane and the examples).
VALIDATE_DIRS = ["infra/terraform", "infra/terraform/examples/app", "infra/terraform/examples/complete"]
DEFAULT_PLUGIN_DIRS = [Path("/opt/tf-plugins")]

SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([^\s:]*)(?::(.*))?$")
MIN_REASON_CHARS = 20


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.skipped: list[str] = []

    def check(self, name: str, problems: list[str], detail: str = "") -> None:
        if problems:
            self.failed.append(name)
            print(f"FAIL  {name}")
            for problem in problems:
                print(f"      - {problem}")
        else:
            self.passed.append(name)
            print(f"ok    {name}" + (f": {detail}" if detail else ""))

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append(name)
        print(f"skip  {name}: {reason}")

    def summary(self) -> int:
        print(
            f"terraform-checks: {len(self.passed)} passed, {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped"
        )
        return 1 if self.failed else 0


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------
# Tools: pinned, in their own virtual environments
# ---------------------------------------------------------------------------


def tool_python(name: str, requirement: str) -> Path:
    """Return the python of a venv holding `requirement`, creating it if needed."""
    env_dir = TOOLS_DIR / name
    python = env_dir / "bin" / "python"
    stamp = env_dir / ".requirement"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == requirement:
        return python
    print(f"installing {requirement} into {env_dir} ...", flush=True)
    if env_dir.exists():
        shutil.rmtree(env_dir)
    venv.EnvBuilder(with_pip=True).create(env_dir)
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0:
        print(result.stdout)
        print(f"error: could not install {requirement} (pip exited {result.returncode})")
        sys.exit(2)
    stamp.write_text(requirement + "\n")
    return python


def ensure_hcl2(script: str | Path | None = None) -> None:
    """Run `script` (this one by default; scripts/check_iam_calls.py passes its own)
    under a python that has the real python-hcl2, with the same arguments."""
    if os.environ.get(REEXEC_MARKER):
        return
    python = tool_python("hcl2", HCL2_REQUIREMENT)
    env = dict(os.environ, **{REEXEC_MARKER: "1"})
    target = Path(script or __file__).resolve()
    os.execve(str(python), [str(python), str(target), *sys.argv[1:]], env)


# ---------------------------------------------------------------------------
# Parsing helpers. python-hcl2 keeps HCL quoting: string literals come back as
# '"text"', expressions as '${expr}', and block labels with their quotes.
# ---------------------------------------------------------------------------


def unquote(value: object) -> object:
    if isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def walk_strings(node: object):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key != "__comments__":
                yield from walk_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_strings(item)


class Module:
    """One directory of .tf files, parsed."""

    def __init__(self, directory: Path, files: dict[Path, dict]) -> None:
        self.directory = directory
        self.files = files
        self.locals: dict[str, object] = {}
        self.locals_file: dict[str, Path] = {}
        for path, doc in files.items():
            for block in doc.get("locals", []):
                for key, value in block.items():
                    if not key.startswith("__"):
                        self.locals[key] = value
                        self.locals_file[key] = path

    def resolve_path(self, template: str) -> str | None:
        """Resolve "${path.module}" and "${local.x}" in a literal path, or None."""
        text = template
        for _ in range(10):
            match = re.search(r"\$\{([^}]*)\}", text)
            if not match:
                return text
            ref = match.group(1).strip()
            if ref == "path.module":
                value = str(self.directory)
            elif ref.startswith("local.") and ref[6:] in self.locals:
                inner = self.locals[ref[6:]]
                if not isinstance(inner, str):
                    return None
                # coalesce(var.x, "<default>"): a variable that may override a
                # default path; the checks look at the default (the repository).
                default = re.fullmatch(r'\$\{coalesce\(var\.[A-Za-z_][A-Za-z0-9_]*,\s*"(.*)"\)\}', inner)
                value = default.group(1) if default else unquote(inner)
                # A local such as "${path.module}/x" stays a template for the next round.
            else:
                return None
            text = text[: match.start()] + str(value) + text[match.end() :]
        return None


def load_modules(errors: list[str]) -> dict[Path, Module]:
    import hcl2  # noqa: PLC0415 (imported after the venv re-exec)

    by_dir: dict[Path, dict[Path, dict]] = {}
    for path in sorted(TF_ROOT.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        try:
            with path.open(encoding="utf-8") as handle:
                doc = hcl2.load(handle)
        except Exception as exc:  # python-hcl2 raises lark errors of many kinds
            errors.append(f"{rel(path)}: does not parse: {str(exc).splitlines()[0]}")
            continue
        by_dir.setdefault(path.parent, {})[path] = doc
    return {directory: Module(directory, files) for directory, files in by_dir.items()}


# ---------------------------------------------------------------------------
# (a) parse, variables, outputs
# ---------------------------------------------------------------------------


def check_parse(report: Report) -> dict[Path, Module]:
    problems: list[str] = []
    modules = load_modules(problems)
    count = 0
    for module in modules.values():
        for path, doc in module.files.items():
            count += 1
            for block in doc.get("variable", []):
                for name, body in block.items():
                    name = unquote(name)
                    if not unquote(body.get("description", "")):
                        problems.append(f"{rel(path)}: variable {name} has no description")
                    if "type" not in body:
                        problems.append(f"{rel(path)}: variable {name} has no type")
            for block in doc.get("output", []):
                for name, body in block.items():
                    if not unquote(body.get("description", "")):
                        problems.append(f"{rel(path)}: output {unquote(name)} has no description")
    if count == 0:
        problems.append(f"no .tf file found under {rel(TF_ROOT)}")
    report.check("parse", problems, f"{count} files in {len(modules)} modules parse; variables and outputs documented")
    return modules


# ---------------------------------------------------------------------------
# (b) state machine placeholders
# ---------------------------------------------------------------------------

TEMPLATEFILE_CALL = re.compile(r'templatefile\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*([^)]*?)\s*\)')
# ${name} not preceded by another $ ($${ is templatefile's escape for a literal ${).
PLACEHOLDER = re.compile(r"(?<!\$)\$\{\s*([^}]*?)\s*\}")
DIRECTIVE = re.compile(r"(?<!%)%\{")
FUNCTION_ARN_BINDING = re.compile(r'^\$\{local\.function_arns\["([^"]+)"\]\}$')
# each.key / each.value.<attr> in an expression, and as an interpolation in a string.
EACH_REF = re.compile(r"\beach\.(key|value\.([A-Za-z_][A-Za-z0-9_]*))\b")
EACH_INTERPOLATION = re.compile(r"\$\{\s*each\.(key|value\.([A-Za-z_][A-Za-z0-9_]*))\s*\}")


def block_bodies(doc: dict) -> list[tuple[str, dict]]:
    """(label, body) of each top-level block of a parsed file: resources and data
    sources labelled type.name (data.type.name), every other block ''."""
    found: list[tuple[str, dict]] = []
    for kind, blocks in doc.items():
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, dict):
                continue
            if kind not in ("resource", "data"):
                found.append(("", block))
                continue
            for rtype, named in block.items():
                if rtype.startswith("__") or not isinstance(named, dict):
                    continue
                for name, body in named.items():
                    if not name.startswith("__") and isinstance(body, dict):
                        prefix = "data." if kind == "data" else ""
                        found.append((f"{prefix}{unquote(rtype)}.{unquote(name)}", body))
    return found


def for_each_entries(module: Module, body: dict) -> dict[str, dict] | None:
    """The entries of a block's `for_each = local.<name>`, when that local is a map
    literal of objects; None otherwise."""
    ref = re.fullmatch(r"\$\{local\.([A-Za-z_][A-Za-z0-9_-]*)\}", str(body.get("for_each", "")))
    value = module.locals.get(ref.group(1)) if ref else None
    if not isinstance(value, dict):
        return None
    entries = {str(unquote(k)): v for k, v in value.items() if not k.startswith("__")}
    return entries if all(isinstance(v, dict) for v in entries.values()) else None


def each_value(key: str, entry: dict, ref: re.Match) -> str | None:
    """What each.key / each.value.<attr> stands for in one entry, as HCL source text
    (a quoted literal keeps its quotes, an expression loses its ${ }); None if absent."""
    if ref.group(1) == "key":
        return f'"{key}"'
    value = entry.get(ref.group(2))
    if not isinstance(value, str):
        return None
    expr = re.fullmatch(r"\$\{(.*)\}", value, re.S)
    return expr.group(1) if expr else value


def expand_each(key: str, entry: dict, raw_path: str, vars_expr: str) -> tuple[str, str, set[str]]:
    """A templatefile() call's path and vars with each.key / each.value.<attr> replaced
    by one for_each entry's values, and the references the entry lacks."""
    missing: set[str] = set()

    def in_path(ref: re.Match) -> str:  # an interpolation inside the path string
        value = each_value(key, entry, ref)
        if value is None:
            missing.add(ref.group(0))
            return ref.group(0)
        return str(unquote(value)) if value.startswith('"') else "${" + value + "}"

    def in_expr(ref: re.Match) -> str:
        value = each_value(key, entry, ref)
        if value is None:
            missing.add(ref.group(0))
            return ref.group(0)
        return value

    return EACH_INTERPOLATION.sub(in_path, raw_path), EACH_REF.sub(in_expr, vars_expr), missing


def templatefile_calls(module: Module, problems: list[str]) -> list[tuple[Path, str, str, str]]:
    """(file, label, path template, vars expression) of every templatefile() call of
    a module. A call in a resource with `for_each = local.<map>` that reads each.key
    or each.value.<attr> stands for one call per entry of the map, with those
    references replaced by the entry's values (label: type.name["key"])."""
    calls: list[tuple[Path, str, str, str]] = []
    for path, doc in module.files.items():
        for label, body in block_bodies(doc):
            for text in walk_strings(body):
                for match in TEMPLATEFILE_CALL.finditer(text):
                    raw_path, vars_expr = match.group(1), match.group(2)
                    if not EACH_REF.search(raw_path + " " + vars_expr):
                        calls.append((path, label, raw_path, vars_expr))
                        continue
                    entries = for_each_entries(module, body) if label else None
                    if entries is None:
                        problems.append(
                            f"{rel(path)}: {label or 'templatefile()'}: templatefile() reads each.*, but for_each "
                            "is not a local map literal of objects (for_each = local.<name>)"
                        )
                        continue
                    for key, entry in entries.items():
                        expanded_path, expanded_vars, missing = expand_each(key, entry, raw_path, vars_expr)
                        where = f'{label}["{key}"]'
                        if missing:
                            problems.append(f"{rel(path)}: {where}: the for_each entry has no {', '.join(sorted(missing))}")
                            continue
                        calls.append((path, where, expanded_path, expanded_vars))
    return calls


def asl_placeholders(path: Path) -> tuple[set[str], list[str]]:
    text = path.read_text(encoding="utf-8")
    names: set[str] = set()
    problems: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        expr = match.group(1)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", expr):
            names.add(expr)
        else:
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{rel(path)}:{line}: placeholder ${{{expr}}} is not a plain name")
    if DIRECTIVE.search(text):
        problems.append(f"{rel(path)}: contains a %{{...}} template directive; Ferry's files use plain ${{name}} only")
    def fill(match: re.Match) -> str:
        # Inside a JSON string a placeholder is text; standing alone it is a value.
        before = text[: match.start()].rstrip()[-1:]
        after = text[match.end() :].lstrip()[:1]
        return "0" if before in (":", "[", ",") and after in (",", "}", "]") else "x"

    try:
        json.loads(PLACEHOLDER.sub(fill, text).replace("$${", "${"))
    except json.JSONDecodeError as exc:
        problems.append(f"{rel(path)}: is not JSON once placeholders are filled: {exc}")
    return names, problems


def check_statemachines(report: Report, modules: dict[Path, Module]) -> None:
    asl_files = sorted(STATEMACHINES.glob("*.asl.json")) if STATEMACHINES.is_dir() else []
    if not asl_files:
        report.skip("statemachines", f"{rel(STATEMACHINES)}/ has no *.asl.json yet; nothing to check the bindings against")
        return

    problems: list[str] = []
    loaded: set[Path] = set()
    calls = 0
    for module in modules.values():
        for path, label, raw_path, vars_expr in templatefile_calls(module, problems):
            resolved = module.resolve_path(raw_path)
            if resolved is None:
                problems.append(f"{rel(path)}: {label + ': ' if label else ''}cannot resolve templatefile path {raw_path!r}")
                continue
            target = Path(os.path.normpath(resolved))
            if target.parent != STATEMACHINES:
                continue  # not a state machine
            calls += 1
            where = f"{rel(path)}: {label + ': ' if label else ''}templatefile({rel(target)})"
            if not target.exists():
                problems.append(f"{where}: the file does not exist")
                continue
            loaded.add(target)
            local_ref = re.fullmatch(r"local\.([A-Za-z_][A-Za-z0-9_-]*)", vars_expr)
            if not local_ref or local_ref.group(1) not in module.locals:
                problems.append(f"{where}: bind the placeholders through a local map (local.<name>), found {vars_expr!r}")
                continue
            bindings = module.locals[local_ref.group(1)]
            if not isinstance(bindings, dict):
                problems.append(f"{where}: local.{local_ref.group(1)} is not a map literal")
                continue
            bound = {unquote(k): v for k, v in bindings.items() if not k.startswith("__")}
            used, file_problems = asl_placeholders(target)
            problems.extend(file_problems)
            for name in sorted(used - bound.keys()):
                problems.append(f"{where}: placeholder ${{{name}}} is not bound in local.{local_ref.group(1)}")
            for name in sorted(bound.keys() - used):
                problems.append(f"{where}: local.{local_ref.group(1)} binds {name}, which the file never uses")
            functions = {unquote(k) for k in module.locals.get("functions", {}) if not k.startswith("__")}
            for name, value in sorted(bound.items()):
                if not name.endswith("_function_arn"):
                    continue
                expected = name[: -len("_function_arn")].replace("_", "-")
                found = FUNCTION_ARN_BINDING.match(str(value))
                if not found or found.group(1) != expected:
                    problems.append(f'{where}: {name} must be local.function_arns["{expected}"], found {value}')
                elif functions and expected not in functions:
                    problems.append(f"{where}: {name} names function {expected!r}, which local.functions lacks")
    if calls == 0:
        problems.append(f"no templatefile() under {rel(TF_ROOT)} loads a file from {rel(STATEMACHINES)}/")
    for asl in asl_files:
        if asl not in loaded:
            print(f"      note: {rel(asl)} is not deployed by any templatefile() yet")
    report.check("statemachines", problems, f"{calls} templatefile() calls, every placeholder bound and every binding used")


# ---------------------------------------------------------------------------
# (c) functions
# ---------------------------------------------------------------------------


def check_functions(report: Report, modules: dict[Path, Module]) -> None:
    root = modules.get(TF_ROOT)
    problems: list[str] = []
    if root is None or "functions" not in root.locals or not isinstance(root.locals["functions"], dict):
        report.check("functions", [f"{rel(TF_ROOT)}: no `locals {{ functions = {{ ... }} }}` map found"])
        return
    declared = {unquote(k): v for k, v in root.locals["functions"].items() if not k.startswith("__")}
    where = rel(root.locals_file["functions"])

    statements = root.locals.get("permission_statements", {})
    statement_keys = {unquote(k) for k in statements if not k.startswith("__")} if isinstance(statements, dict) else set()
    for name, settings in sorted(declared.items()):
        if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
            problems.append(f"{where}: function name {name!r} must be lowercase letters, digits and '-'")
        permissions = settings.get("permissions", []) if isinstance(settings, dict) else []
        for key in permissions if isinstance(permissions, list) else []:
            if unquote(key) not in statement_keys:
                problems.append(f"{where}: function {name} asks for permission {unquote(key)!r}, not in local.permission_statements")

    crates = sorted(p.parent.name for p in FUNCTIONS.glob("*/Cargo.toml")) if FUNCTIONS.is_dir() else []
    if not crates:
        if problems:
            report.check("functions", problems)
        else:
            report.skip("functions", f"{rel(FUNCTIONS)}/ has no crate (*/Cargo.toml) yet; {len(declared)} functions declared in Terraform")
        return
    for name in sorted(set(crates) - declared.keys()):
        problems.append(f"functions/{name} has a Cargo.toml but no entry in local.functions ({where})")
    for name in sorted(declared.keys() - set(crates)):
        problems.append(f"local.functions ({where}) declares {name}, but functions/{name}/Cargo.toml does not exist")
    report.check("functions", problems, f"{len(crates)} function crates match local.functions")


# ---------------------------------------------------------------------------
# EventBridge rule files
# ---------------------------------------------------------------------------

FILE_CALL = re.compile(r'(?<![A-Za-z0-9_])file\(\s*"((?:[^"\\]|\\.)*)"\s*\)')


def check_rules(report: Report, modules: dict[Path, Module]) -> None:
    problems: list[str] = []
    rules_dir = TF_ROOT / "rules"
    used: set[Path] = set()
    for module in modules.values():
        for path, doc in module.files.items():
            for text in walk_strings(doc):
                for match in FILE_CALL.finditer(text):
                    resolved = module.resolve_path(match.group(1))
                    if resolved is None:
                        continue
                    target = Path(os.path.normpath(resolved))
                    if target.parent != rules_dir:
                        continue
                    used.add(target)
                    if not target.exists():
                        problems.append(f"{rel(path)}: file({rel(target)}): the file does not exist")
    for pattern in sorted(rules_dir.glob("*.json")) if rules_dir.is_dir() else []:
        try:
            parsed = json.loads(pattern.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(f"{rel(pattern)}: not valid JSON: {exc}")
            continue
        if not isinstance(parsed, dict) or not parsed:
            problems.append(f"{rel(pattern)}: an event pattern must be a non-empty JSON object")
        if pattern not in used:
            problems.append(f"{rel(pattern)}: no file() in the Terraform reads it")
    report.check("rules", problems, f"{len(used)} event patterns read with file(), all valid JSON")


# ---------------------------------------------------------------------------
# Lambda: public function URLs and JSON log levels
# ---------------------------------------------------------------------------

LAMBDA_FUNCTION_REF = re.compile(r"aws_lambda_function\.([A-Za-z0-9_-]+)(\[[^\]]*\])?")

# Functions of local.functions whose function URL must have authorization_type
# "AWS_IAM", and why. AWS authenticates every request (SigV4) and hands the
# function the caller's IAM principal, which is who acts: with "NONE" anyone on
# the internet could call it, and nothing would say who they are.
IAM_AUTH_URL_FUNCTIONS = {
    "control": "the caller's IAM principal is the actor checked against the manifest's approvers",
}
URL_AUTH_TYPES = ("NONE", "AWS_IAM")


def resources_of(module: Module, resource_type: str) -> list[tuple[Path, str, dict]]:
    """(file, name, body) of every `resource "<resource_type>" "<name>"` of a module."""
    found: list[tuple[Path, str, dict]] = []
    for path, doc in module.files.items():
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                if unquote(rtype) != resource_type or not isinstance(named, dict):
                    continue
                for name, body in named.items():
                    if not name.startswith("__") and isinstance(body, dict):
                        found.append((path, str(unquote(name)), body))
    return found


def is_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip() in ("true", "${true}"))


def function_target(expr: object) -> str:
    """What a function_name expression names: `aws_lambda_function.name[key]` for a
    reference (whatever attribute it reads), else the literal text."""
    text = str(expr)
    match = LAMBDA_FUNCTION_REF.search(text)
    if match:
        return f"aws_lambda_function.{match.group(1)}{(match.group(2) or '').replace(' ', '')}"
    return str(unquote(text))


def check_function_urls(report: Report, modules: dict[Path, Module]) -> None:
    problems: list[str] = []
    public = 0
    iam_urls = 0
    for module in modules.values():
        permissions = resources_of(module, "aws_lambda_permission")
        functions = {name: body for _, name, body in resources_of(module, "aws_lambda_function")}
        for path, name, body in permissions:
            if (
                unquote(body.get("action")) == "lambda:InvokeFunction"
                and unquote(body.get("principal")) == "*"
                and not is_true(body.get("invoked_via_function_url"))
            ):
                problems.append(
                    f"{rel(path)}: aws_lambda_permission.{name} lets anyone invoke the function directly; "
                    "set invoked_via_function_url = true to allow invocations through its function URL only"
                )
        urls = resources_of(module, "aws_lambda_function_url")
        if module.directory == TF_ROOT:
            for fn, why in sorted(IAM_AUTH_URL_FUNCTIONS.items()):
                target = f'aws_lambda_function.function["{fn}"]'
                found = [(path, name, body) for path, name, body in urls if function_target(body.get("function_name")) == target]
                if not found:
                    problems.append(f'{rel(module.directory)}: no aws_lambda_function_url for {target} (authorization_type "AWS_IAM": {why})')
                for path, name, body in found:
                    auth = unquote(body.get("authorization_type"))
                    if auth != "AWS_IAM":
                        problems.append(
                            f'{rel(path)}: aws_lambda_function_url.{name} has authorization_type {auth!r}; {fn} must be "AWS_IAM": {why}'
                        )
        for path, name, body in urls:
            auth = unquote(body.get("authorization_type"))
            if auth not in URL_AUTH_TYPES:
                problems.append(f"{rel(path)}: aws_lambda_function_url.{name}: authorization_type {auth!r} is not one of {', '.join(URL_AUTH_TYPES)}")
                continue
            if auth == "AWS_IAM":
                iam_urls += 1
                target = function_target(body.get("function_name"))
                for p_path, p_name, p in permissions:
                    if function_target(p.get("function_name")) == target and unquote(p.get("principal")) == "*":
                        problems.append(
                            f"{rel(p_path)}: aws_lambda_permission.{p_name} lets principal \"*\" (any AWS account) call {target}, "
                            f"whose URL aws_lambda_function_url.{name} is AWS_IAM: grant this account's callers in their identity-based policies instead"
                        )
                continue
            public += 1
            where = f"{rel(path)}: aws_lambda_function_url.{name} (authorization_type NONE)"
            target = function_target(body.get("function_name"))
            mine = [p for _, _, p in permissions if function_target(p.get("function_name")) == target]
            if not any(
                unquote(p.get("action")) == "lambda:InvokeFunctionUrl" and unquote(p.get("function_url_auth_type")) == "NONE"
                for p in mine
            ):
                problems.append(
                    f'{where}: no aws_lambda_permission on {target} allows lambda:InvokeFunctionUrl with function_url_auth_type = "NONE"'
                )
            if not any(
                unquote(p.get("action")) == "lambda:InvokeFunction" and is_true(p.get("invoked_via_function_url"))
                for p in mine
            ):
                problems.append(
                    f"{where}: no aws_lambda_permission on {target} allows lambda:InvokeFunction with "
                    "invoked_via_function_url = true (required for new function URLs since October 2025)"
                )
            reference = LAMBDA_FUNCTION_REF.search(str(body.get("function_name")))
            function = functions.get(reference.group(1)) if reference else None
            if function is None:
                continue  # a function of another module: its concurrency is set there
            reserved = function.get("reserved_concurrent_executions")
            if reserved is None:
                problems.append(f"{where}: aws_lambda_function.{reference.group(1)} sets no reserved_concurrent_executions")
                continue
            key = re.fullmatch(r'\["([^"]+)"\]', (reference.group(2) or "").replace(" ", ""))
            listed = re.search(r"local\.([A-Za-z_][A-Za-z0-9_]*)", str(reserved))
            if key and listed and isinstance(module.locals.get(listed.group(1)), list):
                names = {str(unquote(item)) for item in module.locals[listed.group(1)]}
                if key.group(1) not in names:
                    problems.append(
                        f"{where}: {key.group(1)} is not in local.{listed.group(1)}, so it gets no reserved concurrency"
                    )
    report.check(
        "function-urls",
        problems,
        f"{public} public function URLs, each with InvokeFunctionUrl and InvokeFunction (via the URL only) and reserved concurrency; "
        f"{iam_urls} AWS_IAM function URLs ({', '.join(sorted(IAM_AUTH_URL_FUNCTIONS))}'s included), none open to principal \"*\"",
    )


JSON_LEVELS_KEEPING_DEBUG = {"DEBUG", "TRACE"}


def mentions_rust_log(module: Module, expr: object, depth: int = 0) -> bool:
    text = str(expr)
    if "var.rust_log" in text:
        return True
    if depth > 10:
        return False
    return any(
        mentions_rust_log(module, module.locals[name], depth + 1)
        for name in re.findall(r"local\.([A-Za-z_][A-Za-z0-9_]*)", text)
        if name in module.locals
    )


def check_lambda_logs(report: Report, modules: dict[Path, Module]) -> None:
    problems: list[str] = []
    checked = 0
    for module in modules.values():
        for path, name, body in resources_of(module, "aws_lambda_function"):
            for config in body.get("logging_config", []) or []:
                if not isinstance(config, dict) or unquote(config.get("log_format")) != "JSON":
                    continue
                checked += 1
                where = f"{rel(path)}: aws_lambda_function.{name}"
                level = config.get("application_log_level")
                if level is None:
                    problems.append(
                        f"{where}: log_format JSON without application_log_level: Lambda keeps INFO and above only, "
                        "and drops the debug lines var.rust_log enables"
                    )
                elif str(unquote(level)).upper() in JSON_LEVELS_KEEPING_DEBUG:
                    continue
                elif not mentions_rust_log(module, level):
                    problems.append(f"{where}: application_log_level {level} must follow var.rust_log (or be DEBUG or TRACE)")
    report.check("lambda-logs", problems, f"{checked} JSON-logging functions set application_log_level from var.rust_log")


# ---------------------------------------------------------------------------
# The web UI service (ui.tf)
# ---------------------------------------------------------------------------

UI_FILE = TF_ROOT / "ui.tf"
# An IAM action as a quoted literal anywhere in an expression: "service:Action".
IAM_ACTION_LITERAL = re.compile(r'"([a-z0-9-]+:[A-Za-z0-9*?]+)"')
UI_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Resources of ui.tf that checkov must have scanned (see check_checkov).
UI_CHECKOV_RESOURCES = [
    "aws_ecs_cluster.ui", "aws_ecs_task_definition.ui", "aws_ecs_service.ui", "aws_lb.ui",
    "aws_lb_listener.ui_https", "aws_lb_listener.ui_http", "aws_lb_target_group.ui",
    "aws_iam_role_policy.ui_task", "aws_security_group.ui_task", "aws_cloudwatch_log_group.ui",
]


def first_block(value: object) -> dict:
    """The first of a nested block list as python-hcl2 returns it, or {}."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return value if isinstance(value, dict) else {}


def literal_number(module: Module, value: object) -> object:
    """A number, or a `${local.x}` holding one."""
    ref = re.fullmatch(r"\$\{local\.([A-Za-z_][A-Za-z0-9_]*)\}", str(value))
    return module.locals.get(ref.group(1)) if ref else value


def values_of(node: object, key: str) -> list[object]:
    """Every value stored under `key` anywhere in a parsed body."""
    found: list[object] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                found.append(v)
            else:
                found.extend(values_of(v, key))
    elif isinstance(node, list):
        for item in node:
            found.extend(values_of(item, key))
    return found


def dynamic_blocks(body: dict, name: str) -> list[dict]:
    """The `content` of every `dynamic "<name>"` block of a body."""
    found = []
    for dynamic in body.get("dynamic", []) or []:
        for label, spec in dynamic.items():
            if unquote(label) == name and isinstance(spec, dict):
                found.append(first_block(spec.get("content")))
    return found


def check_ui(report: Report, modules: dict[Path, Module]) -> None:
    root = modules.get(TF_ROOT)
    if root is None or UI_FILE not in root.files:
        report.skip("ui", f"{rel(UI_FILE)} does not exist")
        return
    problems: list[str] = []
    where = rel(UI_FILE)
    doc = root.files[UI_FILE]

    # create_ui: a bool, off by default.
    create_ui = None
    for path, file_doc in root.files.items():
        for block in file_doc.get("variable", []):
            for name, body in block.items():
                if unquote(name) == "create_ui":
                    create_ui = (path, body)
    if create_ui is None:
        problems.append(f"{rel(TF_ROOT)}: no variable create_ui")
    elif create_ui[1].get("type") not in ("bool", "${bool}") or create_ui[1].get("default") is not False:
        problems.append(f"{rel(create_ui[0])}: variable create_ui must be a bool defaulting to false (the UI costs money around the clock)")

    # Every resource and data source of ui.tf exists only with create_ui.
    labelled = block_bodies(doc)
    for label, body in labelled:
        if not label:
            continue
        gate = str(body.get("count", "")) + str(body.get("for_each", ""))
        if "local.ui_enabled" not in gate and "var.create_ui" not in gate:
            problems.append(f"{where}: {label} is not gated on create_ui (count or for_each over local.ui_enabled)")
    bodies = dict(labelled)

    def need(label: str) -> dict:
        if label not in bodies:
            problems.append(f"{where}: {label} is missing")
            return {}
        return bodies[label]

    # The task: Fargate, Linux/ARM64, 0.25 vCPU / 0.5 GB, read-only root, not root.
    task = need("aws_ecs_task_definition.ui")
    if task:
        compat = [unquote(v) for v in task.get("requires_compatibilities", []) or []]
        if compat != ["FARGATE"]:
            problems.append(f"{where}: aws_ecs_task_definition.ui must require FARGATE only, found {compat}")
        cpu, memory = literal_number(root, task.get("cpu")), literal_number(root, task.get("memory"))
        if (cpu, memory) != (256, 512):
            problems.append(f"{where}: the UI task must be cpu 256 / memory 512 (0.25 vCPU / 0.5 GB), found {cpu} / {memory}")
        platform = first_block(task.get("runtime_platform"))
        if unquote(platform.get("cpu_architecture")) != "ARM64" or unquote(platform.get("operating_system_family")) != "LINUX":
            problems.append(f"{where}: aws_ecs_task_definition.ui needs runtime_platform ARM64 / LINUX")
        containers = str(task.get("container_definitions", ""))
        if not re.search(r"readonlyRootFilesystem\s*=\s*true", containers):
            problems.append(f"{where}: the UI container must set readonlyRootFilesystem = true")
        user = re.search(r'user\s*=\s*\\?"([^"\\]*)\\?"', containers)
        if not user or user.group(1).split(":")[0] in ("", "0", "root"):
            problems.append(f"{where}: the UI container must run as a non-root user (user = \"65532:65532\")")

    # Its environment: the control function's, plus the UI's own.
    environment = str(root.locals.get("ui_environment", ""))
    for part in ("local.common_environment", 'local.functions["control"].environment', 'FERRY_UI_AUTH = "alb-oidc"', "FERRY_UI_ALB_ARN", "FERRY_UI_LISTEN"):
        if part not in environment:
            problems.append(f"{where}: local.ui_environment must include {part} (the control function's environment and the UI's settings)")

    # The task role: control's table access and permission keys, read from
    # local.functions["control"], plus the views; no wildcard action.
    role = need("data.aws_iam_policy_document.ui_task")
    statements = str(root.locals.get("ui_permission_statements", ""))
    if 'local.functions["control"].permissions' not in statements:
        problems.append(f'{where}: local.ui_permission_statements must take the control function\'s keys from local.functions["control"].permissions')
    if role and not any('lookup(local.table_access, "control"' in str(d) for d in role.get("dynamic", []) or []):
        problems.append(f'{where}: the UI task role must use the table as control does (lookup(local.table_access, "control", ...))')
    permissions = {unquote(k): v for k, v in (root.locals.get("permission_statements") or {}).items() if not str(k).startswith("__")}
    control = (root.locals.get("functions") or {}).get('"control"') or (root.locals.get("functions") or {}).get("control") or {}
    keys = [unquote(k) for k in control.get("permissions", []) or []] + [unquote(k) for k in root.locals.get("ui_view_permissions", []) or []]
    actions: set[str] = set(IAM_ACTION_LITERAL.findall(statements))
    actions.update(str(unquote(text)) for text in walk_strings(values_of(role, "actions")) if not text.startswith("${"))
    for key in keys:
        if key not in permissions:
            problems.append(f"{where}: the UI task role asks for permission {key!r}, not in local.permission_statements")
            continue
        actions.update(unquote(a) for a in permissions[key].get("actions", []) or [])
    table = (root.locals.get("table_statements") or {}).get("items") or {}
    for action in table.get("actions", []) if isinstance(table.get("actions"), list) else []:
        actions.add(str(unquote(action)))
    table_ref = re.fullmatch(r"\$\{local\.([A-Za-z_]+)\}", str(table.get("actions", "")))
    if table_ref:
        actions.update(str(unquote(a)) for a in root.locals.get(table_ref.group(1), []) or [])
    wildcards = sorted(a for a in actions if "*" in a or "?" in a)
    if wildcards:
        problems.append(f"{where}: the UI task role must name its actions, found wildcards {', '.join(wildcards)}")
    if not actions:
        problems.append(f"{where}: found no action of the UI task role to check")

    # The service: Fargate, no public IP, a failed deployment rolls back.
    service = need("aws_ecs_service.ui")
    if service:
        network = first_block(service.get("network_configuration"))
        breaker = first_block(service.get("deployment_circuit_breaker"))
        if unquote(service.get("launch_type")) != "FARGATE":
            problems.append(f"{where}: aws_ecs_service.ui must use launch_type FARGATE")
        if network.get("assign_public_ip") is not False:
            problems.append(f"{where}: aws_ecs_service.ui must set assign_public_ip = false")
        if breaker.get("enable") is not True or breaker.get("rollback") is not True:
            problems.append(f"{where}: aws_ecs_service.ui needs deployment_circuit_breaker with enable and rollback true")

    # The load balancer: invalid headers dropped, HTTPS authenticates then forwards,
    # HTTP only redirects, the target group checks /healthz on the task's IP.
    lb = need("aws_lb.ui")
    if lb and lb.get("drop_invalid_header_fields") is not True:
        problems.append(f"{where}: aws_lb.ui must set drop_invalid_header_fields = true")
    https = need("aws_lb_listener.ui_https")
    if https:
        if unquote(https.get("protocol")) != "HTTPS" or unquote(https.get("ssl_policy")) != UI_TLS_POLICY:
            problems.append(f"{where}: aws_lb_listener.ui_https must be HTTPS with ssl_policy {UI_TLS_POLICY}")
        auth = [unquote(c.get("type")) for c in dynamic_blocks(https, "default_action")]
        static = [first_block([a]) for a in https.get("default_action", []) or []]
        if not auth or not all(t in ("authenticate-oidc", "authenticate-cognito") for t in auth):
            problems.append(f"{where}: aws_lb_listener.ui_https must authenticate (authenticate-oidc or authenticate-cognito) before it forwards")
        if [unquote(a.get("type")) for a in static] != ["forward"] or any(
            not isinstance(c.get("order"), int) or c.get("order") >= static[0].get("order", 0) for c in dynamic_blocks(https, "default_action")
        ):
            problems.append(f"{where}: aws_lb_listener.ui_https must forward only after authenticating (order)")
    http = need("aws_lb_listener.ui_http")
    if http and [unquote(first_block([a]).get("type")) for a in http.get("default_action", []) or []] != ["redirect"]:
        problems.append(f"{where}: aws_lb_listener.ui_http must only redirect to HTTPS")
    target = need("aws_lb_target_group.ui")
    if target and (unquote(target.get("target_type")) != "ip" or unquote(first_block(target.get("health_check")).get("path")) != "/healthz"):
        problems.append(f"{where}: aws_lb_target_group.ui must have target_type ip and health check path /healthz")

    outputs = {unquote(name) for file_doc in root.files.values() for block in file_doc.get("output", []) for name in block}
    for name in ("ui_url", "ui_alb_arn", "ui_task_role_arn"):
        if name not in outputs:
            problems.append(f"{rel(TF_ROOT)}: output {name} is missing")

    report.check(
        "ui",
        problems,
        f"create_ui off by default and gating {len([l for l, _ in labelled if l])} UI blocks; Fargate ARM64 256/512, "
        f"read-only root, non-root; task role from control's keys and table access, up to {len(actions)} actions, no wildcard",
    )


# ---------------------------------------------------------------------------
# checkov skip comments
# ---------------------------------------------------------------------------


def check_skip_comments(report: Report) -> list[tuple[str, str, str]]:
    problems: list[str] = []
    skips: list[tuple[str, str, str]] = []
    for path in sorted(TF_ROOT.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if not match:
                continue
            check_id, reason = match.group(1), (match.group(2) or "").strip()
            where = f"{rel(path)}:{number}"
            if not re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", check_id):
                problems.append(f"{where}: skip of {check_id!r}: not a checkov check id (CKV_AWS_123)")
            if len(reason) < MIN_REASON_CHARS:
                problems.append(
                    f"{where}: skip of {check_id} needs a written reason: #checkov:skip={check_id}:<why this check does not apply>"
                )
            skips.append((check_id, where, reason))
    report.check("skips", problems, f"{len(skips)} checkov skips, each with a reason")
    return skips


# ---------------------------------------------------------------------------
# terraform fmt / validate
# ---------------------------------------------------------------------------


def terraform_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"})
    config = env.get("TF_CLI_CONFIG_FILE")
    if config and not Path(config).exists():
        env["TF_CLI_CONFIG_FILE"] = os.devnull  # a dangling setting only makes terraform warn
    return env


def supports_mock_providers(terraform: str, env: dict[str, str]) -> bool:
    result = subprocess.run([terraform, "version", "-json"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        version = json.loads(result.stdout)["terraform_version"]
        major, minor = (int(part) for part in version.split(".")[:2])
    except (ValueError, KeyError):
        return False
    return (major, minor) >= (1, 7)


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def aws_provider_constraints() -> list[tuple[str, tuple[int, ...]]]:
    """The module's AWS provider constraints (infra/terraform/versions.tf), e.g.
    [(">=", (6, 28)), ("<", (7, 0))]."""
    versions_tf = TF_ROOT / "versions.tf"
    text = versions_tf.read_text(encoding="utf-8") if versions_tf.is_file() else ""
    block = re.search(r'aws\s*=\s*\{[^}]*?version\s*=\s*"([^"]+)"', text, re.S)
    constraints = []
    for part in block.group(1).split(",") if block else []:
        match = re.fullmatch(r"\s*(>=|<=|>|<|=|!=)?\s*([0-9][0-9.]*)\s*", part)
        if match:
            constraints.append((match.group(1) or "=", version_tuple(match.group(2))))
    return constraints


def satisfies(version: tuple[int, ...], constraints: list[tuple[str, tuple[int, ...]]]) -> bool:
    def padded(v: tuple[int, ...]) -> tuple[int, ...]:
        return (v + (0, 0, 0))[:3]

    checks = {
        ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
    }
    return all(checks[op](padded(version), padded(bound)) for op, bound in constraints)


def plugin_dir() -> tuple[Path | None, str]:
    """A provider mirror holding an AWS provider the module accepts, or None and why not."""
    candidates = [Path(os.environ["TF_PLUGIN_DIR"])] if os.environ.get("TF_PLUGIN_DIR") else DEFAULT_PLUGIN_DIRS
    constraints = aws_provider_constraints()
    wanted = ", ".join(f"{op} {'.'.join(map(str, bound))}" for op, bound in constraints) or "any version"
    seen: list[str] = []
    for candidate in candidates:
        for binary in sorted(candidate.glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*")):
            version = binary.parent.parent.name
            seen.append(f"{version} in {candidate}")
            if satisfies(version_tuple(version), constraints):
                return candidate, ""
    if seen:
        return None, f"the module needs the AWS provider {wanted}; the offline mirror has {', '.join(sorted(set(seen)))}"
    return None, "no AWS provider available offline (set TF_PLUGIN_DIR to a provider mirror)"


def stub_statemachines(target: Path, modules: dict[Path, Module]) -> None:
    """Write a stub for each missing ASL file, using exactly the names bound to it."""
    root = modules.get(TF_ROOT)
    if root is None:
        return
    target.mkdir(parents=True, exist_ok=True)
    for _, _, raw_path, vars_expr in templatefile_calls(root, []):
        resolved = root.resolve_path(raw_path)
        local_ref = re.fullmatch(r"local\.([A-Za-z_][A-Za-z0-9_-]*)", vars_expr)
        if resolved is None or local_ref is None:
            continue
        name = Path(resolved).name
        if (target / name).exists():
            continue
        bindings = root.locals.get(local_ref.group(1), {})
        keys = [unquote(k) for k in bindings if not k.startswith("__")] if isinstance(bindings, dict) else []
        states = {
            f"S{i}": {"Type": "Pass", "Result": f"${{{key}}}", "Next": f"S{i + 1}"} for i, key in enumerate(keys)
        }
        states[f"S{len(keys)}"] = {"Type": "Succeed"}
        (target / name).write_text(json.dumps({"Comment": "stub", "StartAt": "S0", "States": states}))


def check_terraform(report: Report, modules: dict[Path, Module]) -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        report.skip("terraform", "no terraform binary on PATH (fmt and validate need it; checkov below still runs)")
        return
    env = terraform_env()
    problems: list[str] = []
    fmt = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TF_ROOT)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    if fmt.returncode != 0:
        problems.append("terraform fmt -check found unformatted files (run `terraform fmt -recursive infra/terraform`):")
        problems.extend("  " + line for line in fmt.stdout.splitlines() if line.strip())

    plugins, why_not = plugin_dir()
    tested: list[str] = []
    if plugins is None:
        print(f"      note: terraform validate and test skipped: {why_not}")
        validated = 0
    else:
        validated = 0
        with tempfile.TemporaryDirectory(prefix="ferry-tf-validate-") as tmp:
            tmp_repo = Path(tmp)
            shutil.copytree(TF_ROOT, tmp_repo / "infra" / "terraform", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
            if STATEMACHINES.is_dir():
                shutil.copytree(STATEMACHINES, tmp_repo / "statemachines")
            stub_statemachines(tmp_repo / "statemachines", modules)
            for directory in VALIDATE_DIRS:
                workdir = tmp_repo / directory
                if not workdir.is_dir():
                    continue
                init = subprocess.run(
                    [terraform, "init", "-backend=false", "-no-color", f"-plugin-dir={plugins}"],
                    cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )
                if init.returncode != 0:
                    problems.append(f"terraform init in {directory} failed:")
                    problems.extend("  " + line for line in init.stdout.splitlines()[-15:])
                    continue
                validate = subprocess.run(
                    [terraform, "validate", "-no-color"],
                    cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )
                validated += 1
                if validate.returncode != 0:
                    problems.append(f"terraform validate in {directory} failed:")
                    problems.extend("  " + line for line in validate.stdout.splitlines() if line.strip())
                    continue
                if any(workdir.glob("tests/*.tftest.hcl")):
                    if not supports_mock_providers(terraform, env):
                        print(f"      note: terraform test in {directory} skipped: mock providers need terraform >= 1.7")
                        continue
                    test = subprocess.run(
                        [terraform, "test", "-no-color"],
                        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                    )
                    summary = [line for line in test.stdout.splitlines() if re.match(r"(Success|Failure)!", line)]
                    tested.append(f"{directory}: {summary[-1] if summary else 'no summary'}")
                    if test.returncode != 0:
                        problems.append(f"terraform test in {directory} failed:")
                        problems.extend(
                            "  " + line for line in test.stdout.splitlines() if line.strip() and not line.startswith("  - ")
                        )
    detail = "fmt clean" + (f"; {validated} root modules valid" if validated else "")
    if tested:
        detail += "; terraform test " + ", ".join(tested)
    report.check("terraform", problems, detail)


# ---------------------------------------------------------------------------
# (d) checkov
# ---------------------------------------------------------------------------


def check_checkov(report: Report, list_skips: bool) -> None:
    """checkov -d infra/terraform --framework terraform --skip-download --compact --quiet,
    read as JSON so that skipped checks and their reasons can be verified too."""
    python = tool_python("checkov", CHECKOV_REQUIREMENT)
    checkov = python.parent / "checkov"
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ferry-checkov-") as tmp:
        command = [
            str(checkov), "-d", str(TF_ROOT.relative_to(REPO)), "--framework", "terraform",
            "--skip-download", "--compact", "-o", "json", "--output-file-path", tmp,
        ]
        print("      $ checkov -d infra/terraform --framework terraform --skip-download --compact (JSON results)")
        env = dict(os.environ, BC_SKIP_MAPPING="TRUE", ANSI_COLORS_DISABLED="1")
        result = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # With one output format, checkov writes <dir>/results_json.json.
        results_file = Path(tmp) / "results_json.json"
        if not results_file.is_file():
            report.check("checkov", [f"checkov exited {result.returncode} without results:", result.stdout[-3000:]])
            return
        data = json.loads(results_file.read_text())

    reports = data if isinstance(data, list) else [data]
    passed = failed = skipped = parse_errors = 0
    failed_checks: list[dict] = []
    skipped_checks: list[dict] = []
    for item in reports:
        summary = item.get("summary", {})
        passed += summary.get("passed", 0)
        failed += summary.get("failed", 0)
        skipped += summary.get("skipped", 0)
        parse_errors += summary.get("parsing_errors", 0)
        failed_checks.extend(item.get("results", {}).get("failed_checks", []))
        skipped_checks.extend(item.get("results", {}).get("skipped_checks", []))

    failures: dict[tuple[str, str, str], int] = {}
    for check in failed_checks:
        lines = check.get("file_line_range") or ["?", "?"]
        key = (
            f"{check.get('check_id')} {check.get('check_name')}",
            check.get("resource", "?").split("[")[0],
            f"infra/terraform{check.get('file_path')}:{lines[0]}-{lines[1]}",
        )
        failures[key] = failures.get(key, 0) + 1
    for (check, resource, where), count in sorted(failures.items()):
        instances = f" ({count} instances)" if count > 1 else ""
        problems.append(f"{check}: {resource}{instances} at {where}")
    if failed and not failed_checks:
        problems.append(f"checkov reports {failed} failed checks")
    if result.returncode not in (0, 1) or (result.returncode == 1 and not failed):
        problems.append(f"checkov exited {result.returncode}: {result.stdout[-2000:]}")
    if parse_errors:
        problems.append(f"checkov could not parse {parse_errors} files")

    reasons: dict[tuple[str, str], str] = {}
    for check in skipped_checks:
        key = (check.get("check_id", "?"), check.get("resource", "?").split("[")[0])
        reasons[key] = (check.get("check_result", {}).get("suppress_comment") or "").strip()
    for (check_id, resource), reason in sorted(reasons.items()):
        if len(reason) < MIN_REASON_CHARS or reason.lower().startswith("no comment"):
            problems.append(f"{check_id} on {resource} is skipped without a written reason")
    # checkov leaves out resources whose count it evaluates to 0: ui.tf is only
    # scanned through a module call that turns create_ui on (examples/complete).
    scanned = {
        re.sub(r"\[[^\]]*\]", "", check.get("resource", "")).split("module.")[-1].split(".", 1)[-1]
        if check.get("resource", "").startswith("module.") else re.sub(r"\[[^\]]*\]", "", check.get("resource", ""))
        for item in reports
        for kind in ("passed_checks", "failed_checks", "skipped_checks")
        for check in item.get("results", {}).get(kind, [])
        if str(check.get("file_path", "")) == f"/{UI_FILE.relative_to(TF_ROOT)}"
    }
    if UI_FILE.exists():
        for resource in UI_CHECKOV_RESOURCES:
            if resource not in scanned:
                problems.append(
                    f"checkov did not scan {resource} of {rel(UI_FILE)} (a count it evaluates to 0?): "
                    "keep create_ui on in examples/complete, and count expressions checkov can evaluate"
                )
    if list_skips:
        for (check_id, resource), reason in sorted(reasons.items()):
            print(f"      skip {check_id} {resource}: {reason}")
    report.check(
        "checkov",
        problems,
        f"{passed} passed, {failed} failed, {skipped} skipped ({len(reasons)} check/resource skips, all with reasons)",
    )


# ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-checkov", action="store_true", help="skip the checkov scan (slow on first run: installs checkov)")
    parser.add_argument("--no-terraform", action="store_true", help="skip terraform fmt/validate even when terraform is installed")
    parser.add_argument("--list-skips", action="store_true", help="print every checkov skip with its reason")
    args = parser.parse_args()

    ensure_hcl2()
    report = Report()
    modules = check_parse(report)
    check_statemachines(report, modules)
    check_functions(report, modules)
    check_rules(report, modules)
    check_function_urls(report, modules)
    check_lambda_logs(report, modules)
    check_ui(report, modules)
    check_skip_comments(report)
    if args.no_terraform:
        report.skip("terraform", "--no-terraform")
    else:
        check_terraform(report, modules)
    if args.no_checkov:
        report.skip("checkov", "--no-checkov")
    else:
        check_checkov(report, args.list_skips)
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
