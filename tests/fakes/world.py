"""A stack's surroundings in memory, and executions driven state by state.

``Run`` calls the workflow's Task functions in the order statemachine/canary.asl.json
does, keeping the execution's state the way the ResultPaths build it, so a unit test
can stop an execution anywhere, inject a fault, and call the next state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from weightshift import workflow
from weightshift.models import Color, Plan, Weights
from weightshift.plan import build_plan
from weightshift.records import DeploymentRecord, LockHolder
from weightshift.settings import RouteConfig
from weightshift.workflow import TaskInput, WorkflowPorts

from tests.fakes.aws import FakeDns, FakeExecutions, FakeMetrics, FakeNotifier, FakeServices
from tests.fakes.record_store import FakeRecordStore
from tests.unit.helpers import make_config

STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:shop-canary"
TASK_DEF = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop:7"
START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class World:
    config: RouteConfig = field(default_factory=lambda: make_config(schedule="5,25,50,100"))
    now: datetime = START
    store: FakeRecordStore = field(default_factory=FakeRecordStore)
    sfn: FakeExecutions = field(default_factory=FakeExecutions)
    services: FakeServices = field(default_factory=FakeServices)
    metrics: FakeMetrics = field(default_factory=FakeMetrics)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    dns: FakeDns = field(init=False)

    def __post_init__(self) -> None:
        self.dns = FakeDns(
            zone_id=self.config.hosted_zone_id,
            zone_name="example.com",
            record_name=self.config.record_name,
            blue_id=self.config.blue_set_identifier,
            green_id=self.config.green_set_identifier,
            owner_stack=self.config.stack_id,
        )

    @property
    def ports(self) -> WorkflowPorts:
        return WorkflowPorts(self.store, self.dns, self.services, self.metrics, self.notifier, self.sfn)

    def set_pair(self, blue: int, green: int) -> None:
        """Weights set by hand, outside any batch the tests count."""
        self.dns.pair = Weights(blue=blue, green=green)

    def weights(self) -> Weights | None:
        return self.dns.pair

    def plan(self, target: Color = "green", ecs_deployment: str = "ecs-svc/1") -> Plan:
        return build_plan(self.config, target, ecs_deployment, TASK_DEF)

    def run(self, plan: Plan, name: str | None = None) -> Run:
        """A new, running execution of ``plan``."""
        run = Run(self, plan, f"{STATE_MACHINE.replace(':stateMachine:', ':execution:')}:{name or plan.deployment_id}")
        self.sfn.running(run.arn, plan.model_dump_json(by_alias=True))
        return run

    def record(self, plan: Plan) -> DeploymentRecord:
        found = self.store.get(plan.route_key, plan.deployment_id)
        assert found is not None, plan.deployment_id
        return found

    def lock(self) -> LockHolder | None:
        return self.store.lock_holder(self.config.route_key)

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Run:
    """One execution: its ARN and the state its Task states have built so far."""

    world: World
    plan: Plan
    arn: str
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = self.plan.dump()

    def inp(self) -> TaskInput:
        return TaskInput(state=self.state, execution_arn=self.arn, now=self.world.now, config=self.world.config)

    # ---------------------------------------------------- the Task states
    def preflight(self) -> dict[str, Any]:
        self.state["run"] = workflow.preflight(self.inp(), self.world.ports)
        return dict(self.state["run"])

    def record_original(self) -> dict[str, Any]:
        self.state["shift"] = workflow.record_original(self.inp(), self.world.ports)
        return dict(self.state["shift"])

    def shift(self) -> dict[str, Any]:
        self.state["shift"] = workflow.shift(self.inp(), self.world.ports)
        return dict(self.state["shift"])

    def gate(self) -> dict[str, Any]:
        self.state["gate"] = workflow.gate(self.inp(), self.world.ports)
        return dict(self.state["gate"])

    def promote(self) -> dict[str, Any]:
        self.world.sfn.running(self.arn).entered.add("Promote")
        self.state["finish"] = workflow.promote(self.inp(), self.world.ports)
        return dict(self.state["finish"])

    def fail_back(self, error: str = "HealthGateFailed", cause: str = "the alarm fired") -> dict[str, Any]:
        return self._caught(workflow.failback_task, error, cause)

    def reject(self, error: str = "RouteBusyTimeout", cause: str = "busy") -> dict[str, Any]:
        return self._caught(workflow.reject, error, cause)

    def _caught(
        self, task: Callable[[TaskInput, WorkflowPorts], dict[str, Any]], error: str, cause: str
    ) -> dict[str, Any]:
        """A Catch's path: ``$.failure`` holds the error, the task's result goes to ``$.failback``."""
        self.state["failure"] = {"Error": error, "Cause": cause}
        self.state["failback"] = task(self.inp(), self.world.ports)
        return dict(self.state["failback"])

    # ---------------------------------------------------------- sequences
    def to_step(self, step: int) -> None:
        """Preflight, record the originals, then shift to ``step`` (each step baked)."""
        assert self.preflight()["busy"] is False
        self.record_original()
        for _ in range(step):
            self.shift()

    def to_promotion(self) -> dict[str, Any]:
        self.to_step(len(self.plan.steps))
        return self.promote()

    def ends(self, status: str, *, promoted: bool = False) -> dict[str, Any]:
        """The execution ends outside any Catch; the status rule's Lambda runs."""
        self.world.sfn.end(self.arn, status, entered={"Promote"} if promoted else set())
        detail = {"status": status, "executionArn": self.arn, "input": self.plan.model_dump_json(by_alias=True)}
        return workflow.on_execution_ended(detail, self.world.config, self.world.ports, self.world.now)
