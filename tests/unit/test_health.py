"""The health gate: alarms, Route 53 health checks, target groups, 5xx comparison."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from weightshift.health import (
    Signals,
    TrafficSample,
    error_rate_check,
    evaluate,
    no_traffic_exhausted,
    target_groups_failures,
)

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-green/abc"
HEALTHY_GROUPS = [(TG, 2, 2)]


def _signals(**overrides) -> Signals:
    values = {"alarms": {"shop-green-5xx": "OK"}, "target_groups": HEALTHY_GROUPS}
    values.update(overrides)
    return Signals(**values)


# ------------------------------------------------------------------ target groups
@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ([(TG, 2, 2)], []),
        ([(TG, 0, 3)], ["target group targetgroup/shop-green/abc has no healthy targets (0 of 3)"]),
        ([(TG, 0, 0)], ["target group targetgroup/shop-green/abc has no registered targets"]),
        ([], ["the target load balancer has no target groups"]),
    ],
)
def test_every_target_group_needs_a_healthy_target(groups, expected):
    assert target_groups_failures(groups) == expected


def test_one_unhealthy_group_among_healthy_ones_is_reported():
    failures = target_groups_failures([(TG, 2, 2), (TG.replace("shop-green", "api"), 0, 1)])
    assert len(failures) == 1
    assert "api" in failures[0]


# ------------------------------------------------------------------ error_rate_check
@pytest.mark.parametrize(
    ("target", "live", "verdict"),
    [
        (None, TrafficSample(1000, 5), "off"),
        (TrafficSample(0, 0), TrafficSample(1000, 5), "no-verdict"),
        (TrafficSample(49, 49), TrafficSample(1000, 5), "no-verdict"),
        (TrafficSample(1000, 50), TrafficSample(1000, 10), "fail"),  # 5% vs 1% x 2
        (TrafficSample(1000, 15), TrafficSample(1000, 10), "pass"),  # 1.5% vs 1% x 2
        (TrafficSample(1000, 20), TrafficSample(10, 5), "fail"),  # live too quiet: baseline 0, floor 1%
    ],
)
def test_error_rate_comparison_with_a_minimum_request_guard(target, live, verdict):
    result, message = error_rate_check(target, live, min_requests=50, max_ratio=2.0)
    assert result == verdict
    assert bool(message) is (verdict != "off")


@given(
    st.floats(0, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.one_of(st.none(), st.builds(TrafficSample, st.floats(0, 1e6), st.floats(0, 1e6))),
    st.integers(1, 10_000),
    st.floats(0.01, 100),
)
def test_a_verdict_with_too_few_requests_is_never_fail_and_never_pass(requests, errors, live, min_requests, ratio):
    requests = min(requests, min_requests - 0.5)
    verdict, _ = error_rate_check(TrafficSample(requests, errors), live, min_requests, ratio)
    assert verdict == "no-verdict"


@given(st.integers(0, 10_000), st.floats(0.01, 100))
def test_no_traffic_is_never_a_pass_whatever_the_minimum(min_requests, ratio):
    verdict, _ = error_rate_check(TrafficSample(0, 0), TrafficSample(1000, 0), min_requests, ratio)
    assert verdict == "no-verdict"


@given(st.integers(50, 100_000), st.floats(0, 0.99), st.floats(0.01, 10))
def test_a_target_error_rate_at_or_below_the_floor_never_fails(requests, fraction, ratio):
    errors = requests * fraction * 0.01  # rate <= 1%
    verdict, _ = error_rate_check(TrafficSample(requests, errors), TrafficSample(1000, 0), 50, ratio)
    assert verdict == "pass"


# ------------------------------------------------------------------ evaluate
def test_all_signals_green_is_healthy():
    verdict = evaluate(_signals(health_check_fraction=1.0, target_traffic=TrafficSample(1000, 1)))
    assert verdict.healthy
    assert verdict.failures == []
    assert verdict.error_rate_verdict == "pass"


@pytest.mark.parametrize(
    ("overrides", "failure"),
    [
        ({"alarms": {"shop-green-5xx": "ALARM"}}, "alarm shop-green-5xx is in ALARM"),
        ({"alarms": {"gone": "MISSING"}}, "alarm gone does not exist"),
        ({"health_check_fraction": 0.18}, "Route 53 health check is unhealthy"),
        ({"target_groups": [(TG, 0, 2)]}, "no healthy targets"),
        ({"target_traffic": TrafficSample(1000, 100), "live_traffic": TrafficSample(1000, 1)}, "target 5xx rate"),
    ],
)
def test_any_failing_signal_makes_the_gate_unhealthy(overrides, failure):
    verdict = evaluate(_signals(**overrides))
    assert not verdict.healthy
    assert any(failure in f for f in verdict.failures), verdict.failures


@pytest.mark.parametrize(
    "overrides",
    [
        {"alarms": {"shop-green-5xx": "INSUFFICIENT_DATA"}},
        {"health_check_fraction": 0.19},
    ],
)
def test_signals_that_do_not_say_unhealthy_pass(overrides):
    assert evaluate(_signals(**overrides)).healthy


def test_every_failure_is_reported_not_only_the_first():
    verdict = evaluate(
        _signals(alarms={"a": "ALARM", "b": "ALARM"}, health_check_fraction=0.0, target_groups=[(TG, 0, 0)])
    )
    assert len(verdict.failures) == 4


def test_no_traffic_gives_no_verdict_with_a_note_not_a_failure():
    verdict = evaluate(_signals(target_traffic=TrafficSample(3, 3)), min_requests=50)
    assert verdict.error_rate_verdict == "no-verdict"
    assert verdict.healthy
    assert verdict.notes == ["5xx comparison: 3 target requests, fewer than 50"]


@given(st.integers(0, 49), st.integers(0, 49))
def test_evaluate_never_passes_or_fails_the_rate_check_on_too_few_requests(requests, errors):
    verdict = evaluate(_signals(target_traffic=TrafficSample(requests, min(errors, requests))), min_requests=50)
    assert verdict.error_rate_verdict == "no-verdict"


# ------------------------------------------------------------------ no_traffic_exhausted
@pytest.mark.parametrize(
    ("consecutive", "limit", "exhausted"),
    [(2, 3, False), (3, 3, True), (4, 3, True), (1000, 0, False)],
)
def test_polls_without_traffic_fail_the_gate_only_after_the_limit(consecutive, limit, exhausted):
    assert no_traffic_exhausted(consecutive, limit) is exhausted
