"""Schedules: presets, explicit lists, and the template's AllowedPattern."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from weightshift.errors import InvalidPlan
from weightshift.schedule import SCHEDULE_PATTERN, ScheduledStep, check_percentages, parse_schedule

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def _percents(spec: str, interval: int = 60) -> list[int]:
    return [s.percent for s in parse_schedule(spec, interval)]


def _accepts(spec: str) -> bool:
    try:
        parse_schedule(spec, 60)
    except InvalidPlan:
        return False
    return True


# ------------------------------------------------------------------ presets and lists
@pytest.mark.parametrize(
    ("spec", "interval", "expected"),
    [
        ("AllAtOnce", 60, [(100, 60)]),
        ("Canary10Percent5Minutes", 60, [(10, 300), (100, 60)]),
        ("Canary25Percent1Minute", 30, [(25, 60), (100, 30)]),
        ("Linear33PercentEvery2Minutes", 60, [(33, 120), (66, 120), (99, 120), (100, 60)]),
        ("5,25,50,100", 90, [(5, 90), (25, 90), (50, 90), (100, 90)]),
        ("10,10,100", 60, [(10, 60), (10, 60), (100, 60)]),
    ],
)
def test_given_a_valid_spec_when_parsed_then_steps_and_bakes_match(spec, interval, expected):
    assert parse_schedule(spec, interval) == [ScheduledStep(p, b) for p, b in expected]


def test_linear_preset_moves_in_equal_steps_then_promotes():
    assert _percents("Linear10PercentEvery1Minute") == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_surrounding_whitespace_is_ignored():
    assert parse_schedule("  Canary10Percent5Minutes\n", 60) == parse_schedule("Canary10Percent5Minutes", 60)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "is not a preset"),
        ("Canary100Percent5Minutes", "is not a preset"),
        ("5, 25, 50, 100", "is not a preset"),
        ("Canary0Percent5Minutes", "must be 1-99"),
        ("Canary10Percent0Minutes", "at least 1 minute"),
        ("50,25,100", "must not decrease"),
        ("0,100", "outside 1-100"),
        ("Canary\u0661\u0660Percent5Minutes", "is not a preset"),  # Arabic-Indic digits
    ],
)
def test_given_a_bad_spec_when_parsed_then_invalid_plan_says_why(spec, message):
    with pytest.raises(InvalidPlan, match=re.escape(message)):
        parse_schedule(spec, 60)


def test_schedule_must_end_at_100():
    with pytest.raises(InvalidPlan, match="must end at 100%, it ends at 90%"):
        check_percentages([10, 50, 90])


def test_empty_percentage_list_is_rejected():
    with pytest.raises(InvalidPlan, match="empty"):
        check_percentages([])


def test_step_interval_below_one_second_is_rejected():
    with pytest.raises(InvalidPlan, match="step interval must be at least 1 second, got 0"):
        parse_schedule("AllAtOnce", 0)


# ------------------------------------------------------------------ properties
@given(st.lists(st.integers(min_value=-5, max_value=120), min_size=1, max_size=12))
def test_explicit_list_is_accepted_exactly_when_it_is_in_range_non_decreasing_and_ends_at_100(percents):
    spec = ",".join(str(p) for p in percents)
    valid = all(1 <= p <= 100 for p in percents) and all(a <= b for a, b in pairwise(percents)) and percents[-1] == 100
    assert _accepts(spec) is valid


_pct, _minutes, _plural = st.integers(0, 120), st.integers(0, 10_000), st.sampled_from(["", "s"])
_presets = st.one_of(
    st.just("AllAtOnce"),
    st.builds("Canary{}Percent{}Minute{}".format, _pct, _minutes, _plural),
    st.builds("Linear{}PercentEvery{}Minute{}".format, _pct, _minutes, _plural),
    st.lists(st.integers(0, 1200), min_size=1, max_size=6).map(lambda ps: ",".join(map(str, ps))),
)
_specs = st.one_of(_presets, st.text(max_size=30))


@given(_specs, st.integers(min_value=1, max_value=3600))
def test_every_accepted_schedule_is_non_decreasing_in_range_and_ends_at_100(spec, interval):
    try:
        steps = parse_schedule(spec, interval)
    except InvalidPlan:
        return
    percents = [s.percent for s in steps]
    assert percents[-1] == 100
    assert all(a <= b for a, b in pairwise(percents))
    assert all(1 <= p <= 100 for p in percents)
    assert all(s.bake_seconds >= 1 for s in steps)


@given(st.integers(1, 99), st.integers(1, 9999))
def test_linear_steps_never_jump_more_than_the_increment(pct, minutes):
    percents = _percents(f"Linear{pct}PercentEvery{minutes}Minutes")
    assert percents[0] == pct
    assert all(0 < b - a <= pct for a, b in pairwise(percents))


# ------------------------------------------------------------------ the template's AllowedPattern
class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags (!Ref, !Sub, ...) as null."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _schedule_parameter() -> dict:
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass
    return template["Parameters"]["Schedule"]


def test_schedule_pattern_is_the_templates_allowed_pattern():
    assert _schedule_parameter()["AllowedPattern"] == SCHEDULE_PATTERN


def test_template_default_schedule_is_accepted():
    default = _schedule_parameter()["Default"]
    assert re.fullmatch(SCHEDULE_PATTERN, default)
    assert _accepts(default)


@given(_specs)
@example("Canary\u0661\u0660Percent5Minutes")
@example("Linear10PercentEvery0Minutes")
def test_pattern_and_parser_agree_on_well_formed_specs(spec):
    """Whatever the parser accepts passes the pattern; whatever passes the pattern the
    parser accepts or rejects with InvalidPlan (a range rule), never with a crash."""
    matches = re.fullmatch(SCHEDULE_PATTERN, spec.strip()) is not None
    try:
        parse_schedule(spec, 60)
    except InvalidPlan:
        return
    assert matches, f"parse_schedule accepts {spec!r} but the template pattern rejects it"


def test_documented_examples_pass_both_pattern_and_parser():
    for spec in ("AllAtOnce", "Canary10Percent5Minutes", "Linear10PercentEvery1Minute", "5,25,50,100"):
        assert re.fullmatch(SCHEDULE_PATTERN, spec), spec
        assert _accepts(spec), spec
