"""Issue 8: random histories of releases, duplicates, stops, re-runs, alarms and faults
against the deployed stack, with the invariants checked after every step.

``make test`` runs a small fixed-seed budget (derandomized); ``make simulate`` a larger
one with a printed seed (``SIM_EXAMPLES``, ``SIM_STEPS``, ``SIM_SEED``), split into
``SIM_SHARDS`` shards that pytest-xdist runs in ``SIM_PROCS`` processes. Each sequence
runs exactly ``SIM_STEPS`` actions after its reset. A failure prints the shrunk sequence
as one call per line, and a ``@reproduce_failure`` blob (for the failing shard's test).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.simulation.machine import REPORT_PROPERTY, STATS, Simulation, Stack, installed_stack
from tests.simulation.world import scheduling

pytestmark = pytest.mark.simulation

EXAMPLES = int(os.environ.get("SIM_EXAMPLES", "8"))
STEPS = int(os.environ.get("SIM_STEPS", "20"))
SHARDS = max(1, int(os.environ.get("SIM_SHARDS", "1")))
# make test: fixed, derandomized; make simulate: random unless SIM_SEED (via --hypothesis-seed)
FULL = os.environ.get("SIM_FULL") == "1"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with installed_stack() as made:
        yield made


@pytest.mark.parametrize("shard", range(SHARDS))
def test_random_histories_keep_the_invariants(
    stack: Stack, shard: int, request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
) -> None:
    Simulation.stack = stack
    STATS.reset(steps=STEPS)
    base = base_seed(request.config)
    try:
        with scheduling():
            run_machine(shard, base)
    finally:
        record_property(REPORT_PROPERTY, {**STATS.as_dict(), "seed": base})


def base_seed(config: pytest.Config) -> str:
    """make simulate's seed (``--hypothesis-seed``), or a fixed one for make test."""
    given = config.getoption("hypothesis_seed")
    if given is not None:
        return str(given)
    return secrets.token_hex(4) if FULL else "make-test"


def examples_of(shard: int) -> int:
    """The shard's part of EXAMPLES (the first ``EXAMPLES % SHARDS`` shards run one more)."""
    return EXAMPLES // SHARDS + (1 if shard < EXAMPLES % SHARDS else 0)


def run_machine(shard: int, base: str) -> None:
    if not examples_of(shard):
        return

    def machine() -> Simulation:
        return Simulation()

    # Each shard draws its own sequences: a seed derived from the run's, so the run's seed
    # (with the same SIM_EXAMPLES, SIM_STEPS, SIM_SHARDS) repeats every shard.
    run_state_machine_as_test(
        seed(f"{base}:{shard}")(machine),
        settings=settings(
            max_examples=examples_of(shard),
            stateful_step_count=STEPS + 1,  # the reset (start_from), then STEPS actions
            deadline=None,
            derandomize=not FULL,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        ),
        _min_steps=STEPS,
    )
