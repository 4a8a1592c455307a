"""Behaviour 4: while a canary is in flight on the route, a second deployment never
becomes a second writer.

The rule (weightshift.decisions.supersedes):
- a newer deployment of the in-flight canary's *target* service supersedes it: the
  trigger stops the running execution (error "Superseded"), the fail-back rule puts
  the original weights back and releases the route, and the new execution, which
  waited on the route lock in preflight, then runs from the start;
- a deployment of the *other* service queues: its execution waits on the route lock
  and runs when the current canary ends.

The first canary is held at its first bake (green=10) with a CLOCK hook; the second
execution's "Wait for the route" waits are held until the route is free. Every DNS-writing
Lambda call is recorded with the lock holder at that moment.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from weightshift.adapters import stepfunctions as sfn_adapter
from weightshift_emulator import patches
from weightshift_emulator.world import Surroundings, status_change_event, weights

from tests.component.test_trigger_harness import BAKE, SAMPLE_DEPLOYMENT, TriggerRig, trigger_rig
from tests.conftest import load_event, wait_for

HOLD_SECONDS = 30


@dataclass
class Traffic:
    """Holds the first canary mid-flight and the queued one at the lock; records DNS writers."""

    rig: TriggerRig
    first_at_bake: threading.Event = field(default_factory=threading.Event)
    release_first: threading.Event = field(default_factory=threading.Event)
    queued: threading.Event = field(default_factory=threading.Event)
    release_queue: threading.Event = field(default_factory=threading.Event)
    held: str | None = None
    # (execution that wrote DNS, what it did, execution holding the route lock then)
    writes: list[tuple[str, str, str | None]] = field(default_factory=list)

    def clock_hook(self, wait: patches.Wait) -> None:
        if wait.kind == "wait" and wait.state == BAKE and not self.release_first.is_set():
            if self.held in (None, wait.execution):
                self.held = wait.execution
                self.first_at_bake.set()
                self.release_first.wait(HOLD_SECONDS)
        elif wait.state == "Wait for the route":  # the queued execution, in line for the route
            self.queued.set()
            self.release_queue.wait(HOLD_SECONDS)

    def invoke_hook(self, function_name: str, event: Any) -> None:
        functions = self.rig.installed.functions
        if function_name in (functions["ShiftFunction"], functions["FinishFunction"]):
            action = str(event.get("action"))
            if action not in ("record", "shift", "promote", "failback"):
                return
            writer = str(event.get("executionArn"))
        elif function_name == functions["AbortFunction"]:
            action, writer = "abort-failback", str(event["detail"]["executionArn"])
        else:
            return
        lock = self.rig.lock()
        self.writes.append((writer, action, lock["executionArn"]["S"] if lock else None))

    def writers_in_order(self) -> list[str]:
        order: list[str] = []
        for writer, _, _ in self.writes:
            if not order or order[-1] != writer:
                order.append(writer)
        return order

    def release(self) -> None:
        self.release_first.set()
        self.release_queue.set()


@pytest.fixture
def rig(aws: dict[str, Any], world: Surroundings) -> Iterator[TriggerRig]:
    with trigger_rig(aws, world) as made:  # schedule 10,100
        made.set_pair(blue=100, green=0)
        yield made


@pytest.fixture
def traffic(rig: TriggerRig) -> Iterator[Traffic]:
    t = Traffic(rig)
    patches.CLOCK.hooks.append(t.clock_hook)
    patches.INVOKE_HOOKS.append(t.invoke_hook)
    try:
        yield t
    finally:
        t.release()  # before the rig's teardown waits for the executions


def _wait(event: threading.Event, what: str) -> None:
    assert event.wait(HOLD_SECONDS), f"timed out waiting for {what}"


def _until(check: Callable[[], bool], what: str, timeout: float = HOLD_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _spy_on_stop(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    calls: list[tuple[str, str, str]] = []
    original = sfn_adapter.StepFunctions.stop

    def stop(self: sfn_adapter.StepFunctions, execution_arn: str, error: str, cause: str) -> bool:
        calls.append((execution_arn, error, cause))
        return original(self, execution_arn, error, cause)

    monkeypatch.setattr(sfn_adapter.StepFunctions, "stop", stop)
    return calls


def _history(rig: TriggerRig, arn: str) -> list[dict[str, Any]]:
    return list(rig.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"])


def _invoke(rig: TriggerRig, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    resp = rig.aws["lambda"].invoke(
        FunctionName=rig.installed.functions[logical_id], Payload=json.dumps(event).encode()
    )
    payload = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp, payload
    return dict(payload)


def _assert_one_writer(traffic: Traffic) -> None:
    for writer, action, holder in traffic.writes:
        assert holder == writer, f"{writer} did {action} while the route lock was held by {holder}"


# ------------------------------------------------------------------ supersede
def test_a_newer_deployment_of_the_target_service_supersedes_the_canary_in_flight(
    rig: TriggerRig, traffic: Traffic, monkeypatch: pytest.MonkeyPatch
) -> None:
    stops = _spy_on_stop(monkeypatch)
    first = rig.send(load_event("green-task-running.json"))
    assert first["decision"] == "started"
    _wait(traffic.first_at_bake, "the first canary to reach its first bake")
    assert traffic.held == first["execution_arn"]
    assert weights(rig.aws, rig.world) == {"blue": 90, "green": 10}
    assert rig.lock()["executionArn"]["S"] == first["execution_arn"]  # type: ignore[index]

    # The green service starts another deployment while the canary to green is at 10%.
    newer = rig.event("green", "7f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c", "ecs-svc/9000000000000000001")
    second = rig.send(newer)

    assert second["decision"] == "started"
    assert second["detail"] == f"superseded {first['deployment_id']}"
    (record,) = [r for r in rig.deployment_records() if r["deploymentId"]["S"] == second["deployment_id"]]
    assert record["ecsDeployment"]["S"] == "ecs-svc/9000000000000000001"

    # The new execution waits on the route lock: the superseded one still holds it.
    _wait(traffic.queued, "the new execution to wait on the route lock")
    assert rig.lock()["executionArn"]["S"] == first["execution_arn"]  # type: ignore[index]
    assert second["execution_arn"] not in {w for w, _, _ in traffic.writes}
    assert rig.sfn.describe_execution(executionArn=second["execution_arn"])["status"] == "RUNNING"

    # (moto reports ABORTED once the stopped execution's thread has woken up.)
    traffic.release_first.set()
    assert wait_for(rig.sfn, first["execution_arn"])["status"] == "ABORTED"
    assert _history(rig, first["execution_arn"])[-1]["type"] == "ExecutionAborted"
    # moto drops StopExecution's error and cause, so read them off the call itself.
    ((stopped_arn, error, cause),) = stops
    assert stopped_arn == first["execution_arn"]
    assert error == "Superseded"
    assert "ecs-svc/9000000000000000001" in cause
    assert rig.lock()["executionArn"]["S"] == first["execution_arn"]  # type: ignore[index]

    # The Execution Status Change rule runs the fail-back, which restores and frees the route.
    failed_back = _invoke(rig, "AbortFunction", status_change_event(rig.sfn, first["execution_arn"]))
    assert failed_back["action"] == "failed-back"
    assert weights(rig.aws, rig.world) == {"blue": 100, "green": 0}
    assert rig.lock() is None
    assert second["execution_arn"] not in {w for w, _, _ in traffic.writes}
    traffic.release_queue.set()

    done = wait_for(rig.sfn, second["execution_arn"])
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert weights(rig.aws, rig.world) == {"blue": 0, "green": 100}
    assert rig.lock() is None
    _assert_one_writer(traffic)
    assert traffic.writers_in_order() == [first["execution_arn"], second["execution_arn"]]
    # The stopped canary wrote nothing after its first step but the fail-back.
    assert [a for w, a, _ in traffic.writes if w == first["execution_arn"]] == ["record", "shift", "abort-failback"]
    assert len(rig.executions()) == 2


# ------------------------------------------------------------------ queue
def test_a_deployment_of_the_other_service_queues_on_the_route_lock(
    rig: TriggerRig, traffic: Traffic, monkeypatch: pytest.MonkeyPatch
) -> None:
    stops = _spy_on_stop(monkeypatch)
    first = rig.send(load_event("green-task-running.json"))
    assert first["decision"] == "started"
    _wait(traffic.first_at_bake, "the green canary to reach its first bake")

    # A blue deployment while green is at 10%: not a scale-out (green has traffic), so a release.
    blue = load_event("blue-task-running-scaleout.json")
    second = rig.send(blue)

    assert second["decision"] == "started"
    assert "superseded" not in second.get("detail", "")
    assert second["deployment_id"] != first["deployment_id"]
    _wait(traffic.queued, "the blue execution to wait on the route lock")
    assert rig.sfn.describe_execution(executionArn=first["execution_arn"])["status"] == "RUNNING"
    assert rig.lock()["executionArn"]["S"] == first["execution_arn"]  # type: ignore[index]
    assert second["execution_arn"] not in {w for w, _, _ in traffic.writes}
    assert stops == [], "a deployment of the other service must not stop the canary in flight"

    # The green canary finishes (and releases the route); only then does blue's start.
    traffic.release_first.set()
    green_done = wait_for(rig.sfn, first["execution_arn"])
    assert green_done["status"] == "SUCCEEDED", green_done.get("cause")
    assert weights(rig.aws, rig.world) == {"blue": 0, "green": 100}
    assert second["execution_arn"] not in {w for w, _, _ in traffic.writes}
    traffic.release_queue.set()

    blue_done = wait_for(rig.sfn, second["execution_arn"])
    assert blue_done["status"] == "SUCCEEDED", blue_done.get("cause")
    assert weights(rig.aws, rig.world) == {"blue": 100, "green": 0}
    _assert_one_writer(traffic)
    assert traffic.writers_in_order() == [first["execution_arn"], second["execution_arn"]]
    ecs = {r["deploymentId"]["S"]: r["ecsDeployment"]["S"] for r in rig.deployment_records()}
    assert ecs == {first["deployment_id"]: SAMPLE_DEPLOYMENT, second["deployment_id"]: "ecs-svc/1102938475610293847"}
