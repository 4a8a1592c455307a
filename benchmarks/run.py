"""Cost and speed figures, measured on real executions in the emulator.

For each schedule: state transitions and history events of a real run (and the
plan's estimate beside them), Route 53 changes, the Step Functions price per
deployment, deployment time, and the wall time of the emulated run. Then the
trigger: the time to handle a first event against a duplicate, as a ratio
measured in the same run (absolute times on a shared machine mean little).

Run with ``make bench``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from moto import mock_aws  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from weightshift.handlers import trigger  # noqa: E402
from weightshift.plan import build_plan, estimate  # noqa: E402
from weightshift.settings import load_route_config  # noqa: E402
from weightshift_cli.timeline import route53_changes  # noqa: E402
from weightshift_emulator import install as installer  # noqa: E402
from weightshift_emulator import patches  # noqa: E402
from weightshift_emulator.world import (  # noqa: E402
    build_surroundings,
    clients,
    execution_history,
    release_green_with_events,
    set_weighted_pair,
    task_event,
)

# (schedule, StepIntervalSeconds, HealthPollSeconds): the four schedules at the old 15 s
# poll, then issue 11's comparisons at the 60 s default and a 300 s safety poll (the
# alarms' events end a bake, so the poll only sets the cost).
RUNS = [
    ("AllAtOnce", 60, 15),
    ("Canary10Percent5Minutes", 60, 15),
    ("5,25,50,100", 60, 15),
    ("Linear10PercentEvery1Minute", 60, 15),
    ("10,25,50,100", 60, 15),
    ("10,25,50,100", 300, 15),
    ("Canary10Percent5Minutes", 60, 60),
    ("10,25,50,100", 60, 60),
    ("10,25,50,100", 300, 60),
    ("Canary10Percent5Minutes", 60, 300),  # 300 s: the default since the stack owns its comparison alarms
    ("10,25,50,100", 60, 300),
    ("10,25,50,100", 300, 300),
]
PRICE = 0.025 / 1000  # USD per state transition, Standard workflows, us-east-1


def wait(sfn: Any, arn: str) -> dict[str, Any]:
    while (desc := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        time.sleep(0.01)
    return dict(desc)


ROUTE53_CALLS: collections.Counter[str] = collections.Counter()


def count_route53_calls() -> None:
    """Count every Route 53 API call moto answers (the functions' and the state machine's
    own GetChange), by action."""
    import botocore.session
    import moto.route53.responses as r53_responses
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("route53")
    for operation in model.operation_names:
        name = xform_name(operation)
        original = getattr(r53_responses.Route53, name, None)
        if original is None or getattr(original, "counted", False):
            continue

        def counted(self: Any, *args: Any, _original: Any = original, _operation: str = operation, **kw: Any) -> Any:
            ROUTE53_CALLS[_operation] += 1
            return _original(self, *args, **kw)

        counted.counted = True  # type: ignore[attr-defined]
        setattr(r53_responses.Route53, name, counted)


def run_schedule(schedule: str, poll: int = 15, interval: int = 60) -> dict[str, Any]:
    with mock_aws(config=patches.ENGINE_CONFIG):
        c = clients()
        s = build_surroundings(c)
        inst = installer.install(
            c, s.parameters(Schedule=schedule, StepIntervalSeconds=str(interval), HealthPollSeconds=str(poll))
        )
        plan = build_plan(
            load_route_config(inst.env("TriggerFunction")), "green", "ecs-svc/1", s.task_definitions["green"]
        )
        ROUTE53_CALLS.clear()
        started = time.perf_counter()
        arn = c["stepfunctions"].start_execution(
            stateMachineArn=inst.state_machine_arn, name=plan.deployment_id, input=json.dumps(plan.dump())
        )["executionArn"]
        desc = wait(c["stepfunctions"], arn)
        wall = time.perf_counter() - started
        events = execution_history(c["stepfunctions"], arn)
        waits = sum(w.lasted for w in patches.CLOCK.for_execution(arn) if w.kind == "wait")
        cost = estimate(plan, 60)
        return {
            "schedule": schedule,
            "status": desc["status"],
            "steps": len(plan.steps),
            "transitions": sum(1 for e in events if e["type"].endswith("StateEntered")),
            "estimated": cost.transitions,
            "history": len(events),
            "history_bound": cost.history_events,
            "changes": route53_changes(events),
            "deploy_minutes": waits / 60,
            "route53_calls": sum(ROUTE53_CALLS.values()),
            "route53_by_action": dict(ROUTE53_CALLS),
            "wall": wall,
        }


def detection_delay(poll: int, events: bool) -> tuple[str, float]:
    """Simulated seconds from an alarm going to ALARM, as a bake's wait begins, to the first
    fail-back DNS change: through the alarm's state-change event, or (``events=False``: the
    alarm rule disabled, as before issue 11) at the next health poll."""
    from weightshift_emulator import cfn_patches

    cfn_patches.install()
    cfn_patches.reset()
    with mock_aws(config=patches.ENGINE_CONFIG):
        c = clients()
        s = build_surroundings(c)
        inst = installer.install(
            c, s.parameters(Schedule="10,100", StepIntervalSeconds="600", HealthPollSeconds=str(poll))
        )
        if not events:
            for rule in ("AlarmWentOff", "StackAlarmWentOff"):
                c["events"].disable_rule(Name=f"{installer.STACK}-{rule}")
        set_weighted_pair(c, s, blue=100, green=0)
        fired: list[int] = []

        def on_wait(w: patches.Wait) -> None:
            if w.state == "Bake and watch health" and not fired:
                fired.append(len(patches.CLOCK.waits))
                c["cloudwatch"].set_alarm_state(AlarmName=s.green_alarm, StateValue="ALARM", StateReason="bench")

        patches.CLOCK.hooks.append(on_wait)
        plan = build_plan(
            load_route_config(inst.env("TriggerFunction")), "green", "ecs-svc/2", s.task_definitions["green"]
        )
        arn = c["stepfunctions"].start_execution(
            stateMachineArn=inst.state_machine_arn, name=plan.deployment_id, input=json.dumps(plan.dump())
        )["executionArn"]
        desc = wait(c["stepfunctions"], arn)
        after = patches.CLOCK.waits[fired[0] - 1 :]  # the wait the alarm fired in, and every one after it
        waited = [w for w in after if w.execution == arn and w.kind == "wait"]
        # With the event, the wait the alarm fired in ended at once (its token answered);
        # without, it ran to its end before the check saw the alarm.
        delay = (
            0.0
            if waited and waited[0].ended is not None and waited[0].ended() and events
            else sum(w.seconds for w in waited)
        )
        cfn_patches.reset()
        return str(desc.get("error")), delay


def paced_release(per_minute: int, bad: bool, pace: str) -> tuple[str, float, str]:
    """Deployment time of one release of ``10,50,100`` (10-minute bakes at most, 60 s polls,
    no alarms: the gate's own 5xx judgement alone) with simulated clients sending
    ``per_minute`` requests a minute: (outcome, simulated minutes from the release to the
    end, the rules that ended the bakes)."""
    from weightshift_emulator import cfn_patches, simclock, stack

    cfn_patches.install()
    cfn_patches.reset()
    with mock_aws(config=patches.ENGINE_CONFIG):
        c = clients()
        s = build_surroundings(c)
        params = s.parameters(
            Schedule="10,50,100", StepIntervalSeconds="600", HealthPollSeconds="60", Pace=pace, AlarmNames=""
        )
        deployed = stack.deploy(c, params)
        set_weighted_pair(c, s, blue=100, green=0)
        clock = simclock.for_surroundings(s, rate=per_minute / 60, clients=max(20, min(500, per_minute // 10)))
        clock.step(180)
        released = clock.now()
        image = "public.ecr.aws/nginx/nginx:2.0" + ("-bad" if bad else "")
        with clock.following_waits():
            deployment = f"ecs-svc/{per_minute:06d}{int(bad)}{len(pace):012d}"
            release_green_with_events(c, s, image, deployment)
            (execution,) = c["stepfunctions"].list_executions(stateMachineArn=deployed.state_machine_arn)["executions"]
            desc = wait(c["stepfunctions"], execution["executionArn"])
        minutes = (clock.now() - released).total_seconds() / 60
        rules = []
        for e in execution_history(c["stepfunctions"], execution["executionArn"]):
            if e["type"] == "LambdaFunctionSucceeded":
                out = json.loads(e["lambdaFunctionSucceededEventDetails"]["output"])
                if out.get("bakeDone"):
                    rules.append(str(out.get("decidedBy")))
        cfn_patches.reset()
        return (
            str(desc["status"]) if desc["status"] == "SUCCEEDED" else str(desc.get("error")),
            minutes,
            ",".join(rules),
        )


def release_under_traffic(image: str, schedule: str, interval: int) -> dict[str, Any]:
    """One release at the template's defaults (300 s safety poll, the stack's own comparison
    alarms, health checks on both records) with simulated clients (50 requests/s): the
    outcome, the Route 53 calls by action and per simulated minute, and for a failed release
    the simulated seconds from the alarm's change to ALARM to the first fail-back change."""
    import moto.route53.responses as r53_responses
    from weightshift_emulator import cfn_patches, simclock, stack

    cfn_patches.install()
    cfn_patches.reset()
    with mock_aws(config=patches.ENGINE_CONFIG):
        c = clients()
        s = build_surroundings(c)
        params = s.parameters(Schedule=schedule, StepIntervalSeconds=str(interval), AlarmNames="")
        params.pop("HealthPollSeconds", None)  # the template's default
        deployed = stack.deploy(c, params)
        set_weighted_pair(c, s, blue=100, green=0)
        clock = simclock.for_surroundings(s, rate=50.0, clients=500)
        clock.step(180)
        released = clock.now()
        changes: list[Any] = []
        original = r53_responses.Route53.change_resource_record_sets

        def recorded(self: Any) -> Any:
            body = self.body.decode() if isinstance(self.body, bytes) else str(self.body)
            if "<Type>TXT</Type>" not in body:
                changes.append((patches.SIM_TIME.now(), body))
            return original(self)

        r53_responses.Route53.change_resource_record_sets = recorded  # type: ignore[method-assign]
        ROUTE53_CALLS.clear()
        try:
            with clock.following_waits():
                release_green_with_events(c, s, image, "ecs-svc/777000" + str(len(image)) + str(interval))
                (execution,) = c["stepfunctions"].list_executions(stateMachineArn=deployed.state_machine_arn)[
                    "executions"
                ]
                desc = wait(c["stepfunctions"], execution["executionArn"])
        finally:
            r53_responses.Route53.change_resource_record_sets = original  # type: ignore[method-assign]
        minutes = (clock.now() - released).total_seconds() / 60
        # The alarm the cause names ("alarm X went to ALARM at ..."), not the first of any alarm.
        cause = str(desc.get("cause", ""))
        named = cause.split("alarm ", 1)[1].split(" went to ALARM", 1)[0] if " went to ALARM" in cause else None
        fired = [
            ch for ch in (clock.alarms.changes if clock.alarms else []) if ch.state == "ALARM" and ch.alarm == named
        ]
        delay = None
        if fired:
            after = [when for when, _ in changes if when >= fired[0].when]
            delay = (after[0] - fired[0].when).total_seconds() if after else None
        calls = dict(ROUTE53_CALLS)
        cfn_patches.reset()
        return {
            "outcome": str(desc["status"]) if desc["status"] == "SUCCEEDED" else str(desc.get("error")),
            "minutes": minutes,
            "calls": calls,
            "alarm": fired[0].alarm if fired else "-",
            "delay": delay,
        }


def trigger_ratio(rounds: int = 30) -> tuple[float, float]:
    """Mean handling time of a first event and of a duplicate, in one run."""
    with mock_aws(config=patches.ENGINE_CONFIG):
        c = clients()
        s = build_surroundings(c)
        inst = installer.install(c, s.parameters(Schedule="AllAtOnce", StepIntervalSeconds="60"))
        firsts, dups = [], []
        with patches.environment(inst.env("TriggerFunction")):
            for i in range(rounds):
                event = task_event(s, "green", f"t{i}", f"ecs-svc/{9000 + i}")
                t0 = time.perf_counter()
                trigger.handler(event, patches.LambdaContext("trigger", "arn"))
                t1 = time.perf_counter()
                trigger.handler(event, patches.LambdaContext("trigger", "arn"))
                t2 = time.perf_counter()
                firsts.append(t1 - t0)
                dups.append(t2 - t1)
        for ex in c["stepfunctions"].list_executions(stateMachineArn=inst.state_machine_arn)["executions"]:
            wait(c["stepfunctions"], ex["executionArn"])  # AllAtOnce canaries end on their own
        return sum(firsts) / rounds, sum(dups) / rounds


def main() -> None:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", category=UserWarning, module="aws_lambda_powertools")
    patches.install()
    count_route53_calls()
    console = Console(width=190)
    table = Table(title="One deployment per schedule (TTL 60 s)")
    for col in (
        "schedule",
        "bake",
        "poll",
        "result",
        "steps",
        "transitions",
        "estimate",
        "history",
        "bound",
        "R53 changes",
        "R53 calls",
        "R53 calls / min",
        "USD / deployment",
        "deployment time",
        "emulated in",
    ):
        table.add_column(col, justify="right")
    for schedule, interval, poll in RUNS:
        patches.reset()
        r = run_schedule(schedule, poll, interval)
        table.add_row(
            r["schedule"],
            f"{interval} s",
            f"{poll} s",
            r["status"],
            str(r["steps"]),
            str(r["transitions"]),
            str(r["estimated"]),
            str(r["history"]),
            str(r["history_bound"]),
            str(r["changes"]),
            str(r["route53_calls"]),
            f"{r['route53_calls'] / r['deploy_minutes']:.1f}" if r["deploy_minutes"] else "-",
            f"${r['transitions'] * PRICE:.5f}",
            f"{r['deploy_minutes']:.1f} min",
            f"{r['wall']:.2f} s",
        )
    console.print(table)
    delays = Table(title="Alarm to ALARM as a bake's wait begins -> first fail-back DNS change (simulated seconds)")
    for col in ("health poll", "path", "error", "delay"):
        delays.add_column(col, justify="right")
    for poll in (15, 60, 300):
        for events in (False, True):
            patches.reset()
            error, delay = detection_delay(poll, events)
            path = "alarm event (issue 11)" if events else "next poll only (before)"
            delays.add_row(f"{poll} s", path, error, f"{delay:.0f} s")
    console.print(delays)
    paces = Table(
        title="Evidence-based pace: 10,50,100 with 10-minute maximum bakes, 60 s polls, no alarms (simulated clients)"
    )
    for col in ("requests / min", "release", "pace", "outcome", "release -> end", "bakes ended by"):
        paces.add_column(col, justify="right")
    for per_minute in (100, 1_000, 10_000):
        for bad in (False, True):
            for pace in ("Fixed", "Evidence"):
                patches.reset()
                outcome, minutes, rules = paced_release(per_minute, bad, pace)
                paces.add_row(
                    f"{per_minute:,}", "bad (5xx)" if bad else "good", pace, outcome, f"{minutes:.1f} min", rules
                )
    console.print(paces)
    defaults = Table(
        title="At the template's defaults (300 s safety poll, the stack's own alarms, no AlarmNames, "
        "health checks on both records), simulated clients at 50 requests/s"
    )
    for col in ("release", "schedule", "outcome", "alarm", "alarm -> first fail-back change", "time",
                "R53 calls", "R53 calls / min", "by action"):  # fmt: skip
        defaults.add_column(col, justify="right")
    for label, image, schedule, interval in (
        ("good", "public.ecr.aws/nginx/nginx:2.0", "10,50,100", 300),
        ("bad (50% 5xx)", "public.ecr.aws/nginx/nginx:2.0-bad", "10,50,100", 300),
        ("good", "public.ecr.aws/nginx/nginx:2.0", "Canary10Percent5Minutes", 60),
    ):
        patches.reset()
        r = release_under_traffic(image, schedule, interval)
        total = sum(r["calls"].values())
        defaults.add_row(
            label,
            f"{schedule}, {interval} s",
            r["outcome"],
            r["alarm"],
            "-" if r["delay"] is None else f"{r['delay']:.0f} s",
            f"{r['minutes']:.1f} min",
            str(total),
            f"{total / r['minutes']:.2f}" if r["minutes"] else "-",
            ", ".join(f"{k} {v}" for k, v in sorted(r["calls"].items())),
        )
    console.print(defaults)
    first, dup = trigger_ratio()
    console.print(
        f"trigger: first event {first * 1000:.1f} ms, duplicate {dup * 1000:.1f} ms "
        f"(duplicate/first = {dup / first:.2f}) over 30 rounds in the emulator"
    )


if __name__ == "__main__":
    main()
