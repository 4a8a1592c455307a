"""Prints the simulation's progress and its one summary at the end of the session (issue 8).

Each shard (a test, run in this process or in a pytest-xdist worker) attaches what its
sequences did to its report (``user_properties``); the controller prints a line as each
shard ends (the running total), then sums every shard into one summary, with the whole
run's wall time.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.simulation.machine import REPORT_PROPERTY, Stats

_STARTED = pytest.StashKey[float]()
_DONE = pytest.StashKey[list[dict[str, Any]]]()
_CONFIG: dict[str, pytest.Config] = {}


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG["config"] = config


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STARTED] = time.monotonic()


def _elapsed(config: pytest.Config) -> float:
    return time.monotonic() - config.stash.get(_STARTED, time.monotonic())


def _shard_of(report: Any) -> dict[str, Any] | None:
    if getattr(report, "when", None) != "call":
        return None
    return next((dict(v) for name, v in getattr(report, "user_properties", ()) if name == REPORT_PROPERTY), None)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Progress: a line as each shard ends, with the running total (in the controller,
    where pytest-xdist's reports land)."""
    shard, config = _shard_of(report), _CONFIG.get("config")
    if shard is None or config is None:
        return
    done = config.stash.setdefault(_DONE, [])
    shard.pop("seed", None)
    done.append(shard)
    total = Stats.total(done)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"simulation: {len(done)} shard{'s' if len(done) > 1 else ''} done: {total.sequences} sequences, "
            f"{total.full} of them of {total.steps} actions, {total.violations} violations, {_elapsed(config):.0f}s"
        )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    shards = [shard for reports in terminalreporter.stats.values() for r in reports if (shard := _shard_of(r))]
    if not shards:
        return
    seeds = sorted({str(shard.pop("seed")) for shard in shards})
    total = Stats.total(shards)
    if not total.sequences:
        return
    wall = _elapsed(config)
    heading = f"seed {', '.join(seeds)}; {len(shards)} shard{'s' if len(shards) > 1 else ''}"
    terminalreporter.write_line(total.summary(wall, heading))
