"""Behaviour 5 with generated junk: whatever arrives, no exception escapes, the reason is
logged, and nothing is written (the deployments table stays empty, no execution starts).

Two sources of junk: arbitrary JSON values, and a valid green RUNNING event with one
mutation that makes it unusable (a required key gone, a filter field changed, a field
of the wrong type or out of range) plus random extra keys.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError
from weightshift_emulator.world import Surroundings

from tests.component.test_trigger_harness import TriggerRig, trigger_rig
from tests.conftest import load_event

VALID = load_event("green-task-running.json")
GROUPS = ("service:shop-blue", "service:shop-green")

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=16,
)

_VERSION = TypeAdapter(Annotated[int, Field(ge=0, le=2**63 - 1)])
_NAME = TypeAdapter(Annotated[str, Field(min_length=1, max_length=500)])


def _accepted(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def _set(event: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = event
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _delete(event: dict[str, Any], path: tuple[str, ...]) -> None:
    node = event
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


REQUIRED = [
    (k,) for k in ("version", "id", "source", "account", "time", "region", "resources", "detail-type", "detail")
] + [("detail", k) for k in ("clusterArn", "taskArn", "taskDefinitionArn", "group", "lastStatus", "version")]


def _not_our_cluster(value: Any) -> bool:
    return value != VALID["detail"]["clusterArn"]  # only the stack's exact cluster ARN is ours


def _other(near_misses: list[Any], keep: Any) -> st.SearchStrategy[Any]:
    """Values for a field: near misses a typo or another stack would produce, any text,
    any JSON; filtered so that none is a value the trigger acts on."""
    return st.one_of(st.sampled_from(near_misses), st.text(max_size=40), JSON).filter(keep)


# One change, each of which alone makes the event something the trigger must ignore.
# (A dict drawn with sampled_from, so every kind gets its share of examples.)
BREAKERS: dict[str, st.SearchStrategy[tuple[str, tuple[str, ...], Any]]] = {
    "delete a required key": st.sampled_from(REQUIRED).map(lambda path: ("delete", path, None)),
    "source": _other(["aws.ec2", "aws.ECS", " aws.ecs", "ecs"], lambda v: v != "aws.ecs").map(
        lambda v: ("set", ("source",), v)
    ),
    "detail-type": _other(
        ["ECS Service Action", "ECS Deployment State Change", "ecs task state change"],
        lambda v: v != VALID["detail-type"],
    ).map(lambda v: ("set", ("detail-type",), v)),
    "cluster": _other(
        [
            "shop2",
            "arn:aws:ecs:us-east-1:123456789012:cluster/shop-2",
            "arn:aws:ecs:us-east-1:123456789012:cluster/Shop",
            "arn:aws:ecs:us-east-1:210987654321:cluster/shop",
            "arn:aws:ecs:eu-west-1:123456789012:cluster/shop",
            "shop",
        ],
        _not_our_cluster,
    ).map(lambda v: ("set", ("detail", "clusterArn"), v)),
    "account": _other(["210987654321", "123456789013", " 123456789012"], lambda v: v != VALID["account"]).map(
        lambda v: ("set", ("account",), v)
    ),
    "region": _other(["eu-west-1", "us-east-2", "US-EAST-1"], lambda v: v != VALID["region"]).map(
        lambda v: ("set", ("region",), v)
    ),
    "group": _other(
        ["service:shop", "service:shop-green2", "family:shop-green", "service:SHOP-GREEN"], lambda v: v not in GROUPS
    ).map(lambda v: ("set", ("detail", "group"), v)),
    "lastStatus": _other(["PENDING", "STOPPED", "DEPROVISIONING", "running", "RUNNING "], lambda v: v != "RUNNING").map(
        lambda v: ("set", ("detail", "lastStatus"), v)
    ),
    "desiredStatus": _other(["STOPPED", "PENDING"], lambda v: v not in (None, "RUNNING")).map(
        lambda v: ("set", ("detail", "desiredStatus"), v)
    ),
    "detail": JSON.filter(lambda v: not isinstance(v, dict)).map(lambda v: ("set", ("detail",), v)),
    "version": (JSON | st.integers(min_value=2**63) | st.integers(max_value=-1))
    .filter(lambda v: not _accepted(_VERSION, v))
    .map(lambda v: ("set", ("detail", "version"), v)),
    "taskArn": (JSON | st.text(min_size=501, max_size=600))
    .filter(lambda v: not _accepted(_NAME, v))
    .map(lambda v: ("set", ("detail", "taskArn"), v)),
}
EXTRAS = st.lists(st.tuples(st.sampled_from([(), ("detail",)]), st.text(min_size=1, max_size=12), JSON), max_size=3)


def _changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    event = copy.deepcopy(VALID)
    _set(event, path, value)
    return event


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(VALID)
    for where, key, value in draw(EXTRAS):  # noise first, so it cannot undo the breaking change
        target = event if not where else event["detail"]
        if key not in target:
            target[key] = value
    action, path, value = draw(BREAKERS[draw(st.sampled_from(sorted(BREAKERS)))])
    if action == "delete":
        _delete(event, path)
    else:
        _set(event, path, value)
    return event


@pytest.fixture
def rig(aws: dict[str, Any], world: Surroundings) -> Iterator[TriggerRig]:
    with trigger_rig(aws, world) as made:
        yield made


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.one_of(JSON, mutated_events(), mutated_events()))
# A floor under the random search: one near miss per filter field, every run.
@example(event=_changed(("detail", "lastStatus"), "PENDING"))
@example(event=_changed(("detail", "group"), "service:shop"))
@example(event=_changed(("detail", "clusterArn"), "arn:aws:ecs:us-east-1:123456789012:cluster/shop-2"))
@example(event=_changed(("source",), "aws.ec2"))
@example(event=_changed(("account",), "210987654321"))
@example(event=_changed(("region",), "eu-west-1"))
@example(event=_changed(("detail", "desiredStatus"), "STOPPED"))
def test_generated_junk_is_logged_and_ignored_and_writes_nothing(rig: TriggerRig, event: Any) -> None:
    """Arbitrary JSON, or the valid sample broken in one way (the unbroken sample starts a
    canary: see test_trigger.test_a_task_of_the_side_that_has_all_traffic_starts_nothing)."""
    before = len(rig.decision_lines())

    outcome = rig.send(event)  # an exception here fails the test

    assert outcome["decision"] == "ignored", outcome
    lines = rig.decision_lines()[before:]
    assert len(lines) == 1, lines
    assert lines[0]["reason"] == outcome["reason"]
    assert lines[0]["detail"]
    assert rig.items() == []
    assert rig.executions() == []
