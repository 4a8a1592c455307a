"""Workflow harness: the real ASL in moto's engine, the real handlers in-process."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import moto.route53.models as r53_models
import moto.route53.responses as r53_responses
import pytest
from moto.core.responses import ActionResult
from moto.route53.exceptions import Route53ClientError
from weightshift.models import Color, Plan
from weightshift.plan import build_plan
from weightshift.settings import load_route_config
from weightshift_emulator import install as installer
from weightshift_emulator import patches
from weightshift_emulator.world import (
    Surroundings,
    execution_history,
    set_weighted_pair,
    status_change_event,
    weights,
)

from tests.conftest import wait_for


@dataclass
class Route53Log:
    """Every ChangeResourceRecordSets batch moto accepted, and faults to inject."""

    batches: list[list[tuple[str, str, int | None]]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)  # error codes to raise, in order
    get_change_faults: list[str] = field(default_factory=list)
    never_in_sync: bool = False  # GetChange answers PENDING forever
    # Called with each batch before moto applies it (outside the log's lock): a test can
    # hold a writer at the moment it is about to change DNS.
    before_change: Callable[[Any], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def weight_batches(self) -> list[dict[str, int | None]]:
        return [{ident: w for _, ident, w in batch} for batch in self.batches]


class _Fault(Route53ClientError):
    def __init__(self, code: str) -> None:
        super().__init__(code, f"simulated {code}")


@pytest.fixture
def r53_log(monkeypatch: pytest.MonkeyPatch) -> Route53Log:
    log = Route53Log()
    original = r53_models.Route53Backend.change_resource_record_sets
    original_get_change = r53_responses.Route53.get_change

    def change(self: Any, zone_id: str, change_list: Any) -> Any:
        with log.lock:
            if log.faults:
                raise _Fault(log.faults.pop(0))
        if log.before_change is not None:
            log.before_change(change_list)
        result = original(self, zone_id, change_list)
        if all(ch["ResourceRecordSet"]["Type"] == "TXT" for ch in change_list):
            return result  # the ownership record (install's claim), not a weight change
        batch = []
        for ch in change_list:
            rrs = ch["ResourceRecordSet"]
            weight = rrs.get("Weight")
            batch.append((ch["Action"], rrs.get("SetIdentifier", ""), int(weight) if weight is not None else None))
        with log.lock:
            log.batches.append(batch)
        return result

    def get_change(self: Any) -> Any:
        with log.lock:
            if log.get_change_faults:
                raise _Fault(log.get_change_faults.pop(0))
        if log.never_in_sync:
            return ActionResult({"ChangeInfo": {"Id": self._get_param("Id"), "Status": "PENDING"}})
        return original_get_change(self)

    monkeypatch.setattr(r53_models.Route53Backend, "change_resource_record_sets", change)
    monkeypatch.setattr(r53_responses.Route53, "get_change", get_change)
    return log


@dataclass
class Canary:
    aws: dict[str, Any]
    world: Surroundings
    installed: installer.Installed
    r53: Route53Log

    @property
    def sfn(self) -> Any:
        return self.aws["stepfunctions"]

    def plan(self, target: Color = "green", deployment: str = "ecs-svc/1001") -> Plan:
        config = load_route_config(self.installed.env("TriggerFunction"))
        return build_plan(config, target, deployment, self.world.task_definitions[target])

    def set_pair(self, blue: int, green: int) -> None:
        """Create or set the weighted alias pair (outside the change log)."""
        set_weighted_pair(self.aws, self.world, blue, green)
        self.r53.batches.clear()

    def weights(self) -> dict[str, int]:
        return weights(self.aws, self.world)

    def start(self, plan: Plan | dict[str, Any], name: str | None = None) -> str:
        body = plan.dump() if isinstance(plan, Plan) else plan
        exec_name = name or str(body.get("deploymentId", "x"))
        return str(
            self.sfn.start_execution(
                stateMachineArn=self.installed.state_machine_arn, name=exec_name, input=json.dumps(body)
            )["executionArn"]
        )

    def run(self, plan: Plan | dict[str, Any], name: str | None = None) -> dict[str, Any]:
        return wait_for(self.sfn, self.start(plan, name))

    def history(self, arn: str) -> list[dict[str, Any]]:
        return execution_history(self.sfn, arn)

    def transitions(self, arn: str) -> int:
        return sum(1 for e in self.history(arn) if e["type"].endswith("StateEntered"))

    def record(self, plan: Plan) -> dict[str, Any]:
        from weightshift.adapters.deployments import Deployments

        found = Deployments(self.aws["dynamodb"], self.installed.table_name).get(plan.route_key, plan.deployment_id)
        assert found is not None
        return found.as_dict()

    def on_step(self, step: int, action: Callable[[], None]) -> None:
        """Run ``action`` when the Shift function is invoked for ``step``."""
        shift_fn = self.installed.functions["ShiftFunction"]

        def hook(function_name: str, event: Any) -> None:
            if function_name != shift_fn or event.get("action") != "shift":
                return
            current = int((event.get("state", {}).get("shift") or {}).get("stepIndex", 0)) + 1
            if current == step:
                action()

        patches.INVOKE_HOOKS.append(hook)

    def abort_event(self, arn: str) -> dict[str, Any]:
        """The "Step Functions Execution Status Change" event AWS sends for an ended execution."""
        return status_change_event(self.sfn, arn)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        resp = self.aws["lambda"].invoke(
            FunctionName=self.installed.functions[logical_id], Payload=json.dumps(event).encode()
        )
        payload = json.loads(resp["Payload"].read())
        assert "FunctionError" not in resp, payload
        return dict(payload)


@pytest.fixture
def canary_factory(
    aws: dict[str, Any], world: Surroundings, r53_log: Route53Log, cfn_patched: None
) -> Iterator[Callable[..., Canary]]:
    """Installs the stack's runtime pieces; EventBridge delivers to Lambda targets as AWS does
    (cfn_patched), so an alarm's state-change event reaches the stack's alarm listener."""
    made: list[Canary] = []

    def make(**params: Any) -> Canary:
        defaults = {"Schedule": "5,25,50,100", "StepIntervalSeconds": "60", "HealthPollSeconds": "15"}
        installed = installer.install(aws, world.parameters(**{**defaults, **params}))
        canary = Canary(aws, world, installed, r53_log)
        made.append(canary)
        return canary

    yield make
    for canary in made:  # never leave an engine thread running past the mock
        for ex in canary.sfn.list_executions(stateMachineArn=canary.installed.state_machine_arn)["executions"]:
            if ex["status"] == "RUNNING":
                canary.sfn.stop_execution(executionArn=ex["executionArn"])
                wait_for(canary.sfn, ex["executionArn"], timeout=30)


@pytest.fixture
def canary(canary_factory: Callable[..., Canary]) -> Canary:
    return canary_factory()
