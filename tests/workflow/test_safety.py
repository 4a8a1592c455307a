"""The holes of issue 7, each closed: the real ASL in moto's engine, the real handlers.

Each test reproduces a way a re-run, an edited input or a fault used to strand
traffic, lose the recorded weights or get past the stack's gates, and checks the
invariants of ../shared/design.md afterwards from what AWS would show: the weights,
the executions, the deployment record and the route lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from weightshift.adapters.deployments import Deployments
from weightshift.records import LockHolder
from weightshift_emulator import patches

from tests.conftest import wait_for
from tests.workflow.conftest import Canary

pytestmark = pytest.mark.workflow


def lock_of(canary: Canary, route: str) -> LockHolder | None:
    return Deployments(canary.aws["dynamodb"], canary.installed.table_name).lock_holder(route)


def alarm(canary: Canary, state: str = "ALARM") -> None:
    canary.aws["cloudwatch"].set_alarm_state(AlarmName=canary.world.green_alarm, StateValue=state, StateReason="test")


# ------------------------------------------------- 2. one execution holds the route
def test_a_second_execution_of_the_running_deployment_changes_nothing_and_the_originals_survive(
    canary: Canary,
) -> None:
    """The reproduction of issue 7 §2: canary A at 75/25, "New execution" with the
    same input, then the alarm fires. Before: B "restored" 75/25 and recorded it as
    the original. Now B is refused with zero DNS changes; A fails back to 100/0."""
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    second: dict[str, Any] = {}

    def rerun() -> None:  # as A is about to shift to step 3, at 75/25
        if "arn" not in second:
            second["weights"] = canary.weights()
            second["arn"] = canary.start(plan, name="console-new-execution")

    def then_alarm(wait: patches.Wait) -> None:  # A bakes step 3: B has had its chance; the alarm fires
        if wait.state == "Bake and watch health" and "arn" in second and "result" not in second:
            second["result"] = wait_for(canary.sfn, second["arn"])
            alarm(canary)

    canary.on_step(3, rerun)
    patches.CLOCK.hooks.append(then_alarm)
    first = canary.run(plan)

    assert second["result"]["status"] == "FAILED"
    assert second["result"]["error"] == "DeploymentAlreadyRunning"
    assert "changed nothing" in second["result"]["cause"]
    assert second["weights"] == {"blue": 75, "green": 25}
    entered = {e.get("stateEnteredEventDetails", {}).get("name") for e in canary.history(second["arn"])}
    assert not entered & {"Record the original weights", "Shift traffic", "Fail back to the original weights"}
    assert first["status"] == "FAILED"
    assert first["error"] == "AlarmFired"  # the alarm's event ended A's bake
    assert canary.weights() == {"blue": 100, "green": 0}
    record = canary.record(plan)
    assert record["originalWeights"] == {"blue": 100, "green": 0}
    assert record["status"] == "ROLLED_BACK"
    assert record["executionArn"] == first["executionArn"]  # B's rejection did not take the record
    assert lock_of(canary, plan.route_key) is None
    # Every batch came from A: steps 1-3, then one fail back to the recorded weights.
    assert canary.r53.weight_batches()[-1] == {"blue": 100, "green": 0}
    assert len(canary.r53.batches) == 4


def test_the_original_weights_are_recorded_once_per_deployment(canary: Canary) -> None:
    """A re-run after a fail back keeps the first attempt's originals, even if DNS
    was moved in between, and fails back to them."""
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    canary.on_step(2, lambda: alarm(canary))
    assert canary.run(plan)["status"] == "FAILED"
    patches.INVOKE_HOOKS.clear()
    canary.set_pair(blue=60, green=40)  # someone moved DNS by hand after the fail back

    again = canary.run(plan, name="console-rerun")

    assert again["status"] == "FAILED"  # the alarm is still in ALARM
    assert canary.record(plan)["originalWeights"] == {"blue": 100, "green": 0}
    assert canary.weights() == {"blue": 100, "green": 0}


# ------------------------------------------------------ 3. the stack decides
EDITS: list[tuple[str, Callable[[dict[str, Any], Canary], None], str]] = [
    ("another record", lambda p, c: p.update(recordName="other." + c.world.zone_name), "recordName"),
    ("another zone", lambda p, c: p.update(hostedZoneId="Z0THERZ0NE0123456789"), "hostedZoneId"),
    ("another set identifier", lambda p, c: p["target"].update(setIdentifier="canary"), "target.setIdentifier"),
    (
        "another load balancer",
        lambda p, c: p["live"].update(loadBalancerArn=p["target"]["loadBalancerArn"]),
        "live.loadBalancerArn",
    ),
    ("another cluster", lambda p, c: p.update(clusterName="other-cluster"), "clusterName"),
    ("another service", lambda p, c: p["target"].update(serviceName="other-service"), "target.serviceName"),
    ("alarms dropped", lambda p, c: p["health"].update(alarmNames=[]), "health.alarmNames"),
    ("5xx guard loosened", lambda p, c: p["health"].update(maxErrorRateRatio=1000.0), "health.maxErrorRateRatio"),
    ("health check dropped", lambda p, c: p["target"].update(healthCheckId=None), "target.healthCheckId"),
    ("evidence pace switched on", lambda p, c: p["health"].update(pace="Evidence"), "health.pace"),
    ("observed-share wait asked", lambda p, c: p["health"].update(minObservedShare=0.9), "health.minObservedShare"),
    ("another deployment id", lambda p, c: p.update(deploymentId="green-someone-elses"), "deploymentId"),
    ("unknown field", lambda p, c: p.update(skipHealthGate=True), "skipHealthGate"),
    ("unknown gate field", lambda p, c: p["health"].update(override=True), "override"),
    ("shorter bakes", lambda p, c: p.update(stepIntervalSeconds=1), "stepIntervalSeconds"),
    ("rarer polls", lambda p, c: p.update(pollSeconds=3600), "pollSeconds"),
    ("forged bake progress", lambda p, c: p.update(gate={"stepIndex": 1, "poll": 99}), "gate"),
]


@pytest.mark.parametrize(("edit", "mutate", "field"), EDITS, ids=[e[0] for e in EDITS])
def test_an_edited_input_is_rejected_before_any_dns_change(
    canary: Canary, edit: str, mutate: Callable[[dict[str, Any], Canary], None], field: str
) -> None:
    canary.set_pair(blue=100, green=0)
    alarm(canary)  # so that a plan without the alarm would be promoted under ALARM
    plan = canary.plan()
    body = json.loads(json.dumps(plan.dump()))
    mutate(body, canary)

    result = canary.run(body, name="edited-input")

    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidPlan", result.get("cause")
    assert field in result["cause"]
    assert canary.r53.batches == []
    assert canary.weights() == {"blue": 100, "green": 0}
    assert lock_of(canary, plan.route_key) is None


def test_the_input_may_choose_the_schedule_and_longer_bakes(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    body = plan.dump()
    body.update(schedule="50,100", stepIntervalSeconds=120, pollSeconds=10)
    body["steps"] = [
        {"index": 1, "targetWeight": 50, "liveWeight": 50, "bakeSeconds": 120},
        {"index": 2, "targetWeight": 100, "liveWeight": 0, "bakeSeconds": 120},
    ]

    result = canary.run(body, name="operator-schedule")

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert canary.r53.weight_batches() == [{"blue": 50, "green": 50}, {"blue": 0, "green": 100}]


# ------------------------------------------- 4. a promoted release stays promoted
def test_a_bookkeeping_failure_after_promotion_never_moves_traffic_back(canary: Canary) -> None:
    """Issue 7 §4: DynamoDB fails while releasing the lock, after the record says
    SUCCEEDED. Before: the status rule restored 100/0 and wrote ROLLED_BACK."""
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    fault = patches.DdbFault("delete_item", "InternalServerError", sort_key="LOCK")
    patches.DDB_FAULTS.append(fault)

    result = canary.run(plan)

    assert result["status"] == "FAILED"
    assert result["error"] == "PromotedUnrecorded"
    assert fault.hits > 0
    assert canary.weights() == {"blue": 0, "green": 100}
    assert canary.record(plan)["status"] == "SUCCEEDED"
    event = canary.abort_event(result["executionArn"])
    # While DynamoDB is still failing, the status rule's Lambda fails (Lambda retries
    # it, then keeps the event) and moves nothing.
    resp = canary.aws["lambda"].invoke(
        FunctionName=canary.installed.functions["AbortFunction"], Payload=json.dumps(event).encode()
    )
    assert resp.get("FunctionError") == "Unhandled"
    assert canary.weights() == {"blue": 0, "green": 100}
    patches.DDB_FAULTS.clear()

    finished = canary.invoke("AbortFunction", event)

    assert finished["action"] == "none"
    assert canary.weights() == {"blue": 0, "green": 100}
    assert canary.record(plan)["status"] == "SUCCEEDED"
    assert lock_of(canary, plan.route_key) is None


def _fail_promote_bookkeeping(canary: Canary) -> None:
    finish = canary.installed.functions["FinishFunction"]

    def hook(function_name: str, event: Any) -> None:
        if function_name == finish and event.get("action") == "promote" and not patches.DDB_FAULTS:
            patches.DDB_FAULTS.append(patches.DdbFault("update_item", "InternalServerError", sort_key="DEPLOYMENT#"))

    patches.INVOKE_HOOKS.append(hook)


def test_an_unrecorded_promotion_is_recorded_by_the_status_rule_not_failed_back(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    _fail_promote_bookkeeping(canary)

    result = canary.run(plan)
    assert result["status"] == "FAILED"
    assert result["error"] == "PromotedUnrecorded"
    assert canary.record(plan)["status"] == "IN_PROGRESS"
    patches.DDB_FAULTS.clear()
    patches.INVOKE_HOOKS.clear()

    finished = canary.invoke("AbortFunction", canary.abort_event(result["executionArn"]))

    assert finished["action"] == "promoted"
    assert canary.weights() == {"blue": 0, "green": 100}
    record = canary.record(plan)
    assert record["status"] == "SUCCEEDED"
    assert "after promotion" in record["reason"]
    assert lock_of(canary, plan.route_key) is None


def test_the_next_deployment_records_an_unrecorded_promotion_instead_of_failing_it_back(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    green = canary.plan("green", "ecs-svc/5001")
    _fail_promote_bookkeeping(canary)
    assert canary.run(green)["status"] == "FAILED"
    patches.DDB_FAULTS.clear()
    patches.INVOKE_HOOKS.clear()
    canary.r53.batches.clear()
    # The status rule's event is lost (never delivered): the next release finds the
    # route still held by the ended execution.
    blue = canary.plan("blue", "ecs-svc/5002")

    result = canary.run(blue)

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert canary.record(green)["status"] == "SUCCEEDED"
    assert canary.record(blue)["originalWeights"] == {"blue": 0, "green": 100}
    assert canary.r53.weight_batches()[0] == {"blue": 5, "green": 95}  # from the promoted 0/100, never back first
    assert canary.weights() == {"blue": 100, "green": 0}


def test_fail_back_never_acts_on_a_finished_deployment(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    done = canary.run(plan)
    assert done["status"] == "SUCCEEDED"
    state = {**plan.dump(), "failure": {"Error": "States.TaskFailed", "Cause": "late"}}

    result = canary.invoke(
        "FinishFunction", {"state": state, "executionArn": done["executionArn"], "action": "failback"}
    )

    assert result["changed"] is False
    assert "already finished" in result["cause"]
    assert canary.weights() == {"blue": 0, "green": 100}
    assert canary.record(plan)["status"] == "SUCCEEDED"


# ---------------------------------------------------- 5. a deliberate queue deadline
def test_a_route_busy_past_the_deadline_rejects_with_zero_dns_changes(canary_factory: Any) -> None:
    canary = canary_factory(RouteBusyTimeoutSeconds="0")
    canary.set_pair(blue=100, green=0)
    first = canary.plan("green", "ecs-svc/6001")
    queued = canary.plan("blue", "ecs-svc/6002")
    box: dict[str, Any] = {}

    def start_other_side(wait: patches.Wait) -> None:  # the first canary bakes its step 1
        if wait.state == "Bake and watch health" and "result" not in box:
            box["result"] = canary.run(queued)
            box["weights"] = canary.weights()

    patches.CLOCK.hooks.append(start_other_side)
    assert canary.run(first)["status"] == "SUCCEEDED"

    assert box["result"]["status"] == "FAILED"
    assert box["result"]["error"] == "RouteBusyTimeout"
    assert "RouteBusyTimeoutSeconds" in box["result"]["cause"]
    assert box["weights"] == {"blue": 95, "green": 5}  # the holder's step 1, untouched
    record = canary.record(queued)
    assert record["status"] == "REJECTED"
    assert "RouteBusyTimeout" in record["reason"]


def test_a_late_status_rule_never_writes_over_the_deployment_that_took_the_route(canary: Canary) -> None:
    """A stopped canary is failed back twice over: by the status rule's Lambda and by
    the next deployment taking the route over. Hold the status rule just before its DNS
    write and let the next deployment run: it must not take the route (and shift) while
    the status rule's fail back is in flight, so no write lands on a route another
    execution holds."""
    import threading
    from datetime import UTC, datetime

    from weightshift import workflow
    from weightshift.adapters.cloudwatch import CloudWatch
    from weightshift.adapters.ecs_elb import EcsElb
    from weightshift.adapters.notify import Notifier
    from weightshift.adapters.route53 import Route53
    from weightshift.adapters.stepfunctions import StepFunctions
    from weightshift.settings import load_route_config

    canary.set_pair(blue=100, green=0)
    first = canary.plan("green", "ecs-svc/7001")
    newer = canary.plan("green", "ecs-svc/7002")
    box: dict[str, Any] = {}
    canary.on_step(3, lambda: canary.sfn.stop_execution(executionArn=box["first"], error="Stop", cause="on-call"))
    box["first"] = canary.start(first)
    wait_for(canary.sfn, box["first"])
    assert canary.weights() == {"blue": 50, "green": 50}  # the stop does not stop the Lambda already running
    patches.INVOKE_HOOKS.clear()
    canary.r53.batches.clear()
    status_rule = threading.get_ident()

    def hold_the_status_rule(changes: Any) -> None:
        if threading.get_ident() != status_rule or "newer" in box:
            return
        box["newer"] = canary.start(newer)
        for _ in range(100):  # up to ~5 s for the newer deployment to shift, if it (wrongly) can
            if {"blue": 95, "green": 5} in canary.r53.weight_batches():
                break
            threading.Event().wait(0.05)
        box["holder_at_write"] = lock_of(canary, first.route_key)

    canary.r53.before_change = hold_the_status_rule
    aws = canary.aws
    ports = workflow.WorkflowPorts(
        deployments=Deployments(aws["dynamodb"], canary.installed.table_name),
        route53=Route53(aws["route53"]),
        ecs_elb=EcsElb(aws["ecs"], aws["elbv2"]),
        cloudwatch=CloudWatch(aws["cloudwatch"]),
        notifier=Notifier(aws["sns"], aws["events"], "", "default"),
        sfn=StepFunctions(aws["stepfunctions"]),
    )
    config = load_route_config(canary.installed.env("AbortFunction"))

    result = workflow.on_execution_ended(canary.abort_event(box["first"])["detail"], config, ports, datetime.now(UTC))
    canary.r53.before_change = None
    ended = wait_for(canary.sfn, box["newer"])

    assert result["action"] == "failed-back"
    assert box["holder_at_write"] is not None
    assert box["holder_at_write"].execution_arn == box["first"]  # nobody took the route meanwhile
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    assert canary.record(newer)["originalWeights"] == {"blue": 100, "green": 0}
    assert canary.weights() == {"blue": 0, "green": 100}
