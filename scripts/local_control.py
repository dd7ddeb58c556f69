#!/usr/bin/env python3
"""Two terminals, one local Ferry: the `ferry` binary run as people run it.

Terminal 1 runs `ferry deploy --local` without `--auto-approve` and without a terminal on
stdin; terminal 2 answers it:

1. `ferry approve ID --local --as mallory` is refused (not an approver) and changes nothing;
   `ferry approve ID --local --as github:bob` lets the deployment continue to success; a second
   `ferry reject` is refused as already decided;
2. a second deployment is approved, then rolled back from terminal 2 while it bakes with
   `ferry rollback ID --local`: terminal 1 ends non-zero and the record says rolled back, and
   `ferry status ID --watch` in a third terminal printed each event and exited 1.

Uses the demo's emulator environment (scripts/demo.py). Exits non-zero when anything differs.
"""

import json
import subprocess
import sys
import time

import demo

APPROVAL = "approval: { beforeTraffic: true, approvers: [github:bob], timeout: 1h }\n"
TIME_SCALE = "0.02"  # the 2 m bakes take 2.4 s: time to roll back from terminal 2


def records(env):
    """The deployment records; none while terminal 1 has not created the table yet."""
    try:
        return demo.deployments(env)
    except env["ddb"].exceptions.ResourceNotFoundException:
        return []


def wait_for(env, predicate, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for record in records(env):
            if predicate(record):
                return record
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def ferry(env_vars, repo, *args):
    command = [str(demo.FERRY), *args]
    demo.log("terminal 2 $ " + " ".join(args))
    result = subprocess.run(command, cwd=repo, env=env_vars, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    output = (result.stdout + result.stderr).strip()
    demo.log(f"  exit {result.returncode}: {output}")
    return result.returncode, output


def deploy(env_vars, repo, *extra):
    command = [str(demo.FERRY), "deploy", ".ferry/web.yaml", "--local", "--time-scale", TIME_SCALE, *extra]
    demo.log("terminal 1 $ " + " ".join(command[1:]))
    return subprocess.Popen(command, cwd=repo, env=env_vars, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def main():
    sandbox = demo.Sandbox()
    endpoint = sandbox.endpoint
    problems = []
    try:
        env, repo = sandbox.env, sandbox.repo
        manifest = repo / ".ferry" / "web.yaml"
        manifest.write_text(manifest.read_text() + APPROVAL)
        demo.git(repo, "commit", "-qam", "Approvals by bob")
        env_vars = dict(demo.os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION=demo.REGION,
                        AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", FERRY_TABLE="ferry",
                        AWS_EC2_METADATA_DISABLED="true")

        first = deploy(env_vars, repo)
        record = wait_for(env, lambda r: r["status"]["state"] == "awaitingApproval", "the first approval")
        deployment = record["id"]
        code, output = ferry(env_vars, repo, "approve", deployment, "--local", "--as", "mallory")
        if code == 0 or "not an approver" not in output:
            problems.append(f"a non-approver's approval was not refused: {output}")
        code, output = ferry(env_vars, repo, "approve", deployment, "--local", "--as", "github:bob")
        if code != 0:
            problems.append(f"bob's approval failed: {output}")
        code, output = ferry(env_vars, repo, "reject", deployment, "--local", "--as", "github:bob")
        # Refused either way: the wait is answered already, or (when the deployment went on
        # before this command ran) nothing waits any more.
        refused = "already answered" in output or "waits for no approval" in output
        if code == 0 or not refused:
            problems.append(f"a second answer was not refused: {output}")
        first_output, _ = first.communicate(timeout=120)
        demo.log("terminal 1 printed:\n" + first_output.rstrip())
        if first.returncode != 0:
            problems.append(f"the approved deployment exited {first.returncode}")
        if "answer from another terminal" not in first_output:
            problems.append("terminal 1 did not say how to answer from elsewhere")

        # For scripts: one JSON event per line on stdout.
        second = deploy(env_vars, repo, "--format", "json")
        record = wait_for(env, lambda r: r["id"] != deployment and r["status"]["state"] == "awaitingApproval",
                          "the second approval")
        baking = record["id"]
        # A third terminal follows it: `ferry status ID --watch` prints each event until it ends.
        watcher = subprocess.Popen([str(demo.FERRY), "status", baking, "--watch"], cwd=repo, env=env_vars,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        code, output = ferry(env_vars, repo, "approve", baking, "--local", "--as", "github:bob")
        if code != 0:
            problems.append(f"bob's approval of the second deployment failed: {output}")
        wait_for(env, lambda r: r["id"] == baking and r["status"]["state"] == "baking", "the second bake")
        code, output = ferry(env_vars, repo, "rollback", baking, "--local", "--reason", "looks wrong")
        if code != 0:
            problems.append(f"the rollback failed: {output}")
        second_output, _ = second.communicate(timeout=120)
        demo.log("terminal 1 printed:\n" + second_output.rstrip())
        events = [json.loads(line) for line in second_output.splitlines() if line.startswith("{")]
        names = [event["event"] for event in events]
        # The sandbox's manifest has a test listener: green gets it once stable, blue after the
        # rollback.
        expected = ["planned", "task-set-created", "task-set-stable", "test-traffic", "awaiting-approval",
                    "answered", "shifted", "baking", "answered", "rolling-back", "test-traffic", "rolled-back",
                    "ended"]
        if names != expected or events[-1].get("outcome") != "RolledBack":
            problems.append(f"--format json printed events {names}, ending {events[-1] if events else None}")
        watched, _ = watcher.communicate(timeout=60)
        demo.log("terminal 3 (ferry status --watch) printed:\n" + watched.rstrip())
        if watcher.returncode != 1 or "rolled back: Aborted: looks wrong" not in watched:
            problems.append(f"ferry status --watch exited {watcher.returncode} and printed {watched!r}")
        final = {r["id"]: r for r in demo.deployments(env)}
        if second.returncode == 0:
            problems.append("the rolled-back deployment exited 0")
        if final[baking]["status"]["state"] != "rolledBack" or "looks wrong" not in final[baking].get("reason", ""):
            problems.append(f"the second deployment is {final[baking]['status']} ({final[baking].get('reason')})")
        if final[deployment]["status"]["state"] != "succeeded":
            problems.append(f"the first deployment is {final[deployment]['status']}")
        weights = demo.weights(env)
        if sorted(weights.values()) != [0, 100]:
            problems.append(f"production weights {weights}")
    finally:
        sandbox.stop()
    for problem in problems:
        print(f"local control: {problem}")
    print("local control: OK" if not problems else "local control: FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
