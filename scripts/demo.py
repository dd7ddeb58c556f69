#!/usr/bin/env python3
"""Ferry's demo, on one machine with no AWS account.

Starts `ferry sandbox`, as a user trying Ferry would: the AWS emulator (moto) on a free
loopback port, seeded with a realistic environment (VPC, ALB with a production and a test
listener, two target groups, an ECS cluster and service on the EXTERNAL deployment controller
with a blue task set, CloudWatch alarms) and a small application repository with a Ferry
manifest. Then runs two real deployments:

1. a commit pushed to the repository: `ferry serve` receives GitHub's signed push webhook
   (the demo plays GitHub), puts it on the bus and routes it, as EventBridge would, to the
   deploy workflow on the local engine; the new image (`shop/web:<sha>`) is shifted through
   canary steps to 100 percent: succeeds;
2. `ferry deploy --local --image shop/web:bad`: while it bakes, its 5xx alarm goes into
   ALARM (the demo plays CloudWatch, which the emulator does not evaluate) and Ferry rolls
   it back.

It prints a summary of both and exits non-zero if either did not end as expected.
"""

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
# Where cargo put the binary: CARGO_TARGET_DIR when set (a shared target directory), else target/.
FERRY = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve() / "debug" / "ferry"
REGION = "eu-west-1"
TIME_SCALE = "0.01"  # a 2 m bake takes 1.2 s
WEBHOOK_SECRET = "demo-webhook-secret"
PUSH_FIXTURE = ROOT / "crates" / "ferry-webhook" / "fixtures" / "github" / "push.main.json"


def log(message):
    print(f"demo: {message}", flush=True)


class SlackStandIn(BaseHTTPRequestHandler):
    """Slack's Web API and response_url, on loopback: records every request, answers ok."""

    received = []
    lock = threading.Lock()
    counter = [0]

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.lock:
            self.counter[0] += 1
            ts = f"1700000000.{self.counter[0]:06d}"
            self.received.append((self.path, body, ts))
        data = json.dumps({"ok": True, "ts": ts, "channel": body.get("channel")}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def start_slack_stand_in():
    """The Slack stand-in on a free loopback port: (server, its URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlackStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def slack_requests(to):
    """(body, ts) of every request the stand-in received at path `to`."""
    with SlackStandIn.lock:
        return [(body, ts) for (path, body, ts) in SlackStandIn.received if path == to]


def render_slack():
    """The channel as the stand-in received it: parent messages, their updates, thread replies."""
    lines = []
    with SlackStandIn.lock:
        received = list(SlackStandIn.received)
    for path, body, _ts in received:
        text = body.get("text", "")
        if path == "/api/chat.postMessage":
            lines.append(("  ↳ " if body.get("thread_ts") else "") + text)
        elif path == "/api/chat.update":
            lines.append(f"  (message updated: {text})")
        elif path == "/respond":
            lines.append(f"  (only to the clicker: {text})")
    return "\n".join(lines)


class Sandbox:
    """`ferry sandbox` in a fresh folder: the AWS emulator on a free loopback port, seeded with
    the shop's service, and its application repository (`repo`); `stop()` ends it. The demo,
    the local-control and convergence checks and the orchestration benchmark all start from
    it, as a user does."""

    def __init__(self):
        self.repo = Path(tempfile.mkdtemp(prefix="ferry-demo-")) / "shop"
        log(f"$ ferry sandbox --dir {self.repo}")
        started = subprocess.run([str(FERRY), "sandbox", "--dir", str(self.repo)], capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL)
        if started.returncode != 0:
            raise RuntimeError(f"ferry sandbox failed: {started.stderr.strip()}")
        exports = started.stdout.splitlines()[0].removeprefix("export ").split()
        self.variables = dict(pair.split("=", 1) for pair in exports)
        self.endpoint = self.variables["AWS_ENDPOINT_URL"]
        environment = json.loads((self.repo / ".ferry-sandbox" / "environment.json").read_text())
        session = boto3.session.Session(aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
                                        region_name=REGION)
        client = lambda name: session.client(name, endpoint_url=self.endpoint)  # noqa: E731
        self.env = {"production": environment["production"], "test": environment["test"],
                    "groups": environment["targetGroups"], "cw": client("cloudwatch"), "elb": client("elbv2"),
                    "ecs": client("ecs"), "ddb": client("dynamodb")}

    def stop(self):
        subprocess.run([str(FERRY), "sandbox", "--stop", "--dir", str(self.repo)], capture_output=True,
                       stdin=subprocess.DEVNULL)


def git(repo, *args):
    command = ["git", "-C", str(repo), "-c", "user.name=Demo", "-c", "user.email=demo@example.com", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def commit_new_checkout(repo):
    """A developer's change to the task definition, committed; returns (before, after, paths)."""
    before = git(repo, "rev-parse", "HEAD")
    task_definition = json.loads((repo / "ecs" / "web.json").read_text())
    task_definition["containerDefinitions"][0]["environment"] = [{"name": "CHECKOUT", "value": "v2"}]
    (repo / "ecs" / "web.json").write_text(json.dumps(task_definition, indent=2) + "\n")
    git(repo, "commit", "-qam", "Turn on the new checkout")
    return before, git(repo, "rev-parse", "HEAD"), ["ecs/web.json"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_serve(env_vars, port):
    command = [str(FERRY), "serve", "--port", str(port), "--time-scale", TIME_SCALE]
    log("$ " + " ".join(command[1:]))
    server = subprocess.Popen(command, env=env_vars)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"ferry serve exited with {server.returncode}")
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("ferry serve did not answer /healthz within 30 s")


def push_webhook(port, before, after, paths):
    """Plays GitHub: the push event for the commit, signed with the webhook secret."""
    payload = json.loads(PUSH_FIXTURE.read_text())
    commit = dict(payload["head_commit"], id=after, message="Turn on the new checkout", added=[], removed=[],
                  modified=paths, url=f"https://github.com/acme/shop/commit/{after}")
    payload.update(before=before, after=after, commits=[commit], head_commit=commit,
                   compare=f"https://github.com/acme/shop/compare/{before[:12]}...{after[:12]}")
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/github", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature, "User-Agent": "GitHub-Hookshot/demo"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_for_ended(env, count, timeout=120):
    """The first `count` deployment records, once the last of them has ended."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        records = deployments(env)
        if len(records) >= count and records[count - 1]["status"]["state"] in ("succeeded", "rolledBack", "failed"):
            return records
        time.sleep(0.2)
    raise RuntimeError(f"deployment {count} did not end within {timeout} s")


def weights(env):
    action = env["elb"].describe_listeners(ListenerArns=[env["production"]])["Listeners"][0]["DefaultActions"][0]
    return {tg["TargetGroupArn"].split("/")[-2]: tg["Weight"] for tg in action["ForwardConfig"]["TargetGroups"]}


def task_sets(env):
    sets = env["ecs"].describe_task_sets(cluster="shop", service="web")["taskSets"]
    return [(s["status"], s["taskDefinition"].split("/")[-1], s["loadBalancers"][0]["targetGroupArn"].split("/")[-2]) for s in sets]


def deployments(env):
    """The deployment records, oldest first (the table also holds locks and desired states)."""
    return sorted(table_records(env, "DEPLOYMENT#"), key=lambda record: record["createdAt"])


def table_records(env, prefix):
    """The JSON records of the table's items whose key starts with `prefix`, every page."""
    pages = env["ddb"].get_paginator("scan").paginate(TableName="ferry")
    return [json.loads(item["record"]["S"]) for page in pages for item in page["Items"]
            if item["pk"]["S"].startswith(prefix) and "record" in item]


def ferry_deploy(env_vars, repo, *extra, time_scale=TIME_SCALE, stdout=None):
    """`ferry deploy .ferry/web.yaml --local` in the background; its output to `stdout` (a file)
    when given."""
    command = [str(FERRY), "deploy", ".ferry/web.yaml", "--local", "--time-scale", time_scale, *extra]
    log("$ " + " ".join(command[1:]) + " &")
    if stdout is None:
        return subprocess.Popen(command, cwd=repo, env=env_vars)
    return subprocess.Popen(command, cwd=repo, env=env_vars, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.STDOUT)


def wait_until(predicate, what, timeout=60):
    """`predicate()`'s first truthy answer, asked every 50 ms; an error naming `what` after
    `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def main():
    sandbox = Sandbox()
    endpoint = sandbox.endpoint
    log(f"AWS emulator on {endpoint}")
    stand_in, slack_url = start_slack_stand_in()
    try:
        env, repo = sandbox.env, sandbox.repo
        log(f"application repository at {repo}; production listener weights {weights(env)}")
        # The team's channel: Ferry posts to a stand-in of Slack's Web API (shown at the end).
        manifest = repo / ".ferry" / "web.yaml"
        manifest.write_text(manifest.read_text() + "notify: { slack: { channel: C0SHOP } }\n")
        git(repo, "commit", "-qam", "Tell #deploys")
        env_vars = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION=REGION, AWS_ACCESS_KEY_ID="demo",
                        AWS_SECRET_ACCESS_KEY="demo", FERRY_TABLE="ferry", AWS_EC2_METADATA_DISABLED="true",
                        FERRY_SLACK_BOT_TOKEN="xoxb-demo", FERRY_SLACK_API_URL=f"{slack_url}/api")

        log("deployment 1: a push to main reaches ferry serve as GitHub's webhook; canary steps to 100 percent")
        port = free_port()
        serve = start_serve(dict(env_vars, FERRY_GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET, FERRY_EVENT_BUS="ferry",
                                 FERRY_LOCAL_REPOSITORIES=f"acme/shop={repo}"), port)
        try:
            before, after, paths = commit_new_checkout(repo)
            log(f"git push: {before[:7]}..{after[:7]} main ({', '.join(paths)})")
            status, answer = push_webhook(port, before, after, paths)
            log(f"POST /webhooks/github: {status} {json.dumps(answer)}")
            first_record = wait_for_ended(env, 1)[0] if status == 202 else None
        finally:
            serve.terminate()
            serve.wait(timeout=10)
        after_first = (weights(env), task_sets(env))

        log("deployment 2: a bad image; its 5xx alarm fires while it bakes")
        second = ferry_deploy(env_vars, repo, "--image", "shop/web:bad")
        fired = False
        deadline = time.time() + 120
        while second.poll() is None and time.time() < deadline:
            records = deployments(env)
            current = records[-1] if len(records) >= 2 else None
            if not fired and current and current["status"]["state"] == "baking":
                env["cw"].set_alarm_state(AlarmName="web-5xx", StateValue="ALARM",
                                          StateReason="Threshold Crossed: 42 5xx responses in 1 minute (demo)")
                log(f"web-5xx set to ALARM while {current['id']} bakes step {current['status']['step'] + 1}")
                fired = True
            time.sleep(0.05)
        second_code = second.wait(timeout=60)

        records = deployments(env)
        print()
        print("Summary")
        for record in records:
            source = record["source"]
            print(f"  {record['id']} ({source['repository']}@{source['commit'][:7]}): "
                  f"{record['status']['state']}, green {record['greenWeight']}%, "
                  f"{len(record['history'])} history entries" + (f", reason: {record['reason']}" if record.get("reason") else ""))
        print(f"  after deployment 1: weights {after_first[0]}, task sets {after_first[1]}")
        print(f"  after deployment 2: weights {weights(env)}, task sets {task_sets(env)}")

        print()
        print("The Slack channel C0SHOP (rendered from the stand-in):")
        print(render_slack())
        parents = [body for body, _ in slack_requests("/api/chat.postMessage") if not body.get("thread_ts")]

        ok = (first_record is not None and second_code != 0 and len(records) == 2 and len(parents) == 2
              and records[0]["status"]["state"] == "succeeded"
              and records[0]["source"]["commit"] == after
              and records[0]["source"]["repository"] == "acme/shop"
              and records[1]["status"]["state"] == "rolledBack"
              and "web-5xx" in records[1].get("reason", ""))
        print()
        print("demo: OK" if ok else "demo: UNEXPECTED RESULT")
        return 0 if ok else 1
    finally:
        sandbox.stop()
        stand_in.shutdown()


if __name__ == "__main__":
    sys.exit(main())
