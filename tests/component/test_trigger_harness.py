"""The rig the trigger's component tests share (this module holds no tests).

It installs the real template into moto (table, functions with their resolved
environment, the real state machine), calls the real Powertools handler with
the TriggerFunction's environment, and captures the handler's structured log
lines. Every test ends with :meth:`TriggerRig.settle`, so no engine thread
outlives the mock.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from weightshift.adapters.deployments import LOCK_SK
from weightshift.handlers import trigger as trigger_handler
from weightshift.models import route_key
from weightshift.observability import logger
from weightshift_emulator import install as installer
from weightshift_emulator import patches
from weightshift_emulator.world import Surroundings, set_weighted_pair, task_event

from tests.conftest import wait_for

BAKE = "Bake and watch health"

# Short workflows: two steps (so a held canary sits at green=10, not 100), one health poll per bake.
FAST = {"Schedule": "10,100", "StepIntervalSeconds": "1", "HealthPollSeconds": "60"}
SAMPLE_DEPLOYMENT = "ecs-svc/4823749823748923749"  # startedBy of events/green-task-running*.json


@dataclass
class TriggerRig:
    aws: dict[str, Any]
    world: Surroundings
    installed: installer.Installed
    log: io.StringIO = field(default_factory=io.StringIO)

    @property
    def env(self) -> dict[str, str]:
        return self.installed.env("TriggerFunction")

    @property
    def sfn(self) -> Any:
        return self.aws["stepfunctions"]

    @property
    def route(self) -> str:
        return route_key(self.world.zone_id, self.world.record_name)

    def send(self, event: Any, **env_overrides: str) -> dict[str, Any]:
        """One EventBridge delivery to the deployed trigger: the real handler, its env."""
        name = self.installed.functions["TriggerFunction"]
        context = patches.LambdaContext(name, f"arn:aws:lambda:us-east-1:123456789012:function:{name}")
        with patches.environment({**self.env, **env_overrides}):
            return dict(trigger_handler.handler(event, context))

    def event(self, color: str, task_id: str, deployment: str, **kwargs: Any) -> dict[str, Any]:
        return task_event(self.world, color, task_id, deployment, **kwargs)

    # ------------------------------------------------------------- observing
    def executions(self) -> list[dict[str, Any]]:
        return list(self.sfn.list_executions(stateMachineArn=self.installed.state_machine_arn)["executions"])

    def items(self) -> list[dict[str, Any]]:
        """Every item in the deployments table (raw DynamoDB JSON)."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.installed.table_name, "ConsistentRead": True}
        while True:
            page = self.aws["dynamodb"].scan(**kwargs)
            found.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def deployment_records(self) -> list[dict[str, Any]]:
        return [i for i in self.items() if i["sk"]["S"].startswith("DEPLOYMENT#")]

    def lock(self) -> dict[str, Any] | None:
        resp = self.aws["dynamodb"].get_item(
            TableName=self.installed.table_name,
            Key={"pk": {"S": self.route}, "sk": {"S": LOCK_SK}},
            ConsistentRead=True,
        )
        return resp.get("Item")

    def decision_lines(self) -> list[dict[str, Any]]:
        """The trigger's structured decision log lines, parsed."""
        # split("\n"), not splitlines(): values may hold U+2028 and friends, which the JSON keeps raw.
        lines = [json.loads(line) for line in self.log.getvalue().split("\n") if line.startswith("{")]
        return [line for line in lines if str(line.get("message", "")).startswith("trigger decision")]

    # ------------------------------------------------------------- changing
    def set_pair(self, blue: int, green: int) -> None:
        """Create (or set) the weighted alias pair the way a user already has it."""
        set_weighted_pair(self.aws, self.world, blue, green)

    def settle(self, stop: bool = False) -> list[dict[str, Any]]:
        """Wait for every execution to end (stopping running ones first if asked)."""
        ended = []
        for ex in self.executions():
            if stop and ex["status"] == "RUNNING":
                self._stop(ex["executionArn"])
            ended.append(wait_for(self.sfn, ex["executionArn"], timeout=30))
        return ended

    def _stop(self, arn: str) -> None:
        # moto fails a stop that lands before the execution's worker has set itself up.
        for _ in range(50):
            try:
                self.sfn.stop_execution(executionArn=arn, error="TestTeardown")
                return
            except Exception:  # noqa: BLE001 - retried, then left to wait_for
                time.sleep(0.05)


@contextmanager
def bakes_held(timeout: float = 30) -> Iterator[list[str]]:
    """Keep every execution in flight at its bakes (so at its first) until the block ends.

    Yields the list of executions that reached a bake (in order). A CLOCK hook
    runs in the engine's thread, outside any Lambda invoke, so holding it there
    blocks only that execution.
    """
    release = threading.Event()
    arrived: list[str] = []

    def hold(wait: patches.Wait) -> None:
        if wait.kind == "wait" and wait.state == BAKE:
            if wait.execution not in arrived:
                arrived.append(wait.execution)
            release.wait(timeout)

    patches.CLOCK.hooks.append(hold)
    try:
        yield arrived
    finally:
        release.set()
        patches.CLOCK.hooks.remove(hold)


@contextmanager
def trigger_rig(aws: dict[str, Any], world: Surroundings, **params: str) -> Iterator[TriggerRig]:
    """Install the stack and capture the shared Powertools logger at INFO (as deployed)."""
    installed = installer.install(aws, world.parameters(**{**FAST, **params}))
    rig = TriggerRig(aws, world, installed)
    handler = logger.registered_handler
    old_stream = handler.setStream(rig.log)  # type: ignore[attr-defined]
    old_level = logger.log_level
    logger.setLevel("INFO")  # the template's POWERTOOLS_LOG_LEVEL; conftest imports at WARNING
    try:
        yield rig
    finally:
        try:
            rig.settle(stop=True)
        finally:
            logger.setLevel(old_level)
            handler.setStream(old_stream)  # type: ignore[attr-defined]
