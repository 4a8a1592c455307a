"""The alarm listener: a configured alarm going to ALARM ends the bake in progress.

``alarm_watch.on_alarm`` over the record store and executions fakes; the handler's parsing
with the real event shape (events/alarm-state-change.json, as CloudWatch sends it). The
listener and the bake together, in the real state machine, are in
tests/e2e/test_traffic_canary.py (an alarm that fires from its data ends the bake within
5 simulated seconds) and tests/workflow/test_alarm_events.py."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from weightshift import alarm_watch
from weightshift.records import LOCK_SK
from weightshift_emulator import patches

from tests.fakes.aws import FakeExecutions
from tests.fakes.record_store import FakeRecordStore
from tests.unit.helpers import event_json, make_config

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:weightshift-canary:green-ecs-svc-1"
TOKEN = "AQB8AAAAKgAAAAMAAAAAAAAAAbake-token"


def baking(store: FakeRecordStore, config: Any, *, acquired: str = "2026-11-30T10:00:00+00:00") -> None:
    store._lock(config.route_key, "green-ecs-svc-1", EXECUTION, acquired)
    assert store.watch(config.route_key, EXECUTION, TOKEN, 2, "2026-11-30T10:03:00+00:00", config.alarm_names)


def change(**overrides: Any) -> alarm_watch.AlarmChange:
    values = {
        "alarm_name": "shop-green-5xx",
        "state": "ALARM",
        "reason": "Threshold Crossed: 1 datapoint [212.0 (30/11/26 10:03:00)] was greater than the threshold (10.0).",
        "timestamp": "2026-11-30T10:04:40.989+0000",
    }
    values.update(overrides)
    return alarm_watch.AlarmChange(**values)


def test_an_alarm_of_the_stack_going_to_alarm_fails_the_bake_with_its_reason() -> None:
    config, store, sfn = make_config(), FakeRecordStore(), FakeExecutions(waiting_tasks={TOKEN})
    baking(store, config)
    outcome = alarm_watch.on_alarm(change(), config, store, sfn)
    assert outcome.decision == "bake-failed"
    error, cause = sfn.failed_tasks[TOKEN]
    assert error == alarm_watch.ALARM_FIRED == "AlarmFired"
    assert cause.startswith("alarm shop-green-5xx went to ALARM at 2026-11-30T10:04:40.989+0000 during the bake")
    assert "of step 2: " in cause
    assert "was greater than the threshold (10.0)" in cause


@pytest.mark.parametrize(
    ("overrides", "decision"),
    [
        ({"alarm_name": "someone-elses-alarm"}, "not-watched"),
        ({"state": "OK"}, "not-alarm"),
        ({"state": "INSUFFICIENT_DATA"}, "not-alarm"),
        ({"timestamp": "2026-11-30T09:59:59.000+0000"}, "stale"),  # before the deployment took the route
    ],
)
def test_other_changes_end_nothing(overrides: dict[str, str], decision: str) -> None:
    config, store, sfn = make_config(), FakeRecordStore(), FakeExecutions(waiting_tasks={TOKEN})
    baking(store, config)
    assert alarm_watch.on_alarm(change(**overrides), config, store, sfn).decision == decision
    assert sfn.failed_tasks == {}


def test_without_a_bake_in_progress_nothing_is_ended() -> None:
    config, store, sfn = make_config(), FakeRecordStore(), FakeExecutions(waiting_tasks={TOKEN})
    assert alarm_watch.on_alarm(change(), config, store, sfn).decision == "no-bake"  # no lock at all
    store._lock(config.route_key, "green-ecs-svc-1", EXECUTION, "2026-11-30T10:00:00+00:00")
    assert alarm_watch.on_alarm(change(), config, store, sfn).decision == "no-bake"  # held, not yet baking
    assert sfn.failed_tasks == {}


def test_a_bake_already_over_is_reported_not_failed() -> None:
    """The token of a bake whose wait ended (SendTaskFailure: TaskTimedOut): the health check
    that followed, or the next bake's arming, reads the alarm itself."""
    config, store, sfn = make_config(), FakeRecordStore(), FakeExecutions()  # no task waits
    baking(store, config)
    assert alarm_watch.on_alarm(change(), config, store, sfn).decision == "bake-over"


def test_a_bake_is_armed_only_by_the_execution_holding_the_route() -> None:
    config, store = make_config(), FakeRecordStore()
    store._lock(config.route_key, "green-ecs-svc-1", EXECUTION, "2026-11-30T10:00:00+00:00")
    assert not store.watch(config.route_key, EXECUTION + "-other", TOKEN, 1, "2026-11-30T10:01:00+00:00", [])
    assert "bakeToken" not in store.items[(config.route_key, LOCK_SK)]


def test_the_handler_reads_the_real_event_and_ignores_a_malformed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from weightshift.handlers import alarm as handler_module

    seen: list[alarm_watch.AlarmChange] = []

    def on_alarm(c: alarm_watch.AlarmChange, *args: Any) -> alarm_watch.Outcome:
        seen.append(c)
        return alarm_watch.Outcome("no-bake", "test")

    monkeypatch.setattr(handler_module.alarm_watch, "on_alarm", on_alarm)
    monkeypatch.setattr(handler_module, "route_config", make_config)
    monkeypatch.setattr(handler_module, "client", lambda name: object())
    monkeypatch.setenv("TABLE_NAME", "weightshift-deployments")
    monkeypatch.setenv("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:weightshift-notifications")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Weightshift")
    context = patches.LambdaContext("weightshift-AlarmFunction", "arn:aws:lambda:us-east-1:123456789012:function:f")
    event = event_json("alarm-state-change.json")
    assert handler_module.handler(event, context)["decision"] == "no-bake"
    assert seen == [change()]

    broken = copy.deepcopy(event)
    del broken["detail"]["state"]
    assert handler_module.handler(broken, context)["decision"] == "malformed"
    assert len(seen) == 1


def test_the_stacks_own_5xx_alarm_ends_only_a_bake_toward_its_side() -> None:
    """The stack owns one 5xx comparison alarm per side; a canary toward green watches green's
    (green worse than blue), never blue's: trouble on the live side is no reason to put traffic
    back on it."""
    config = make_config(
        alarm_names=[], blue_error_rate_alarm="ws-blue-5xx-vs-green", green_error_rate_alarm="ws-green-5xx-vs-blue"
    )
    assert config.watched_alarms("green") == ["ws-green-5xx-vs-blue"]
    store, sfn = FakeRecordStore(), FakeExecutions(waiting_tasks={TOKEN})
    store._lock(config.route_key, "green-ecs-svc-1", EXECUTION, "2026-11-30T10:00:00+00:00")
    assert store.watch(
        config.route_key, EXECUTION, TOKEN, 2, "2026-11-30T10:03:00+00:00", config.watched_alarms("green")
    )
    other = alarm_watch.on_alarm(change(alarm_name="ws-blue-5xx-vs-green"), config, store, sfn)
    assert other.decision == "not-watched"
    assert "does not watch alarm ws-blue-5xx-vs-green" in other.detail
    assert TOKEN not in sfn.failed_tasks
    own = alarm_watch.on_alarm(change(alarm_name="ws-green-5xx-vs-blue"), config, store, sfn)
    assert own.decision == "bake-failed"
    assert sfn.failed_tasks[TOKEN][1].startswith("alarm ws-green-5xx-vs-blue went to ALARM")
