"""What the workflow and the trigger need from AWS, one ``Protocol`` per port.

adapters/ holds the implementations on boto3; tests/fakes/ holds in-memory ones with
the same conditional semantics, so the safety rules are unit-tested in milliseconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from weightshift.adapters.ecs_elb import ServiceState, TargetGroupHealth
from weightshift.adapters.route53 import RecordPair
from weightshift.models import Plan, SideSpec, Weights
from weightshift.ownership import Owner
from weightshift.records import Change, Claim, DeploymentRecord, LockHolder


class RecordStore(Protocol):
    """The deployments table: records, the route lock, task versions."""

    def note_task_version(self, task_arn: str, version: int, now: int) -> bool: ...

    def claim(self, plan: Plan, execution_name: str, now_iso: str) -> Claim: ...

    def get(self, route: str, deployment_id: str) -> DeploymentRecord | None: ...

    def list_route(self, route: str) -> list[DeploymentRecord]: ...

    def apply(self, route: str, deployment_id: str, change: Change) -> bool: ...

    def acquire(self, route: str, deployment_id: str, execution_arn: str, now_iso: str) -> LockHolder | None: ...

    def lock_holder(self, route: str) -> LockHolder | None: ...

    def take_over(
        self, route: str, old_execution_arn: str, deployment_id: str, execution_arn: str, now_iso: str
    ) -> bool: ...

    def fence(
        self, route: str, holder_arn: str, actor: str, now_iso: str, stale_before_iso: str, *, after_writes: bool = True
    ) -> bool: ...

    def lease(self, route: str, execution_arn: str, now_iso: str) -> bool: ...

    def unlease(self, route: str, execution_arn: str) -> None: ...

    def watch(
        self, route: str, execution_arn: str, task_token: str, step: int, now_iso: str, alarms: list[str]
    ) -> bool: ...

    def release(self, route: str, execution_arn: str) -> None: ...


class Dns(Protocol):
    """Route 53: the weighted pair and its health checks."""

    def check_zone(self, hosted_zone_id: str, record_name: str) -> None: ...

    def find_pair(self, hosted_zone_id: str, record_name: str, blue_id: str, green_id: str) -> RecordPair | None: ...

    def change_weights(self, pair: RecordPair, weights: Weights, hosted_zone_id: str, comment: str) -> str: ...

    def health_check_exists(self, health_check_id: str) -> bool: ...

    def owner(self, hosted_zone_id: str, record_name: str) -> Owner | None: ...

    def create_pair(
        self,
        hosted_zone_id: str,
        record_name: str,
        sides: dict[str, tuple[SideSpec, dict[str, str]]],
        weights: Weights,
        comment: str,
    ) -> str: ...

    def health_check_healthy_fraction(self, health_check_id: str) -> float: ...


class Services(Protocol):
    """ECS services and their ALBs."""

    def service(self, cluster: str, service: str) -> ServiceState: ...

    def missing_services(self, cluster: str, services: list[str]) -> list[str]: ...

    def target_groups(self, load_balancer_arn: str) -> list[TargetGroupHealth]: ...

    def alias_target(self, load_balancer_arn: str) -> dict[str, str]: ...


class Metrics(Protocol):
    """CloudWatch alarms, ALB counts, and Route 53 health-check metrics (read in us-east-1)."""

    def alarm_states(self, names: list[str]) -> dict[str, str]: ...

    def alb_counts(self, load_balancer_arn: str, now: datetime, window_seconds: int) -> tuple[float, float]: ...

    def alb_minutes(
        self, load_balancer_arn: str, now: datetime, window_seconds: int
    ) -> dict[datetime, tuple[float, float]]: ...

    def health_check_fraction(self, health_check_id: str, now: datetime) -> float | None: ...

    def alb_latencies(
        self, load_balancer_arns: tuple[str, str], now: datetime, window_seconds: int, percentile: str
    ) -> tuple[float | None, float | None]: ...

    def check_value(self, queries: list[dict[str, Any]], now: datetime, window_seconds: int) -> float | None: ...


class Notifications(Protocol):
    def publish(self, kind: str, subject: str, detail: dict[str, Any], *, email: bool = True) -> None: ...


class Executions(Protocol):
    """Step Functions."""

    def start(self, state_machine_arn: str, name: str, input_json: str) -> str: ...

    def stop(self, execution_arn: str, error: str, cause: str) -> bool: ...

    def fail_task(self, task_token: str, error: str, cause: str) -> bool: ...

    def status(self, execution_arn: str) -> dict[str, Any]: ...

    def entered_any(self, execution_arn: str, state_names: frozenset[str]) -> bool: ...
