"""Typed shapes shared by every function: the ECS event, the plan, results.

The plan is the workflow's whole input. It is self-contained: copying it into
"New execution" in the Step Functions console re-runs the deployment.
JSON field names are camelCase so that they read well in the console.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

Color = Literal["blue", "green"]


class Camel(BaseModel):
    # ``extra="forbid"``: an execution input with a field Weightshift does not know is
    # refused, never silently ignored (a typo'd or invented gate must not look accepted).
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


# ---------------------------------------------------------------- ECS event
class EcsTaskDetail(BaseModel):
    """The parts of an "ECS Task State Change" detail that Weightshift reads."""

    model_config = ConfigDict(extra="ignore")

    # The upper bounds make junk that DynamoDB would refuse (a key over 2048 bytes, an
    # item over 400 KB, a number over 38 digits) "malformed" here, instead of an error
    # that EventBridge retries for a day. Real values are far shorter: a task ARN is
    # about 100 ASCII characters (500 even in 4-byte UTF-8 keeps TASK#<arn> under 2048
    # bytes), ``startedBy`` at most 128, and ``version`` is a 64-bit counter.
    clusterArn: str = Field(min_length=1, max_length=2048)  # noqa: N815 - ECS's own field name
    taskArn: str = Field(min_length=1, max_length=500)  # noqa: N815
    taskDefinitionArn: str = Field(min_length=1, max_length=2048)  # noqa: N815
    group: str = Field(min_length=1, max_length=2048)
    lastStatus: str = Field(min_length=1)  # noqa: N815
    version: int = Field(ge=0, le=2**63 - 1)
    startedBy: str | None = Field(default=None, max_length=1024)  # noqa: N815
    desiredStatus: str | None = None  # noqa: N815


class EcsTaskEvent(EventBridgeModel):
    detail: EcsTaskDetail


@dataclass(frozen=True)
class EcsDeployment:
    """One entry of an ECS service's ``deployments`` (DescribeServices)."""

    id: str
    status: str  # PRIMARY | ACTIVE | INACTIVE
    rollout_state: str  # IN_PROGRESS | COMPLETED | FAILED | "" (not reported)
    created_at: datetime | None


# ---------------------------------------------------------------- the plan
def alb_dimension(load_balancer_arn: str) -> str:
    """An ALB's CloudWatch ``LoadBalancer`` dimension: the ARN's last part, app/<name>/<id>."""
    return load_balancer_arn.split(":loadbalancer/", 1)[-1]


class SideSpec(Camel):
    color: Color
    set_identifier: str = Field(min_length=1, max_length=128)
    service_name: str = Field(min_length=1)
    load_balancer_arn: str = Field(min_length=1)
    health_check_id: str | None = None


class PlanStep(Camel):
    index: int = Field(ge=1)
    target_weight: int
    live_weight: int
    bake_seconds: int = Field(ge=1)


# A custom check fails when its value compares to the threshold like this (CloudWatch's
# own ComparisonOperator names, so a check reads like the alarm it would be).
Comparison = Literal[
    "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
]
QUERY_ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]{0,254}$")  # GetMetricData: "must start with a lowercase letter"


class MetricCheck(Camel):
    """One custom gate (the template's ``MetricChecks``): CloudWatch metric queries, as
    GetMetricData takes them, whose one returned series must not cross ``threshold``.
    ``noData`` says what a poll without a data point means, explicitly: ``fail`` the gate,
    ``pass`` it (with a note), or ``wait`` (the bake does not end without data, and fails
    after at most one more bake of waiting)."""

    name: str = Field(min_length=1, max_length=64)
    metrics: list[dict[str, Any]] = Field(min_length=1, max_length=20)
    threshold: float
    comparison: Comparison
    no_data: Literal["fail", "pass", "wait"]

    @field_validator("metrics")
    @classmethod
    def _queries(cls, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = []
        for i, query in enumerate(queries):
            ident = query.get("Id")
            if not isinstance(ident, str) or not QUERY_ID_RE.match(ident):
                raise ValueError(f"metrics[{i}].Id {ident!r}: expected a lowercase letter, then letters, digits or _")
            if ("MetricStat" in query) == ("Expression" in query):
                raise ValueError(f"metrics[{i}] ({ident}): give exactly one of MetricStat and Expression")
            unknown = set(query) - {"Id", "MetricStat", "Expression", "Label", "ReturnData", "Period"}
            if unknown:
                raise ValueError(f"metrics[{i}] ({ident}): unknown keys {sorted(unknown)}")
            ids.append(ident)
        if len(set(ids)) != len(ids):
            raise ValueError(f"query Ids repeat: {ids}")
        returned = [q["Id"] for q in queries if q.get("ReturnData", True) is not False]
        if len(returned) != 1:
            raise ValueError(
                f"exactly one query must return data (set ReturnData false on the others); {returned or 'none'} do"
            )
        return queries

    @property
    def returned_id(self) -> str:
        return str(next(q["Id"] for q in self.metrics if q.get("ReturnData", True) is not False))


class HealthSettings(Camel):
    alarm_names: list[str] = Field(default_factory=list)
    min_requests: int = Field(default=50, ge=1)
    max_error_rate_ratio: float = Field(default=2.0, gt=0)
    max_no_verdict_polls: int = Field(default=0, ge=0)
    pace: Literal["Fixed", "Evidence"] = "Fixed"  # evidence.py: a sequential test may end a bake early
    # A bake waits (one more bake at most) until the target's observed share reaches this
    # fraction of its intended share; 0: off.
    min_observed_share: float = Field(default=0.0, ge=0.0, le=1.0)
    # The target's TargetResponseTime percentile against the live side's (health.latency_check).
    latency_percentile: Literal["p90", "p99", "off"] = "p99"
    max_latency_ratio: float = Field(default=2.0, gt=0)
    metric_checks: list[MetricCheck] = Field(default_factory=list, max_length=10)


class Plan(Camel):
    """Everything one canary needs. Built by the trigger, checked by preflight."""

    plan_version: Literal[1] = 1
    deployment_id: str = Field(min_length=1, max_length=80)
    ecs_deployment: str = Field(min_length=1)
    task_definition_arn: str = Field(min_length=1)
    cluster_name: str = Field(min_length=1)
    hosted_zone_id: str = Field(min_length=1)
    record_name: str = Field(min_length=1)
    target: SideSpec
    live: SideSpec
    schedule: str
    steps: list[PlanStep]
    step_interval_seconds: int = Field(ge=1)
    poll_seconds: int = Field(ge=1)
    readiness_timeout_seconds: int = Field(ge=0)
    timeout_seconds: int = Field(ge=1)
    route_busy_timeout_seconds: int = Field(default=3600, ge=0)
    health: HealthSettings = Field(default_factory=HealthSettings)

    @property
    def route_key(self) -> str:
        return route_key(self.hosted_zone_id, self.record_name)


def route_key(hosted_zone_id: str, record_name: str) -> str:
    return f"ROUTE#{hosted_zone_id}#{normalize_record_name(record_name)}"


def normalize_record_name(name: str) -> str:
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


class Weights(Camel):
    """Weights of the pair, keyed by color."""

    blue: int
    green: int

    def of(self, color: Color) -> int:
        return self.blue if color == "blue" else self.green

    @classmethod
    def pair(cls, target: Color, target_weight: int, live_weight: int) -> Weights:
        if target == "green":
            return cls(blue=live_weight, green=target_weight)
        return cls(blue=target_weight, green=live_weight)
