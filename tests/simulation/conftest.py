"""Prints the simulation's one summary at the end of the session (issue 8).

Each shard (a test, run in this process or in a pytest-xdist worker) attaches what its
sequences did to its report (``user_properties``); the controller sums every shard into
one summary, with the whole run's wall time.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.simulation.machine import REPORT_PROPERTY, Stats

_STARTED = pytest.StashKey[float]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STARTED] = time.monotonic()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    shards = [
        dict(value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == REPORT_PROPERTY
    ]
    if not shards:
        return
    seeds = sorted({str(shard.pop("seed")) for shard in shards})
    total = Stats.total(shards)
    if not total.sequences:
        return
    wall = time.monotonic() - config.stash.get(_STARTED, time.monotonic())
    heading = f"seed {', '.join(seeds)}; {len(shards)} shard{'s' if len(shards) > 1 else ''}"
    terminalreporter.write_line(total.summary(wall, heading))
