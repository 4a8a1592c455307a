"""The observed split (issue 11 §2): the target's share of the requests the clients really
sent, beside the share its weight asks for; how the record and the CLI show it."""

from __future__ import annotations

from rich.console import Console
from weightshift.health import Observed
from weightshift_cli import render


def test_the_share_is_of_both_sides_requests_and_none_without_any() -> None:
    seen = Observed(target_requests=120, live_requests=880, intended_share=0.25, window_seconds=120)
    assert seen.share == 0.12
    assert seen.dump() == {
        "targetShare": 0.12,
        "intendedShare": 0.25,
        "targetRequests": 120,
        "liveRequests": 880,
        "windowSeconds": 120,
    }
    assert seen.describe() == "observed 12% of 1000 requests to the target (intended 25%, last 120s)"
    quiet = Observed(target_requests=0, live_requests=0, intended_share=0.5, window_seconds=120)
    assert quiet.share is None
    assert quiet.dump()["targetShare"] is None


def text_of(renderable: object) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_the_cli_shows_it_beside_the_weights_while_the_canary_runs_and_flags_a_lag() -> None:
    lagging = {
        "targetShare": 0.04,
        "intendedShare": 0.25,
        "targetRequests": 40,
        "liveRequests": 960,
        "windowSeconds": 120,
    }
    line = render.observed_text(lagging)
    assert line is not None
    assert line.plain == "observed 4% to target (intended 25%) of 1,000 requests in 120s"
    assert any(span.style == "yellow" for span in line.spans)  # under 80% of the intended share
    caught_up = render.observed_text({**lagging, "targetShare": 0.24})
    assert caught_up is not None
    assert not any(span.style == "yellow" for span in caught_up.spans)
    assert render.observed_text(None) is None
    assert render.observed_text({**lagging, "targetShare": None}).plain.startswith("observed: no requests")  # type: ignore[union-attr]

    record = {
        "deploymentId": "green-ecs-svc-1-abc",
        "targetColor": "green",
        "status": "IN_PROGRESS",
        "step": 2,
        "currentWeights": {"blue": 75, "green": 25},
        "observed": lagging,
    }
    shown = text_of(render.deployment_table(record, "Running"))
    assert "Observed" in shown
    assert "observed 4% to target (intended 25%)" in shown
    finished = text_of(render.deployment_table({**record, "status": "SUCCEEDED"}, "Last"))
    assert "Observed" not in finished  # a finished deployment's last poll is history, not "now"

    baked = {
        "at": "2026-11-30T10:05:00+00:00",
        "event": "baked",
        "step": 2,
        "polls": 1,
        "notes": [],
        "observed": lagging,
    }
    assert "step 2 baked: 1 health poll(s) passed; observed 4% to target" in render.event_line(baked, 4).plain  # type: ignore[union-attr]
