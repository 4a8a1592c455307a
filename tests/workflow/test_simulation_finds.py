"""Bugs the whole-system simulation (tests/simulation, issue 8) found, each kept as a
regular regression test: the real ASL in moto's engine, the real handlers, judged on
what AWS shows (weights, executions, the record, the route lock, the notifications).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from weightshift.adapters.deployments import Deployments
from weightshift_emulator import faults, patches
from weightshift_emulator.world import task_event

from tests.conftest import wait_for
from tests.workflow.conftest import Canary

pytestmark = pytest.mark.workflow

ONE_FAILED_CALL = 3  # boto3's standard retry mode makes 3 attempts before the caller sees the error


def announced(deployment_id: str, kind: str) -> set[str]:
    """The services that accepted a notification of that kind (EventBridge, SNS). At
    least once: a finish retried after its notification went out sends it again."""
    return {p.service for p in faults.PUBLISHED if p.deployment_id == deployment_id and p.kind == kind and p.ok}


def fault_on_release_in(canary: Canary, action: str, times: int) -> patches.DdbFault:
    """DynamoDB fails the route lock's release (a DeleteItem of the LOCK item) once the
    FinishFunction starts ``action``: after the outcome is recorded, before the route
    is free."""
    fault = patches.DdbFault("delete_item", "InternalServerError", sort_key="LOCK", times=times)
    finish = canary.installed.functions["FinishFunction"]

    def arm(function_name: str, event: Any) -> None:
        if function_name == finish and event.get("action") == action and fault not in patches.DDB_FAULTS:
            patches.DDB_FAULTS.append(fault)

    patches.INVOKE_HOOKS.append(arm)
    return fault


def test_a_fail_back_interrupted_after_recording_still_announces_the_roll_back(canary: Canary) -> None:
    """Found by the simulation (seed 2): the fail back restored DNS and recorded
    ROLLED_BACK, then DynamoDB failed the lock's release; the state machine's retry found
    the record finished and returned "DNS left alone": the route was freed but nobody
    was told the release had been rolled back."""
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    canary.aws["cloudwatch"].set_alarm_state(AlarmName=canary.world.green_alarm, StateValue="ALARM", StateReason="t")
    fault = fault_on_release_in(canary, "failback", ONE_FAILED_CALL)

    result = canary.run(plan)

    assert fault.hits == ONE_FAILED_CALL
    assert result["status"] == "FAILED"
    assert result["error"] == "HealthGateFailed"
    assert canary.weights() == {"blue": 100, "green": 0}
    assert canary.record(plan)["status"] == "ROLLED_BACK"
    assert Deployments(canary.aws["dynamodb"], canary.installed.table_name).lock_holder(plan.route_key) is None
    assert announced(plan.deployment_id, "rolled-back") == {"events", "sns"}


def test_a_promotion_whose_release_keeps_failing_is_announced_by_the_status_rule(canary: Canary) -> None:
    """The same gap on the promotion side: every attempt of Promote records SUCCEEDED
    but cannot release the route, the execution ends in "Promoted, record not
    updated", and the status rule's Lambda (once DynamoDB is back) found the record
    finished and only released the route: no "promoted" notification, ever, if
    EventBridge or SNS had refused the first one."""
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    fault_on_release_in(canary, "promote", faults.FOREVER)
    faults.NOTIFY_FAULTS.append(faults.NotifyFault("sns"))  # SNS down through every attempt

    result = canary.run(plan)

    assert result["status"] == "FAILED"
    assert result["error"] == "PromotedUnrecorded"
    assert canary.record(plan)["status"] == "SUCCEEDED"
    patches.DDB_FAULTS.clear()
    patches.INVOKE_HOOKS.clear()
    faults.NOTIFY_FAULTS.clear()
    faults.PUBLISHED.clear()

    finished = canary.invoke("AbortFunction", canary.abort_event(result["executionArn"]))

    assert finished["action"] == "none"
    assert canary.weights() == {"blue": 0, "green": 100}
    assert Deployments(canary.aws["dynamodb"], canary.installed.table_name).lock_holder(plan.route_key) is None
    assert announced(plan.deployment_id, "promoted") == {"events", "sns"}


def test_an_execution_that_ends_before_the_trigger_records_its_start_is_still_finished(canary: Canary) -> None:
    """Found by the simulation (issue 8). The trigger claims the deployment and starts its
    execution, but its "STARTED" write fails (DynamoDB 500, after the SDK's retries), so
    the invocation fails and Lambda will retry it. Meanwhile the execution ends before its
    preflight takes the route (on-call pressed Stop right after the start), and the status
    rule gets the ABORTED event while the record still says CLAIMED, naming no execution.
    Before: the rule answered "this execution never held the route" and did nothing; the
    trigger's retry then marked the record STARTED with the ended execution, and it stayed
    STARTED for ever, with no reason and no notification. Now the rule recognises the
    execution the trigger named after the deployment and finishes the record; the retry's
    "STARTED" is refused."""
    canary.set_pair(blue=100, green=0)
    plan = canary.plan("green", "ecs-svc/8001")
    preflight = canary.installed.functions["PreflightFunction"]
    stopped: dict[str, str] = {}

    def stop_before_preflight(function_name: str, event: Any) -> None:
        if function_name == preflight and not stopped:
            stopped["arn"] = event["executionArn"]
            canary.sfn.stop_execution(executionArn=event["executionArn"], error="Stop", cause="on-call pressed Stop")
            raise patches.LambdaServiceFault("Lambda.Unknown")  # stopped first: its preflight never runs

    patches.INVOKE_HOOKS.append(stop_before_preflight)
    patches.DDB_FAULTS.append(patches.DdbFault("update_item", "InternalServerError", "DEPLOYMENT#"))  # an outage
    event = task_event(canary.world, "green", "task8001", plan.ecs_deployment)
    trigger = canary.installed.functions["TriggerFunction"]

    first = canary.aws["lambda"].invoke(FunctionName=trigger, Payload=json.dumps(event).encode())

    assert first.get("FunctionError") == "Unhandled", first["Payload"].read()
    arn = canary.installed.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + plan.deployment_id
    assert wait_for(canary.sfn, arn)["status"] == "ABORTED"
    assert stopped["arn"] == arn
    assert canary.record(plan)["status"] == "CLAIMED"
    patches.DDB_FAULTS.clear()  # the outage ends
    canary.invoke("AbortFunction", canary.abort_event(arn))  # the status rule, as EventBridge delivers it
    canary.invoke("TriggerFunction", event)  # Lambda's retry of the trigger
    record = canary.record(plan)
    assert record["status"] == "ROLLED_BACK", record
    assert "stopped" in record["reason"]
    assert record["executionArn"] == arn
    assert canary.weights() == {"blue": 100, "green": 0}
    assert canary.r53.batches == []
    assert Deployments(canary.aws["dynamodb"], canary.installed.table_name).lock_holder(plan.route_key) is None
    told = {(p.service, p.kind) for p in faults.PUBLISHED if p.deployment_id == plan.deployment_id and p.ok}
    assert {("events", "rolled-back"), ("sns", "rolled-back")} <= told
