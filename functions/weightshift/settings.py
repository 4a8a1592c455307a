"""Settings: one typed model per stack, read from the function's environment.

Validated on cold start (never at import), so tests import freely and a bad
deployment fails with a message that names the variable.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from weightshift.errors import InvalidPlan
from weightshift.models import Color, SideSpec, route_key


class RouteConfig(BaseModel):
    """What the template's parameters say about one blue/green pair."""

    model_config = ConfigDict(frozen=True)

    cluster_name: str = Field(min_length=1)
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
    poll_seconds: int = Field(default=15, ge=1)
    readiness_timeout_seconds: int = Field(default=600, ge=0)
    route_busy_timeout_seconds: int = Field(default=3600, ge=0)
    alarm_names: list[str] = Field(default_factory=list)
    blue_health_check_id: str | None = None
    green_health_check_id: str | None = None
    min_requests: int = Field(default=50, ge=1)
    max_error_rate_ratio: float = Field(default=2.0, gt=0)
    max_polls_without_traffic: int = Field(default=0, ge=0)

    @field_validator("alarm_names", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [a.strip() for a in value.split(",") if a.strip()]
        return value

    @field_validator("blue_health_check_id", "green_health_check_id", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @property
    def route_key(self) -> str:
        return route_key(self.hosted_zone_id, self.record_name)

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

    def color_of_group(self, group: str) -> Color | None:
        if group == f"service:{self.blue_service_name}":
            return "blue"
        if group == f"service:{self.green_service_name}":
            return "green"
        return None


ENV_NAMES = {
    "cluster_name": "CLUSTER_NAME",
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


def load_resources(environ: Mapping[str, str]) -> Resources:
    try:
        return Resources.model_validate(_read(RESOURCE_ENV, environ))
    except ValidationError as exc:
        raise InvalidPlan(f"bad Weightshift configuration: {_explain(exc, RESOURCE_ENV)}") from exc


def _explain(exc: ValidationError, names: Mapping[str, str]) -> str:
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        parts.append(f"{names.get(field, field)}: {err['msg']}")
    return "; ".join(parts)
