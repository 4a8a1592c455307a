"""Prints the simulation's summary at the end of the session (issue 8)."""

from __future__ import annotations

from typing import Any

from tests.simulation.machine import STATS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if STATS.sequences:
        terminalreporter.write_line(STATS.summary())
