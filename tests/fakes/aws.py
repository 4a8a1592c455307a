"""Route 53, ECS/ELB, CloudWatch, notifications and Step Functions in memory.

Small, but with the behaviour the safety rules depend on: Route 53 applies a batch
atomically and refuses a weight outside 0-255 (InvalidInput, which the real adapter
turns into RouteNotFound); Step Functions starts idempotently by name and input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from weightshift.adapters.ecs_elb import ServiceState, TargetGroupHealth
from weightshift.adapters.route53 import RecordPair
from weightshift.adapters.stepfunctions import execution_arn_for
from weightshift.errors import RouteNotFound, SignalUnavailable
from weightshift.models import SideSpec, Weights, normalize_record_name
from weightshift.ownership import Owner, owner_value, parse_owner

from tests.fakes.faults import Faults, client_error

MAX_WEIGHT = 255  # Route 53's range for Weight: 0-255


@dataclass
class FakeDns:
    """One hosted zone with at most one weighted pair (``blue``/``green`` set identifiers)."""

    zone_id: str
    zone_name: str
    record_name: str
    blue_id: str = "blue"
    green_id: str = "green"
    pair: Weights | None = None
    ttl: int = 60
    health_checks: dict[str, float] = field(default_factory=dict)
    batches: list[Weights] = field(default_factory=list)  # every batch Route 53 accepted, in order
    faults: Faults = field(default_factory=Faults)
    owner_stack: str | None = None  # the stack its ownership record names; None: no such record

    def owner(self, hosted_zone_id: str, record_name: str) -> Owner | None:
        self.faults.check("owner", hosted_zone_id, record_name)
        return None if self.owner_stack is None else parse_owner([owner_value(self.owner_stack)])

    def check_zone(self, hosted_zone_id: str, record_name: str) -> None:
        self.faults.check("check_zone", hosted_zone_id)
        if hosted_zone_id != self.zone_id:
            raise RouteNotFound(f"hosted zone {hosted_zone_id} does not exist")
        name, zone = normalize_record_name(record_name), normalize_record_name(self.zone_name)
        if name != zone and not name.endswith("." + zone):
            raise RouteNotFound(f"record {name} is not inside hosted zone {zone}")

    def find_pair(self, hosted_zone_id: str, record_name: str, blue_id: str, green_id: str) -> RecordPair | None:
        self.faults.check("find_pair", hosted_zone_id, record_name)
        if self.pair is None or normalize_record_name(record_name) != normalize_record_name(self.record_name):
            return None
        if (blue_id, green_id) != (self.blue_id, self.green_id):
            raise RouteNotFound(f"{record_name} has records that are not the weighted pair {blue_id!r}/{green_id!r}")
        return RecordPair(blue=self._record(blue_id, self.pair.blue), green=self._record(green_id, self.pair.green))

    def change_weights(self, pair: RecordPair, weights: Weights, hosted_zone_id: str, comment: str) -> str:
        self.faults.check("change_weights", weights)
        self._accept(weights)
        if self.pair is None:
            raise RouteNotFound("changing weights: the weighted pair does not exist (InvalidChangeBatch)")
        return self._apply(weights)

    def create_pair(
        self,
        hosted_zone_id: str,
        record_name: str,
        sides: dict[str, tuple[SideSpec, dict[str, str]]],
        weights: Weights,
        comment: str,
    ) -> str:
        self.faults.check("create_pair", weights)
        self._accept(weights)
        if self.pair is not None:
            raise RouteNotFound("changing weights: the records already exist (InvalidChangeBatch)")
        return self._apply(weights)

    def health_check_exists(self, health_check_id: str) -> bool:
        self.faults.check("health_check_exists", health_check_id)
        return health_check_id in self.health_checks

    def health_check_healthy_fraction(self, health_check_id: str) -> float:
        self.faults.check("health_check_healthy_fraction", health_check_id)
        if health_check_id not in self.health_checks:
            raise SignalUnavailable(f"Route 53 health check {health_check_id}: NoSuchHealthCheck")
        return self.health_checks[health_check_id]

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _accept(weights: Weights) -> None:
        for weight in (weights.blue, weights.green):
            if not 0 <= weight <= MAX_WEIGHT:
                # What the real adapter raises for Route 53's InvalidInput.
                raise RouteNotFound(f"changing weights: Weight {weight} is outside 0-{MAX_WEIGHT} (InvalidInput)")

    def _apply(self, weights: Weights) -> str:
        self.pair = weights
        self.batches.append(weights)
        return f"C{len(self.batches)}"

    def _record(self, set_id: str, weight: int) -> dict[str, Any]:
        return {
            "Name": normalize_record_name(self.record_name),
            "Type": "A",
            "SetIdentifier": set_id,
            "Weight": weight,
            "TTL": self.ttl,
            "ResourceRecords": [{"Value": "192.0.2.1"}],
        }


@dataclass
class FakeServices:
    """ECS services (steady unless told otherwise) and ALB target groups (healthy)."""

    services: dict[str, ServiceState] = field(default_factory=dict)
    groups: dict[str, list[TargetGroupHealth]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)  # services that no longer exist
    faults: Faults = field(default_factory=Faults)

    def service(self, cluster: str, service: str) -> ServiceState:
        self.faults.check("service", cluster, service)
        return self.services.get(service, ServiceState(running=2, desired=2, deployments=1))

    def missing_services(self, cluster: str, services: list[str]) -> list[str]:
        self.faults.check("missing_services", cluster, services)
        return [name for name in services if name in self.deleted]

    def target_groups(self, load_balancer_arn: str) -> list[TargetGroupHealth]:
        self.faults.check("target_groups", load_balancer_arn)
        return self.groups.get(load_balancer_arn, [TargetGroupHealth(f"{load_balancer_arn}/tg", 2, 2)])

    def alias_target(self, load_balancer_arn: str) -> dict[str, str]:
        self.faults.check("alias_target", load_balancer_arn)
        return {"DNSName": f"{load_balancer_arn.rsplit('/', 2)[-2]}.elb.example", "CanonicalHostedZoneId": "ZALB"}


@dataclass
class FakeMetrics:
    """Alarms (all OK unless set) and ALB counts (plenty of requests, no errors)."""

    alarms: dict[str, str] = field(default_factory=dict)
    counts: dict[str, tuple[float, float]] = field(default_factory=dict)
    latencies: dict[str, float | None] = field(default_factory=dict)
    check_values: dict[str, float | None] = field(default_factory=dict)
    health_fractions: dict[str, float] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)

    def alarm_states(self, names: list[str]) -> dict[str, str]:
        self.faults.check("alarm_states", names)
        return {name: self.alarms.get(name, "OK") for name in names}

    def alb_counts(self, load_balancer_arn: str, now: datetime, window_seconds: int) -> tuple[float, float]:
        self.faults.check("alb_counts", load_balancer_arn)
        return self.counts.get(load_balancer_arn, (1000.0, 0.0))

    def alb_minutes(
        self, load_balancer_arn: str, now: datetime, window_seconds: int
    ) -> dict[datetime, tuple[float, float]]:
        """The same counts, as one minute (the newest complete one)."""
        minute = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
        return {minute: self.alb_counts(load_balancer_arn, now, window_seconds)}

    def alb_latencies(
        self, load_balancer_arns: tuple[str, str], now: datetime, window_seconds: int, percentile: str
    ) -> tuple[float | None, float | None]:
        """Response-time percentiles (seconds): 50 ms on each side unless set."""
        self.faults.check("alb_latencies", percentile)
        target, live = load_balancer_arns
        return self.latencies.get(target, 0.05), self.latencies.get(live, 0.05)

    def health_check_fraction(self, health_check_id: str, now: datetime) -> float | None:
        """CloudWatch's HealthCheckPercentageHealthy / 100: no data unless set (Route 53 is asked)."""
        self.faults.check("health_check_fraction", health_check_id)
        return self.health_fractions.get(health_check_id)

    def check_value(self, queries: list[dict[str, Any]], now: datetime, window_seconds: int) -> float | None:
        """A custom check's value, by the Id of its returned query (no data unless set)."""
        self.faults.check("check_value", queries)
        returned = next(q["Id"] for q in queries if q.get("ReturnData", True) is not False)
        return self.check_values.get(returned)


@dataclass
class FakeNotifier:
    """Best effort, like the real one: a failed publish is noted, never raised."""

    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)

    def publish(self, kind: str, subject: str, detail: dict[str, Any], *, email: bool = True) -> None:
        try:
            self.faults.check("publish", kind)
        except Exception:  # noqa: BLE001 - the real Notifier logs and goes on
            self.failed.append(kind)
            return
        self.published.append((kind, detail))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.published]


@dataclass
class FakeExecution:
    input: str
    status: str = "RUNNING"
    entered: set[str] = field(default_factory=set)


@dataclass
class FakeExecutions:
    executions: dict[str, FakeExecution] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    waiting_tasks: set[str] = field(default_factory=set)  # task tokens a test says are waiting
    failed_tasks: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (error, cause)

    def start(self, state_machine_arn: str, name: str, input_json: str) -> str:
        self.faults.check("start", name)
        arn = execution_arn_for(state_machine_arn, name)
        existing = self.executions.get(arn)
        if existing is not None and existing.input != input_json:
            raise client_error("ExecutionAlreadyExists", "StartExecution")
        self.executions.setdefault(arn, FakeExecution(input_json))
        return arn

    def stop(self, execution_arn: str, error: str, cause: str) -> bool:
        self.faults.check("stop", execution_arn)
        found = self.executions.get(execution_arn)
        if found is None or found.status != "RUNNING":
            return False
        found.status = "ABORTED"
        return True

    def fail_task(self, task_token: str, error: str, cause: str) -> bool:
        self.faults.check("fail_task", task_token)
        if task_token in self.failed_tasks or task_token not in self.waiting_tasks:
            return False
        self.failed_tasks[task_token] = (error, cause)
        return True

    def status(self, execution_arn: str) -> dict[str, Any]:
        self.faults.check("status", execution_arn)
        found = self.executions.get(execution_arn)
        return {"status": found.status if found else "MISSING", "executionArn": execution_arn}

    def entered_any(self, execution_arn: str, state_names: frozenset[str]) -> bool:
        self.faults.check("entered_any", execution_arn)
        found = self.executions.get(execution_arn)
        return found is not None and bool(found.entered & state_names)

    # ------------------------------------------------------------ test controls
    def running(self, execution_arn: str, plan_json: str = "{}") -> FakeExecution:
        """An execution that exists and runs (as the workflow's own Task states see it)."""
        return self.executions.setdefault(execution_arn, FakeExecution(plan_json))

    def end(self, execution_arn: str, status: str, *, entered: set[str] | None = None) -> None:
        found = self.running(execution_arn)
        found.status = status
        found.entered |= entered or set()
