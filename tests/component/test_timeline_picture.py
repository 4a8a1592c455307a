"""The demo's timeline picture (tools/weightshift_cli/timeline.py), drawn from small
synthetic timelines (no emulator): the titles say what happened, the axis says the times
are deployment time, the fail back is a step to the restored weights that the lines go
on past, the alarm that fired is marked, and the health polls stay off the weight axis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from weightshift_cli import timeline as tl

P = tl.Point
FAILBACK_AT = 331.0  # deployment seconds: the alarm ended step 2's bake 16 s in
ALARM_CAUSE = (
    "alarm shop-blue-5xx went to ALARM at 2026-11-30T07:23:00.000+0000 during the bake of step 2: "
    "Threshold Crossed: 1 datapoint [30.0] was greater than the threshold (10.0). "
    "(at step 2; weights restored to blue=0 green=100)"
)


def good_release() -> tl.Timeline:
    return tl.Timeline(
        "green-ecs-svc-1-aaaa",
        "green",
        [
            P(255, "start", 100, 0, 0),
            P(255, "step", 95, 5, 1),
            P(315, "health", step=1, healthy=True, observed=0.01, intended=0.05),
            P(315, "step", 50, 50, 2),
            P(375, "health", step=2, healthy=True, observed=0.3, intended=0.5),
            P(375, "step", 0, 100, 3),
            P(435, "health", step=3, healthy=True, observed=0.6, intended=1.0),
            P(435, "promoted", 0, 100, 3),
        ],
        label="good release",
    )


def bad_release(cause: str = ALARM_CAUSE, error: str = "AlarmFired") -> tl.Timeline:
    return tl.Timeline(
        "blue-ecs-svc-2-bbbb",
        "blue",
        [
            P(255, "start", 0, 100, 0),
            P(255, "step", 5, 95, 1),
            P(315, "health", step=1, healthy=True, observed=0.0, intended=0.05),
            P(315, "step", 25, 75, 2),
            P(FAILBACK_AT, "health", healthy=False, note=cause),
            P(FAILBACK_AT, "failback", 0, 100, note=error),
            P(FAILBACK_AT, "failed", note=f"{error}: {cause}"),
        ],
        label="bad release",
    )


@pytest.fixture
def figure() -> Iterator[Figure]:
    fig = tl.draw([good_release(), bad_release()], caption="simulated at 100x the wall clock")
    fig.canvas.draw()  # lay the text out, for the overlap check
    yield fig
    plt.close(fig)


def axes(fig: Figure, gid: str) -> Any:
    return next(ax for ax in fig.axes if ax.get_gid() == gid)


def line(ax: Any, gid: str) -> Line2D:
    found: Line2D = next(artist for artist in ax.get_lines() if artist.get_gid() == gid)
    return found


def data(artist: Line2D) -> tuple[list[float], list[float]]:
    return np.asarray(artist.get_xdata(), dtype=float).tolist(), np.asarray(artist.get_ydata(), dtype=float).tolist()


def xs_of(dots: PathCollection) -> list[float]:
    return [float(x) for x in np.asarray(dots.get_offsets(), dtype=float)[:, 0]]


def hex_of(dots: PathCollection) -> str:
    red, green, blue, _ = np.asarray(dots.get_facecolor(), dtype=float)[0].tolist()
    return to_hex((red, green, blue))


def test_each_panel_is_titled_with_what_happened(figure: Figure) -> None:
    assert axes(figure, "weights-0").get_title(loc="left") == "good release → green, promoted"
    assert axes(figure, "weights-1").get_title(loc="left") == "bad release → blue, failed back: alarm shop-blue-5xx"
    assert axes(figure, "weights-1").get_title(loc="right") == "blue-ecs-svc-2-bbbb"  # the id: small, at the side


def test_the_time_axis_says_it_is_deployment_time_since_the_release(figure: Figure) -> None:
    for i in (0, 1):
        assert axes(figure, f"health-{i}").get_xlabel() == "minutes since the release started (deployment time)"
        assert axes(figure, f"weights-{i}").get_ylabel() == "share of traffic (%)"
        assert axes(figure, f"weights-{i}").get_xlim()[0] == 0


def test_the_fail_back_is_a_step_to_the_restored_weights_and_the_lines_go_on_after_it(figure: Figure) -> None:
    ax = axes(figure, "weights-1")
    at = FAILBACK_AT / 60
    for gid, before, restored in (("weight-blue", 25, 0), ("weight-green", 75, 100)):
        weights = line(ax, gid)
        assert weights.get_drawstyle() == "steps-post"
        xs, ys = data(weights)
        i = xs.index(at)
        assert ys[i - 1] == before  # step 2's weight up to the fail back
        assert all(y == restored for y in ys[i:])  # then the restored weight ...
        assert xs[-1] >= at + 1  # ... drawn on for more than a minute past the fail back
    alone = tl.draw([bad_release()])  # the longest panel: its own tail shows the restored weights
    xs, _ = data(line(axes(alone, "weights-0"), "weight-blue"))
    assert xs[-1] >= at + 1
    assert axes(alone, "weights-0").get_xlim()[1] >= at + 1
    plt.close(alone)
    assert {line(ax, gid).get_label() for gid in ("weight-blue", "weight-green", "observed")} == {
        "blue: intended weight (DNS)",
        "green: intended weight (DNS)",
        "blue: observed share of requests",
    }


def test_the_alarm_that_fired_is_marked_where_the_fail_back_began(figure: Figure) -> None:
    ax = axes(figure, "weights-1")
    marker = line(ax, "failback-line")
    assert data(marker)[0] == [FAILBACK_AT / 60] * 2
    label = next(t for t in ax.texts if t.get_gid() == "failback-label")
    assert label.get_text() == "alarm shop-blue-5xx → fail back to blue 0% / green 100%"
    assert not any(t.get_gid() == "failback-label" for t in axes(figure, "weights-0").texts)
    promoted = next(t for t in axes(figure, "weights-0").texts if t.get_gid() == "promoted-label")
    assert promoted.get_text() == "promoted"


def test_health_polls_are_on_their_own_strip_not_on_the_weight_axis(figure: Figure) -> None:
    for i in (0, 1):
        assert not axes(figure, f"weights-{i}").collections  # no dots among the weights
    strip = axes(figure, "health-1")
    dots = {c.get_gid(): c for c in strip.collections if isinstance(c, PathCollection)}
    assert xs_of(dots["health-pass"]) == [315 / 60]
    assert xs_of(dots["health-fail"]) == [FAILBACK_AT / 60]
    assert hex_of(dots["health-pass"]) == tl.GREEN
    assert hex_of(dots["health-fail"]) == tl.RED
    assert strip.get_shared_x_axes().joined(strip, axes(figure, "weights-1"))


def test_no_text_overlaps(figure: Figure) -> None:
    for i in (0, 1):
        ax = axes(figure, f"weights-{i}")
        texts: list[Text] = [ax.title, ax._left_title, ax._right_title, *ax.texts]
        boxes = [t.get_window_extent() for t in texts if t.get_visible() and t.get_text()]
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                assert not boxes[a].overlaps(boxes[b]), (i, texts[a].get_text(), texts[b].get_text())


def test_a_gate_failure_is_titled_with_its_first_reason() -> None:
    cause = (
        "step 2 poll 1: target 5xx rate 30.0% over 120 requests exceeds 1.0% (live side 0.5% x 2.0) "
        "(at step 2; weights restored to blue=0 green=100)"
    )
    timeline = bad_release(cause, "HealthGateFailed")
    assert timeline.title() == "bad release → blue, failed back: target 5xx rate 30.0% over 120 requests…"
    assert timeline.alarm() is None
    gate_alarm = bad_release("step 2 poll 1: alarm shop-blue-5xx is in ALARM (at step 2; x)", "HealthGateFailed")
    assert gate_alarm.title() == "bad release → blue, failed back: alarm shop-blue-5xx"
    assert tl.short_reason("Aborted", "the execution was stopped from the console") == "aborted"


def test_the_picture_is_deterministic(tmp_path: Path) -> None:
    for suffix in ("svg", "png"):
        first = tl.save_picture([good_release(), bad_release()], tmp_path / f"a.{suffix}", "caption")
        second = tl.save_picture([good_release(), bad_release()], tmp_path / f"b.{suffix}", "caption")
        assert first.read_bytes() == second.read_bytes()
