"""Issue 8: random histories of releases, duplicates, stops, re-runs, alarms and faults
against the deployed stack, with the invariants checked after every step.

``make test`` runs a small fixed-seed budget (derandomized); ``make simulate`` a larger
one with a printed seed (``SIM_EXAMPLES``, ``SIM_STEPS``, ``SIM_SEED``). A failure prints
the shrunk sequence as one call per line, and a ``@reproduce_failure`` blob.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.simulation.machine import Simulation, Stack, installed_stack
from tests.simulation.world import scheduling

pytestmark = pytest.mark.simulation

EXAMPLES = int(os.environ.get("SIM_EXAMPLES", "10"))
STEPS = int(os.environ.get("SIM_STEPS", "20"))
# make test: fixed, derandomized; make simulate: random unless SIM_SEED (via --hypothesis-seed)
FULL = os.environ.get("SIM_FULL") == "1"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with installed_stack() as made:
        yield made


def test_random_histories_keep_the_invariants(stack: Stack) -> None:
    Simulation.stack = stack
    with scheduling():
        run_machine()


def run_machine() -> None:
    run_state_machine_as_test(
        Simulation,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=not FULL,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
