#!/usr/bin/env python3
"""GitOps convergence end to end: `ferry serve` on the AWS emulator, GitHub's signed pushes.

The rules of issue #13, each played against the real binary, the emulator and a real Git
repository (the demo's environment, scripts/demo.py):

1. Three pushes while a long bake runs: the first deployment finishes, the last push deploys
   next, the middle one is recorded as superseded and never deployed.
2. A retried delivery of an older push after a newer one deployed changes nothing.
3. A push during a deployment whose bake then triggers a rollback is still deployed afterwards.
4. `ferry deploy --local --commit OLD` redeploys an older commit on purpose.

Exits non-zero, saying which rule broke, if any did.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo  # noqa: E402  (the demo's environment, repository and GitHub stand-in)


TIME_SCALE = "0.01"  # the 10 m bake takes 6 s: time for two more pushes
MANIFEST = """\
service: web
cluster: shop
region: eu-west-1
taskDefinition: ../ecs/web.json
container: {{ name: web, port: 8080 }}
traffic:
  listener: {production}
  targetGroups: [{blue}, {green}]
strategy:
  steps:
    - {{ weight: 10, bake: 10m }}
    - {{ weight: 100, bake: 0s }}
alarms: [web-5xx]
rollback: {{ onAlarm: true, keepOldFor: 0s }}
"""
ENDED = ("succeeded", "rolledBack", "failed")


def log(message):
    print(f"convergence: {message}", flush=True)


def commit_change(repo, label, image=None):
    """A change to web's task definition, committed on main; returns (before, after, paths)."""
    before = demo.git(repo, "rev-parse", "HEAD")
    task_definition = json.loads((repo / "ecs" / "web.json").read_text())
    container = task_definition["containerDefinitions"][0]
    container["environment"] = [{"name": "CHANGE", "value": label}]
    container["image"] = image or "shop/web:${GIT_SHA}"
    (repo / "ecs" / "web.json").write_text(json.dumps(task_definition, indent=2) + "\n")
    demo.git(repo, "commit", "-qam", label)
    return before, demo.git(repo, "rev-parse", "HEAD"), ["ecs/web.json"]


def push(port, change, what):
    status, answer = demo.push_webhook(port, *change)
    log(f"push {change[1][:7]} ({what}): {status} {answer.get('status', answer)}")
    if status != 202:
        raise RuntimeError(f"the push of {change[1][:7]} was not accepted: {status} {answer}")


def wait_until(predicate, what, timeout=120):
    return demo.wait_until(predicate, what, timeout)


def record_of(env, commit):
    for record in demo.deployments(env):
        if record["source"]["commit"] == commit:
            return record
    return None


def ended(env, commit):
    record = record_of(env, commit)
    return record if record and record["status"]["state"] in ENDED else None


def desired(env):
    states = demo.table_records(env, "DESIRED#shop/web")
    return states[0] if states else None


def passed_over(env, commit):
    state = desired(env) or {}
    return [entry for entry in state.get("passedOver", []) if entry["commit"] == commit]


def main():
    sandbox = demo.Sandbox()
    endpoint = sandbox.endpoint
    failures = []

    def check(ok, rule):
        log(("ok: " if ok else "BROKEN: ") + rule)
        if not ok:
            failures.append(rule)

    try:
        env, repo = sandbox.env, sandbox.repo
        (repo / ".ferry" / "web.yaml").write_text(
            MANIFEST.format(production=env["production"], blue=env["groups"][0], green=env["groups"][1]))
        demo.git(repo, "commit", "-qam", "Bake 10 minutes, keep nothing warm")
        env_vars = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION=demo.REGION, AWS_ACCESS_KEY_ID="demo",
                        AWS_SECRET_ACCESS_KEY="demo", FERRY_TABLE="ferry", AWS_EC2_METADATA_DISABLED="true")
        serve_port = demo.free_port()
        command = [str(demo.FERRY), "serve", "--port", str(serve_port), "--time-scale", TIME_SCALE]
        serve = subprocess.Popen(command, env=dict(
            env_vars, FERRY_GITHUB_WEBHOOK_SECRET=demo.WEBHOOK_SECRET, FERRY_EVENT_BUS="ferry",
            FERRY_LOCAL_REPOSITORIES=f"acme/shop={repo}"), stdout=subprocess.DEVNULL)
        try:
            wait_until(lambda: _healthy(serve_port, serve), "ferry serve to answer")

            # 1. Three pushes while a long bake runs.
            first = commit_change(repo, "one")
            push(serve_port, first, "starts a deployment")
            wait_until(lambda: (record_of(env, first[1]) or {}).get("status", {}).get("state") == "baking",
                       "the first deployment to bake")
            middle = commit_change(repo, "two")
            push(serve_port, middle, "while the first bakes")
            last = commit_change(repo, "three")
            push(serve_port, last, "while the first bakes")
            check(record_of(env, first[1])["status"]["state"] == "baking",
                  "the pushes arrived while the first deployment baked")
            wait_until(lambda: ended(env, last[1]), "the last push to deploy")
            records = demo.deployments(env)
            check([(r["source"]["commit"], r["status"]["state"]) for r in records]
                  == [(first[1], "succeeded"), (last[1], "succeeded")],
                  "the first finishes, then the last push deploys")
            check(record_of(env, middle[1]) is None, "the middle push is never deployed")
            gap = _seconds(records[1]["createdAt"]) - _seconds(records[0]["finishedAt"])
            log(f"the queued push was planned {gap:.2f} s after the first deployment ended "
                "(ferry serve reconciles every 0.5 s)")
            check(any(entry["reason"] == "superseded" and entry["by"] == last[1]
                      for entry in passed_over(env, middle[1])),
                  "the middle push is recorded as superseded by the last")

            # 2. A retried delivery of an older push after a newer one deployed.
            push(serve_port, middle, "the older push, delivered again")
            time.sleep(3)  # six converge ticks of ferry serve
            check(len(demo.deployments(env)) == 2, "a retried older push deploys nothing")
            check(any(entry["reason"] == "older" for entry in passed_over(env, middle[1])),
                  "the retried older push is recorded as older")

            # 3. A push during a deployment whose bake then triggers a rollback.
            bad = commit_change(repo, "four", image="shop/web:bad-${GIT_SHORT_SHA}")
            push(serve_port, bad, "a bad image")
            wait_until(lambda: (record_of(env, bad[1]) or {}).get("status", {}).get("state") == "baking",
                       "the bad deployment to bake")
            fix = commit_change(repo, "five")
            push(serve_port, fix, "the fix, while the bad one bakes")
            env["cw"].set_alarm_state(AlarmName="web-5xx", StateValue="ALARM",
                                      StateReason="Threshold Crossed: 42 5xx responses (convergence test)")
            wait_until(lambda: (record_of(env, bad[1]) or {}).get("status", {}).get("state")
                       in ("rollingBack", "rolledBack"), "the rollback")
            env["cw"].set_alarm_state(AlarmName="web-5xx", StateValue="OK", StateReason="recovered")
            wait_until(lambda: ended(env, fix[1]), "the fix to deploy")
            check(ended(env, bad[1])["status"]["state"] == "rolledBack", "the bad push rolled back")
            check(ended(env, fix[1])["status"]["state"] == "succeeded",
                  "the push made during the rolled-back deployment deployed afterwards")
        finally:
            serve.terminate()
            serve.wait(timeout=10)

        # 4. A deliberate redeploy of an older commit.
        command = [str(demo.FERRY), "deploy", ".ferry/web.yaml", "--local", "--commit", first[1][:10],
                   "--time-scale", TIME_SCALE]
        log("$ " + " ".join(command[1:]))
        redeploy = subprocess.run(command, cwd=repo, env=env_vars, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=120)
        records = demo.deployments(env)
        check(redeploy.returncode == 0 and records[-1]["source"]["commit"] == first[1]
              and records[-1]["status"]["state"] == "succeeded",
              f"ferry deploy --commit redeploys an older commit on purpose (exit {redeploy.returncode})")
        primary = [s for s in env["ecs"].describe_task_sets(cluster="shop", service="web")["taskSets"]
                   if s["status"] == "PRIMARY"]
        image = env["ecs"].describe_task_definition(taskDefinition=primary[0]["taskDefinition"])[
            "taskDefinition"]["containerDefinitions"][0]["image"]
        check(image == f"shop/web:{first[1]}", f"production runs the first commit's image again ({image})")
        if redeploy.returncode != 0:
            print(redeploy.stdout + redeploy.stderr)
    finally:
        sandbox.stop()
    print("convergence: OK" if not failures else f"convergence: {len(failures)} rule(s) broken")
    return 0 if not failures else 1


def _seconds(timestamp):
    """RFC 3339 (nanoseconds allowed) to seconds since the epoch."""
    from datetime import datetime
    whole, _, fraction = timestamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (fraction or "0"))


def _healthy(port, serve):
    if serve.poll() is not None:
        raise RuntimeError(f"ferry serve exited with {serve.returncode}")
    try:
        import urllib.request
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
