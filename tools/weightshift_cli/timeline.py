"""A deployment's timeline (weights and health over time) from its execution history.

The history says what happened in order; the recorded waits say how long each
Wait state lasted in deployment time, even when the emulator compressed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
    label: str = ""  # what the release was, for the picture's title ("good release")

    @property
    def duration(self) -> float:
        return self.points[-1].seconds if self.points else 0.0

    def weights(self) -> list[Point]:
        return [p for p in self.points if p.blue is not None]

    def failback(self) -> Point | None:
        return next((p for p in self.points if p.event == "failback"), None)

    def outcome(self) -> str:
        """How the deployment ended, in words: promoted, failed back, failed, already live, running."""
        events = {p.event for p in self.points}
        for event, words in (
            ("failback", "failed back"),
            ("promoted", "promoted"),
            ("already-live", "already live"),
            ("failed", "failed"),
        ):
            if event in events:
                return words
        return "running"

    def failure(self) -> tuple[str, str]:
        """(error, cause) of a failed deployment: the fail back's, else the execution's; ("", "") if none."""
        back = self.failback()
        if back is not None:
            cause = next(
                (
                    p.note
                    for p in self.points
                    if p.event == "health" and p.healthy is False and p.seconds == back.seconds
                ),
                "",
            )
            return back.note, cause
        failed = next((p for p in self.points if p.event == "failed"), None)
        if failed is None:
            return "", ""
        error, _, cause = failed.note.partition(": ")
        return error, cause

    def alarm(self) -> str | None:
        """The alarm whose state ended the deployment, if an alarm did."""
        return alarm_name(" ".join(self.failure()))

    def reason(self) -> str:
        """The failure's reason, short enough for a title ("" when nothing failed)."""
        error, cause = self.failure()
        return short_reason(error, cause) if error or cause else ""

    def title(self) -> str:
        """ "bad release → blue, failed back: alarm shop-blue-5xx" """
        head = f"{self.label or 'canary'} → {self.target or '?'}, {self.outcome()}"
        reason = self.reason()
        return f"{head}: {reason}" if reason else head


_ALARM = re.compile(r"\balarm (\S+?) (?:went to ALARM|is in ALARM)")
_STEP_PREFIX = re.compile(r"^step \d+(?: poll \d+|, as the bake began|, evidence after \d+s)?: ")
_READABLE_ERRORS = {"Aborted": "aborted", "TimedOut": "timed out", "DeadlineExceeded": "past its deadline"}


def alarm_name(text: str) -> str | None:
    """The alarm a gate failure or an alarm event names ("alarm X went to ALARM", "alarm X is in ALARM")."""
    found = _ALARM.search(text)
    return found.group(1) if found else None


def short_reason(error: str, cause: str, limit: int = 44) -> str:
    """A failure's reason for a title: the alarm's name if an alarm ended it, else the first
    clause of the cause (without the step prefix and the fail back's own note), cut at a word."""
    alarm = alarm_name(cause)
    if alarm:
        return f"alarm {alarm}"
    if error in _READABLE_ERRORS:
        return _READABLE_ERRORS[error]
    text = _STEP_PREFIX.sub("", cause.strip())
    text = re.split(r"; | \((?:at step|before the first step)", text)[0].strip()
    if not text:
        return error
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


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


# The picture: one panel per deployment, a weight chart above a thin strip of health polls.
BLUE, GREEN, RED, GREY = "#1f6feb", "#2da44e", "#cf222e", "#6e7781"
COLORS = {"blue": BLUE, "green": GREEN}
TAIL_MINUTES = 1.5  # the lines go on past the end: the weights it left (promoted, or restored) are seen
TIME_LABEL = "minutes since the release started (deployment time)"


def _share(p: Point, color: str) -> float:
    """A side's weight as a percentage of both weights (Route 53 weights need not add up to 100)."""
    blue, green = p.blue or 0, p.green or 0
    mine = blue if color == "blue" else green
    return 100.0 * mine / (blue + green) if blue + green else 0.0


def _end_minutes(timelines: Sequence[Timeline]) -> float:
    return max((t.duration for t in timelines), default=0.0) / 60 + TAIL_MINUTES


def _draw_weights(ax: Any, tl: Timeline, end: float) -> None:
    pts = tl.weights()
    start = next((p for p in tl.points if p.event in ("start", "already-live")), pts[0] if pts else None)
    if start is not None and start.seconds > 0:  # nothing changed DNS before: the weights were the original ones
        ax.axvspan(0, start.seconds / 60, color=GREY, alpha=0.10, linewidth=0)
        ax.text(
            start.seconds / 120,
            50,
            f"waiting for {tl.target or 'the target'}\nto be ready",
            ha="center",
            va="center",
            fontsize=8,
            color=GREY,
            gid="readiness",
        )
    if pts:
        xs = [0.0] + [p.seconds / 60 for p in pts] + [end]
        for color in ("blue", "green"):
            ys = [_share(p, color) for p in pts]
            ax.step(
                xs,
                [ys[0], *ys, ys[-1]],
                where="post",
                color=COLORS[color],
                linewidth=2.2,
                label=f"{color}: intended weight (DNS)",
                gid=f"weight-{color}",
                zorder=3,
            )
    seen = [p for p in tl.points if p.event == "health" and p.observed is not None]
    if seen:  # the split the clients really made, beside the weights' step line
        ax.plot(
            [p.seconds / 60 for p in seen],
            [100 * (p.observed or 0) for p in seen],
            linestyle=":",
            marker="D",
            markersize=4,
            color=COLORS.get(tl.target, GREY),
            label=f"{tl.target}: observed share of requests",
            gid="observed",
            zorder=4,
        )
    back = tl.failback()
    promoted = next((p for p in tl.points if p.event == "promoted"), None)
    ax.set_xlim(0, end)
    if back is not None:
        alarm = tl.alarm()
        text = f"alarm {alarm} → fail back" if alarm else f"fail back: {tl.reason() or back.note}"
        if back.blue is not None:
            text += f" to blue {_share(back, 'blue'):.0f}% / green {_share(back, 'green'):.0f}%"
        _marker(ax, back.seconds / 60, text, RED, "--", "failback")
    elif promoted is not None:
        _marker(ax, promoted.seconds / 60, "promoted", GREEN, ":", "promoted")
    ax.set_ylim(-5, 116)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.set_ylabel("share of traffic (%)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _marker(ax: Any, x: float, text: str, color: str, style: str, gid: str) -> None:
    """A vertical line at ``x`` with its label in the band above the weights (100-116%),
    on the side of the line with more room."""
    ax.axvline(x, color=color, linestyle=style, linewidth=1.3, gid=f"{gid}-line", zorder=2)
    left, right = ax.get_xlim()
    room_left = x - left > right - x
    ax.annotate(
        text,
        (x, 108),
        xytext=(-4 if room_left else 4, 0),
        textcoords="offset points",
        ha="right" if room_left else "left",
        va="center",
        fontsize=8.5,
        color=color,
        fontweight="bold",
        gid=f"{gid}-label",
    )


def _draw_health(ax: Any, tl: Timeline) -> None:
    """Health verdicts on their own strip, never on the weight axis: a poll that passed,
    and the verdict that failed (a poll, or an alarm that ended the bake)."""
    ok = [p.seconds / 60 for p in tl.points if p.event == "health" and p.healthy]
    bad = [p.seconds / 60 for p in tl.points if p.event == "health" and p.healthy is False]
    if ok:
        ax.scatter(ok, [0] * len(ok), marker="o", s=22, color=GREEN, label="health poll: pass", gid="health-pass")
    if bad:
        ax.scatter(
            bad, [0] * len(bad), marker="X", s=60, color=RED, label="health: FAIL (poll or alarm)", gid="health-fail"
        )
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.set_ylabel("health", rotation=0, ha="right", va="center", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    if ok or bad:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False, ncol=1)


def draw(timelines: Sequence[Timeline], caption: str = "") -> Figure:
    """The figure save_picture writes: per deployment, the intended weights (DNS) as step
    lines, the observed share of requests, the fail back or promotion marked, and the health
    polls on a strip below. Axes carry gids ("weights-0", "health-0") for tests."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # A fixed layout, in inches: every panel's axes line up, whatever its legend's width.
    width, left, right = 11.0, 0.8, 2.6  # the legends go in the right margin
    top_pad, title, weights, gap, strip, below = (0.35 if caption else 0.1), 0.45, 2.55, 0.1, 0.38, 0.62
    panel = title + weights + gap + strip + below
    height = top_pad + panel * max(len(timelines), 1)
    fig = plt.figure(figsize=(width, height))
    end = _end_minutes(timelines)

    def rect(top: float, tall: float) -> tuple[float, float, float, float]:
        return (left / width, 1 - (top + tall) / height, (width - left - right) / width, tall / height)

    for i, tl in enumerate(timelines):
        y = top_pad + i * panel + title
        ax = fig.add_axes(rect(y, weights), gid=f"weights-{i}")
        strip_ax = fig.add_axes(rect(y + weights + gap, strip), sharex=ax, gid=f"health-{i}")
        _draw_weights(ax, tl, end)
        _draw_health(strip_ax, tl)
        heading = ax.set_title(tl.title(), fontsize=11, loc="left", fontweight="bold")
        if tl.name:  # the deployment id, small, at the right; left out if the title reaches it
            ident = ax.set_title(tl.name, fontsize=7, loc="right", color=GREY)
            if heading.get_window_extent().x1 + 12 > ident.get_window_extent().x0:
                ident.set_text("")
        ax.tick_params(labelbottom=False)
        strip_ax.set_xlim(0, end)
        strip_ax.set_xlabel(TIME_LABEL)
    if caption:
        fig.text(0.1 / width, 1 - 0.08 / height, caption, fontsize=9, color=GREY, ha="left", va="top", gid="caption")
    return fig


def save_picture(timelines: Sequence[Timeline], path: Path, caption: str = "") -> Path:
    """Write draw()'s figure; the format follows the file suffix (.svg, .png). Same input,
    same bytes: fixed size and dpi, no date in the file, fixed SVG ids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"svg.hashsalt": "weightshift", "font.family": "DejaVu Sans"}):
        fig = draw(timelines, caption)
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata = {"Date": None} if path.suffix.lower() in (".svg", ".pdf") else None
        fig.savefig(path, dpi=110, metadata=metadata)
        plt.close(fig)
    return path
