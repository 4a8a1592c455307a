"""Traffic schedules: CodeDeploy-style presets and explicit percentage lists.

Pure functions only. A schedule is the list of percentages of traffic the
*target* side carries after each step, each with its own bake time. The last
step always sends 100% to the target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from weightshift.errors import InvalidPlan

# [0-9], not \d: \d also matches non-ASCII digits (Arabic-Indic, ...), which the template's pattern rejects.
CANARY = re.compile(r"^Canary(?P<pct>[0-9]{1,2})Percent(?P<minutes>[0-9]{1,4})Minutes?$")
LINEAR = re.compile(r"^Linear(?P<pct>[0-9]{1,2})PercentEvery(?P<minutes>[0-9]{1,4})Minutes?$")
EXPLICIT = re.compile(r"^[0-9]{1,3}(,[0-9]{1,3})*$")
ALL_AT_ONCE = "AllAtOnce"

# The same grammar, as the template's AllowedPattern for the Schedule parameter.
SCHEDULE_PATTERN = (
    r"^(AllAtOnce|Canary[0-9]{1,2}Percent[1-9][0-9]{0,3}Minutes?"
    r"|Linear[0-9]{1,2}PercentEvery[1-9][0-9]{0,3}Minutes?|[0-9]{1,3}(,[0-9]{1,3})*)$"
)


@dataclass(frozen=True)
class ScheduledStep:
    percent: int
    bake_seconds: int


def parse_schedule(spec: str, step_interval_seconds: int) -> list[ScheduledStep]:
    """Turn a schedule spec into steps.

    ``step_interval_seconds`` is the bake after each step of an explicit list,
    after AllAtOnce, and after the final 100% step of a preset (the preset's
    own minutes govern its intermediate steps).
    """
    spec = spec.strip()
    if step_interval_seconds < 1:
        raise InvalidPlan(f"step interval must be at least 1 second, got {step_interval_seconds}")
    if spec == ALL_AT_ONCE:
        return [ScheduledStep(100, step_interval_seconds)]
    if m := CANARY.match(spec):
        pct, bake = int(m["pct"]), int(m["minutes"]) * 60
        _check_percent(pct, spec)
        _check_minutes(bake, spec)
        return [ScheduledStep(pct, bake), ScheduledStep(100, step_interval_seconds)]
    if m := LINEAR.match(spec):
        pct, bake = int(m["pct"]), int(m["minutes"]) * 60
        _check_percent(pct, spec)
        _check_minutes(bake, spec)
        steps = [ScheduledStep(p, bake) for p in range(pct, 100, pct)]
        return [*steps, ScheduledStep(100, step_interval_seconds)]
    if EXPLICIT.match(spec):
        percents = [int(p) for p in spec.split(",")]
        check_percentages(percents)
        return [ScheduledStep(p, step_interval_seconds) for p in percents]
    raise InvalidPlan(
        f"schedule {spec!r} is not a preset (AllAtOnce, Canary<N>Percent<M>Minutes, "
        "Linear<N>PercentEvery<M>Minutes) or a comma-separated list of percentages ending at 100"
    )


def _check_percent(pct: int, spec: str) -> None:
    if not 1 <= pct <= 99:
        raise InvalidPlan(f"schedule {spec!r}: the step percentage must be 1-99, got {pct}")


def _check_minutes(bake_seconds: int, spec: str) -> None:
    if bake_seconds < 60:
        raise InvalidPlan(f"schedule {spec!r}: the bake time must be at least 1 minute")


def check_percentages(percents: list[int]) -> None:
    if not percents:
        raise InvalidPlan("schedule is empty")
    for p in percents:
        if not 1 <= p <= 100:
            raise InvalidPlan(f"schedule step {p}% is outside 1-100")
    for a, b in pairwise(percents):
        if b < a:
            raise InvalidPlan(f"schedule must not decrease: {a}% is followed by {b}%")
    if percents[-1] != 100:
        raise InvalidPlan(f"schedule must end at 100%, it ends at {percents[-1]}%")
