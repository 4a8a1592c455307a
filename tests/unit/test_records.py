"""The deployment record's shape and the guard each change carries (pure)."""

from __future__ import annotations

import pytest
from weightshift import records
from weightshift.models import Weights
from weightshift.records import TERMINAL, Change, DeploymentRecord, Guard, Status

ARN = "arn:aws:states:us-east-1:123456789012:execution:shop-canary:a"
NOW = "2025-01-01T12:00:00+00:00"
W = Weights(blue=100, green=0)

CHANGES: list[tuple[str, Change, Guard]] = [
    ("mark started", records.mark_started(ARN, NOW), Guard(status_is=Status.CLAIMED)),
    ("supersede", records.supersede("green-2", NOW), Guard(not_terminal=True)),
    ("already live", records.already_live(ARN, "live", NOW), Guard(not_finished_by=ARN)),
    ("start", records.start(ARN, NOW, NOW), Guard(not_finished_by=ARN)),
    ("original weights", records.original_weights(W, ARN, NOW), Guard(unset="originalWeights")),
    ("weights read", records.weights_read(ARN, W, 60, W, False, NOW), Guard(owner=ARN)),
    ("step", records.step(ARN, 1, W, "C1", NOW), Guard(owner=ARN)),
    ("baked", records.baked(ARN, 1, 4, [], NOW), Guard(owner=ARN)),
    ("promote", records.promote(ARN, 60, "", NOW), Guard(owner=ARN, not_terminal=True)),
    ("roll back", records.roll_back(ARN, "E", "c", "r", W, NOW), Guard(owner=ARN, not_terminal=True)),
    ("reject", records.reject(ARN, "E", "c", NOW), Guard(owner=ARN, not_terminal=True)),
]
IDS = [c[0] for c in CHANGES]
FIELDS = {f.alias or name for name, f in DeploymentRecord.model_fields.items()}


@pytest.mark.parametrize(("name", "change", "guard"), CHANGES, ids=IDS)
def test_each_change_carries_its_rule(name: str, change: Change, guard: Guard) -> None:
    assert change.guard == guard


@pytest.mark.parametrize(("name", "change", "guard"), CHANGES, ids=IDS)
def test_each_change_sets_only_fields_of_the_record(name: str, change: Change, guard: Guard) -> None:
    assert set(change.fields) <= FIELDS
    assert "status" not in change.fields or change.fields["status"] in set(Status)


def test_every_change_that_finishes_a_deployment_is_guarded_by_not_terminal_or_the_lock() -> None:
    finishing = [(n, c) for n, c, _ in CHANGES if c.fields.get("status") in TERMINAL]
    assert {n for n, _ in finishing} == {"supersede", "already live", "promote", "roll back", "reject"}
    # "already live" is written only while its execution holds the route lock (workflow.preflight).
    assert all(c.guard.not_terminal for n, c in finishing if n != "already live")


def test_a_record_written_by_an_older_version_still_loads_and_keeps_unknown_fields() -> None:
    item = {
        "pk": "ROUTE#Z#shop.example.com.",
        "sk": "DEPLOYMENT#green-1",
        "status": "ROLLED_BACK",
        "deploymentId": "green-1",
        "originalWeights": {"blue": 100, "green": 0},
        "restoredWeights": None,
        "step": 2,
        "somethingNew": {"x": 1},
    }
    record = DeploymentRecord.model_validate(item)

    assert record.finished
    assert record.original_weights == W
    assert record.as_dict() == item


def test_statuses_compare_equal_to_the_strings_in_the_table() -> None:
    assert all(str(s) == s.value == s.name for s in Status)
    assert {"SUCCEEDED", "ROLLED_BACK", "REJECTED", "ALREADY_LIVE", "SUPERSEDED"} == set(TERMINAL)
    assert "SUCCEEDED" in TERMINAL


def test_a_fail_back_fence_outlives_any_function_that_could_hold_it() -> None:
    """A fence is stale only when the actor that set it cannot still be running: at
    least twice the functions' Timeout in template.yaml."""
    import re
    from pathlib import Path

    from weightshift.records import FAILBACK_FENCE_SECONDS

    template = (Path(__file__).resolve().parents[2] / "template.yaml").read_text()
    timeouts = [int(t) for t in re.findall(r"^\s+Timeout: (\d+)$", template, flags=re.MULTILINE)]
    assert timeouts
    assert 2 * max(timeouts) <= FAILBACK_FENCE_SECONDS
