"""Plans: execution names, building, validation and the history/cost estimate."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from weightshift.errors import InvalidPlan
from weightshift.models import Plan, PlanStep
from weightshift.plan import (
    ALIAS_TTL_SECONDS,
    HISTORY_BUDGET,
    MAX_TIMEOUT_SECONDS,
    STATE_MACHINE_SLACK_SECONDS,
    bake_polls,
    build_plan,
    ecs_deployment_of,
    estimate,
    execution_name,
    validate_plan,
    warnings_for,
)

from .helpers import make_config

TTL = ALIAS_TTL_SECONDS
ROUTE = "Z0123456789ABCDEFGHIJ#shop.example.com"
VALID_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
TASK_DEF = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-green:7"


def _plan(**config_overrides) -> Plan:
    return build_plan(make_config(**config_overrides), "green", "ecs-svc/4823749823748923749", TASK_DEF)


def _steps(*weights: tuple[int, int], bake: int = 60) -> list[PlanStep]:
    return [
        PlanStep(index=i, target_weight=t, live_weight=lv, bake_seconds=bake) for i, (t, lv) in enumerate(weights, 1)
    ]


def _with_steps(steps: list[PlanStep], plan: Plan | None = None) -> Plan:
    plan = plan or _plan()
    return plan.model_copy(update={"steps": steps, "timeout_seconds": MAX_TIMEOUT_SECONDS})


# ------------------------------------------------------------------ execution_name
def test_execution_name_reads_as_color_and_deployment_with_a_short_hash():
    name = execution_name("green", "ecs-svc/4823749823748923749", ROUTE)
    assert re.fullmatch(r"green-ecs-svc-4823749823748923749-[0-9a-f]{12}", name)


def test_execution_name_of_a_very_long_deployment_is_truncated_to_80_chars():
    name = execution_name("green", "x" * 500, ROUTE)
    assert len(name) == 80
    assert VALID_NAME.fullmatch(name)


def test_deployments_that_sanitise_or_truncate_alike_still_get_different_names():
    assert execution_name("green", "ecs-svc/1", ROUTE) != execution_name("green", "ecs-svc:1", ROUTE)
    long = "ecs-svc/" + "9" * 200
    assert execution_name("green", long + "1", ROUTE) != execution_name("green", long + "2", ROUTE)


def test_blue_and_green_canaries_of_the_same_deployment_are_named_apart():
    assert execution_name("blue", "ecs-svc/1", ROUTE) != execution_name("green", "ecs-svc/1", ROUTE)


@given(st.sampled_from(["blue", "green"]), st.text(max_size=300), st.text(max_size=300))
def test_execution_name_is_always_valid_and_deterministic_for_any_text(color, deployment, route):
    name = execution_name(color, deployment, route)
    assert VALID_NAME.fullmatch(name), name
    assert name.startswith(f"{color}-")
    assert execution_name(color, deployment, route) == name


@given(st.text(min_size=1, max_size=200), st.text(min_size=1, max_size=200), st.text(max_size=100))
def test_execution_names_differ_for_different_deployments_or_routes(a, b, other):
    assume(a != b)
    assert execution_name("green", a, other) != execution_name("green", b, other)
    assert execution_name("green", other, a) != execution_name("green", other, b)


@pytest.mark.parametrize(
    ("started_by", "expected"),
    [
        ("ecs-svc/4823749823748923749", "ecs-svc/4823749823748923749"),
        (None, TASK_DEF),
        ("   ", TASK_DEF),
    ],
)
def test_ecs_deployment_is_started_by_with_the_task_definition_as_fallback(started_by, expected):
    assert ecs_deployment_of(started_by, TASK_DEF) == expected


# ------------------------------------------------------------------ build_plan
def test_build_plan_shifts_to_the_target_and_keeps_the_other_side_live():
    plan = _plan()
    assert (plan.target.color, plan.target.service_name, plan.target.set_identifier) == ("green", "shop-green", "green")
    assert (plan.live.color, plan.live.service_name, plan.live.set_identifier) == ("blue", "shop-blue", "blue")
    assert [(s.index, s.target_weight, s.live_weight, s.bake_seconds) for s in plan.steps] == [
        (1, 10, 90, 300),
        (2, 100, 0, 60),
    ]
    assert plan.deployment_id == execution_name("green", "ecs-svc/4823749823748923749", ROUTE)
    assert plan.ecs_deployment == "ecs-svc/4823749823748923749"


def test_build_plan_works_in_the_other_direction_too():
    plan = build_plan(make_config(), "blue", "ecs-svc/2", TASK_DEF)
    assert (plan.target.color, plan.live.color) == ("blue", "green")
    assert plan.deployment_id.startswith("blue-")


def test_build_plan_carries_health_settings_and_a_timeout_with_slack():
    plan = _plan(alarm_names=["a", "b"], min_requests=10, max_error_rate_ratio=3.0, max_polls_without_traffic=4)
    assert plan.health.alarm_names == ["a", "b"]
    health = plan.health
    assert (health.min_requests, health.max_error_rate_ratio, health.max_no_verdict_polls) == (10, 3.0, 4)
    assert plan.timeout_seconds == estimate(plan, TTL).min_duration_seconds + STATE_MACHINE_SLACK_SECONDS


def test_built_plan_is_self_contained_json():
    plan = _plan()
    assert Plan.model_validate(plan.dump()) == plan
    assert "targetWeight" in plan.dump()["steps"][0]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("5,25,50", "must end at 100"),
        ("Linear1PercentEvery1Minute", "history events"),
        ("Linear25PercentEvery9999Minutes", "ceiling"),  # 3 x 6.9 days of bake
    ],
)
def test_build_plan_rejects_bad_or_oversized_schedules(schedule, message):
    with pytest.raises(InvalidPlan, match=message):
        _plan(schedule=schedule, poll_seconds=3600)


@given(
    st.lists(st.integers(1, 99), max_size=8).map(sorted),
    st.integers(1, 900),
)
def test_every_valid_explicit_schedule_builds_a_plan_that_ends_fully_on_the_target(percents, interval):
    spec = ",".join(map(str, [*percents, 100]))
    plan = _plan(schedule=spec, step_interval_seconds=interval)
    assert all(s.target_weight + s.live_weight == 100 for s in plan.steps)
    assert (plan.steps[-1].target_weight, plan.steps[-1].live_weight) == (100, 0)


# ------------------------------------------------------------------ validate_plan
def test_a_plan_on_the_raw_0_to_255_weight_scale_is_accepted():
    validate_plan(_with_steps(_steps((1, 254), (128, 127), (255, 0))), TTL)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (_steps((256, 0)), "target weight 256 is outside 0-255"),
        (_steps((10, 300), (100, 0)), "live weight 300 is outside 0-255"),
        (_steps((0, 0), (100, 0)), "both weights are 0"),
        (_steps((50, 50), (10, 90), (100, 0)), "share goes down"),
        (_steps((10, 90), (90, 10)), "last step must send 100%"),
        ([], "no steps"),
        (
            [PlanStep(index=2, target_weight=10, live_weight=90, bake_seconds=60), *_steps((100, 0))],
            "indexes must be 1, 2, 3",
        ),
    ],
)
def test_validate_plan_rejects_unsafe_steps(steps, message):
    with pytest.raises(InvalidPlan, match=re.escape(message)):
        validate_plan(_with_steps(steps), TTL)


def test_validate_plan_rejects_a_plan_whose_sides_are_the_same():
    plan = _plan()
    with pytest.raises(InvalidPlan, match="both green"):
        validate_plan(plan.model_copy(update={"live": plan.target}), TTL)
    same_id = plan.live.model_copy(update={"set_identifier": plan.target.set_identifier})
    with pytest.raises(InvalidPlan, match="SetIdentifier"):
        validate_plan(plan.model_copy(update={"live": same_id}), TTL)


def _linear(n: int) -> Plan:
    """A plan of ``n`` equal steps toward the target (weights n-based, all in 0-255)."""
    return _with_steps(_steps(*[(i, n - i) for i in range(1, n)], (n, 0)))


def _smallest_linear(predicate) -> Plan:
    return next(_linear(n) for n in range(2, 255) if predicate(estimate(_linear(n), TTL).history_events))


def test_validate_plan_rejects_a_history_over_budget():
    plan = _smallest_linear(lambda events: events > HISTORY_BUDGET)
    assert estimate(plan, TTL).history_events > HISTORY_BUDGET
    with pytest.raises(InvalidPlan, match="history events, over the budget"):
        validate_plan(plan, TTL)


@pytest.mark.parametrize(
    ("timeout", "message"),
    [(MAX_TIMEOUT_SECONDS + 1, "ceiling"), (359, "shorter than the schedule's 360s of bake")],
)
def test_validate_plan_rejects_a_timeout_too_long_or_shorter_than_the_bake(timeout, message):
    plan = _plan()
    assert estimate(plan, TTL).min_duration_seconds == 360
    with pytest.raises(InvalidPlan, match=re.escape(message)):
        validate_plan(plan.model_copy(update={"timeout_seconds": timeout}), TTL)


_weight = st.integers(-10, 400)


@given(
    st.lists(st.tuples(_weight, _weight), max_size=6),
    st.one_of(st.just((0, 0)), st.tuples(st.integers(256, 10_000), _weight), st.tuples(_weight, st.integers(256, 999))),
    st.data(),
)
def test_validate_plan_never_accepts_a_0_0_step_or_a_weight_over_255(weights, bad, data):
    position = data.draw(st.integers(0, len(weights)))
    weights.insert(position, bad)
    with pytest.raises(InvalidPlan):
        validate_plan(_with_steps(_steps(*weights)), TTL)


# ------------------------------------------------------------------ estimate, warnings, bake_polls
@pytest.mark.parametrize(
    ("bake", "ttl", "poll", "expected"),
    [(300, 60, 15, 20), (30, 60, 15, 4), (61, 60, 15, 5), (10, 0, 15, 1)],
)
def test_bake_lasts_max_of_step_bake_and_ttl_in_whole_polls(bake, ttl, poll, expected):
    step = PlanStep(index=1, target_weight=100, live_weight=0, bake_seconds=bake)
    assert bake_polls(step, ttl, poll) == expected


@given(st.lists(st.integers(1, 3600), min_size=1, max_size=10), st.integers(1, 120), st.integers(0, 300))
def test_estimated_duration_covers_every_bake_and_ttl(bakes, poll, ttl):
    steps = [PlanStep(index=i, target_weight=100, live_weight=0, bake_seconds=b) for i, b in enumerate(bakes, 1)]
    plan = _plan().model_copy(update={"steps": steps, "poll_seconds": poll})
    cost = estimate(plan, ttl)
    floor = sum(max(b, ttl) for b in bakes)
    assert floor <= cost.min_duration_seconds < floor + poll * len(bakes)


def test_more_steps_cost_more_history_and_transitions():
    short, long = estimate(_plan(schedule="50,100"), TTL), estimate(_plan(schedule="10,20,50,100"), TTL)
    assert long.history_events > short.history_events
    assert long.transitions > short.transitions
    assert long.usd() == pytest.approx(long.transitions * 0.025 / 1000)


def test_a_step_that_bakes_less_than_the_ttl_gets_a_warning():
    notes = warnings_for(_plan(schedule="AllAtOnce", step_interval_seconds=20), TTL)
    assert len(notes) == 1
    assert "step 1 bakes 20s, less than the 60s TTL" in notes[0]


def test_an_ordinary_plan_has_no_warnings():
    assert warnings_for(_plan(), TTL) == []


def test_a_history_near_the_limit_gets_a_warning():
    plan = _smallest_linear(lambda events: events > 0.8 * HISTORY_BUDGET)
    assert 0.8 * HISTORY_BUDGET < estimate(plan, TTL).history_events <= HISTORY_BUDGET
    validate_plan(plan, TTL)
    assert any("near the 25000 limit" in n for n in warnings_for(plan, TTL))


def test_every_key_the_state_machine_adds_is_one_an_input_may_not_carry() -> None:
    """An input carrying what only the workflow writes ($.gate with a bake's progress,
    $.failure...) is refused by preflight; that list must cover every ResultPath."""
    import json

    from weightshift.workflow import WORKFLOW_KEYS

    from tests.unit.helpers import ROOT

    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            path = node.get("ResultPath")
            if isinstance(path, str) and path.startswith("$."):
                found.add(path[2:].split(".")[0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((ROOT / "statemachine" / "canary.asl.json").read_text()))
    assert found
    assert found <= WORKFLOW_KEYS, found - WORKFLOW_KEYS
