"""``make demo``: the whole of Weightshift in a local AWS emulator, no account needed.

It runs on the same pieces as ``make emulator`` (``weightshift_emulator.local``):

1. Start the emulator (moto server on 127.0.0.1, Step Functions engine on, Lambda
   handlers in-process), build what a user already has (a hosted zone with the
   weighted pair, blue live; two ALBs; an ECS cluster with blue and green
   services; alarms; health checks) and deploy the real ``template.yaml``.
2. Start the world's clock: DNS clients send traffic to the ALB they resolved,
   the ALBs publish metrics, alarms evaluate from them, ECS rolls deployments.
3. Scenario 1, a good release: ``weightshift release``'s own code registers a new
   task definition with a good image for green and updates the service. ECS
   starts the tasks; their events (duplicates included) go through EventBridge;
   the deployed rule and trigger start exactly one canary, which promotes green.
4. Scenario 2, a bad release: the same for blue with an image that serves 5xx.
   Nothing is set by hand: the health gate sees the errors in the ALB's metrics
   (or the alarm that went to ALARM from them) and Weightshift fails back.

Time is compressed: the figures shown are deployment time (what it would take on AWS).
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
from weightshift.adapters.stepfunctions import execution_arn_for
from weightshift.models import Color
from weightshift_emulator import local, patches
from weightshift_emulator.world import execution_history, weights

from weightshift_cli import ops
from weightshift_cli import timeline as tl
from weightshift_cli.aws import Aws, AwsOptions, Ports, load_stack

OUTPUT = Path("demo-output")
TIME_SCALE = 0.01  # the world runs 100x the wall clock: a 15 s health poll takes 0.15 s
SCHEDULE = local.PARAMETERS["Schedule"]
GOOD_IMAGE = "public.ecr.aws/nginx/nginx:1.27.2"
BAD_IMAGE = "public.ecr.aws/nginx/nginx:bad"  # traffic.py: a tag "bad" serves 5xx


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


def executions(c: dict[str, Any], machine: str) -> list[dict[str, Any]]:
    return list(c["stepfunctions"].list_executions(stateMachineArn=machine)["executions"])


def follow(console: Console, c: dict[str, Any], arn: str, title: str, steps: int) -> tuple[dict[str, Any], tl.Timeline]:
    """A live view of one execution: weights, step, health verdicts, until it ends."""
    sfn = c["stepfunctions"]
    with Live(console=console, refresh_per_second=12, transient=False) as live:
        while True:
            desc = sfn.describe_execution(executionArn=arn)
            events = execution_history(sfn, arn)
            waits = [w.lasted for w in patches.CLOCK.for_execution(arn) if w.kind == "wait"]
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
            if p.healthy and p.intended is not None:
                seen = f"{p.observed:.0%}" if p.observed is not None else "no requests"
                verdict += f"   observed {seen} to {target} (weights say {p.intended:.0%})"
            lines.append(f"{stamp}  {verdict[:110]}\n", style="green" if p.healthy else "bold red")
        elif p.event == "failed":
            lines.append(f"{stamp}{p.note[:120]}\n", style="red")
    grid = Table.grid()
    grid.add_row(bar)
    return Panel(Group(head, grid, lines), title=title, border_style="cyan")


def run_scenario(
    console: Console,
    c: dict[str, Any],
    ports: Ports,
    machine: str,
    *,
    scenario: str,
    color: Color,
    image: str,
    expected: str,
) -> Outcome:
    """Release ``image`` to ``color`` as ``weightshift release`` does, then follow its canary."""
    before = {e["executionArn"] for e in executions(c, machine)}
    wall = time.monotonic()
    released = ops.release(ports, image, None, color)
    console.print(
        f"  {released.service}: {released.previous_image} -> {image} ({released.task_definition.split('/')[-1]}), "
        f"ECS deployment {released.ecs_deployment}; ECS starts the tasks, their events reach the trigger"
    )
    arn = execution_arn_for(machine, released.deployment_id)
    deadline = time.monotonic() + 60
    while arn not in {e["executionArn"] for e in executions(c, machine)}:
        if time.monotonic() > deadline:
            raise SystemExit(f"no canary started for {released.ecs_deployment} within 60 s")
        time.sleep(0.1)
    started = [e for e in executions(c, machine) if e["executionArn"] not in before]
    console.print(f"  -> [bold]{len(started)}[/] execution started: {released.deployment_id}")
    if len(started) != 1:
        raise SystemExit(f"expected exactly one execution, got {len(started)}")
    desc, timeline = follow(console, c, arn, f"{scenario}: canary to {color}", len(SCHEDULE.split(",")))
    events_h = execution_history(c["stepfunctions"], arn)
    steps = sum(1 for p in timeline.points if p.event == "step")
    return Outcome(
        scenario=scenario,
        deployment=released.deployment_id,
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
    emu, s = local.bring_up(0, "weightshift", TIME_SCALE, console, deploy="direct")
    clock, sim = local.start_world(s, TIME_SCALE)
    try:
        c = emu.clients()
        console.print(f"emulator on {emu.endpoint_url}; the world runs {1 / TIME_SCALE:.0f}x the wall clock")
        ports = Ports(
            Aws(AwsOptions(endpoint_url=emu.endpoint_url, region=emu.region)),
            load_stack(Aws(AwsOptions(endpoint_url=emu.endpoint_url, region=emu.region)), "weightshift"),
        )
        machine = ports.stack.state_machine_arn

        console.rule("Scenario 1: a good release of green")
        good = run_scenario(
            console, c, ports, machine, scenario="1 good release", color="green", image=GOOD_IMAGE, expected="SUCCEEDED"
        )
        console.rule("Scenario 2: a bad release of blue (its image serves 5xx)")
        bad = run_scenario(
            console, c, ports, machine, scenario="2 bad release", color="blue", image=BAD_IMAGE, expected="FAILED"
        )
        final = weights(c, s)
    finally:
        try:
            clock.stop()
        finally:
            sim.stop()
            emu.stop()

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
    good.timeline.label, bad.timeline.label = "good release", "bad release"  # the panels' titles
    timelines = [o.timeline for o in outcomes]
    caption = (
        f"Weightshift demo, simulated in a local AWS emulator at {1 / TIME_SCALE:.0f}x the wall clock: "
        "times are deployment time, what each canary would take on AWS"
    )
    picture = tl.save_picture(timelines, OUTPUT / "timeline.svg", caption)
    tl.save_picture(timelines, OUTPUT / "timeline.png", caption)
    console.print(f"timeline picture: [bold]{picture.resolve()}[/] (and timeline.png beside it)")
    verdict = "[bold green]both scenarios ended as expected[/]" if ok else "[bold red]unexpected outcome[/]"
    console.print(f"{verdict} in {time.monotonic() - t0:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
