"""More than 5xx (issue 11 §3): the response-time comparison, and custom metric checks
whose "no data" means what the check says (fail, pass or wait), never a silent pass."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from weightshift import health
from weightshift.configuration import Facts, health_problems
from weightshift.errors import HealthGateFailed, InvalidPlan
from weightshift.plan import authorize, estimate, observed_wait_polls
from weightshift.settings import load_parameters

from tests.fakes.world import World
from tests.unit.helpers import make_config

GREEN_LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/green/2"
BLUE_LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blue/1"


# ------------------------------------------------------------------ latency
@pytest.mark.parametrize(
    ("latency", "requests", "verdict", "text"),
    [
        ((0.30, 0.10), 500, "fail", "target p99 response time 300 ms exceeds 200 ms (live side 100 ms x 2.0)"),
        ((0.19, 0.10), 500, "pass", "target p99 response time 190 ms within 200 ms"),
        # A gap under 50 ms never fails, whatever the ratio.
        ((0.012, 0.005), 500, "pass", "target p99 response time 12 ms within 55 ms"),
        ((0.30, 0.10), 20, "no-verdict", "latency: 20 target requests, fewer than 50"),
        ((0.30, 0.10), (500, 20), "no-verdict", "latency: 20 live side requests, fewer than 50"),
        ((None, 0.10), 500, "no-verdict", "latency: no p99 TargetResponseTime for the target in the window"),
        ((0.30, None), 500, "no-verdict", "latency: no p99 TargetResponseTime for the live side in the window"),
        (None, 500, "off", ""),
    ],
)
def test_latency_compares_the_percentiles_with_the_request_guard(
    latency: tuple[float | None, float | None] | None, requests: int | tuple[int, int], verdict: str, text: str
) -> None:
    both = requests if isinstance(requests, tuple) else (requests, 1000)
    assert health.latency_check(latency, both, 50, 2.0, "p99") == (verdict, text)


def test_a_slow_target_fails_the_gate_and_a_slow_live_side_does_not() -> None:
    traffic = health.TrafficSample(1000, 0)
    groups = [("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/1", 2, 2)]
    slow = health.evaluate(
        health.Signals(target_groups=groups, target_traffic=traffic, live_traffic=traffic, latency=(0.9, 0.1))
    )
    assert not slow.healthy
    assert slow.latency_verdict == "fail"
    assert slow.error_rate_verdict == "pass"
    fast = health.evaluate(
        health.Signals(target_groups=groups, target_traffic=traffic, live_traffic=traffic, latency=(0.1, 0.9))
    )
    assert fast.healthy
    assert fast.latency_verdict == "pass"


# ------------------------------------------------------------------ custom checks
def reading(value: float | None, no_data: str = "fail", comparison: str = "GreaterThanThreshold") -> Any:
    return health.CheckReading("orders", value, 5.0, comparison, no_data)


@pytest.mark.parametrize(
    ("value", "no_data", "comparison", "kind", "text"),
    [
        (7.0, "fail", "GreaterThanThreshold", "failures", "check orders: 7 > 5"),
        (5.0, "fail", "GreaterThanThreshold", "notes", "check orders: 5 passes (fails when > 5)"),
        (5.0, "fail", "GreaterThanOrEqualToThreshold", "failures", "check orders: 5 >= 5"),
        (4.0, "fail", "LessThanThreshold", "failures", "check orders: 4 < 5"),
        (4.0, "fail", "LessThanOrEqualToThreshold", "failures", "check orders: 4 <= 5"),
        (None, "fail", "GreaterThanThreshold", "failures", "check orders: no data (noData: fail)"),
        (None, "pass", "GreaterThanThreshold", "notes", "check orders: no data (noData: pass)"),
        (None, "wait", "GreaterThanThreshold", "waiting", "check orders: no data (noData: wait)"),
    ],
)
def test_each_check_fails_passes_or_waits_as_it_says(
    value: float | None, no_data: str, comparison: str, kind: str, text: str
) -> None:
    failures, notes, waiting = health.metric_check_results([reading(value, no_data, comparison)])
    assert {"failures": failures, "notes": notes, "waiting": waiting}[kind] == [text]
    assert sum(map(len, (failures, notes, waiting))) == 1


CHECK = {
    "name": "checkout-errors",
    "metrics": [
        {
            "Id": "errors",
            "MetricStat": {
                "Metric": {
                    "Namespace": "Shop",
                    "MetricName": "CheckoutErrors",
                    "Dimensions": [{"Name": "Service", "Value": "{targetService}"}],
                },
                "Stat": "Sum",
            },
            "ReturnData": False,
        },
        {
            "Id": "orders",
            "MetricStat": {
                "Metric": {
                    "Namespace": "Shop",
                    "MetricName": "Orders",
                    "Dimensions": [{"Name": "LoadBalancer", "Value": "{targetLoadBalancer}"}],
                },
                "Stat": "Sum",
            },
            "ReturnData": False,
        },
        {"Id": "rate", "Expression": "FILL(errors,0)/orders"},
    ],
    "threshold": 0.02,
    "comparison": "GreaterThanThreshold",
    "noData": "wait",
}


def params(**overrides: Any) -> dict[str, Any]:
    values = {
        "ClusterName": "shop",
        "BlueServiceName": "shop-blue",
        "GreenServiceName": "shop-green",
        "HostedZoneId": "Z0123456789ABCDEFGHIJ",
        "RecordName": "shop.example.com",
        "BlueLoadBalancerArn": BLUE_LB,
        "GreenLoadBalancerArn": GREEN_LB,
    }
    values.update(overrides)
    return values


def test_the_parameter_is_parsed_and_its_placeholders_filled_per_deployment() -> None:
    config = load_parameters(params(MetricChecks=json.dumps([CHECK])))
    assert config.metric_checks[0].no_data == "wait"
    world = World(config=config.model_copy(update={"stack_id": make_config().stack_id}))
    green = world.plan("green").health.metric_checks[0].metrics
    assert green[0]["MetricStat"]["Metric"]["Dimensions"][0]["Value"] == "shop-green"
    assert green[1]["MetricStat"]["Metric"]["Dimensions"][0]["Value"] == "app/green/2"
    blue = world.plan("blue").health.metric_checks[0].metrics
    assert blue[0]["MetricStat"]["Metric"]["Dimensions"][0]["Value"] == "shop-blue"
    assert blue[1]["MetricStat"]["Metric"]["Dimensions"][0]["Value"] == "app/blue/1"
    assert load_parameters(params(MetricChecks="")).metric_checks == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "MetricChecks: not JSON (Expecting property name enclosed in double quotes at character 1)"),
        ('{"name": "x"}', "MetricChecks: expected a JSON list of checks"),
        (
            json.dumps([{**CHECK, "noData": "maybe"}]),
            "MetricChecks[0].noData: Input should be 'fail', 'pass' or 'wait'",
        ),
        (json.dumps([{k: v for k, v in CHECK.items() if k != "noData"}]), "MetricChecks[0].noData: Field required"),
        (
            json.dumps([{**CHECK, "metrics": CHECK["metrics"][:2]}]),  # type: ignore[index]
            "MetricChecks[0].metrics: exactly one query must return data (set ReturnData false on the others); none do",
        ),
        (
            json.dumps([{**CHECK, "metrics": [{"Id": "Rate", "Expression": "1"}]}]),
            "MetricChecks[0].metrics: metrics[0].Id 'Rate': expected a lowercase letter, then letters, digits or _",
        ),
        (
            json.dumps([{**CHECK, "metrics": [{"Id": "x", "Expression": "{targetServce}"}]}]),
            "MetricChecks: check 'checkout-errors': unknown placeholder(s) {targetServce}",
        ),
        (json.dumps([CHECK, CHECK]), "MetricChecks: check names repeat: ['checkout-errors', 'checkout-errors']"),
    ],
)
def test_a_bad_check_is_refused_with_where_and_why(value: str, message: str) -> None:
    with pytest.raises(InvalidPlan) as caught:
        load_parameters(params(MetricChecks=value))
    assert str(caught.value).startswith(message)


def test_an_edited_input_cannot_drop_or_loosen_a_check() -> None:
    config = make_config(metric_checks=[CHECK])
    plan = World(config=config).plan()
    authorize(plan, config)
    edits: list[dict[str, Any]] = [
        {"metricChecks": []},
        {"metricChecks": [{**plan.health.metric_checks[0].dump(), "threshold": 1.0}]},
        {"latencyPercentile": "off"},
        {"maxLatencyRatio": 50.0},
    ]
    for edit in edits:
        edited = plan.model_validate({**plan.dump(), "health": {**plan.health.dump(), **edit}})
        with pytest.raises(InvalidPlan, match="health"):
            authorize(edited, config)


def test_a_wait_check_counts_its_longest_wait_in_the_plan() -> None:
    plain = World(config=make_config()).plan()
    waiting = World(config=make_config(metric_checks=[CHECK])).plan()
    assert estimate(waiting, 60).min_duration_seconds > estimate(plain, 60).min_duration_seconds
    assert waiting.timeout_seconds > plain.timeout_seconds


# ------------------------------------------------------------------ in the gate
def baked_world(check: dict[str, Any]) -> tuple[World, Any]:
    world = World(config=make_config(schedule="10,100", metric_checks=[check], poll_seconds=60))
    world.set_pair(blue=100, green=0)
    run = world.run(world.plan())
    assert run.preflight()["busy"] is False
    run.record_original()
    run.shift()
    return world, run


def test_a_wait_check_holds_the_bake_until_its_data_comes() -> None:
    world, run = baked_world(CHECK)
    first = run.gate()
    assert first["bakeDone"] is False
    assert first["waitedForData"] == 1
    assert first["waiting"] == ["check checkout-errors: no data (noData: wait)"]
    world.metrics.check_values["rate"] = 0.001
    second = run.gate()
    assert second["bakeDone"] is True
    assert "check checkout-errors: 0.001 passes (fails when > 0.02)" in second["notes"]


def test_a_wait_check_without_data_fails_after_one_more_bake() -> None:
    _world, run = baked_world(CHECK)
    for _ in range(3):  # one poll per bake: it waits at least 3 more polls
        assert run.gate()["bakeDone"] is False
    with pytest.raises(HealthGateFailed, match="still no data after the bake and 3 more polls"):
        run.gate()


def test_a_check_over_its_threshold_fails_the_gate_at_once() -> None:
    world, run = baked_world({**CHECK, "noData": "fail"})
    world.metrics.check_values["rate"] = 0.2
    with pytest.raises(HealthGateFailed, match=r"check checkout-errors: 0.2 > 0.02"):
        run.gate()


def test_a_pass_check_without_data_passes_with_a_note() -> None:
    _world, run = baked_world({**CHECK, "noData": "pass"})
    result = run.gate()
    assert result["bakeDone"] is True
    assert "check checkout-errors: no data (noData: pass)" in result["notes"]


def test_a_slow_target_fails_the_gate_through_the_fakes() -> None:
    world, run = baked_world({**CHECK, "noData": "pass"})
    world.metrics.latencies[GREEN_LB] = 0.8
    with pytest.raises(HealthGateFailed, match="target p99 response time 800 ms exceeds 100 ms"):
        run.gate()


def test_a_check_cloudwatch_refuses_fails_the_deploy_with_its_reason() -> None:

    config = make_config(metric_checks=[CHECK])
    facts = Facts(zone_name="example.com", metric_check_errors={"checkout-errors": "ValidationError: bad expression"})
    assert health_problems(config, facts) == [
        "MetricChecks: check 'checkout-errors': CloudWatch refused its queries: ValidationError: bad expression"
    ]


# ------------------------------------------------------------------ both waits at once
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=12, max_size=12))
def test_waiting_for_data_and_for_the_clients_share_one_budget(polls: list[tuple[bool, bool]]) -> None:
    """MinObservedShare and a noData "wait" check on one stack: whatever mix of missing data and
    lagging clients each poll sees, a bake runs past its time by at most observed_wait_polls polls
    in all (not that many for each), never ends while the check has no data, and the plan's
    timeout covers the longest bake it can give."""
    config = make_config(schedule="10,100", metric_checks=[CHECK], poll_seconds=60, min_observed_share=0.5)
    world = World(config=config)
    world.set_pair(blue=100, green=0)
    plan = world.plan()
    run = world.run(plan)
    assert run.preflight()["busy"] is False
    run.record_original()
    run.shift()
    bake_polls = 1  # one poll per bake: 60 s bakes at a 60 s poll
    budget = observed_wait_polls(bake_polls)
    ended = None
    for count, (has_data, lagging) in enumerate(polls, start=1):
        world.metrics.check_values["rate"] = 0.001 if has_data else None
        # Step 1 intends 10% for the target: 1% lags (under half of it), 10% does not.
        world.metrics.counts[GREEN_LB] = (10.0, 0.0) if lagging else (100.0, 0.0)
        world.metrics.counts[BLUE_LB] = (990.0, 0.0) if lagging else (900.0, 0.0)
        if count == bake_polls + budget and not has_data:  # the budget is spent: no data now fails
            with pytest.raises(HealthGateFailed, match="still no data after the bake"):
                run.gate()
            ended = "failed"
            break
        result = run.gate()
        assert result["polls"] == bake_polls
        assert result["waitedForClients"] + result["waitedForData"] <= budget
        if result["bakeDone"]:
            assert has_data, "a bake ended while its check had no data"
            assert count <= bake_polls + budget
            ended = "baked"
            break
    assert ended is not None, "the bake neither ended nor failed within its budget"
    longest_bake = (bake_polls + budget) * plan.poll_seconds
    assert plan.timeout_seconds >= longest_bake * len(plan.steps)
