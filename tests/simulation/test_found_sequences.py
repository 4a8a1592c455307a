"""Sequences the simulation found, pasted as hypothesis printed them (issue 8's rule:
every violation becomes a regular regression test). Each ran into a real bug; the
narrower test of the same bug is in tests/workflow/test_simulation_finds.py."""

from __future__ import annotations

import pytest

from tests.simulation import world as sim
from tests.simulation.machine import Simulation, simulated


def time_passes(state: Simulation, which: int) -> None:
    """The rule, if its precondition holds now. Since issue 11 a bake that begins with an
    alarm already in ALARM fails back before it waits, so where a sequence once found an
    execution waiting (or running) there may be none; the rest of it still runs, and the
    narrower test of its bug is in tests/workflow/test_simulation_finds.py."""
    if sim.SCHEDULER.parked:
        state.time_passes(which=which)


pytestmark = pytest.mark.simulation


def test_seed_2_a_fail_back_interrupted_by_dynamodb_was_never_announced() -> None:
    """invariant 6: blue-...-0004 ROLLED_BACK: no rolled-back notification."""
    with simulated():
        state = Simulation()
        state.start_from(start={"blue": 0, "green": 100})
        state.settle()
        state.transient_fault(fault="dynamodb transact_write_items ProvisionedThroughputExceededException")
        state.alarm(side="blue", state="ALARM")
        state.alarm(side="green", state="OK")
        state.transient_fault(fault="dynamodb transact_write_items InternalServerError")
        state.release_idle_side(copies=[1, 2, 2], tasks=2)
        state.release_idle_side(copies=[2, 3, 3], tasks=3)
        time_passes(state, which=1)
        state.transient_fault(fault="dynamodb delete_item InternalServerError")
        state.release_idle_side(copies=[2, 1, 2], tasks=1)
        state.alarm(side="blue", state="OK")
        if any(e.origin == "trigger" for e in state.running_executions()):  # the rule's precondition
            state.newer_release_mid_canary(copies=[2, 2, 2], tasks=3)
        state.release_idle_side(copies=[2, 3, 3], tasks=3)
        state.alarm(side="blue", state="ALARM")
        time_passes(state, which=1)
        state.settle()
        state.teardown()
