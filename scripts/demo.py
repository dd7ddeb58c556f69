#!/usr/bin/env python3
"""Ferry's demo, on one machine with no AWS account.

Starts the AWS emulator (moto) on a free loopback port, seeds a realistic environment (VPC,
ALB with a production and a test listener, two target groups, an ECS cluster and service on
the EXTERNAL deployment controller with a blue task set, CloudWatch alarms), writes a small
application repository with a Ferry manifest, then runs two real deployments:

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
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
# Where cargo put the binary: CARGO_TARGET_DIR when set (a shared target directory), else target/.
FERRY = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve() / "debug" / "ferry"
REGION = "eu-west-1"
TIME_SCALE = "0.01"  # a 2 m bake takes 1.2 s
WEBHOOK_SECRET = "demo-webhook-secret"
PUSH_FIXTURE = ROOT / "crates" / "ferry-webhook" / "fixtures" / "github" / "push.main.json"


def log(message):
    print(f"demo: {message}", flush=True)


def seed(endpoint):
    session = boto3.session.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name=REGION)
    client = lambda name: session.client(name, endpoint_url=endpoint)  # noqa: E731
    ec2, elb, ecs, cw = client("ec2"), client("elbv2"), client("ecs"), client("cloudwatch")

    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(GroupName="shop-web", Description="shop web tasks", VpcId=vpc)["GroupId"]
    alb = elb.create_load_balancer(Name="shop", Subnets=subnets, SecurityGroups=[sg], Type="application")["LoadBalancers"][0]
    groups = [
        elb.create_target_group(Name=f"web-{colour}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
                                HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
        for colour in ("blue", "green")
    ]
    forward = lambda blue, green: [{  # noqa: E731
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": groups[0], "Weight": blue},
                                           {"TargetGroupArn": groups[1], "Weight": green}]},
    }]
    production = elb.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                     DefaultActions=forward(100, 0))["Listeners"][0]["ListenerArn"]
    test = elb.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=8080,
                               DefaultActions=forward(0, 100))["Listeners"][0]["ListenerArn"]

    ecs.create_cluster(clusterName="shop")
    task_definition = ecs.register_task_definition(
        family="shop-web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": "shop/web:v1", "memory": 512, "essential": True,
                               "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="shop", serviceName="web", desiredCount=2,
                       deploymentController={"type": "EXTERNAL"})
    blue = ecs.create_task_set(
        cluster="shop", service="web", taskDefinition=task_definition, externalId="initial", launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg], "assignPublicIp": "DISABLED"}},
        loadBalancers=[{"targetGroupArn": groups[0], "containerName": "web", "containerPort": 8080}],
        scale={"value": 100, "unit": "PERCENT"},
    )["taskSet"]
    ecs.update_service_primary_task_set(cluster="shop", service="web", primaryTaskSet=blue["taskSetArn"])

    for name, metric in (("web-5xx", "HTTPCode_Target_5XX_Count"), ("web-p99-latency", "TargetResponseTime")):
        cw.put_metric_alarm(AlarmName=name, Namespace="AWS/ApplicationELB", MetricName=metric, Statistic="Sum",
                            Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanThreshold")
        cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="seeded")
    return {"production": production, "test": test, "groups": groups, "cw": cw, "elb": elb, "ecs": ecs,
            "ddb": client("dynamodb")}


MANIFEST = """\
# The demo's storefront: three canary steps, each baking while its alarms are watched.
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
  steps:
    - {{ weight: 10, bake: 2m }}
    - {{ weight: 50, bake: 2m }}
    - {{ weight: 100, bake: 1m }}
alarms: [web-5xx, web-p99-latency]
rollback: {{ onAlarm: true, keepOldFor: 5m }}
"""

TASK_DEFINITION = {
    "family": "shop-web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "web", "image": "shop/web:${GIT_SHA}", "memory": 512, "essential": True,
                              "portMappings": [{"containerPort": 8080}]}],
}


def application_repository(env):
    repo = Path(tempfile.mkdtemp(prefix="ferry-demo-"))
    (repo / ".ferry").mkdir()
    (repo / "ecs").mkdir()
    (repo / ".ferry" / "web.yaml").write_text(MANIFEST.format(
        production=env["production"], test=env["test"], blue=env["groups"][0], green=env["groups"][1]))
    (repo / "ecs" / "web.json").write_text(json.dumps(TASK_DEFINITION, indent=2) + "\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "Deploy the storefront with Ferry")
    return repo


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


def ferry_deploy(env_vars, repo, *extra):
    command = [str(FERRY), "deploy", ".ferry/web.yaml", "--local", "--time-scale", TIME_SCALE, *extra]
    log("$ " + " ".join(command[1:]))
    return subprocess.Popen(command, cwd=repo, env=env_vars)


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    log(f"AWS emulator on {endpoint}")
    try:
        env = seed(endpoint)
        repo = application_repository(env)
        log(f"application repository at {repo}; production listener weights {weights(env)}")
        env_vars = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION=REGION, AWS_ACCESS_KEY_ID="demo",
                        AWS_SECRET_ACCESS_KEY="demo", FERRY_TABLE="ferry", AWS_EC2_METADATA_DISABLED="true")

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

        ok = (first_record is not None and second_code != 0 and len(records) == 2
              and records[0]["status"]["state"] == "succeeded"
              and records[0]["source"]["commit"] == after
              and records[0]["source"]["repository"] == "acme/shop"
              and records[1]["status"]["state"] == "rolledBack"
              and "web-5xx" in records[1].get("reason", ""))
        print()
        print("demo: OK" if ok else "demo: UNEXPECTED RESULT")
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
