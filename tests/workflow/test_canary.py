"""The canary workflow: statemachine/canary.asl.json in moto's engine, real handlers in-process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from weightshift.plan import DNS_SYNC_MAX_POLLS, build_plan, estimate
from weightshift.settings import load_route_config
from weightshift_emulator import patches
from weightshift_emulator.install import load_template

from tests.workflow.conftest import Canary

pytestmark = pytest.mark.workflow


def bake_waits(arn: str) -> list[float]:
    return [w.seconds for w in patches.CLOCK.for_execution(arn) if w.state == "Bake and watch health"]


def step_batches(canary: Canary) -> list[dict[str, int | None]]:
    return canary.r53.weight_batches()


# ------------------------------------------------------------------ happy path
@pytest.mark.parametrize(
    ("schedule", "expected_green", "bake_per_step"),
    [
        ("Canary10Percent5Minutes", [10, 100], [300, 60]),
        ("Linear10PercentEvery1Minute", [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], [60] * 10),
        ("AllAtOnce", [100], [60]),
        ("5,25,50,100", [5, 25, 50, 100], [60] * 4),
    ],
)
def test_happy_path_writes_exactly_the_schedule(
    canary_factory: Any, schedule: str, expected_green: list[int], bake_per_step: list[int]
) -> None:
    canary = canary_factory(Schedule=schedule, StepIntervalSeconds="30", HealthPollSeconds="15")
    canary.set_pair(blue=100, green=0)
    plan = canary.plan("green")

    result = canary.run(plan)

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert step_batches(canary) == [{"blue": 100 - g, "green": g} for g in expected_green]
    assert canary.weights() == {"blue": 0, "green": 100}
    # Every step bakes at least max(step interval, TTL 60 s), in health polls of 15 s.
    waits = bake_waits(result["executionArn"])
    assert sum(waits) == sum(max(b, 60) for b in bake_per_step)
    assert all(w == 15 for w in waits)
    record = canary.record(plan)
    assert record["status"] == "SUCCEEDED"
    assert record["currentWeights"] == {"blue": 0, "green": 100}
    assert [e["step"] for e in record["timeline"] if e["event"] == "step"] == list(range(1, len(expected_green) + 1))


def test_each_step_bakes_at_least_the_ttl_even_when_the_interval_is_shorter(canary_factory: Any) -> None:
    canary = canary_factory(Schedule="50,100", StepIntervalSeconds="10", HealthPollSeconds="20")
    canary.set_pair(blue=100, green=0)

    result = canary.run(canary.plan())

    assert result["status"] == "SUCCEEDED"
    waits = bake_waits(result["executionArn"])
    assert len(waits) == 6  # ceil(60 / 20) polls per step, two steps
    assert sum(waits) >= 2 * 60


def test_missing_pair_is_created_with_live_side_at_100_then_shifted(canary: Canary) -> None:
    result = canary.run(canary.plan("green"))

    assert result["status"] == "SUCCEEDED", result.get("cause")
    creates = canary.r53.batches[0]
    assert sorted(creates) == [("CREATE", "blue", 100), ("CREATE", "green", 0)]
    assert canary.weights() == {"blue": 0, "green": 100}
    assert canary.record(canary.plan("green"))["originalWeights"] == {"blue": 100, "green": 0}


def test_only_weight_changes_the_rest_of_each_record_is_kept(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    before = {
        r["SetIdentifier"]: {k: v for k, v in r.items() if k != "Weight"}
        for r in canary.aws["route53"].list_resource_record_sets(HostedZoneId=canary.world.zone_id)[
            "ResourceRecordSets"
        ]
        if "SetIdentifier" in r
    }

    assert canary.run(canary.plan())["status"] == "SUCCEEDED"

    after = {
        r["SetIdentifier"]: {k: v for k, v in r.items() if k != "Weight"}
        for r in canary.aws["route53"].list_resource_record_sets(HostedZoneId=canary.world.zone_id)[
            "ResourceRecordSets"
        ]
        if "SetIdentifier" in r
    }
    assert after == before


# -------------------------------------------------------------- health gate
@pytest.mark.parametrize("failing_step", [1, 2, 3, 4])
def test_alarm_at_any_step_fails_back_to_the_recorded_original_weights(canary: Canary, failing_step: int) -> None:
    # Not 100/0: failback must restore what was there, not assume.
    canary.set_pair(blue=200, green=0)
    canary.on_step(
        failing_step,
        lambda: canary.aws["cloudwatch"].set_alarm_state(
            AlarmName=canary.world.green_alarm, StateValue="ALARM", StateReason="5xx spike"
        ),
    )
    plan = canary.plan()

    result = canary.run(plan)

    assert result["status"] == "FAILED"
    assert result["error"] == "HealthGateFailed"
    assert f"alarm {canary.world.green_alarm} is in ALARM" in result["cause"]
    assert canary.weights() == {"blue": 200, "green": 0}
    batches = step_batches(canary)
    assert len(batches) == failing_step + 1  # the steps up to k, then one fail-back batch
    assert batches[-1] == {"blue": 200, "green": 0}
    record = canary.record(plan)
    assert record["status"] == "ROLLED_BACK"
    assert "HealthGateFailed" in record["reason"]
    assert record["restoredWeights"] == {"blue": 200, "green": 0}


@pytest.mark.parametrize("poll", ["15", "300"])
def test_an_alarm_ends_the_bake_at_once_through_its_state_change_event(canary_factory: Any, poll: str) -> None:
    """The alarm goes to ALARM while the bake waits; its state-change event reaches the
    stack's alarm rule, the listener fails the bake's task, and the execution fails back
    without waiting for the rest of that wait, whatever the poll interval."""
    canary = canary_factory(Schedule="10,100", StepIntervalSeconds="600", HealthPollSeconds=poll)
    canary.set_pair(blue=100, green=0)
    waits: list[patches.Wait] = []

    def on_wait(wait: patches.Wait) -> None:
        if wait.state == "Bake and watch health":
            waits.append(wait)
            if len(waits) == 2:
                assert wait.ended is not None
                assert not wait.ended()
                canary.aws["cloudwatch"].set_alarm_state(
                    AlarmName=canary.world.green_alarm, StateValue="ALARM", StateReason="5xx over 10 (test)"
                )
                assert wait.ended(), "the listener answered the bake's token before its wait was over"

    patches.CLOCK.hooks.append(on_wait)
    result = canary.run(canary.plan())

    assert result["status"] == "FAILED"
    assert result["error"] == "AlarmFired"
    assert f"alarm {canary.world.green_alarm} went to ALARM at " in result["cause"]
    assert "5xx over 10 (test)" in result["cause"]
    assert len(waits) == 2  # the second wait of a 600 s bake, not its end
    assert canary.weights() == {"blue": 100, "green": 0}
    (failed,) = [e for e in canary.history(result["executionArn"]) if e["type"] == "TaskFailed"]
    assert failed["taskFailedEventDetails"]["error"] == "AlarmFired"
    assert failed["taskFailedEventDetails"]["resource"] == "invoke.waitForTaskToken"


@pytest.mark.parametrize(
    ("schedule", "interval", "bound"),
    [("Canary10Percent5Minutes", "60", 45), ("10,25,50,100", "60", None), ("10,25,50,100", "300", None)],
)
def test_with_a_slow_safety_poll_a_bake_costs_the_same_whatever_its_length(
    canary_factory: Any, schedule: str, interval: str, bound: int | None
) -> None:
    """Issue 11's targets, at the template's default HealthPollSeconds (300: the alarms' events,
    the stack's own 5xx and latency comparison alarms included, catch a bad release in
    seconds; the poll is the safety net): Canary10Percent5Minutes in at most 45 state
    transitions, and a 4-step list with 5-minute bakes within 20% of the same list with
    1-minute bakes (the plan's estimate is the exact count)."""
    default_poll = str(load_template()["Parameters"]["HealthPollSeconds"]["Default"])
    assert default_poll == "300"
    canary = canary_factory(Schedule=schedule, StepIntervalSeconds=interval, HealthPollSeconds=default_poll)
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    result = canary.run(plan)
    assert result["status"] == "SUCCEEDED"
    transitions = canary.transitions(result["executionArn"])
    assert transitions == estimate(plan, 60).transitions
    if bound is not None:
        assert transitions <= bound
    else:
        config = load_route_config(canary.installed.env("TriggerFunction"))
        with_1_minute_bakes = build_plan(
            config.model_copy(update={"step_interval_seconds": 60}),
            "green",
            "ecs-svc/1001",
            canary.world.task_definitions["green"],
        )
        one_minute = estimate(with_1_minute_bakes, 60).transitions
        assert transitions <= 1.2 * one_minute, (transitions, one_minute)
    # No bake outlasts its step: the waits add up to the bakes, not to whole polls.
    waits = [
        w.seconds for w in patches.CLOCK.for_execution(result["executionArn"]) if w.state == "Bake and watch health"
    ]
    assert sum(waits) == sum(max(s.bake_seconds, 60) for s in plan.steps)


def test_unhealthy_route53_health_check_fails_back(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    canary.on_step(2, lambda: patches.UNHEALTHY_CHECKS.add(canary.world.green_health_check))

    result = canary.run(canary.plan())

    assert result["status"] == "FAILED"
    assert result["error"] == "HealthGateFailed"
    assert "Route 53 health check is unhealthy" in result["cause"]
    assert canary.weights() == {"blue": 100, "green": 0}


def test_target_group_without_healthy_targets_fails_back(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)

    def drain() -> None:
        elb = canary.aws["elbv2"]
        targets = elb.describe_target_health(TargetGroupArn=canary.world.green_tg_arn)["TargetHealthDescriptions"]
        elb.deregister_targets(TargetGroupArn=canary.world.green_tg_arn, Targets=[t["Target"] for t in targets])

    canary.on_step(3, drain)
    result = canary.run(canary.plan())

    assert result["status"] == "FAILED"
    assert "no registered targets" in result["cause"]
    assert canary.weights() == {"blue": 100, "green": 0}


def test_target_not_ready_before_the_deadline_changes_no_dns(canary_factory: Any) -> None:
    canary = canary_factory(ReadinessTimeoutSeconds="60")
    canary.set_pair(blue=100, green=0)
    elb = canary.aws["elbv2"]
    targets = elb.describe_target_health(TargetGroupArn=canary.world.green_tg_arn)["TargetHealthDescriptions"]
    elb.deregister_targets(TargetGroupArn=canary.world.green_tg_arn, Targets=[t["Target"] for t in targets])

    result = canary.run(canary.plan())

    assert result["status"] == "FAILED"
    assert result["error"] == "TargetNotReady"
    assert canary.r53.batches == []
    waits = [
        w for w in patches.CLOCK.for_execution(result["executionArn"]) if w.state.startswith("Wait for the target")
    ]
    assert sum(w.seconds for w in waits) == 60


# ------------------------------------------------------------------ retries
def test_route53_throttling_and_prior_request_are_retried_then_recover(
    canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary.set_pair(blue=100, green=0)
    # No SDK-level retries: every fault reaches the state machine, whose Retry
    # (backoff + jitter) must carry it. Both error-name spellings are exercised:
    # the Lambda raises Route53Throttled/PriorRequestNotComplete, the aws-sdk
    # GetChange task fails as Route53.ThrottlingException (as in AWS; see
    # test_dns_sync_errors.py).
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    canary.r53.faults.extend(["Throttling", "PriorRequestNotComplete", "Throttling"])
    canary.r53.get_change_faults.extend(["Throttling"])

    result = canary.run(canary.plan())

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert canary.weights() == {"blue": 0, "green": 100}
    assert canary.r53.faults == []
    assert canary.r53.get_change_faults == []
    retries = [w for w in patches.CLOCK.waits if w.kind == "retry"]
    assert len(retries) == 4
    assert all(w.seconds <= 60 for w in retries)  # MaxDelaySeconds


def test_lambda_service_error_is_retried(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    gate_fn = canary.installed.functions["GateFunction"]
    crashes = {"left": 2}

    def crash(function_name: str, event: Any) -> None:
        if function_name == gate_fn and crashes["left"]:
            crashes["left"] -= 1
            raise patches.LambdaServiceFault("Lambda.ServiceException")

    patches.INVOKE_HOOKS.append(crash)
    result = canary.run(canary.plan())

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert crashes["left"] == 0


def test_lambda_that_keeps_crashing_fails_back(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    gate_fn = canary.installed.functions["GateFunction"]
    calls = {"n": 0}

    def crash(function_name: str, event: Any) -> None:
        if function_name == gate_fn:
            calls["n"] += 1
            raise patches.LambdaServiceFault("Lambda.Unknown")

    patches.INVOKE_HOOKS.append(crash)
    result = canary.run(canary.plan())

    assert result["status"] == "FAILED"
    assert result["error"] == "Lambda.Unknown"
    assert calls["n"] == 5  # the first try and four retries
    assert canary.weights() == {"blue": 100, "green": 0}


def test_unreadable_signal_fails_closed_after_retries(canary: Canary) -> None:
    """The health check goes after preflight checked it (a missing one before the first
    shift is a ConfigurationBroken rejection, tests/workflow/test_configuration.py)."""
    canary.set_pair(blue=100, green=0)

    deleted: list[str] = []

    def delete_at_the_first_bake(wait: patches.Wait) -> None:
        if wait.state == "Bake and watch health" and not deleted:
            deleted.append(canary.world.green_health_check)
            canary.aws["route53"].delete_health_check(HealthCheckId=canary.world.green_health_check)

    patches.CLOCK.hooks.append(delete_at_the_first_bake)
    result = canary.run(canary.plan())

    assert result["status"] == "FAILED"
    assert result["error"] == "SignalUnavailable"
    assert canary.weights() == {"blue": 100, "green": 0}


# --------------------------------------------------------------- console stop
def test_stop_during_the_bake_is_failed_back_by_the_status_rule_lambda(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    arn_box: dict[str, str] = {}
    polls: list[int] = []

    def stop_mid_bake(wait: patches.Wait) -> None:
        if wait.state == "Bake and watch health":
            polls.append(1)
            if len(polls) == 6:  # step 2, second poll
                canary.sfn.stop_execution(executionArn=arn_box["arn"], error="Stop", cause="on-call pressed Stop")

    patches.CLOCK.hooks.append(stop_mid_bake)
    arn_box["arn"] = canary.start(plan)
    from tests.conftest import wait_for

    ended = wait_for(canary.sfn, arn_box["arn"])
    assert ended["status"] == "ABORTED"
    assert canary.weights() == {"blue": 75, "green": 25}  # stranded until the rule's Lambda runs

    result = canary.invoke("AbortFunction", canary.abort_event(arn_box["arn"]))

    assert result["action"] == "failed-back"
    assert canary.weights() == {"blue": 100, "green": 0}
    record = canary.record(plan)
    assert record["status"] == "ROLLED_BACK"
    assert record["error"] == "Aborted"
    # A second delivery of the same event changes nothing.
    again = canary.invoke("AbortFunction", canary.abort_event(arn_box["arn"]))
    assert again["action"] == "none"


def test_status_rule_ignores_an_execution_that_already_finished(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    done = canary.run(canary.plan())
    event = canary.abort_event(done["executionArn"])
    event["detail"]["status"] = "FAILED"

    result = canary.invoke("AbortFunction", event)

    assert result["action"] == "none"
    assert canary.weights() == {"blue": 0, "green": 100}


# ---------------------------------------------------------------- bad plans
def _tampered(canary: Canary, mutate: Any) -> dict[str, Any]:
    body = canary.plan().dump()
    mutate(body)
    return body


@pytest.mark.parametrize(
    ("mutate", "error", "words"),
    [
        (lambda p: p["steps"][0].update(targetWeight=300), "InvalidPlan", "outside 0-255"),
        (lambda p: p["steps"][1].update(targetWeight=0, liveWeight=0), "InvalidPlan", "both weights are 0"),
        (lambda p: p["steps"].pop(), "InvalidPlan", "must send 100%"),
        (lambda p: p["steps"][1].update(targetWeight=1, liveWeight=99), "InvalidPlan", "goes down"),
        (lambda p: p.update(hostedZoneId="ZNOSUCHZONE123"), "InvalidPlan", "hostedZoneId: the input says"),
        (lambda p: p.pop("target"), "InvalidPlan", "not a valid Weightshift plan"),
    ],
)
def test_bad_plan_is_rejected_with_no_dns_change(canary: Canary, mutate: Any, error: str, words: str) -> None:
    canary.set_pair(blue=100, green=0)

    result = canary.run(_tampered(canary, mutate), name="tampered")

    assert result["status"] == "FAILED"
    assert result["error"] == error
    assert words in result["cause"]
    assert canary.r53.batches == []
    assert canary.weights() == {"blue": 100, "green": 0}


def delete_green_record(canary: Canary) -> None:
    """Half the pair goes: the green record is deleted, blue stays."""
    green = next(
        r
        for r in canary.aws["route53"].list_resource_record_sets(HostedZoneId=canary.world.zone_id)[
            "ResourceRecordSets"
        ]
        if r.get("SetIdentifier") == "green"
    )
    canary.aws["route53"].change_resource_record_sets(
        HostedZoneId=canary.world.zone_id, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": green}]}
    )


def test_half_a_pair_is_rejected_with_no_dns_change(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    delete_green_record(canary)
    canary.r53.batches.clear()

    result = canary.run(canary.plan())

    assert result["status"] == "FAILED"
    assert result["error"] == "RouteNotFound"
    assert "only one side of the pair exists" in result["cause"]
    assert canary.r53.batches == []


def test_a_plain_record_with_the_name_is_rejected(canary: Canary) -> None:
    canary.aws["route53"].change_resource_record_sets(
        HostedZoneId=canary.world.zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": canary.world.record_name + ".",
                        "Type": "CNAME",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": "legacy.example.com"}],
                    },
                }
            ]
        },
    )
    canary.r53.batches.clear()

    result = canary.run(canary.plan())

    assert result["status"] == "FAILED"
    assert result["error"] == "RouteNotFound"
    assert "not the weighted pair" in result["cause"]
    assert canary.r53.batches == []


# ------------------------------------------------------------------ re-runs
def test_rerun_after_success_is_a_no_op(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    assert canary.run(plan)["status"] == "SUCCEEDED"
    canary.r53.batches.clear()

    again = canary.run(plan, name="console-rerun")

    assert again["status"] == "SUCCEEDED"
    assert canary.r53.batches == []
    history = canary.history(again["executionArn"])
    assert any(e.get("stateEnteredEventDetails", {}).get("name") == "Target already live" for e in history)
    assert canary.record(plan)["status"] == "SUCCEEDED"


def test_rerun_after_failback_starts_again_from_preflight(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    canary.on_step(
        2,
        lambda: canary.aws["cloudwatch"].set_alarm_state(
            AlarmName=canary.world.green_alarm, StateValue="ALARM", StateReason="bad"
        ),
    )
    assert canary.run(plan)["status"] == "FAILED"
    patches.INVOKE_HOOKS.clear()
    canary.aws["cloudwatch"].set_alarm_state(AlarmName=canary.world.green_alarm, StateValue="OK", StateReason="fixed")
    canary.r53.batches.clear()

    again = canary.run(plan, name="console-rerun-after-failback")

    assert again["status"] == "SUCCEEDED", again.get("cause")
    assert step_batches(canary) == [{"blue": 100 - g, "green": g} for g in (5, 25, 50, 100)]
    assert canary.record(plan)["status"] == "SUCCEEDED"


def test_both_directions_blue_to_green_then_green_to_blue(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    assert canary.run(canary.plan("green", "ecs-svc/2001"))["status"] == "SUCCEEDED"
    canary.r53.batches.clear()

    result = canary.run(canary.plan("blue", "ecs-svc/2002"))

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert step_batches(canary) == [{"blue": b, "green": 100 - b} for b in (5, 25, 50, 100)]
    assert canary.weights() == {"blue": 100, "green": 0}


def test_second_execution_waits_for_the_route_and_never_writes_concurrently(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    first = canary.plan("green", "ecs-svc/3001")
    second = canary.plan("green", "ecs-svc/3002")
    started: dict[str, str] = {}

    def start_second_at_step_2() -> None:
        if "second" not in started:
            started["second"] = canary.start(second)

    canary.on_step(2, start_second_at_step_2)
    first_result = canary.run(first)
    from tests.conftest import wait_for

    second_result = wait_for(canary.sfn, started["second"])

    assert first_result["status"] == "SUCCEEDED"
    # The second saw the route busy, waited in line until the first released it,
    # then found green already live.
    assert second_result["status"] == "SUCCEEDED"
    assert any(w.state == "Wait for the route" for w in patches.CLOCK.for_execution(started["second"]))
    assert canary.record(second)["status"] == "ALREADY_LIVE"


def test_a_poll_in_line_spends_no_route53_request_while_the_holder_runs(
    canary: Canary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting in line, each poll asks the route lock and the holder's status, and nothing
    of Route 53 (whose 5 requests a second the account's canaries share); the checks run
    on the first call and again once the route is free, before any DNS change."""
    import threading

    import moto.route53.responses as r53_responses

    canary.set_pair(blue=100, green=0)
    first, second = canary.plan("green", "ecs-svc/3101"), canary.plan("green", "ecs-svc/3102")
    second_name = str(second.dump()["deploymentId"])
    started: dict[str, str] = {}
    calls: list[list[str]] = []  # per preflight invocation of the second: its Route 53 actions
    current = threading.local()
    polled = threading.Event()

    def tag(function_name: str, event: Any) -> None:
        # By name, not by the ARN start_execution returns: the execution's first preflight
        # can run before that call has returned to this thread.
        mine = isinstance(event, dict) and str(event.get("executionArn", "")).endswith(":" + second_name)
        current.calls = None
        if mine and "Preflight" in function_name:
            current.calls = []
            calls.append(current.calls)
            if len(calls) >= 4:
                polled.set()

    def counted(name: str) -> Any:
        original = getattr(r53_responses.Route53, name)

        def action(self: Any) -> Any:
            if getattr(current, "calls", None) is not None:
                current.calls.append(name)
            return original(self)

        return action

    for name in ("get_hosted_zone", "list_resource_record_sets", "change_resource_record_sets"):
        monkeypatch.setattr(r53_responses.Route53, name, counted(name))
    patches.INVOKE_HOOKS.append(tag)

    def hold_first_until_the_second_polled(wait: patches.Wait) -> None:
        if wait.state == "Bake and watch health" and "second" not in started:
            started["second"] = canary.start(second)
        if wait.state == "Bake and watch health" and wait.execution != started.get("second"):
            polled.wait(30)

    patches.CLOCK.hooks.append(hold_first_until_the_second_polled)
    assert canary.run(first)["status"] == "SUCCEEDED"
    from tests.conftest import wait_for

    assert wait_for(canary.sfn, started["second"])["status"] == "SUCCEEDED"

    outputs = [
        json.loads(e["lambdaFunctionSucceededEventDetails"]["output"])
        for e in canary.history(started["second"])
        if e["type"] == "LambdaFunctionSucceeded"
    ]
    answers = [o["busy"] for o in outputs if "busy" in o]  # the preflight's answers, in order
    assert len(calls) == len(answers) >= 4, (calls, answers)
    assert answers[0] is True, "the first call finds the route busy..."
    assert "get_hosted_zone" in calls[0], "...after it checked the zone and the pair"
    for polled_calls, busy in zip(calls[1:], answers[1:], strict=True):
        if busy:
            assert polled_calls == [], polled_calls
    assert answers[-1] is False
    assert "get_hosted_zone" in calls[-1], "the route free: every check again before taking it"
    assert canary.record(second)["status"] == "ALREADY_LIVE"


def test_a_forged_queue_answer_in_the_input_skips_no_check(canary: Canary) -> None:
    """An input edited to carry a poll's ``run`` still gets every check before it may
    take the route: here the pair is half gone, so the deployment is rejected."""
    canary.set_pair(blue=100, green=0)
    delete_green_record(canary)
    canary.r53.batches.clear()
    forged = {**canary.plan().dump(), "run": {"busy": True, "queuedSince": "2026-11-29T00:00:00+00:00"}}

    result = canary.run(forged)

    assert result["status"] == "FAILED"
    assert result["error"] == "RouteNotFound"
    assert canary.r53.batches == []


# ------------------------------------------------------------ cost and history
def test_history_stays_within_the_plan_estimate(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()

    result = canary.run(plan)

    history = canary.history(result["executionArn"])
    cost = estimate(plan, 60)
    assert len(history) <= cost.history_events
    assert canary.transitions(result["executionArn"]) == cost.transitions


def test_execution_output_is_json_and_input_is_the_plan(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    result = canary.run(plan)
    assert json.loads(result["input"]) == plan.dump()


# ------------------------------------------------------------------ timeouts
def test_gate_fails_a_deployment_past_its_deadline(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    state = {
        **canary.plan().dump(),
        "run": {"deadline": "2020-01-01T00:00:00+00:00"},
        "shift": {"stepIndex": 2, "polls": 4},
    }
    resp = canary.aws["lambda"].invoke(
        FunctionName=canary.installed.functions["GateFunction"],
        Payload=json.dumps({"state": state, "executionArn": "arn:x"}).encode(),
    )
    payload = json.loads(resp["Payload"].read())

    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "DeadlineExceeded"
    assert "timeout" in payload["errorMessage"]


def test_timed_out_execution_is_failed_back_by_the_status_rule(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    box: dict[str, str] = {}

    def stop_at_step_3() -> None:
        canary.sfn.stop_execution(executionArn=box["arn"])

    canary.on_step(3, stop_at_step_3)
    box["arn"] = canary.start(plan)
    from tests.conftest import wait_for

    wait_for(canary.sfn, box["arn"])
    event = canary.abort_event(box["arn"])
    event["detail"]["status"] = "TIMED_OUT"  # as AWS reports an execution past TimeoutSeconds

    result = canary.invoke("AbortFunction", event)

    assert result["action"] == "failed-back"
    assert canary.weights() == {"blue": 100, "green": 0}
    assert canary.record(plan)["error"] == "TimedOut"


def test_record_ttl_longer_than_the_interval_lengthens_every_bake(canary: Canary) -> None:
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": canary.world.record_name + ".",
                "Type": "CNAME",
                "SetIdentifier": color,
                "Weight": weight,
                "TTL": 300,
                "ResourceRecords": [{"Value": f"{color}.lb.example.com"}],
            },
        }
        for color, weight in (("blue", 100), ("green", 0))
    ]
    canary.aws["route53"].change_resource_record_sets(
        HostedZoneId=canary.world.zone_id, ChangeBatch={"Changes": changes}
    )
    canary.r53.batches.clear()

    result = canary.run(canary.plan())

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert sum(bake_waits(result["executionArn"])) == 4 * 300  # four steps, each baked for the 300 s TTL
    assert canary.weights() == {"blue": 0, "green": 100}


def test_next_deployment_fails_back_a_stopped_holder_before_it_takes_the_route(canary: Canary) -> None:
    from tests.conftest import wait_for

    canary.set_pair(blue=100, green=0)
    first, second = canary.plan("green", "ecs-svc/4001"), canary.plan("green", "ecs-svc/4002")
    box: dict[str, str] = {}
    canary.on_step(3, lambda: canary.sfn.stop_execution(executionArn=box["first"]))
    box["first"] = canary.start(first)
    assert wait_for(canary.sfn, box["first"])["status"] == "ABORTED"
    assert canary.weights() == {"blue": 50, "green": 50}  # its status-rule Lambda has not run yet
    patches.INVOKE_HOOKS.clear()
    canary.r53.batches.clear()

    result = canary.run(second)

    assert result["status"] == "SUCCEEDED", result.get("cause")
    # The stopped canary was failed back to its originals first, then the new one ran from them.
    assert step_batches(canary) == [{"blue": 100, "green": 0}] + [
        {"blue": 100 - g, "green": g} for g in (5, 25, 50, 100)
    ]
    assert canary.record(second)["originalWeights"] == {"blue": 100, "green": 0}
    assert canary.record(first)["status"] == "ROLLED_BACK"
    assert "failed back by the next deployment" in canary.record(first)["reason"]
    # The late status-change event for the first execution must not touch DNS now.
    late = canary.invoke("AbortFunction", canary.abort_event(box["first"]))
    assert late["action"] == "none"
    assert canary.weights() == {"blue": 0, "green": 100}


# ------------------------------------------------------------------- redrive
# moto has no RedriveExecution, so these re-enter the tasks a redrive would re-run,
# with the state the execution had, and check they resume rather than restart.
def test_redriven_record_step_keeps_the_weights_recorded_by_the_same_execution(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    canary.on_step(
        2,
        lambda: canary.aws["cloudwatch"].set_alarm_state(
            AlarmName=canary.world.green_alarm, StateValue="ALARM", StateReason="x"
        ),
    )
    arn = canary.start(plan)
    from tests.conftest import wait_for

    wait_for(canary.sfn, arn)
    canary.set_pair(blue=75, green=25)  # as if the fail back itself had not happened
    event = {"state": plan.dump(), "executionArn": arn, "action": "record"}

    result = canary.invoke("ShiftFunction", event)

    assert result["originalWeights"] == {"blue": 100, "green": 0}
    assert canary.record(plan)["originalWeights"] == {"blue": 100, "green": 0}


def test_redriven_shift_reapplies_the_failed_step_not_the_next_one(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    plan = canary.plan()
    state = {**plan.dump(), "shift": {"stepIndex": 1, "ttlSeconds": 60, "originalWeights": {"blue": 100, "green": 0}}}
    arn = "arn:aws:states:us-east-1:123456789012:execution:x:y"
    event = {"state": state, "executionArn": arn, "action": "shift"}
    from weightshift.adapters.deployments import Deployments

    # The execution holds the route, as its preflight left it (a shift writes DNS only then).
    assert (
        Deployments(canary.aws["dynamodb"], canary.installed.table_name).acquire(plan.route_key, "d", arn, "t") is None
    )

    first = canary.invoke("ShiftFunction", event)
    again = canary.invoke("ShiftFunction", event)

    assert first["stepIndex"] == again["stepIndex"] == 2
    assert canary.weights() == {"blue": 75, "green": 25}


def test_a_change_that_never_syncs_fails_back_after_a_bounded_wait(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    canary.r53.never_in_sync = True

    result = canary.run(canary.plan())

    assert result["status"] == "FAILED"
    assert result["error"] == "DnsSyncTimeout"
    assert canary.weights() == {"blue": 100, "green": 0}
    waits = patches.CLOCK.for_execution(result["executionArn"])
    assert sum(1 for w in waits if w.state == "Pause for DNS sync") == DNS_SYNC_MAX_POLLS
    assert sum(1 for w in waits if w.state == "Pause for fail-back DNS sync") == DNS_SYNC_MAX_POLLS
