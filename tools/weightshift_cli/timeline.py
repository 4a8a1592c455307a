"""A deployment's timeline (weights and health over time) from its execution history.

The history says what happened in order; the recorded waits say how long each
Wait state lasted in deployment time, even when the emulator compressed it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BAKE = "Bake and watch health"  # statemachine/canary.asl.json


@dataclass(frozen=True)
class Point:
    seconds: float  # deployment time since the execution started
    event: str  # "start" | "step" | "health" | "failed" | "failback" | "promoted" | "already-live"
    blue: int | None = None
    green: int | None = None
    step: int | None = None
    healthy: bool | None = None
    note: str = ""
    observed: float | None = None  # the target's share of the requests at a health poll (0-1)
    intended: float | None = None  # its weight's share then


@dataclass
class Timeline:
    name: str
    target: str
    points: list[Point] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.points[-1].seconds if self.points else 0.0

    def weights(self) -> list[Point]:
        return [p for p in self.points if p.blue is not None]


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def build(history: Sequence[dict[str, Any]], waits: Iterable[float], name: str = "", target: str = "") -> Timeline:
    """Walk the history in order; each Wait state takes the next recorded wait."""
    pending = list(waits)
    now = 0.0
    timeline = Timeline(name=name, target=target)
    for event in history:
        kind = event["type"]
        if kind == "WaitStateExited" and pending:
            now += pending.pop(0)
        # The bake is a task that waits for its token (timed out, or ended by an alarm).
        if kind == "TaskStateExited" and event.get("stateExitedEventDetails", {}).get("name") == BAKE and pending:
            now += pending.pop(0)
        if kind == "ExecutionStarted":
            plan = _json(event.get("executionStartedEventDetails", {}).get("input"))
            timeline.target = timeline.target or str(plan.get("target", {}).get("color", ""))
            timeline.name = timeline.name or str(plan.get("deploymentId", ""))
        if kind == "TaskStateExited":
            details = event.get("stateExitedEventDetails", {})
            state, output = details.get("name", ""), _json(details.get("output"))
            timeline.points.extend(_points(state, output, now))
        if kind == "ExecutionFailed":
            failed = event.get("executionFailedEventDetails", {})
            timeline.points.append(Point(now, "failed", note=f"{failed.get('error')}: {failed.get('cause')}"))
        if kind == "ExecutionSucceeded":
            shifted = [p for p in timeline.points if p.event == "step"]
            if shifted:
                last = shifted[-1]
                timeline.points.append(Point(now, "promoted", last.blue, last.green, last.step))
    return timeline


def route53_changes(history: Sequence[dict[str, Any]]) -> int:
    """ChangeResourceRecordSets batches an execution made: each step, and a fail back that changed DNS."""
    count = 0
    for event in history:
        if event["type"] != "TaskStateExited":
            continue
        details = event["stateExitedEventDetails"]
        shifted = details["name"] == "Shift traffic"
        failed_back = details["name"] == "Fail back to the original weights"
        count += shifted or (failed_back and bool(_json(details.get("output")).get("failback", {}).get("changed")))
    return count


def _points(state: str, output: dict[str, Any], now: float) -> list[Point]:
    if state == "Record the original weights":
        w = output.get("shift", {}).get("originalWeights") or {}
        return [Point(now, "start", w.get("blue"), w.get("green"), 0)] if w else []
    if state == "Shift traffic":
        shift = output.get("shift", {})
        w = shift.get("weights") or {}
        return [Point(now, "step", w.get("blue"), w.get("green"), shift.get("stepIndex"))]
    if state == "Check health":
        gate = output.get("gate", {})
        seen = gate.get("observed") or {}
        return [
            Point(
                now,
                "health",
                step=gate.get("stepIndex"),
                healthy=True,
                note="; ".join(gate.get("notes", [])),
                observed=seen.get("targetShare"),
                intended=seen.get("intendedShare"),
            )
        ]
    if state == "Check the plan and claim the route" and output.get("run", {}).get("alreadyLive"):
        w = output["run"].get("weights") or {}
        return [Point(now, "already-live", w.get("blue"), w.get("green"))]
    if state == "Fail back to the original weights":
        failback = output.get("failback", {})
        restored = failback.get("restoredWeights") or {}
        return [
            Point(now, "health", healthy=False, note=str(failback.get("cause", ""))),
            Point(now, "failback", restored.get("blue"), restored.get("green"), note=str(failback.get("error", ""))),
        ]
    return []


def save_picture(timelines: Sequence[Timeline], path: Path) -> Path:
    """One panel per deployment: blue and green weights as steps, health polls as dots.
    The format follows the file suffix (.svg, .png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(timelines), 1, figsize=(9, 3.6 * len(timelines)), squeeze=False)
    for ax, tl in zip(axes[:, 0], timelines, strict=True):
        pts = tl.weights()
        if pts:
            xs = [p.seconds / 60 for p in pts] + [tl.duration / 60]
            for color, hexcolor in (("blue", "#1f6feb"), ("green", "#2da44e")):
                ys = [getattr(p, color) for p in pts]
                ax.step(xs, [*ys, ys[-1]], where="post", color=hexcolor, linewidth=2, label=f"{color} weight")
        seen = [p for p in tl.points if p.event == "health" and p.observed is not None]
        if seen:  # the split the clients really made, beside the weights' step line
            ax.plot(
                [p.seconds / 60 for p in seen],
                [100 * (p.observed or 0) for p in seen],
                linestyle=":",
                marker="D",
                markersize=4,
                color="#2da44e" if tl.target == "green" else "#1f6feb",
                label=f"observed share to {tl.target} (% of requests)",
            )
        ok = [p.seconds / 60 for p in tl.points if p.event == "health" and p.healthy]
        bad = [p.seconds / 60 for p in tl.points if p.event == "health" and p.healthy is False]
        ax.scatter(ok, [-8] * len(ok), marker="o", s=14, color="#2da44e", label="health poll: pass")
        if bad:
            ax.scatter(bad, [-8] * len(bad), marker="x", s=60, color="#cf222e", label="health poll: FAIL")
        for p in tl.points:
            if p.event == "failback":
                ax.axvline(p.seconds / 60, color="#cf222e", linestyle="--", linewidth=1)
                ax.annotate(
                    f"fail back ({p.note})",
                    (p.seconds / 60, 104),
                    color="#cf222e",
                    fontsize=8,
                    xytext=(-4, 0),
                    textcoords="offset points",
                    ha="right",
                )
        outcome = next((p.event for p in reversed(tl.points) if p.event in ("promoted", "failback")), "")
        ax.set_title(f"{tl.name}  ->  {tl.target}  ({outcome or 'running'})", fontsize=10, loc="left")
        ax.set_ylim(-15, 110)
        ax.set_ylabel("weight")
        ax.set_xlabel("minutes (deployment time)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=4, fontsize=7, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
