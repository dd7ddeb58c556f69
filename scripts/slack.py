#!/usr/bin/env python3
"""Slack end to end: `ferry deploy --local` notifies a Slack stand-in, and clicks signed as Slack
signs them reach `ferry serve`'s `/slack/interactions`.

1. A deployment waits for approval: its parent message carries Approve and Reject. A click by
   someone who is not an approver is refused (an ephemeral reply; nothing changes); the
   approver's click approves it, the message shows who did, and the deployment finishes.
2. A second deployment bakes: a Roll back click (anyone may) rolls it back, and the thread says
   who did.

Prints each deployment's Slack thread as the stand-in received it. Exits non-zero, naming what
broke, if anything did.
"""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo  # noqa: E402

TIME_SCALE = "0.02"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APPROVER = "U0APPROVER"
CHANNEL = "C0SHOP"
EXTRA = f"""approval: {{ beforeTraffic: true, approvers: [{APPROVER}], timeout: 1h }}
notify: {{ slack: {{ channel: {CHANNEL} }} }}
"""


def click(serve_port, user, action_id, deployment, response_url):
    payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": CHANNEL},
               "response_url": response_url, "trigger_id": "1.2.3",
               "actions": [{"action_id": action_id, "value": deployment, "type": "button",
                            "block_id": "ferry_actions"}]}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body,
                                 hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"http://127.0.0.1:{serve_port}/slack/interactions", data=body, method="POST",
                                     headers={"content-type": "application/x-www-form-urlencoded",
                                              "x-slack-request-timestamp": stamp, "x-slack-signature": signature})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, time.perf_counter() - started


wait_until = demo.wait_until


def parent_with_buttons(labels):
    for body, _ts in demo.slack_requests("/api/chat.postMessage") + demo.slack_requests("/api/chat.update"):
        buttons = [element["text"]["text"] for block in body.get("blocks", []) if block["type"] == "actions"
                   for element in block["elements"]]
        if buttons == labels:
            return body
    return None


def main():
    stand_in, slack_url = demo.start_slack_stand_in()
    sandbox = demo.Sandbox()
    failures = []

    def check(ok, what):
        demo.log(("ok: " if ok else "BROKEN: ") + what)
        if not ok:
            failures.append(what)

    try:
        env, repo = sandbox.env, sandbox.repo
        manifest = repo / ".ferry" / "web.yaml"
        manifest.write_text(manifest.read_text() + EXTRA)
        demo.git(repo, "commit", "-qam", "Approvals from Slack")
        env_vars = dict(os.environ, **sandbox.variables, FERRY_TABLE="ferry",
                        FERRY_SLACK_BOT_TOKEN="xoxb-stand-in", FERRY_SLACK_API_URL=f"{slack_url}/api",
                        FERRY_SLACK_SIGNING_SECRET=SIGNING_SECRET)
        serve_port = demo.free_port()
        serve = subprocess.Popen([str(demo.FERRY), "serve", "--port", str(serve_port), "--time-scale", TIME_SCALE],
                                 env=dict(env_vars, FERRY_GITHUB_WEBHOOK_SECRET="unused", FERRY_EVENT_BUS="ferry"),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deploy = [str(demo.FERRY), "deploy", ".ferry/web.yaml", "--local", "--time-scale", TIME_SCALE]
        try:
            wait_until(lambda: _answers(serve_port), "ferry serve")

            # 1. Approve from Slack.
            first = subprocess.Popen(deploy, cwd=repo, env=env_vars, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_until(lambda: parent_with_buttons(["Approve", "Reject"]), "the Approve and Reject buttons")
            deployment = wait_until(lambda: [r for r in demo.deployments(env)
                                             if r["status"]["state"] == "awaitingApproval"], "the approval")[0]["id"]
            respond = f"{slack_url}/respond"
            status, _ = click(serve_port, "U0MALLORY", "ferry_approve", deployment, respond)
            check(status == 200, "a non-approver's click is answered 200")
            refusal = wait_until(lambda: demo.slack_requests("/respond"), "the ephemeral refusal")
            check("approver" in refusal[0][0]["text"] and refusal[0][0]["response_type"] == "ephemeral",
                  "the non-approver is told, and only them")
            # The answer time through ferry serve (HTTP, the emulator's DynamoDB behind it): a
            # hundred refused clicks, each a signature, a record read and a decision.
            samples = sorted(click(serve_port, "U0MALLORY", "ferry_approve", deployment, respond)[1]
                             for _ in range(100))
            demo.log(f"refused clicks through ferry serve: p50 {samples[49] * 1000:.1f} ms, "
                     f"p99 {samples[98] * 1000:.1f} ms (Slack allows 3 s)")
            check(samples[98] < 1.0, "clicks are answered far under Slack's 3 seconds")
            timings = []
            status, seconds = click(serve_port, APPROVER, "ferry_approve", deployment, respond)
            timings.append(seconds)
            check(status == 200, "the approver's click is answered 200")
            check(first.wait(timeout=120) == 0, "the approved deployment finishes")
            check(any(f"approved by <@{APPROVER}>" in json.dumps(body) for body, _ in demo.slack_requests("/api/chat.update")),
                  "the message says who approved")

            # 2. Roll back from Slack during a bake.
            second = subprocess.Popen(deploy + ["--auto-approve", "--as", APPROVER], cwd=repo, env=env_vars,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            baking = wait_until(lambda: [r for r in demo.deployments(env) if r["status"]["state"] == "baking"
                                         and r["id"] != deployment], "the second deployment to bake")[0]["id"]
            status, seconds = click(serve_port, "U0ONCALL", "ferry_rollback", baking, respond)
            timings.append(seconds)
            check(status == 200, "the Roll back click is answered 200")
            check(second.wait(timeout=120) != 0, "the second deployment ends rolled back")
            record = next(r for r in demo.deployments(env) if r["id"] == baking)
            check(record["status"]["state"] == "rolledBack", f"it is recorded rolled back ({record['status']})")
            wait_until(lambda: any("rolled back by U0ONCALL via Slack" in body.get("text", "")
                                   for body, _ in demo.slack_requests("/api/chat.postMessage")), "the rollback in the thread")
            said = [body for body, _ in demo.slack_requests("/api/chat.postMessage") if "U0ONCALL" in body.get("text", "")]
            check(len(said) == 1, f"the thread says who rolled back, once ({len(said)})")
            demo.log(f"answer times through ferry serve: {', '.join(f'{t * 1000:.0f} ms' for t in timings)}")
        finally:
            serve.terminate()
            serve.wait(timeout=10)
        print("\nThe Slack channel, as the stand-in received it:")
        print(demo.render_slack())
    finally:
        sandbox.stop()
        stand_in.shutdown()
    print("slack: OK" if not failures else f"slack: {len(failures)} check(s) broken")
    return 0 if not failures else 1


def _answers(port):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
