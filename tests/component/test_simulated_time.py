"""The functions' clock in the emulator (patches.SIM_TIME): the wall clock unless a
simulation lets time pass, then the simulated time, for every handler alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import weightshift.clock
from weightshift_emulator import patches


def test_outside_a_simulation_the_functions_read_the_wall_clock() -> None:
    before = datetime.now(UTC)
    seen = weightshift.clock.now()
    assert before <= seen <= datetime.now(UTC)
    assert seen.tzinfo is not None


def test_a_simulation_runs_the_functions_on_the_time_it_lets_pass() -> None:
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    patches.SIM_TIME.begin(start)
    try:
        assert weightshift.clock.now() == start
        patches.SIM_TIME.advance_to(3600)
        assert weightshift.clock.now() == start + timedelta(hours=1)
        patches.SIM_TIME.advance_to(60)  # time never runs backwards
        assert weightshift.clock.now() == start + timedelta(hours=1)
    finally:
        patches.reset()
    assert abs(weightshift.clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_handlers_read_the_time_only_through_the_clock() -> None:
    """One reader, so the simulation's time reaches every handler: no handler or domain
    module asks the wall clock itself."""
    from pathlib import Path

    root = Path(weightshift.clock.__file__).parent
    readers = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "clock.py"
        and any(call in path.read_text() for call in ("datetime.now(", "time.time(", "datetime.utcnow("))
    ]
    assert readers == []
