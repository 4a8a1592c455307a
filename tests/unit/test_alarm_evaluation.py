"""The emulator's alarm evaluation rule against the CloudWatch User Guide's own tables.

"How alarm state is evaluated when data is missing"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html,
awsdocs/amazon-cloudwatch-user-guide doc_source/AlarmThatSendsEmail.md): CloudWatch
retrieves the 5 most recent data points; 0 is a non-breaching data point, X a breaching
one, - a missing one. Every row of both tables, for every TreatMissingData setting.
"""

from __future__ import annotations

import pytest
from weightshift_emulator.alarms import ALARM, INSUFFICIENT_DATA, OK, evaluate_points

KEEP = "Retain current state"
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")

# (data points, M, N, {treatment: state})
TABLES = [
    # Datapoints to Alarm 3, Evaluation Periods 3
    ("0 - X - X", 3, 3, (OK, OK, OK, OK)),
    ("0 - - - -", 3, 3, (OK, OK, OK, OK)),
    ("- - - - -", 3, 3, (INSUFFICIENT_DATA, KEEP, ALARM, OK)),
    ("0 X X - X", 3, 3, (ALARM, ALARM, ALARM, ALARM)),
    ("- - - - X", 3, 3, (INSUFFICIENT_DATA, KEEP, ALARM, OK)),
    ("X - - - -", 3, 3, (ALARM, KEEP, ALARM, OK)),
    # Datapoints to Alarm 2, Evaluation Periods 3 ("M out of N")
    ("0 - X - X", 2, 3, (ALARM, ALARM, ALARM, ALARM)),
    ("0 0 X 0 X", 2, 3, (ALARM, ALARM, ALARM, ALARM)),
    ("0 - X - -", 2, 3, (OK, OK, ALARM, OK)),
    ("- - - - 0", 2, 3, (OK, OK, ALARM, OK)),
    ("- - - - X", 2, 3, (INSUFFICIENT_DATA, KEEP, ALARM, OK)),
]


def _points(row: str) -> list[float | None]:
    return [{"0": 0.0, "X": 1.0, "-": None}[c] for c in row.split()]


@pytest.mark.parametrize(("row", "m", "n", "expected"), TABLES)
def test_every_row_of_the_guides_tables(row: str, m: int, n: int, expected: tuple[str, ...]) -> None:
    for treatment, want in zip(TREATMENTS, expected, strict=True):
        outcome = evaluate_points(_points(row), n, m, lambda v: v > 0.5, treatment)
        got = KEEP if outcome.state is None else outcome.state
        assert got == want, f"{row} (M={m}, N={n}) with {treatment}: {got}, the guide says {want}"
        assert len(outcome.evaluated) == n  # "the number of datapoints evaluated is equal to Evaluation Periods"


def test_with_enough_real_points_the_most_recent_are_evaluated_and_missing_data_does_not_matter() -> None:
    outcome = evaluate_points(_points("X 0 - 0 0"), 3, 1, lambda v: v > 0.5, "breaching")
    assert outcome.state == OK
    assert outcome.evaluated == (1, 3, 4)


def test_datapoints_to_alarm_need_not_be_consecutive() -> None:
    assert evaluate_points(_points("- X 0 X 0"), 4, 2, lambda v: v > 0.5).state == ALARM
    assert evaluate_points(_points("- X 0 0 0"), 4, 2, lambda v: v > 0.5).state == OK
