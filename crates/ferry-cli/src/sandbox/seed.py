"""Seeds the AWS emulator for `ferry sandbox` and writes an application repository to edit.

    python seed.py ENDPOINT DIR

Creates what a team running a service on ECS behind an Application Load Balancer has: a VPC
with two subnets, a security group, a load balancer with a production listener (port 80) and a
test listener (port 8080), two target groups, an ECS cluster `shop` with the service `web` on
the EXTERNAL deployment controller serving from a first task set (blue), and two CloudWatch
alarms. Then writes DIR/.ferry/web.yaml and DIR/ecs/web.json naming them, commits them when Git
is there, and DIR/.ferry-sandbox/environment.json with every identifier, for scripts.

Embedded in the `ferry` binary (crates/ferry-cli/src/sandbox.rs) and run with the Python that
runs the emulator, so boto3 is at hand. Idempotent per emulator: run it once.
"""

import json
import subprocess
import sys
from pathlib import Path

import boto3

REGION = "eu-west-1"

MANIFEST = """\
# The sandbox's storefront: three canary steps, each baking while its alarms are watched.
# Edit it (or ../ecs/web.json), then: ferry deploy .ferry/web.yaml --local
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


def seed(endpoint):
    session = boto3.session.Session(aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=REGION)
    client = lambda name: session.client(name, endpoint_url=endpoint)  # noqa: E731
    ec2, elb, ecs, cw = client("ec2"), client("elbv2"), client("ecs"), client("cloudwatch")

    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    # The emulator needs DNS hostnames on the VPC for task sets (AWS does not).
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

    alarms = []
    for name, metric in (("web-5xx", "HTTPCode_Target_5XX_Count"), ("web-p99-latency", "TargetResponseTime")):
        cw.put_metric_alarm(AlarmName=name, Namespace="AWS/ApplicationELB", MetricName=metric, Statistic="Sum",
                            Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanThreshold")
        cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="seeded")
        alarms.append(name)
    return {
        "endpoint": endpoint, "region": REGION, "vpc": vpc, "subnets": subnets, "securityGroup": sg,
        "loadBalancer": alb["LoadBalancerArn"], "production": production, "test": test, "targetGroups": groups,
        "cluster": "shop", "service": "web", "blueTaskSet": blue["taskSetArn"], "alarms": alarms,
    }


def git(repo, *args):
    command = ["git", "-C", str(repo), "-c", "user.name=Sandbox", "-c", "user.email=sandbox@example.com", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def write_repository(repo, environment):
    (repo / ".ferry").mkdir(parents=True, exist_ok=True)
    (repo / "ecs").mkdir(exist_ok=True)
    groups = environment["targetGroups"]
    (repo / ".ferry" / "web.yaml").write_text(MANIFEST.format(
        production=environment["production"], test=environment["test"], blue=groups[0], green=groups[1]))
    (repo / "ecs" / "web.json").write_text(json.dumps(TASK_DEFINITION, indent=2) + "\n")
    (repo / ".gitignore").write_text(".ferry-sandbox/\n")
    try:
        if not (repo / ".git").exists():
            git(repo, "init", "-q", "-b", "main")
        git(repo, "add", ".ferry", "ecs", ".gitignore")
        git(repo, "commit", "-qm", "Deploy the storefront with Ferry")
    except (OSError, subprocess.CalledProcessError):
        pass  # No Git: `ferry deploy --local` deploys the files as they are.


def main():
    endpoint, directory = sys.argv[1], Path(sys.argv[2])
    environment = seed(endpoint)
    write_repository(directory, environment)
    state = directory / ".ferry-sandbox"
    state.mkdir(parents=True, exist_ok=True)
    (state / "environment.json").write_text(json.dumps(environment, indent=2) + "\n")


if __name__ == "__main__":
    main()
