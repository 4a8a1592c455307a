"""The surroundings a Weightshift user already has, built in the emulator.

A hosted zone, two ALBs with target groups and healthy targets, an ECS cluster
with a blue and a green service, a CloudWatch alarm per side and a Route 53
health check per side. Used by the tests and by ``make demo``.
"""

from __future__ import annotations

import functools
import json
import os
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from moto.moto_api._internal import mock_random

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
# ``build_surroundings(c, seed=LOCAL_SEED)`` in a fresh emulator makes the same ids every run (zone,
# load balancers, health checks): samconfig.toml's [local] parameter_overrides are those ids, so
# `sam deploy --config-env local` fits the surroundings `make emulator` builds. A test keeps them in step.
LOCAL_SEED = 20261120


@dataclass
class Surroundings:
    cluster: str
    blue_service: str
    green_service: str
    zone_id: str
    zone_name: str
    record_name: str
    blue_lb_arn: str
    green_lb_arn: str
    blue_tg_arn: str
    green_tg_arn: str
    blue_alarm: str
    green_alarm: str
    blue_health_check: str
    green_health_check: str
    task_definitions: dict[str, str] = field(default_factory=dict)

    def parameters(self, **overrides: Any) -> dict[str, str]:
        """The template's parameters for this pair (names are the product interface)."""
        params = {
            "ClusterName": self.cluster,
            "BlueServiceName": self.blue_service,
            "GreenServiceName": self.green_service,
            "HostedZoneId": self.zone_id,
            "RecordName": self.record_name,
            "BlueLoadBalancerArn": self.blue_lb_arn,
            "GreenLoadBalancerArn": self.green_lb_arn,
            "BlueSetIdentifier": "blue",
            "GreenSetIdentifier": "green",
            "Schedule": "5,25,50,100",
            "StepIntervalSeconds": "60",
            "HealthPollSeconds": "15",
            "ReadinessTimeoutSeconds": "120",
            "AlarmNames": f"{self.blue_alarm},{self.green_alarm}",
            "BlueHealthCheckId": self.blue_health_check,
            "GreenHealthCheckId": self.green_health_check,
        }
        params.update({k: str(v) for k, v in overrides.items()})
        return params

    def service(self, color: str) -> str:
        return self.blue_service if color == "blue" else self.green_service

    def cluster_arn(self) -> str:
        return f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{self.cluster}"


# Weightshift's own services and its surroundings'.
SERVICES = (
    "route53",
    "elbv2",
    "ec2",
    "ecs",
    "cloudwatch",
    "dynamodb",
    "stepfunctions",
    "lambda",
    "iam",
    "sns",
    "events",
    "sqs",
    "s3",
    "cloudformation",
    "logs",
)


class Clients(dict[str, Any]):
    """boto3 clients by service name, each made on first use (making all 15 up
    front costs most of a second per test)."""

    def __init__(self, session: boto3.Session, endpoint_url: str | None) -> None:
        super().__init__()
        self._session = session
        self._endpoint_url = endpoint_url

    def __missing__(self, name: str) -> Any:
        if name not in SERVICES:
            raise KeyError(name)
        made = self._session.client(name, endpoint_url=self._endpoint_url)  # type: ignore[call-overload]
        self[name] = made
        return made


@functools.cache
def _models() -> Any:
    """botocore's model loader, shared by every session this process makes: each service's
    model (megabytes of JSON) is parsed once, not once per test (the CLI does the same)."""
    return botocore.loaders.create_loader()


def clients(endpoint_url: str | None = None, session: boto3.Session | None = None) -> dict[str, Any]:
    if session is None:
        core = botocore.session.get_session()
        core.register_component("data_loader", _models())
        session = boto3.Session(botocore_session=core, region_name=REGION)
    return Clients(session, endpoint_url)


def seed_ids(c: dict[str, Any], seed: int) -> None:
    """Seed moto's id generator, so the resources made next get the same ids whenever the same calls
    follow (moto's documented ``/moto-api/seed``; in-process, the same generator directly)."""
    endpoint = getattr(c, "_endpoint_url", None)
    if not endpoint:
        mock_random.seed(seed)
        return
    if not str(endpoint).startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError(f"seed_ids only talks to a local emulator, not {endpoint}")
    request = urllib.request.Request(f"{endpoint}/moto-api/seed?a={int(seed)}", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a local http URL, checked above
        response.read()


def build_surroundings(
    c: dict[str, Any], app: str = "shop", zone_name: str = "example.com", seed: int | None = None
) -> Surroundings:
    """The surroundings; with ``seed``, moto's ids are seeded first (see :data:`LOCAL_SEED`)."""
    if seed is not None:
        # moto makes a region's EC2 backend (default VPC, subnets: random ids) on first use: make it
        # now, so the seeded sequence starts at the same point whatever the emulator served before.
        c["ec2"].describe_vpcs()
        seed_ids(c, seed)
    zone_id = (
        c["route53"]
        .create_hosted_zone(Name=zone_name, CallerReference=f"{app}-{time.time()}")["HostedZone"]["Id"]
        .split("/")[-1]
    )
    vpc = c["ec2"].create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        c["ec2"].create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]
    lbs, tgs = {}, {}
    for color in ("blue", "green"):
        lb = c["elbv2"].create_load_balancer(Name=f"{app}-{color}", Subnets=subnets, Type="application")
        lbs[color] = lb["LoadBalancers"][0]["LoadBalancerArn"]
        tg = c["elbv2"].create_target_group(
            Name=f"{app}-{color}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        tgs[color] = tg
        c["elbv2"].create_listener(
            LoadBalancerArn=lbs[color],
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
        )
        c["elbv2"].register_targets(
            TargetGroupArn=tg, Targets=[{"Id": f"10.0.0.{10 + i}", "Port": 80} for i in range(2)]
        )
    c["ecs"].create_cluster(clusterName=app)
    task_defs = {}
    for color in ("blue", "green"):
        td = c["ecs"].register_task_definition(
            family=f"{app}-{color}",
            containerDefinitions=[{"name": "web", "image": f"public.ecr.aws/nginx/nginx:1.27-{color}", "memory": 512}],
        )["taskDefinition"]["taskDefinitionArn"]
        task_defs[color] = td
        # moto starts services with 0 running tasks unless told otherwise.
        previous = os.environ.get("MOTO_ECS_SERVICE_RUNNING")
        os.environ["MOTO_ECS_SERVICE_RUNNING"] = "2"
        try:
            c["ecs"].create_service(
                cluster=app,
                serviceName=f"{app}-{color}",
                taskDefinition=td,
                desiredCount=2,
                # Each side's tasks register in its own ALB's target group (the configuration check asks).
                loadBalancers=[{"targetGroupArn": tgs[color], "containerName": "web", "containerPort": 80}],
            )
        finally:
            if previous is None:
                os.environ.pop("MOTO_ECS_SERVICE_RUNNING", None)
            else:
                os.environ["MOTO_ECS_SERVICE_RUNNING"] = previous
    alarms = {}
    for color in ("blue", "green"):
        name = f"{app}-{color}-5xx"
        c["cloudwatch"].put_metric_alarm(
            AlarmName=name,
            MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=10,
            ComparisonOperator="GreaterThanThreshold",
            Dimensions=[{"Name": "LoadBalancer", "Value": lbs[color].split(":loadbalancer/")[-1]}],
        )
        alarms[color] = name
    checks = {}
    for color in ("blue", "green"):
        checks[color] = c["route53"].create_health_check(
            CallerReference=f"{app}-{color}-{time.time()}",
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": f"{color}.{zone_name}",
                "Port": 443,
                "ResourcePath": "/health",
            },
        )["HealthCheck"]["Id"]
    return Surroundings(
        cluster=app,
        blue_service=f"{app}-blue",
        green_service=f"{app}-green",
        zone_id=zone_id,
        zone_name=zone_name,
        record_name=f"{app}.{zone_name}",
        blue_lb_arn=lbs["blue"],
        green_lb_arn=lbs["green"],
        blue_tg_arn=tgs["blue"],
        green_tg_arn=tgs["green"],
        blue_alarm=alarms["blue"],
        green_alarm=alarms["green"],
        blue_health_check=checks["blue"],
        green_health_check=checks["green"],
        task_definitions=task_defs,
    )


def set_weighted_pair(c: dict[str, Any], s: Surroundings, blue: int, green: int) -> None:
    """Create (or set) the weighted alias pair to the two ALBs, the way a user already has it."""
    changes = []
    for ident, lb, weight in (("blue", s.blue_lb_arn, blue), ("green", s.green_lb_arn, green)):
        alb = c["elbv2"].describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"][0]
        changes.append(
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": s.record_name + ".",
                    "Type": "A",
                    "SetIdentifier": ident,
                    "Weight": weight,
                    "AliasTarget": {
                        "HostedZoneId": alb["CanonicalHostedZoneId"],
                        "DNSName": alb["DNSName"],
                        "EvaluateTargetHealth": True,
                    },
                },
            }
        )
    c["route53"].change_resource_record_sets(HostedZoneId=s.zone_id, ChangeBatch={"Changes": changes})


def execution_history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """An execution's whole history, every page."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def status_change_event(sfn: Any, execution_arn: str) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event AWS delivers for an ended
    execution (as the status rule's target receives it), from DescribeExecution."""
    desc = sfn.describe_execution(executionArn=execution_arn)
    return {
        "version": "0",
        "id": "4e2bd5b8-5d4b-4e3c-9f0a-1b2c3d4e5f60",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "time": "2026-11-20T10:21:03Z",
        "region": REGION,
        "resources": [execution_arn],
        "detail": {
            "executionArn": execution_arn,
            "stateMachineArn": desc["stateMachineArn"],
            "name": desc["name"],
            "status": desc["status"],
            "startDate": int(desc["startDate"].timestamp() * 1000),
            "stopDate": int(desc["stopDate"].timestamp() * 1000) if desc.get("stopDate") else None,
            "input": desc["input"],
            "inputDetails": {"included": True},
            "output": desc.get("output"),
            "outputDetails": {"included": True} if desc.get("output") else None,
            "error": desc.get("error"),
            "cause": desc.get("cause"),
        },
    }


def weights(c: dict[str, Any], s: Surroundings) -> dict[str, int]:
    """The pair's weights by SetIdentifier, as Route 53 shows them now."""
    records = c["route53"].list_resource_record_sets(HostedZoneId=s.zone_id)["ResourceRecordSets"]
    name = s.record_name.rstrip(".") + "."
    return {r["SetIdentifier"]: int(r["Weight"]) for r in records if r["Name"] == name and "Weight" in r}


def task_event(
    s: Surroundings,
    color: str,
    task_id: str,
    deployment: str,
    version: int = 2,
    last_status: str = "RUNNING",
    task_definition: str | None = None,
) -> dict[str, Any]:
    """A real-format "ECS Task State Change" event (as EventBridge delivers it)."""
    cluster_arn = s.cluster_arn()
    task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{s.cluster}/{task_id}"
    td = (
        task_definition
        or s.task_definitions.get(color)
        or (f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{s.service(color)}:1")
    )
    template = json.loads((ROOT / "events" / "green-task-running.json").read_text())
    template["id"] = f"{task_id}-{version}-{last_status}"
    template["resources"] = [task_arn]
    detail = template["detail"]
    detail.update(
        {
            "clusterArn": cluster_arn,
            "taskArn": task_arn,
            "taskDefinitionArn": td,
            "group": f"service:{s.service(color)}",
            "startedBy": deployment,
            "lastStatus": last_status,
            "version": version,
        }
    )
    if last_status == "STOPPED":
        detail["desiredStatus"] = "STOPPED"
    for container in detail.get("containers", []):
        container["taskArn"] = task_arn
        container["lastStatus"] = last_status
    return dict(template)


def release_green_with_events(c: dict[str, Any], s: Surroundings, image: str, deployment: str, tasks: int = 2) -> str:
    """What ECS does for a new deployment of green, as far as Weightshift can see, without
    the ECS simulation (``ecs_sim``): the service runs a new task definition with ``image``,
    and each new task's RUNNING event reaches the default bus. Returns the task definition."""
    task_definition = str(
        c["ecs"].register_task_definition(
            family="shop-green", containerDefinitions=[{"name": "web", "image": image, "memory": 512}]
        )["taskDefinition"]["taskDefinitionArn"]
    )
    c["ecs"].update_service(cluster=s.cluster, service=s.green_service, taskDefinition=task_definition)
    events = [task_event(s, "green", f"task{i:02d}", deployment, task_definition=task_definition) for i in range(tasks)]
    entries = [
        {
            "Source": e["source"],
            "DetailType": e["detail-type"],
            "Detail": json.dumps(e["detail"]),
            "Resources": e["resources"],
        }
        for e in events
    ]
    failed = c["events"].put_events(Entries=entries)["FailedEntryCount"]
    if failed:
        raise RuntimeError(f"{failed} task events were not put on the bus")
    return task_definition
