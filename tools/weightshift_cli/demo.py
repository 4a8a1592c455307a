"""``make demo``: the whole of Weightshift in a local AWS emulator, no account needed.

1. Start the emulator (moto server on 127.0.0.1, Step Functions engine on,
   Lambda handlers in-process) and deploy the real ``template.yaml`` into it.
2. Build what a user already has: a hosted zone with the weighted pair (blue
   live), two ALBs, an ECS cluster with blue and green services, alarms and
   health checks.
3. Scenario 1, a good release: green tasks go RUNNING. Their events (several
   tasks, duplicates, a stale one, a blue scale-out) go through EventBridge;
   the deployed rule and trigger start exactly one canary, which promotes green.
4. Scenario 2, a bad release: a new deployment goes to the now idle blue side;
   its alarm fires at a middle step and Weightshift fails back.

Time is compressed: each Wait sleeps a small fraction of its real length; the
figures shown are deployment time (what it would take on AWS).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from weightshift_emulator import patches, stack
from weightshift_emulator.server import start_emulator
from weightshift_emulator.world import (
    Surroundings,
    build_surroundings,
    execution_history,
    set_weighted_pair,
    task_event,
    weights,
)

from weightshift_cli import timeline as tl

OUTPUT = Path("demo-output")
TIME_SCALE = 0.002  # a 15 s health poll sleeps 30 ms
SCHEDULE = "5,25,50,100"
BAD_STEP = 3  # the alarm fires when the bad release reaches this step


@dataclass
class Outcome:
    scenario: str
    deployment: str
    target: str
    status: str
    expected: str
    steps: str
    transitions: int
    route53_changes: int
    deployment_seconds: float
    wall_seconds: float
    reason: str
    timeline: tl.Timeline

    @property
    def ok(self) -> bool:
        return self.status == self.expected


def send(c: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """Deliver events through EventBridge's put_events (the deployed rule routes them)."""
    import json

    for start in range(0, len(events), 10):
        entries = [
            {
                "Source": e["source"],
                "DetailType": e["detail-type"],
                "Detail": json.dumps(e["detail"]),
                "Resources": e["resources"],
            }
            for e in events[start : start + 10]
        ]
        c["events"].put_events(Entries=entries)


def release_events(s: Surroundings, color: str, deployment: str, tasks: int) -> tuple[list[dict[str, Any]], str]:
    """What ECS sends for a deployment of ``tasks`` tasks, as EventBridge may deliver it:
    every task RUNNING, each delivered twice, then a stale (older) event of the first task."""
    ids = [f"{color}{deployment[-6:]}{i:02d}" for i in range(tasks)]
    events = [task_event(s, color, t, deployment, version=3) for t in ids]
    events += [task_event(s, color, t, deployment, version=3) for t in ids]  # duplicates
    events.append(task_event(s, color, ids[0], deployment, version=2))  # stale, out of order
    note = f"{tasks} {color} tasks x 2 deliveries + 1 stale event"
    return events, note


def executions(c: dict[str, Any], machine: str) -> list[dict[str, Any]]:
    return list(c["stepfunctions"].list_executions(stateMachineArn=machine)["executions"])


def follow(console: Console, c: dict[str, Any], arn: str, title: str, steps: int) -> tuple[dict[str, Any], tl.Timeline]:
    """A live view of one execution: weights, step, health verdicts, until it ends."""
    sfn = c["stepfunctions"]
    with Live(console=console, refresh_per_second=12, transient=False) as live:
        while True:
            desc = sfn.describe_execution(executionArn=arn)
            events = execution_history(sfn, arn)
            waits = [w.seconds for w in patches.CLOCK.for_execution(arn) if w.kind == "wait"]
            timeline = tl.build(events, waits)
            live.update(_view(title, desc, timeline, steps))
            if desc["status"] != "RUNNING":
                break
            time.sleep(0.08)
    console.print()
    return dict(desc), timeline


def _view(title: str, desc: dict[str, Any], timeline: tl.Timeline, steps: int) -> Panel:
    target = timeline.target or "?"
    weights_now = timeline.weights()[-1] if timeline.weights() else None
    share = getattr(weights_now, target, 0) if weights_now else 0
    total = (weights_now.blue or 0) + (weights_now.green or 0) if weights_now else 0
    pct = 100 * (share or 0) / total if total else 0.0
    step = max((p.step or 0 for p in timeline.points if p.event == "step"), default=0)
    bar = ProgressBar(
        total=100, completed=pct, width=50, complete_style=target if target in ("blue", "green") else "white"
    )
    head = Text.assemble(
        (f"{target:>5} ", f"bold {target}"),
        f"{pct:5.1f}%  ",
        f"step {step}/{steps}  ",
        (f"{desc['status']}", "bold"),
        f"   deployment time {timeline.duration / 60:5.1f} min",
    )
    lines = Text()
    for p in timeline.points[-7:]:
        stamp = f"{p.seconds / 60:6.2f} min  "
        if p.event in ("start", "step", "promoted", "failback", "already-live"):
            label = {
                "start": "original weights",
                "step": f"step {p.step}",
                "promoted": "promoted",
                "failback": f"FAIL BACK ({p.note})",
                "already-live": "already live",
            }[p.event]
            style = "red" if p.event == "failback" else ("bold green" if p.event == "promoted" else "")
            lines.append(f"{stamp}{label:<24} blue={p.blue:<3} green={p.green}\n", style=style)
        elif p.event == "health":
            verdict = "health: pass" if p.healthy else f"health: FAIL  {p.note}"
            lines.append(f"{stamp}  {verdict[:110]}\n", style="green" if p.healthy else "bold red")
        elif p.event == "failed":
            lines.append(f"{stamp}{p.note[:120]}\n", style="red")
    grid = Table.grid()
    grid.add_row(bar)
    return Panel(Group(head, grid, lines), title=title, border_style="cyan")


def run_scenario(
    console: Console,
    c: dict[str, Any],
    s: Surroundings,
    machine: str,
    *,
    scenario: str,
    color: str,
    deployment: str,
    expected: str,
    tasks: int = 3,
    extra: list[dict[str, Any]] | None = None,
) -> Outcome:
    before = {e["executionArn"] for e in executions(c, machine)}
    events, note = release_events(s, color, deployment, tasks)
    events += extra or []
    wall = time.monotonic()
    send(c, events)
    started = [e for e in executions(c, machine) if e["executionArn"] not in before]
    console.print(
        f"  sent {len(events)} events ({note}{', + a scale-out of the live side' if extra else ''})"
        f" -> [bold]{len(started)}[/] execution started"
    )
    if len(started) != 1:
        raise SystemExit(f"expected exactly one execution, got {len(started)}")
    arn = started[0]["executionArn"]
    desc, timeline = follow(console, c, arn, f"{scenario}: canary to {color}", len(SCHEDULE.split(",")))
    events_h = execution_history(c["stepfunctions"], arn)
    steps = sum(1 for p in timeline.points if p.event == "step")
    return Outcome(
        scenario=scenario,
        deployment=started[0]["name"],
        target=color,
        status=desc["status"],
        expected=expected,
        steps=f"{steps}/{len(SCHEDULE.split(','))}",
        transitions=sum(1 for e in events_h if e["type"].endswith("StateEntered")),
        route53_changes=tl.route53_changes(events_h),
        deployment_seconds=timeline.duration,
        wall_seconds=time.monotonic() - wall,
        reason=f"{desc.get('error')}: {desc.get('cause')}" if desc.get("error") else "promoted",
        timeline=timeline,
    )


def quiet() -> None:
    """The demo shows its own view: keep moto's engine dumps, moto's CloudFormation
    notes and the functions' JSON logs off the terminal (WEIGHTSHIFT_DEMO_LOGS=1 keeps them)."""
    if os.environ.get("WEIGHTSHIFT_DEMO_LOGS"):
        return
    for name in ("moto", "werkzeug"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    patches.INVOKE_ENVIRONMENT.update({"POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"})


def main() -> int:
    console = Console(width=max(Console().width, 100))
    quiet()
    t0 = time.monotonic()
    console.rule("[bold]Weightshift demo[/]: the real template in a local AWS emulator")
    patches.install()
    patches.CLOCK.scale = TIME_SCALE
    with start_emulator() as emu:
        c = emu.clients()
        console.print(f"emulator on {emu.endpoint_url} (moto, Step Functions engine on, Lambda in-process)")
        s = build_surroundings(c)
        set_weighted_pair(c, s, blue=100, green=0)
        console.print(
            f"surroundings: zone {s.zone_name}, {s.record_name} -> blue=100 green=0, cluster {s.cluster}, "
            f"services {s.blue_service}/{s.green_service}, alarms, health checks"
        )
        params = s.parameters(Schedule=SCHEDULE, StepIntervalSeconds="60", HealthPollSeconds="15")
        deployed = stack.deploy(c, params)
        console.print(
            f"deployed template.yaml as stack [bold]{deployed.stack_name}[/] ({deployed.status}): "
            f"{len(deployed.functions)} functions, {len(deployed.rules)} rules, state machine "
            f"{deployed.state_machine_arn.split(':')[-1]}, schedule {SCHEDULE}"
        )
        machine = deployed.state_machine_arn

        console.rule("Scenario 1: a good release of green")
        scale_out = task_event(s, "blue", "bluescaleout01", "ecs-svc/1000000000000000001", version=3)
        good = run_scenario(
            console,
            c,
            s,
            machine,
            scenario="1 good release",
            color="green",
            deployment="ecs-svc/7000000000000000001",
            expected="SUCCEEDED",
            extra=[scale_out],
        )

        console.rule(f"Scenario 2: a bad release of blue (its alarm fires at step {BAD_STEP})")
        shift_fn = deployed.functions["ShiftFunction"]

        def alarm_at_bad_step(function_name: str, event: Any) -> None:
            step = int((event.get("state", {}).get("shift") or {}).get("stepIndex", 0)) + 1
            if function_name == shift_fn and event.get("action") == "shift" and step == BAD_STEP:
                c["cloudwatch"].set_alarm_state(
                    AlarmName=s.blue_alarm, StateValue="ALARM", StateReason="5xx over threshold (demo)"
                )

        patches.INVOKE_HOOKS.append(alarm_at_bad_step)
        bad = run_scenario(
            console,
            c,
            s,
            machine,
            scenario="2 bad release",
            color="blue",
            deployment="ecs-svc/7000000000000000002",
            expected="FAILED",
        )
        patches.INVOKE_HOOKS.remove(alarm_at_bad_step)
        final = weights(c, s)

    outcomes = [good, bad]
    table = Table(title="Weightshift demo summary")
    for col in ("scenario", "target", "outcome", "steps", "transitions", "R53 changes", "deploy time", "wall"):
        table.add_column(col, no_wrap=True)
    for o in outcomes:
        table.add_row(
            o.scenario,
            o.target,
            Text(o.status, style="green" if o.ok else "bold red"),
            o.steps,
            str(o.transitions),
            str(o.route53_changes),
            f"{o.deployment_seconds / 60:.1f} min",
            f"{o.wall_seconds:.1f} s",
        )
    console.print(table)
    for o in outcomes:
        console.print(f"  {o.scenario}: {o.deployment}: {o.reason}", soft_wrap=True)
    ok = all(o.ok for o in outcomes) and final == {"blue": 0, "green": 100}
    console.print(f"final weights: {final}  (expected blue=0 green=100: the bad release was failed back)")
    timelines = [o.timeline for o in outcomes]
    picture = tl.save_picture(timelines, OUTPUT / "timeline.svg")
    tl.save_picture(timelines, OUTPUT / "timeline.png")
    console.print(f"timeline picture: [bold]{picture.resolve()}[/] (and timeline.png beside it)")
    verdict = "[bold green]both scenarios ended as expected[/]" if ok else "[bold red]unexpected outcome[/]"
    console.print(f"{verdict} in {time.monotonic() - t0:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
