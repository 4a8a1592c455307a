"""The demo's timeline (tools/weightshift_cli/timeline.py) from a real execution history:
deployment time advances with each Wait state and each bake (a task that waits for its
token), by what the wait really lasted; the polls carry the observed split."""

from __future__ import annotations

from typing import Any

import pytest
from weightshift_cli import timeline as tl
from weightshift_emulator import patches

pytestmark = pytest.mark.workflow


def test_bakes_advance_deployment_time_and_a_bake_an_alarm_ended_lasts_no_time(canary_factory: Any) -> None:
    canary = canary_factory(Schedule="10,50,100", StepIntervalSeconds="120", HealthPollSeconds="60")
    canary.set_pair(blue=100, green=0)
    bakes: list[patches.Wait] = []

    def alarm_in_the_third_wait(wait: patches.Wait) -> None:
        if wait.state == "Bake and watch health":
            bakes.append(wait)
            if len(bakes) == 3:  # step 2's first wait: its event ends it at once
                canary.aws["cloudwatch"].set_alarm_state(
                    AlarmName=canary.world.green_alarm, StateValue="ALARM", StateReason="test"
                )

    patches.CLOCK.hooks.append(alarm_in_the_third_wait)
    result = canary.run(canary.plan())
    assert result["error"] == "AlarmFired"
    assert [w.lasted for w in bakes] == [60.0, 60.0, 0.0]

    waits = [w.lasted for w in patches.CLOCK.for_execution(result["executionArn"]) if w.kind == "wait"]
    timeline = tl.build(canary.history(result["executionArn"]), waits)
    start = next(p.seconds for p in timeline.points if p.event == "start")
    steps = [(p.seconds - start, p.step) for p in timeline.points if p.event == "step"]
    polls = [(p.seconds - start, p.step, p.intended) for p in timeline.points if p.event == "health" and p.healthy]
    failback = next(p for p in timeline.points if p.event == "failback")
    assert steps == [(0.0, 1), (120.0, 2)]  # two 60 s waits of step 1's 120 s bake
    assert polls == [(60.0, 1, 0.1), (120.0, 1, 0.1)]  # no traffic here: intended only
    assert failback.seconds - start == 120.0  # the alarm ended step 2's bake as it began
    assert failback.note == "AlarmFired"
