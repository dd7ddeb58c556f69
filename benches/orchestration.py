#!/usr/bin/env python3
"""Orchestration benchmarks of the local runtime against the AWS emulator.

Measures, with real `ferry deploy --local` runs (engine + handlers + moto over HTTP):

- overhead per traffic step: a ten-step plan with zero bakes; the time between consecutive
  `shifted` records (set weights, read them back, record, check alarms, state transitions);
- alarm to blue: a deployment baking under a long bake; the time from the alarm entering
  ALARM to the production listener reading 100 percent blue;
- state transitions of a three-step canary (what a deployment costs on Standard workflows).

Run with `make bench-orchestration`; results are summarised in docs/benchmarks.md.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import demo  # noqa: E402  (reuses the demo's emulator seeding)

RUNS = 3


def write_manifest(repo, steps):
    manifest = (repo / ".ferry" / "web.yaml").read_text()
    head = manifest.split("strategy:")[0]
    tail = "alarms: [web-5xx, web-p99-latency]\nrollback: { onAlarm: true, keepOldFor: 0s }\n"
    body = "strategy:\n  steps:\n" + "".join(f"    - {{ weight: {w}, bake: {b} }}\n" for w, b in steps)
    (repo / ".ferry" / "web.yaml").write_text(head + body + tail)


def deploy(env_vars, repo, *extra, scale="0.01"):
    command = [str(demo.FERRY), "deploy", ".ferry/web.yaml", "--local", "--time-scale", scale, *extra]
    return subprocess.Popen(command, cwd=repo, env=env_vars, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def parse_time(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main():
    sandbox = demo.Sandbox()
    endpoint = sandbox.endpoint
    try:
        env, repo = sandbox.env, sandbox.repo
        env_vars = dict(demo.os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION=demo.REGION, AWS_ACCESS_KEY_ID="b",
                        AWS_SECRET_ACCESS_KEY="b", FERRY_TABLE="ferry", AWS_EC2_METADATA_DISABLED="true")

        # 1. Overhead per step.
        write_manifest(repo, [(w, "0s") for w in range(10, 101, 10)])
        per_step = []
        for _ in range(RUNS):
            process = deploy(env_vars, repo)
            process.communicate(timeout=300)
            assert process.returncode == 0, "the ten-step deployment failed"
            record = demo.deployments(env)[-1]
            shifted = [parse_time(entry["at"]) for entry in record["history"] if entry["event"] == "shifted"]
            per_step.extend(b - a for a, b in zip(shifted, shifted[1:]))

        # 2. Alarm to blue.
        write_manifest(repo, [(10, "30m"), (100, "0s")])
        alarm_to_blue = []
        for _ in range(RUNS):
            env["cw"].set_alarm_state(AlarmName="web-5xx", StateValue="OK", StateReason="reset")
            process = deploy(env_vars, repo, scale="1")
            while True:
                records = demo.deployments(env)
                if records and records[-1]["status"]["state"] == "baking":
                    break
                time.sleep(0.02)
            fired = time.monotonic()
            env["cw"].set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="benchmark")
            while demo.weights(env).get(records[-1]["blueTargetGroup"].split("/")[-2]) != 100:
                time.sleep(0.005)
            alarm_to_blue.append(time.monotonic() - fired)
            process.communicate(timeout=60)
            assert process.returncode != 0, "the alarmed deployment did not roll back"
        env["cw"].set_alarm_state(AlarmName="web-5xx", StateValue="OK", StateReason="reset")

        # 3. State transitions of a three-step canary.
        write_manifest(repo, [(10, "5m"), (50, "5m"), (100, "0s")])
        process = deploy(env_vars, repo, scale="0.001")
        output, _ = process.communicate(timeout=300)
        transitions = int(output.strip().splitlines()[-1].split("(")[1].split()[0])

        results = {
            "step_overhead_ms": {"median": round(statistics.median(per_step) * 1000, 1),
                                 "max": round(max(per_step) * 1000, 1), "samples": len(per_step)},
            "alarm_to_blue_ms": {"median": round(statistics.median(alarm_to_blue) * 1000, 1),
                                 "max": round(max(alarm_to_blue) * 1000, 1), "samples": len(alarm_to_blue)},
            "three_step_canary_state_transitions": transitions,
        }
        print(json.dumps(results, indent=2))
        return 0
    finally:
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
