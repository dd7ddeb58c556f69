#!/usr/bin/env python3
"""The web UI in a real browser: Chromium (the Debian package) driven by playwright-core
(scripts/ui_browser.mjs) against `ferry serve --user alice` on the AWS emulator, with real local
deployments started by `ferry deploy --local` in the background (scripts/demo.py's sandbox).

1. A canary waits for alice's approval: the list shows it in flight.
2. mallory (a second browser whose requests name him with `X-Ferry-As`) clicks Approve: the
   refusal is shown in his page, and nothing changes.
3. alice's page shows 0 % on green; she clicks Approve and confirms in the dialog; without a
   reload the page then shows the canary's 10 %, read from the load balancer, and the
   deployment finishes.
4. A second deployment bakes: alice clicks Roll back; the load balancer sends everything to blue
   again and the page says rolled back.
5. A third holds at the split preset: alice clicks green-80 (the load balancer then sends 80 %
   to green), then Promote, and it succeeds with everything on green.
6. Screenshots of the three views at 1280x800 into target/screenshots/ (docs/screenshots/ with
   FERRY_UI_SCREENSHOTS=docs/screenshots, which `make screenshots` sets: the README shows those).

Prints the load time of `/` as the browser measured it, and how long each answer took. Exits
non-zero, naming what broke, if anything did.
"""

import json
import os
import select
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo  # noqa: E402  (the sandbox: the emulator, the shop's service, its repository)

TIME_SCALE = "0.02"  # the 10 m bake takes 12 s: time to look, click and confirm
SHOTS = demo.ROOT / os.environ.get("FERRY_UI_SCREENSHOTS", "target/screenshots")
MANIFEST = """\
service: web
cluster: shop
region: eu-west-1
taskDefinition: ../ecs/web.json
container: {{ name: web, port: 8080 }}
traffic:
  listener: {production}
  testListener: {test}
  targetGroups: [{blue}, {green}]
strategy:
  {strategy}
approval: {{ beforeTraffic: true, approvers: [local:alice], timeout: 4h }}
alarms: [web-5xx, web-p99-latency]
rollback: {{ onAlarm: true, keepOldFor: 1m }}
"""


def log(message):
    print(f"ui: {message}", flush=True)


class BrowserError(RuntimeError):
    pass


class Browser:
    """scripts/ui_browser.mjs: one JSON command a line in, one JSON answer a line out."""

    def __init__(self, base):
        self.process = subprocess.Popen(["node", str(demo.ROOT / "scripts" / "ui_browser.mjs"), base],
                                        cwd=demo.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self, command, timeout=120, **args):
        self.process.stdin.write(json.dumps({"command": command, **args}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            raise BrowserError(f"the browser driver gave no answer to {command}"
                               + (f" (it exited {self.process.poll()})" if self.process.poll() is not None else ""))
        answer = json.loads(line)
        if not answer.pop("ok"):
            raise BrowserError(answer["error"])
        return answer

    def close(self):
        try:
            self.process.stdin.close()
            self.process.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


wait_until = demo.wait_until


def records(env):
    try:
        return demo.deployments(env)
    except env["ddb"].exceptions.ResourceNotFoundException:
        return []


def record_in(env, state, not_ids=()):
    found = [r for r in records(env) if r["status"]["state"] == state and r["id"] not in not_ids]
    return found[0] if found else None


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and json.loads(response.read())
    except (OSError, ValueError):
        return False


def main():
    sandbox = demo.Sandbox()
    failures = []
    logs = Path(tempfile.mkdtemp(prefix="ferry-ui-"))

    def check(ok, what):
        log(("ok: " if ok else "BROKEN: ") + what)
        if not ok:
            failures.append(what)
        return ok

    serve = browser = None
    try:
        env, repo = sandbox.env, sandbox.repo
        def commit_manifest(strategy, message):
            (repo / ".ferry" / "web.yaml").write_text(MANIFEST.format(
                strategy=strategy, production=env["production"], test=env["test"], blue=env["groups"][0],
                green=env["groups"][1]))
            demo.git(repo, "commit", "-qam", message)

        commit_manifest("canary: { weight: 10, bake: 10m }", "A canary that alice approves")
        env_vars = dict(os.environ, **sandbox.variables, FERRY_TABLE="ferry", AWS_EC2_METADATA_DISABLED="true")
        port = demo.free_port()
        base = f"http://127.0.0.1:{port}"
        command = [str(demo.FERRY), "serve", "--port", str(port), "--time-scale", TIME_SCALE, "--user", "alice"]
        log("$ " + " ".join(command[1:]))
        serve = subprocess.Popen(command, env=dict(env_vars, FERRY_GITHUB_WEBHOOK_SECRET="unused", FERRY_EVENT_BUS="ferry"),
                                 stdin=subprocess.DEVNULL, stdout=open(logs / "serve.log", "w"), stderr=subprocess.STDOUT)

        def ready():
            if serve.poll() is not None:
                raise RuntimeError(f"ferry serve exited {serve.returncode}")
            return answers(f"{base}/api/me")

        me = wait_until(ready, "ferry serve to answer GET /api/me", timeout=30)
        check(me.get("identity") == "local:alice", f"the UI acts as local:alice (GET /api/me: {me})")
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser = Browser(base)

        def start(name, *extra):
            return demo.ferry_deploy(env_vars, repo, *extra, time_scale=TIME_SCALE,
                                     stdout=open(logs / f"{name}.log", "w"))

        # 1. The list shows a deployment in flight.
        first = start("first")
        waiting = wait_until(lambda: record_in(env, "awaitingApproval"), "the first deployment to wait for approval")["id"]
        listed = browser("list", id=waiting)
        check(listed["group"].startswith("In flight") and "Awaiting approval" in listed["row"],
              f"the list shows {waiting} in flight ({listed['group']}: {listed['row']})")
        for name in ("cold", "warm"):
            timing = listed[name]
            log(f"page load of / in the browser ({name}): DOMContentLoaded {timing['domContentLoadedMs']:.0f} ms, "
                f"load {timing['loadMs']:.0f} ms, the deployments arrived at {timing['listAnsweredMs']:.0f} ms "
                f"(GET /api/overview took {timing['listRequestMs']:.0f} ms); "
                f"{timing['transferredBytes'] / 1024:.1f} KB transferred")
        check(listed["cold"]["listAnsweredMs"] < 1000, "the page loads, deployments listed, in well under a second")

        # 2. A non-approver's click is refused, and the refusal shown.
        path = f"/deployments/{waiting}"
        browser("open", who="mallory", path=path, selector="#d-act:not([hidden]) button")
        refused = browser("act", who="mallory", label="Approve")
        check(not refused["done"] and refused["refusal"] == "notApprover" and "not an approver" in refused["text"],
              f"mallory's Approve is refused in his page ({refused['refusal']}: {refused['text']})")
        record = next(r for r in records(env) if r["id"] == waiting)
        check(record["status"]["state"] == "awaitingApproval" and not (record.get("pendingToken") or {}).get("answered"),
              "and the deployment still waits for approval")

        # 3. alice approves; the page follows the weights live; the deployment finishes.
        browser("open", path=path, selector="#d-traffic[data-green]")
        browser("waitGreen", value=0)
        browser("mark")
        approved = browser("act", label="Approve")
        check(approved["done"] and approved["dialogClosed"],
              f"alice's Approve, confirmed in the dialog, is done: {approved['text']} ({approved['answeredMs']} ms)")
        moved = browser("waitGreen", value=10)
        check(browser("marked")["marked"],
              f"the page went from 0 % to {moved['shown']} on green without a reload ({moved['waitedMs']} ms after the answer)")
        browser("shot", file=str(SHOTS / "deployment.png"), selector="#d-timeline li[data-event=baking]")
        check(first.wait(timeout=120) == 0, "the approved deployment finishes (ferry deploy exits 0)")
        browser("waitState", label="Succeeded", timeout=30)
        shown = browser("read")
        check(shown["green"] == "100" and shown["buttons"] == [] and shown["timeline"][-1].startswith("Succeeded"),
              f"its page says succeeded, 100 % on green, no actions left ({shown['timeline'][-1]})")

        # 4. Roll back during a bake, checked on the load balancer and in the page.
        second = start("second", "--auto-approve", "--as", "local:alice")
        baking = wait_until(lambda: record_in(env, "baking", not_ids=(waiting,)), "the second deployment to bake")
        browser("shot", path="/", file=str(SHOTS / "deployments.png"), selector=f"tr[data-href$='{baking['id']}'].inflight")
        browser("open", path=f"/deployments/{baking['id']}", selector="#d-act:not([hidden]) button")
        rolled = browser("act", label="Roll back", reason="checking the UI's Roll back")
        check(rolled["done"], f"alice's Roll back is done: {rolled['text']} ({rolled['answeredMs']} ms)")
        check(second.wait(timeout=120) != 0, "the second deployment ends rolled back (ferry deploy exits non-zero)")
        record = next(r for r in records(env) if r["id"] == baking["id"])
        check(record["status"]["state"] == "rolledBack" and "checking the UI's Roll back" in record.get("reason", ""),
              f"it is recorded rolled back, with the reason given ({record['status']['state']}: {record.get('reason')})")
        weights = demo.weights(env)
        blue, green = (record[f"{side}TargetGroup"].split("/")[-2] for side in ("blue", "green"))
        check(weights.get(blue) == 100 and not weights.get(green),
              f"the load balancer sends everything to blue ({blue}) again: {weights}")
        rolled_back = browser("waitState", label="Rolled back", timeout=30)
        shown = browser("read")
        check(shown["green"] == "0" and any("checking the UI's Roll back" in line for line in shown["timeline"]),
              f"the page says rolled back, 0 % on green, and why ({rolled_back['waitedMs']} ms after the process ended)")

        # 5. A deployment holding at a preset: moved by hand with a preset button, checked on the
        #    load balancer, then promoted.
        commit_manifest("preset: split", "Hold at split")
        third = start("third", "--auto-approve", "--as", "local:alice")
        holding = wait_until(lambda: record_in(env, "holding"), "the third deployment to hold at split")
        browser("open", path=f"/deployments/{holding['id']}", selector="#d-act:not([hidden]) button")
        browser("waitGreen", value=50)
        browser("mark")
        moved = browser("act", label="green-80")
        check(moved["done"], f"alice's green-80 is done: {moved['text']} ({moved['answeredMs']} ms)")
        blue, green = (holding[f"{side}TargetGroup"].split("/")[-2] for side in ("blue", "green"))
        shares = wait_until(lambda: (lambda w: w.get(green) == 80 and w)(demo.weights(env)),
                            "the load balancer to send 80 % to green", timeout=60)
        check(shares.get(blue) == 20, f"the load balancer sends 80 % to green ({green}), 20 % to blue: {shares}")
        shown = browser("waitGreen", value=80)
        check(browser("marked")["marked"], f"the page shows {shown['shown']} on green, without a reload")
        promoted = browser("act", label="Promote")
        check(promoted["done"], f"alice's Promote is done: {promoted['text']} ({promoted['answeredMs']} ms)")
        wait_until(lambda: next(r for r in records(env) if r["id"] == holding["id"])["status"]["state"] == "succeeded",
                   "the held deployment to succeed", timeout=90)
        weights = demo.weights(env)
        check(weights.get(green) == 100 and not weights.get(blue),
              f"promoted: the deployment succeeded and the load balancer sends everything to green ({weights})")
        third.wait(timeout=60)

        # 6. The service's page.
        browser("shot", path="/services/shop/web", file=str(SHOTS / "service.png"), selector="#s-history tr[data-href]")
        check(all((SHOTS / name).stat().st_size > 10000 for name in ("deployments.png", "deployment.png", "service.png")),
              f"screenshots of the three views in {SHOTS.relative_to(demo.ROOT)}/")
        problems = browser("problems")["problems"]
        check(not problems, f"no script errors in the pages{': ' + '; '.join(problems) if problems else ''}")
    except (BrowserError, RuntimeError, subprocess.TimeoutExpired) as error:
        check(False, f"{error}")
    finally:
        if browser:
            browser.close()
        if serve:
            serve.terminate()
            serve.wait(timeout=10)
        recorded = records(sandbox.env) if failures else []
        sandbox.stop()
    if failures:
        for record in recorded:
            print(f"\n--- {record['id']}: {record['status']}, history: "
                  + ", ".join(str(entry.get("event")) for entry in record["history"]))
        for name in ("serve", "first", "second"):
            if (logs / f"{name}.log").exists():
                tail = (logs / f"{name}.log").read_text().splitlines()[-15:]
                print(f"\n--- {name} (last lines of {logs / name}.log)\n" + "\n".join(tail))
    print("ui: OK" if not failures else f"ui: {len(failures)} check(s) broken")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
