"""How the CLI shows things to a person (Rich). ``--json`` bypasses all of this."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from weightshift.adapters.deployments import ALREADY_LIVE, REJECTED, ROLLED_BACK, SUCCEEDED
from weightshift.models import Weights
from weightshift.records import TERMINAL, Status

from weightshift_cli.ops import (
    IdleService,
    PlanView,
    plan_of,
    share,
    short_task_definition,
    step_count,
    target_percent,
    weights_of,
)

STATUS_STYLE = {
    SUCCEEDED: "bold green",
    ALREADY_LIVE: "green",
    ROLLED_BACK: "bold red",
    REJECTED: "red",
    "IN_PROGRESS": "yellow",
    "STARTED": "yellow",
    "CLAIMED": "yellow",
}
COLOR_STYLE = {"blue": "bold blue", "green": "bold green"}


def stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def print_json(data: Any) -> None:
    """Machine output: one JSON document on stdout, nothing else."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def report_error(message: str, code: int, as_json: bool = False, details: dict[str, Any] | None = None) -> None:
    """An error: one line on stderr; with --json also ``{"error", "exitCode", …details}`` on stdout."""
    line = one_line(message)
    if as_json:
        print_json({**(details or {}), "error": line, "exitCode": code})
    print(f"error: {line}", file=sys.stderr)


def warn(message: str) -> None:
    """A warning: one line on stderr (the command still succeeds)."""
    print(f"warning: {one_line(message)}", file=sys.stderr)


# ---------------------------------------------------------------- formatting
def duration(seconds: float | int | None) -> str:
    if seconds is None:
        return "-"
    total = round(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def when(iso: Any) -> str:
    if not iso:
        return "-"
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if moment.utcoffset() is not None else "")


def record_duration(record: dict[str, Any]) -> float | None:
    if record.get("durationSeconds") is not None:
        return float(record["durationSeconds"])
    start, end = record.get("startedAt"), record.get("finishedAt")
    if start and end:
        try:
            return (datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds()
        except ValueError:
            return None
    return None


def status_text(status: Any) -> Text:
    return Text(str(status or "-"), style=STATUS_STYLE.get(str(status), ""))


def color_text(color: Any) -> Text:
    return Text(str(color or "-"), style=COLOR_STYLE.get(str(color), ""))


def weights_text(weights: Weights | None) -> Text:
    if weights is None:
        return Text("-")
    text = Text()
    text.append(f"blue {weights.blue}", style=COLOR_STYLE["blue"])
    text.append(" / ")
    text.append(f"green {weights.green}", style=COLOR_STYLE["green"])
    return text


def steps_text(record: dict[str, Any]) -> str:
    count = step_count(record)
    step = record.get("step")
    if count is None:
        return str(step or "-")
    return f"{step or 0}/{count}"


def one_line(value: Any, limit: int | None = None) -> str:
    text = " ".join(str(value or "").split())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


# ----------------------------------------------------------------------- plan
def plan_view(view: PlanView) -> RenderableType:
    plan = view.plan
    table = Table(title=f"Schedule {plan.schedule} → {plan.target.color}", title_justify="left")
    table.add_column("Step", justify="right")
    table.add_column(f"{plan.target.color} %", justify="right")
    table.add_column("Weights (blue / green)", no_wrap=True)
    table.add_column("Starts at", justify="right", no_wrap=True)
    table.add_column("Bake", justify="right")
    table.add_column("Polls", justify="right", no_wrap=True)
    for s in view.steps:
        bake = duration(s.effective_bake_seconds)
        if s.effective_bake_seconds != s.bake_seconds:
            bake += f" (asked {duration(s.bake_seconds)})"
        table.add_row(
            str(s.index),
            f"{s.target_percent}%",
            weights_text(s.weights),
            "+" + duration(s.starts_at),
            bake,
            f"{s.polls} x {s.wait_seconds}s",
        )
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row(
        "Minimum duration",
        f"{duration(view.min_duration_seconds)} ({view.min_duration_seconds}s) of bake, TTL {view.ttl_seconds}s, "
        f"step interval {plan.step_interval_seconds}s; plus readiness (up to "
        f"{duration(plan.readiness_timeout_seconds)}) and DNS sync per step",
    )
    summary.add_row("Timeout", f"{duration(plan.timeout_seconds)} ({plan.timeout_seconds}s)")
    summary.add_row(
        "State transitions",
        f"{view.transitions} expected on success ≈ ${view.usd:.4f} per deployment ($0.025 per 1,000)",
    )
    summary.add_row(
        "History events",
        f"at most {view.history_events:,} (budget 20,000; Step Functions limit 25,000)",
    )
    parts: list[RenderableType] = [table, summary]  # the warnings go to stderr (see `warn`)
    if view.problem:
        parts.append(Text(f"preflight would reject this plan: {view.problem}", style="bold red"))
    return Group(*parts)


# --------------------------------------------------------------------- status
def weights_bar(weights: Weights | None, width: int = 30) -> RenderableType:
    """What traffic does now (the record pair in Route 53, not a deployment's record)."""
    if weights is None:
        return Text("live now: the weighted record pair does not exist yet (the first deployment creates it)")
    green = share(weights, "green")
    grid = Table.grid(padding=(0, 1))
    grid.add_row(
        Text("live now:", style="bold"),
        Text(f"blue {weights.blue} ({100 - green:.0f}%)", style=COLOR_STYLE["blue"]),
        ProgressBar(total=100, completed=green, width=width, style="blue", complete_style="green"),
        Text(f"green {weights.green} ({green:.0f}%)", style=COLOR_STYLE["green"]),
    )
    return grid


def deployment_table(record: dict[str, Any], title: str) -> Table:
    table = Table.grid(padding=(0, 2))
    table.title = title
    table.title_justify = "left"
    table.title_style = "bold"
    table.add_column(style="dim")
    table.add_column(overflow="fold")
    plan = plan_of(record)
    table.add_row("Deployment", str(record.get("deploymentId", "-")))
    table.add_row("Target", color_text(record.get("targetColor")))
    table.add_row("Status", status_text(record.get("status")))
    table.add_row("Step", steps_text(record) + (f"  (schedule {plan['schedule']})" if plan.get("schedule") else ""))
    current = weights_of(record)
    if current and record.get("status") not in TERMINAL:  # a finished one's are history: see `last_summary`
        table.add_row("Weights", Text.assemble(weights_text(current), f"  ({target_percent(record):.0f}% to target)"))
    seen = observed_text(record.get("observed"))
    if seen is not None and record.get("status") not in (SUCCEEDED, ROLLED_BACK, REJECTED, ALREADY_LIVE):
        table.add_row("Observed", seen)
    original = weights_of(record, "originalWeights")
    if original:
        table.add_row("Original weights", weights_text(original))
    restored = weights_of(record, "restoredWeights")
    if restored:
        table.add_row("Restored weights", weights_text(restored))
    table.add_row("ECS deployment", str(record.get("ecsDeployment", "-")))
    table.add_row("Started", when(record.get("startedAt") or record.get("createdAt")))
    if record.get("finishedAt"):
        table.add_row("Finished", when(record.get("finishedAt")))
        table.add_row("Duration", duration(record_duration(record)))
    if record.get("executionArn"):
        table.add_row("Execution", str(record["executionArn"]))
    if record.get("reason"):
        style = "red" if record.get("status") in (ROLLED_BACK, REJECTED) else ""
        table.add_row("Reason", Text(one_line(record["reason"]), style=style))
    return table


def last_summary(record: dict[str, Any]) -> Text:
    """What the last deployment did, in one sentence:
    ``last deployment: green, rolled back at step 2/3 (Aborted); weights restored to blue 100 / green 0``."""
    status, error = record.get("status"), record.get("error")
    text = Text.assemble(("last deployment: ", "bold"), color_text(record.get("targetColor")), ", ")
    because = f" ({error})" if error else ""
    if status == Status.SUCCEEDED:
        text.append(f"promoted in {steps_text(record)} steps; weights set to ")
        text.append_text(weights_text(weights_of(record)))
    elif status == Status.ALREADY_LIVE:
        text.append("already carried all traffic; nothing changed")
    elif status == Status.ROLLED_BACK:
        restored = weights_of(record, "restoredWeights")
        text.append(f"rolled back at step {steps_text(record)}{because}", style="red")
        if restored:
            text.append("; weights restored to ")
            text.append_text(weights_text(restored))
        else:
            text.append("; no DNS change had been made")
    elif status == Status.REJECTED:
        text.append(f"rejected before any DNS change{because}", style="red")
    elif status == Status.SUPERSEDED:
        text.append("superseded by a newer deployment of the same service; never started")
    else:
        text.append(str(status))
    return text


def idle_note(idle: IdleService, release: str, aws: str) -> Text:
    """After a release that did not go out: which service still runs what, and what to do.

    ``release`` is the `weightshift release` command to run, ``aws`` the start of an `aws` command,
    both with the caller's options. Print it with ``soft_wrap=True``: the commands stay whole lines.
    """
    text = Text.assemble(
        ("! ", "bold yellow"),
        color_text(idle.side),
        f" ({idle.service}) still runs {short_task_definition(idle.task_definition)}, the release that did not go "
        "out (Weightshift fails back the traffic, not ECS).",
    )
    for step in idle_advice(idle, release, aws):
        text.append(f"\n  {step['what']}:\n    ")
        text.append(step["command"], style="bold")
    return text


def idle_advice(idle: IdleService, release: str, aws: str) -> list[dict[str, str]]:
    """What to do, each with its exact command (also ``idleService.advice`` in ``--json``)."""
    steps = [{"what": "Release a fixed image", "command": release}]
    if idle.previous_task_definition:
        steps.append(
            {
                "what": f"Or put {short_task_definition(idle.previous_task_definition)} back (like every ECS "
                "deployment of this side, it starts a canary toward it)",
                "command": f"{aws} ecs update-service --cluster {idle.cluster} --service {idle.service} "
                f"--task-definition {idle.previous_task_definition}",
            }
        )
    return steps


def history_view(records: list[dict[str, Any]], width: int) -> RenderableType:
    """A table on a wide terminal; on a narrow one, a few lines per deployment (reasons stay whole)."""
    if width >= 120:
        return history_table(records)
    lines: list[RenderableType] = [Text(f"{len(records)} deployment(s), newest first", style="italic")]
    for r in records:
        lines.append(Text(str(r.get("deploymentId", "-")), style="bold"))
        lines.append(
            Text.assemble(
                "  ",
                color_text(r.get("targetColor")),
                "  ",
                status_text(r.get("status")),
                f"  started {when(r.get('startedAt') or r.get('createdAt'))}",
                f"  took {duration(record_duration(r))}",
                f"  step {steps_text(r)}",
            )
        )
        if r.get("reason"):
            lines.append(Text("  " + one_line(r.get("reason")), style="dim"))
    return Group(*lines)


def history_table(records: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(records)} deployment(s), newest first", title_justify="left")
    table.add_column("Deployment", overflow="fold", min_width=16)
    table.add_column("Target", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Started", no_wrap=True)
    table.add_column("Duration", justify="right", no_wrap=True)
    table.add_column("Steps", justify="right", no_wrap=True)
    table.add_column("Reason", overflow="fold", min_width=20)
    for r in records:
        table.add_row(
            str(r.get("deploymentId", "-")),
            color_text(r.get("targetColor")),
            status_text(r.get("status")),
            when(r.get("startedAt") or r.get("createdAt"))[5:],
            duration(record_duration(r)),
            steps_text(r),
            one_line(r.get("reason"), 200),
        )
    return table


# ---------------------------------------------------------------------- watch
def observed_text(observed: Any) -> Text | None:
    """The split the clients really made beside the intended one (the gate's request counts):
    ``observed 22% to target (intended 25%) of 1,234 requests in 60s``."""
    if not isinstance(observed, dict) or observed.get("intendedShare") is None:
        return None
    intended = float(observed["intendedShare"])
    requests = int(observed.get("targetRequests") or 0) + int(observed.get("liveRequests") or 0)
    share = observed.get("targetShare")
    if share is None:
        return Text(f"observed: no requests in {observed.get('windowSeconds', '?')}s (intended {intended:.0%})")
    lag = float(share) < 0.8 * intended  # the clients have not followed the weights yet
    return Text.assemble(
        Text(f"observed {float(share):.0%} to target", style="yellow" if lag else ""),
        f" (intended {intended:.0%}) of {requests:,} requests in {observed.get('windowSeconds', '?')}s",
    )


def event_line(entry: dict[str, Any], steps: int | None) -> Text | None:
    """One line for a timeline entry of a deployment record."""
    event = entry.get("event")
    at = when(entry.get("at"))[11:19]
    weights = entry.get("weights")
    w = Weights.model_validate(weights) if isinstance(weights, dict) and {"blue", "green"} <= set(weights) else None
    prefix = Text(f"{at}  ", style="dim")
    if event == "started":
        return prefix + Text("execution started")
    if event == "original-weights":
        created = " (created the weighted pair)" if entry.get("createdPair") else ""
        return prefix + Text("original weights ") + weights_text(w) + Text(created)
    if event == "step":
        of = f"/{steps}" if steps else ""
        return prefix + Text(f"step {entry.get('step')}{of}: ", style="bold") + weights_text(w)
    if event == "baked":
        line = prefix + Text(
            f"step {entry.get('step')} baked: {entry.get('polls')} health poll(s) passed", style="green"
        )
        rule = entry.get("decidedBy")
        found = entry.get("evidence")
        proof: dict[str, Any] = found if isinstance(found, dict) else {}
        if rule == "evidence":  # the sequential test ended the bake early
            line += Text(f" [evidence: no worse, LLR {proof.get('llr')} <= {proof.get('lower')}]", style="green")
        elif rule == "max-bake":
            line += Text(f" [full bake: evidence {proof.get('decision', 'inconclusive')}]")
        seen = observed_text(entry.get("observed"))
        return line + Text("; ") + seen if seen is not None else line
    if event == "promoted":
        return prefix + Text("promoted", style="bold green")
    if event in ("rolled-back", "rejected"):
        detail = one_line(f"{entry.get('error', '')}: {entry.get('cause', '')}")
        return prefix + Text(f"{event}: {detail}", style="bold red")
    return prefix + Text(str(event))


def outcome(record: dict[str, Any]) -> Text:
    status = record.get("status")
    target = record.get("targetColor")
    deployment = record.get("deploymentId")
    if status == SUCCEEDED:
        return Text(
            f"✔ {target} promoted ({deployment}, {steps_text(record)} steps, {duration(record_duration(record))})",
            style="bold green",
        )
    if status == ALREADY_LIVE:
        return Text(f"✔ {target} already carries all traffic: nothing to do ({deployment})", style="green")
    restored = weights_of(record, "restoredWeights")
    text = Text(f"✘ {deployment} {status}: {one_line(record.get('reason'))}", style="bold red")
    if restored:
        text.append("\n  traffic restored to ")
        text.append_text(weights_text(restored))
    return text


def stacks_table(rows: list[dict[str, Any]], region: str) -> RenderableType:
    """``status --all``: a line per Weightshift stack of the region."""
    table = Table(title=f"Weightshift stacks in {region}", title_justify="left")
    for column in ("stack", "record", "live now", "running", "last deployment"):
        table.add_column(column)
    if not rows:
        return Text(f"No Weightshift stack in {region}.", style="dim")
    for row in rows:
        if "error" in row:
            table.add_row(row["stack"], row["recordName"], Text(f"cannot read: {row['error']}", style="red"), "", "")
            continue
        weights = Weights.model_validate(row["weights"]) if row.get("weights") else None
        running, last = row.get("running"), row.get("last")
        table.add_row(
            row["stack"],
            row["recordName"],
            weights_text(weights) if weights else Text("no pair yet", style="dim"),
            _brief_text(running, with_step=True),
            _brief_text(last, with_step=False),
        )
    return table


def _brief_text(record: dict[str, Any] | None, *, with_step: bool) -> Text:
    if not record:
        return Text("-", style="dim")
    text = Text.assemble(color_text(record.get("targetColor")), f" {str(record.get('status', '')).lower()}")
    if with_step and record.get("step"):
        text.append(f" at step {record['step']}")
    if record.get("error"):
        text.append(f" ({record['error']})", style="red")
    when = record.get("finishedAt") or record.get("updatedAt")
    if when and not with_step:
        text.append(f" {str(when)[:16]}", style="dim")
    return text


ALARM_STYLE = {"ALARM": "bold red", "OK": "green", "INSUFFICIENT_DATA": "dim"}


def alarms_table(alarms: dict[str, str]) -> RenderableType:
    """The stack's alarms and their states (``weightshift dashboard``)."""
    if not alarms:
        return Text("The stack has no alarms (or they are not readable).", style="dim")
    table = Table(title="Alarms of the stack", title_justify="left")
    table.add_column("alarm")
    table.add_column("state")
    for name, state in alarms.items():
        table.add_row(name, Text(state, style=ALARM_STYLE.get(state, "")))
    return table
