"""Settings: one typed model per stack, read from the function's environment.

Validated on cold start (never at import), so tests import freely and a bad
deployment fails with a message that names the variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from weightshift.errors import InvalidPlan
from weightshift.models import Color, MetricCheck, SideSpec, route_key

# arn:<partition>:ecs:<region>:<account>:cluster/<name>, as the template builds it.
CLUSTER_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):ecs:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):cluster/(?P<name>[A-Za-z0-9_-]{1,255})$"
)


# What a custom check's queries may name, resolved for each deployment (plan.build_plan):
# the side colours, their ECS services and their ALBs' CloudWatch dimension (app/<name>/<id>).
PLACEHOLDERS = (
    "target",
    "live",
    "targetService",
    "liveService",
    "targetLoadBalancer",
    "liveLoadBalancer",
    "cluster",
)
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z]+)\}")


@dataclass(frozen=True)
class StackScope:
    """Where the stack lives: the only account, region and cluster whose events it acts on."""

    partition: str
    region: str
    account: str
    cluster_arn: str


class RouteConfig(BaseModel):
    """What the template's parameters say about one blue/green pair."""

    model_config = ConfigDict(frozen=True)

    cluster_name: str = Field(min_length=1)
    # Only the trigger gets it (the template's CLUSTER_ARN): see load_trigger_config.
    cluster_arn: str | None = None
    blue_service_name: str = Field(min_length=1)
    green_service_name: str = Field(min_length=1)
    hosted_zone_id: str = Field(min_length=1)
    record_name: str = Field(min_length=1)
    blue_load_balancer_arn: str = Field(min_length=1)
    green_load_balancer_arn: str = Field(min_length=1)
    blue_set_identifier: str = "blue"
    green_set_identifier: str = "green"
    schedule: str = "Canary10Percent5Minutes"
    step_interval_seconds: int = Field(default=60, ge=1)
    poll_seconds: int = Field(default=300, ge=1)
    readiness_timeout_seconds: int = Field(default=600, ge=0)
    route_busy_timeout_seconds: int = Field(default=3600, ge=0)
    alarm_names: list[str] = Field(default_factory=list)
    blue_health_check_id: str | None = None
    green_health_check_id: str | None = None
    min_requests: int = Field(default=50, ge=1)
    max_error_rate_ratio: float = Field(default=2.0, gt=0)
    max_polls_without_traffic: int = Field(default=0, ge=0)
    pace: Literal["Fixed", "Evidence"] = "Fixed"  # evidence.py
    min_observed_share: float = Field(default=0.0, ge=0.0, le=1.0)  # health.Observed; 0: off
    latency_percentile: Literal["p90", "p99", "off"] = "p99"  # health.latency_check
    max_latency_ratio: float = Field(default=2.0, gt=0)
    # MetricChecks: a JSON list of custom gates (models.MetricCheck), placeholders unresolved.
    metric_checks: list[MetricCheck] = Field(default_factory=list, max_length=10)
    # The stack's own 5xx comparison alarms (template: <Color>ErrorRateAlarm), one per side:
    # ALARM when that side's 5xx rate is worse than the other's. A deployment watches its target's
    # (watched_alarms).
    blue_error_rate_alarm: str | None = None
    green_error_rate_alarm: str | None = None
    # ... and response-time comparison alarms (<Color>LatencyAlarm; none with LatencyPercentile off).
    blue_latency_alarm: str | None = None
    green_latency_alarm: str | None = None
    # The stack's ARN (the template's STACK_ID): the owner its record's ownership record must name.
    stack_id: str | None = None

    @field_validator("alarm_names", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [a.strip() for a in value.split(",") if a.strip()]
        return value

    @field_validator("metric_checks", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return []
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc.msg} at character {exc.pos})") from None
        if not isinstance(parsed, list):
            raise ValueError("expected a JSON list of checks")
        return parsed

    @field_validator("metric_checks")
    @classmethod
    def _placeholders(cls, checks: list[MetricCheck]) -> list[MetricCheck]:
        names = [c.name for c in checks]
        if len(set(names)) != len(names):
            raise ValueError(f"check names repeat: {names}")
        for check in checks:
            unknown = sorted(set(PLACEHOLDER_RE.findall(json.dumps(check.metrics))) - set(PLACEHOLDERS))
            if unknown:
                raise ValueError(
                    f"check {check.name!r}: unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                    f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
                )
        return checks

    @field_validator(
        "blue_health_check_id",
        "green_health_check_id",
        "cluster_arn",
        "stack_id",
        "blue_error_rate_alarm",
        "green_error_rate_alarm",
        "blue_latency_alarm",
        "green_latency_alarm",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @property
    def route_key(self) -> str:
        return route_key(self.hosted_zone_id, self.record_name)

    @field_validator("cluster_arn")
    @classmethod
    def _cluster_arn_of_the_cluster(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        match = CLUSTER_ARN_RE.match(value)
        if match is None:
            raise ValueError(
                f"{value!r} is not an ECS cluster ARN (arn:<partition>:ecs:<region>:<account>:cluster/<name>)"
            )
        if match["name"] != info.data.get("cluster_name"):
            raise ValueError(f"{value} does not name the cluster {info.data.get('cluster_name')!r}")
        return value

    @property
    def scope(self) -> StackScope | None:
        """The stack's account, region and cluster, from configuration (never from an event)."""
        match = CLUSTER_ARN_RE.match(self.cluster_arn or "")
        if match is None:
            return None
        return StackScope(match["partition"], match["region"], match["account"], match[0])

    def side(self, color: Color) -> SideSpec:
        if color == "blue":
            return SideSpec(
                color="blue",
                set_identifier=self.blue_set_identifier,
                service_name=self.blue_service_name,
                load_balancer_arn=self.blue_load_balancer_arn,
                health_check_id=self.blue_health_check_id,
            )
        return SideSpec(
            color="green",
            set_identifier=self.green_set_identifier,
            service_name=self.green_service_name,
            load_balancer_arn=self.green_load_balancer_arn,
            health_check_id=self.green_health_check_id,
        )

    def watched_alarms(self, target: Color) -> list[str]:
        """The alarms a deployment toward ``target`` watches: AlarmNames, and the stack's own
        5xx comparison alarm of that side."""
        own = (
            (self.blue_error_rate_alarm, self.blue_latency_alarm)
            if target == "blue"
            else (self.green_error_rate_alarm, self.green_latency_alarm)
        )
        return [*self.alarm_names, *(a for a in own if a and a not in self.alarm_names)]

    @property
    def own_alarms(self) -> list[str]:
        """The stack's own comparison alarms, of both sides."""
        return [
            a
            for a in (
                self.blue_error_rate_alarm,
                self.green_error_rate_alarm,
                self.blue_latency_alarm,
                self.green_latency_alarm,
            )
            if a
        ]

    def color_of_group(self, group: str) -> Color | None:
        if group == f"service:{self.blue_service_name}":
            return "blue"
        if group == f"service:{self.green_service_name}":
            return "green"
        return None


ENV_NAMES = {
    "cluster_name": "CLUSTER_NAME",
    "cluster_arn": "CLUSTER_ARN",
    "blue_service_name": "BLUE_SERVICE_NAME",
    "green_service_name": "GREEN_SERVICE_NAME",
    "hosted_zone_id": "HOSTED_ZONE_ID",
    "record_name": "RECORD_NAME",
    "blue_load_balancer_arn": "BLUE_LOAD_BALANCER_ARN",
    "green_load_balancer_arn": "GREEN_LOAD_BALANCER_ARN",
    "blue_set_identifier": "BLUE_SET_IDENTIFIER",
    "green_set_identifier": "GREEN_SET_IDENTIFIER",
    "schedule": "SCHEDULE",
    "step_interval_seconds": "STEP_INTERVAL_SECONDS",
    "poll_seconds": "HEALTH_POLL_SECONDS",
    "readiness_timeout_seconds": "READINESS_TIMEOUT_SECONDS",
    "route_busy_timeout_seconds": "ROUTE_BUSY_TIMEOUT_SECONDS",
    "alarm_names": "ALARM_NAMES",
    "blue_health_check_id": "BLUE_HEALTH_CHECK_ID",
    "green_health_check_id": "GREEN_HEALTH_CHECK_ID",
    "min_requests": "MIN_REQUESTS",
    "max_error_rate_ratio": "MAX_ERROR_RATE_RATIO",
    "max_polls_without_traffic": "MAX_POLLS_WITHOUT_TRAFFIC",
    "pace": "PACE",
    "min_observed_share": "MIN_OBSERVED_SHARE",
    "latency_percentile": "LATENCY_PERCENTILE",
    "max_latency_ratio": "MAX_LATENCY_RATIO",
    "metric_checks": "METRIC_CHECKS",
    "blue_error_rate_alarm": "BLUE_ERROR_RATE_ALARM",
    "green_error_rate_alarm": "GREEN_ERROR_RATE_ALARM",
    "blue_latency_alarm": "BLUE_LATENCY_ALARM",
    "green_latency_alarm": "GREEN_LATENCY_ALARM",
    "stack_id": "STACK_ID",
}


# The template's parameter of each field: what the deploy-time check's properties are keyed by.
PARAMETER_NAMES = {
    "cluster_name": "ClusterName",
    "blue_service_name": "BlueServiceName",
    "green_service_name": "GreenServiceName",
    "hosted_zone_id": "HostedZoneId",
    "record_name": "RecordName",
    "blue_load_balancer_arn": "BlueLoadBalancerArn",
    "green_load_balancer_arn": "GreenLoadBalancerArn",
    "blue_set_identifier": "BlueSetIdentifier",
    "green_set_identifier": "GreenSetIdentifier",
    "schedule": "Schedule",
    "step_interval_seconds": "StepIntervalSeconds",
    "poll_seconds": "HealthPollSeconds",
    "readiness_timeout_seconds": "ReadinessTimeoutSeconds",
    "route_busy_timeout_seconds": "RouteBusyTimeoutSeconds",
    "alarm_names": "AlarmNames",
    "blue_health_check_id": "BlueHealthCheckId",
    "green_health_check_id": "GreenHealthCheckId",
    "min_requests": "MinRequests",
    "max_error_rate_ratio": "MaxErrorRateRatio",
    "max_polls_without_traffic": "MaxPollsWithoutTraffic",
    "pace": "Pace",
    "min_observed_share": "MinObservedShare",
    "latency_percentile": "LatencyPercentile",
    "max_latency_ratio": "MaxLatencyRatio",
    "metric_checks": "MetricChecks",
}


class Resources(BaseModel):
    """Names of Weightshift's own resources (table, state machine, topic, bus)."""

    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=1)
    state_machine_arn: str = ""
    topic_arn: str = ""
    event_bus_name: str = "default"


RESOURCE_ENV = {
    "table_name": "TABLE_NAME",
    "state_machine_arn": "STATE_MACHINE_ARN",
    "topic_arn": "TOPIC_ARN",
    "event_bus_name": "EVENT_BUS_NAME",
}


def _read(names: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    return {field: environ[env] for field, env in names.items() if env in environ}


def load_route_config(environ: Mapping[str, str]) -> RouteConfig:
    try:
        return RouteConfig.model_validate(_read(ENV_NAMES, environ))
    except ValidationError as exc:
        raise InvalidPlan(f"bad Weightshift configuration: {_explain(exc, ENV_NAMES)}") from exc


def load_parameters(values: Mapping[str, Any]) -> RouteConfig:
    """The configuration from the template's parameters by name (the deploy-time check's
    custom resource properties, which CloudFormation passes as strings)."""
    try:
        return RouteConfig.model_validate(_read(PARAMETER_NAMES, {k: str(v) for k, v in values.items()}))
    except ValidationError as exc:
        raise InvalidPlan(_explain(exc, PARAMETER_NAMES)) from exc


def load_trigger_config(environ: Mapping[str, str]) -> RouteConfig:
    """The trigger's configuration: the route, plus the scope its events must come from."""
    config = load_route_config(environ)
    if config.scope is None:
        raise InvalidPlan(
            f"bad Weightshift configuration: {ENV_NAMES['cluster_arn']}: required by the trigger "
            "(the ARN of the stack's ECS cluster, which fixes the partition, region and account)"
        )
    return config


def load_resources(environ: Mapping[str, str]) -> Resources:
    try:
        return Resources.model_validate(_read(RESOURCE_ENV, environ))
    except ValidationError as exc:
        raise InvalidPlan(f"bad Weightshift configuration: {_explain(exc, RESOURCE_ENV)}") from exc


def _explain(exc: ValidationError, names: Mapping[str, str]) -> str:
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"][1:])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{names.get(field, field)}{where}: {msg}")
    return "; ".join(parts)
