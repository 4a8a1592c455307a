"""The whole-system simulation of issue 8, as a hypothesis ``RuleBasedStateMachine``.

Each rule is something a user, ECS, CloudWatch or an AWS fault does to the deployed
stack; each ``@invariant`` judges only what AWS shows (DNS and its batches, executions
and their history, the deployments table, the notifications). See ``world.py`` for how
executions are parked at their waits so actions land at known points of a canary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moto import mock_aws
from weightshift.adapters.deployments import Deployments
from weightshift.records import TERMINAL, DeploymentRecord, Status
from weightshift_cli import replay
from weightshift_emulator import faults, lambda_async, patches
from weightshift_emulator import install as installer
from weightshift_emulator.world import build_surroundings, clients, set_weighted_pair, task_event

from tests.simulation import world as sim
from tests.workflow.conftest import Canary, Route53Log

# A queue deadline shorter than the default hour, so sequences reach it: an execution in
# line behind a stopped, stuck or slow canary gives up after 5 simulated minutes.
SCHEDULE = {
    "Schedule": "50,100",
    "StepIntervalSeconds": "60",
    "HealthPollSeconds": "30",
    "RouteBusyTimeoutSeconds": "300",
}
SIDES = ("blue", "green")
FAILED_STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")  # what the status rule's pattern matches
OUTCOME_KIND = {Status.SUCCEEDED: "promoted", Status.ROLLED_BACK: "rolled-back", Status.REJECTED: "rejected"}
EDITS = ("recordName", "alarmNames", "unknownField")
DDB_FAULTS = [
    f"dynamodb {op} {code}"
    for op in ("put_item", "update_item", "get_item", "delete_item", "transact_write_items")
    for code in ("InternalServerError", "ProvisionedThroughputExceededException")
]
FAULTS = (*DDB_FAULTS, "route53 any Throttling")
ONE_CALL = 3  # one failed call, after the functions' SDK retries (standard mode: 3 attempts)


# ------------------------------------------------------------------------ summary
@dataclass
class Stats:
    """What one process's sequences did. Each shard attaches its own (``as_dict``) to its
    test report; ``conftest.py`` sums the shards of every process into one summary."""

    sequences: int = 0  # that ran at least one action (hypothesis aborts a few drawn ones at once)
    actions: int = 0
    shortest: int = 0  # the fewest actions a sequence ran
    short: int = 0  # sequences that ran fewer than ``steps`` actions (hypothesis cut them short)
    faults: int = 0
    executions: int = 0
    weight_changes: int = 0
    invariant_checks: int = 0
    violations: int = 0
    started: float = field(default_factory=time.monotonic)
    rules: dict[str, int] = field(default_factory=dict)
    current: int = field(default=0, repr=False)  # actions of the sequence running now
    steps: int = field(default=0, repr=False)  # the actions a sequence should run (set by the test)

    def begin_sequence(self) -> None:
        self.end_sequence()

    def end_sequence(self) -> None:
        if self.current:
            self.shortest = _fewest(self.shortest, self.current)
            self.short += self.current < self.steps
            self.current = 0

    def count(self, rule_name: str) -> None:
        if not self.current:
            self.sequences += 1
        self.current += 1
        self.actions += 1
        self.rules[rule_name] = self.rules.get(rule_name, 0) + 1

    def reset(self, steps: int) -> None:
        """Zero, for the next shard run in this process, whose sequences run ``steps`` actions."""
        vars(self).update(vars(Stats(steps=steps)))

    def as_dict(self) -> dict[str, Any]:
        self.end_sequence()
        return {k: v for k, v in asdict(self).items() if k not in ("started", "current", "steps")}

    @classmethod
    def total(cls, shards: list[dict[str, Any]]) -> Stats:
        """The sum of shards' ``as_dict``."""
        total = cls()
        for shard in shards:
            for name, value in shard.items():
                if name == "rules":
                    for rule_name, n in value.items():
                        total.rules[rule_name] = total.rules.get(rule_name, 0) + n
                elif name == "shortest":
                    total.shortest = _fewest(total.shortest, value)
                else:
                    setattr(total, name, getattr(total, name) + value)
        return total

    def summary(self, wall: float | None = None, heading: str = "") -> str:
        wall = time.monotonic() - self.started if wall is None else wall
        per_min = 60 / wall if wall else 0.0
        per_sequence = self.actions / self.sequences if self.sequences else 0.0
        lines = [
            "weightshift simulation summary" + (f" ({heading})" if heading else ""),
            f"  sequences:        {self.sequences} ({self.sequences * per_min:.0f}/min; "
            f"{self.short} cut short by hypothesis)",
            f"  actions:          {self.actions} ({self.actions * per_min:.0f}/min; "
            f"{per_sequence:.1f} a sequence, at least {self.shortest})",
            f"  faults injected:  {self.faults}",
            f"  executions:       {self.executions}",
            f"  weight changes:   {self.weight_changes}",
            f"  invariant checks: {self.invariant_checks}",
            f"  violations:       {self.violations}",
            f"  wall time:        {wall:.1f}s",
            "  actions by rule:  " + ", ".join(f"{k} {v}" for k, v in sorted(self.rules.items())),
        ]
        return "\n".join(lines)


def _fewest(a: int, b: int) -> int:
    """The smaller, 0 meaning none yet."""
    return min(a, b) if a and b else a or b


STATS = Stats()
REPORT_PROPERTY = "simulation_stats"  # the user property under which a shard's report carries its Stats


# ------------------------------------------------------------------------- the stack
@dataclass
class Stack:
    canary: Canary
    queue_url: str
    ecs_deployments: int = 0

    @property
    def sfn(self) -> Any:
        return self.canary.sfn


@contextmanager
def installed_stack() -> Iterator[Stack]:
    """One emulator and one installed stack for many sequences (each resets what it sees)."""
    patches.install()
    patches.reset()
    with mock_aws(config=patches.ENGINE_CONFIG), sim.observing():
        aws = clients()
        world = build_surroundings(aws)
        installed = installer.install(aws, world.parameters(**SCHEDULE))
        queue_url = installer.dead_letter_queue(aws, installed)
        stack = Stack(Canary(aws, world, installed, Route53Log()), queue_url)
        try:
            yield stack
        finally:
            stop_everything(stack)
            patches.reset()


@contextmanager
def simulated() -> Iterator[None]:
    """Where a failing sequence, as hypothesis prints it, runs as a regular test::

    def test_found_by_seed_2() -> None:
        with simulated():
            state = Simulation()
            state.start_from(start={"blue": 0, "green": 100})
            ...  # the printed lines
            state.teardown()
    """
    with installed_stack() as stack, sim.scheduling():
        Simulation.stack = stack
        yield


def stop_everything(stack: Stack) -> None:
    sfn = stack.sfn
    sm = stack.canary.installed.state_machine_arn
    for ex in sfn.list_executions(stateMachineArn=sm, statusFilter="RUNNING")["executions"]:
        sfn.stop_execution(executionArn=ex["executionArn"], error="Reset", cause="simulation reset")
    sim.SCHEDULER.release_all()
    sim.SCHEDULER.quiesce(lambda arn: False)


# --------------------------------------------------------------------- the machine
@dataclass
class ReleaseMade:
    """A release the simulation made: one ECS deployment of one side."""

    number: int
    side: str
    deployment_id: str
    should_start: bool  # the side did not already carry all the traffic when it began


@dataclass
class ExecutionSeen:
    arn: str
    name: str
    origin: str  # trigger | console | edited
    started_at_batch: int
    status: str = "RUNNING"
    promoted: bool | None = None  # entered "Promote" (known once ended and asked: Simulation.entered_promote)
    delivered: bool = False  # its status-change event reached the status rule
    hold_event: bool = False  # a Stop whose status event AWS delivers late


# A release's draw: tasks, each task's deliveries, their order, and a stale event after them.
RELEASE: dict[str, st.SearchStrategy[Any]] = {
    "tasks": st.integers(1, 3),
    "copies": st.lists(st.integers(1, 3), min_size=3, max_size=3),
    "order": st.randoms(use_true_random=False),
    "stale": st.booleans(),
}


class Simulation(RuleBasedStateMachine):
    stack: Stack  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        STATS.begin_sequence()
        self.releases: list[ReleaseMade] = []
        self.executions: dict[str, ExecutionSeen] = {}
        self.console_runs = 0
        self.settled = True
        self.initial: dict[str, int] = {}
        self.listed: tuple[tuple[str, str], ...] | None = None  # the executions the last observe saw

    # ----------------------------------------------------------------- helpers
    @property
    def canary(self) -> Canary:
        return self.stack.canary

    @property
    def aws(self) -> dict[str, Any]:
        return self.canary.aws

    @property
    def table(self) -> Deployments:
        return Deployments(self.aws["dynamodb"], self.canary.installed.table_name)

    @property
    def route(self) -> str:
        return self.canary.plan("green", "ecs-svc/0").route_key

    def alarms(self) -> dict[str, str]:
        return sim.alarm_states([self.canary.world.blue_alarm, self.canary.world.green_alarm])

    def status(self, arn: str) -> str:
        return str(self.stack.sfn.describe_execution(executionArn=arn)["status"])

    def quiesce(self, observe: bool = True) -> None:
        sim.SCHEDULER.quiesce(sim.still_running)
        if observe:
            self.observe()

    def observe(self) -> None:
        """Learn the executions (the trigger names its own) and what ended. (Skipped when
        no execution started or ended since the last look: the answer would be the same.)"""
        sm = self.canary.installed.state_machine_arn
        now = sim.executions_now(sm)
        if now == self.listed:
            return
        self.listed = now
        for ex in self.stack.sfn.list_executions(stateMachineArn=sm)["executions"]:
            arn = ex["executionArn"]
            seen = self.executions.get(arn)
            if seen is None:
                seen = ExecutionSeen(arn, ex["name"], "trigger", len(sim.OBSERVED.batches))
                self.executions[arn] = seen
                STATS.executions += 1
            if seen.status == "RUNNING" and ex["status"] != "RUNNING":
                seen.status = ex["status"]

    def entered_promote(self, seen: ExecutionSeen) -> bool | None:
        """Whether an ended execution entered "Promote" (None while it runs), from its
        history, read once, when an invariant first asks."""
        if seen.status != "RUNNING" and seen.promoted is None:
            history = self.canary.history(seen.arn)
            seen.promoted = any(e.get("stateEnteredEventDetails", {}).get("name") == "Promote" for e in history)
        return seen.promoted

    def deliver_status_events(self, include_held: bool = False) -> None:
        """The "Execution Status Change" events of ended executions, on the status rule's
        Lambda, asynchronously, as EventBridge delivers them."""
        for seen in list(self.executions.values()):
            if seen.status in FAILED_STATUSES and not seen.delivered and (include_held or not seen.hold_event):
                seen.delivered = True
                self.invoke_async("AbortFunction", self.canary.abort_event(seen.arn))
                self.quiesce()

    def invoke_async(self, logical_id: str, event: dict[str, Any]) -> None:
        resp = self.aws["lambda"].invoke(
            FunctionName=self.canary.installed.functions[logical_id],
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
        assert resp["StatusCode"] == 202

    def after_action(self, name: str) -> None:
        STATS.count(name)
        self.quiesce()
        self.deliver_status_events()
        self.settled = False

    def running_executions(self) -> list[ExecutionSeen]:
        return sorted((e for e in self.executions.values() if e.status == "RUNNING"), key=lambda e: e.arn)

    def end_next_wait(self) -> None:
        """Simulated time passes to the next wait that is due, and that wait ends."""
        spot = sim.SCHEDULER.next_due()
        assert spot is not None
        sim.SCHEDULER.release(spot.execution, len(sim.OBSERVED.batches), self.alarms())
        self.quiesce()

    def pass_time_until(self, arn: str) -> None:
        """Time passes until ``arn``'s wait ends; every wait due before it ends first, in order."""
        for _ in range(10_000):
            if arn not in sim.SCHEDULER.parked:
                return
            self.end_next_wait()
        raise AssertionError(f"{arn}'s wait never came due")

    # ------------------------------------------------------------------ the reset
    @initialize(start=st.sampled_from([(100, 0), (200, 0), (0, 100)]).map(lambda bg: {"blue": bg[0], "green": bg[1]}))
    def start_from(self, start: dict[str, int]) -> None:
        """A fresh world: no executions, an empty table, DNS at ``start``, alarms OK, no
        faults, simulated time starting now."""
        stop_everything(self.stack)
        patches.SIM_TIME.begin()
        sim.clear_executions(self.canary.installed.state_machine_arn)
        ddb = self.aws["dynamodb"]
        table = self.canary.installed.table_name
        for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk, sk"):
            for item in page["Items"]:
                ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
        set_weighted_pair(self.aws, self.canary.world, start["blue"], start["green"])
        sim.OBSERVED.reset(start)
        sim.SCHEDULER.releases.clear()
        for name in self.alarms():
            self.aws["cloudwatch"].set_alarm_state(AlarmName=name, StateValue="OK", StateReason="a new sequence")
        self.recover()
        faults.PUBLISHED.clear()
        lambda_async.reset()
        patches.CLOCK.waits.clear()
        sqs = self.aws["sqs"]
        while msgs := sqs.receive_message(QueueUrl=self.stack.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for m in msgs:
                sqs.delete_message(QueueUrl=self.stack.queue_url, ReceiptHandle=m["ReceiptHandle"])
        self.initial = dict(start)

    def recover(self) -> None:
        """Every fault cleared: the outage ends."""
        patches.DDB_FAULTS.clear()
        faults.ROUTE53_FAULTS.clear()
        faults.NOTIFY_FAULTS.clear()
        faults.SYNC.pending = 0

    # --------------------------------------------------------------------- rules
    @rule(**RELEASE)
    def release_green(self, tasks: int, copies: list[int], order: Any, stale: bool) -> None:
        """ECS starts a new deployment of green: each task's RUNNING event, duplicated,
        shuffled, and (if ``stale``) an older version of one task's event after them."""
        self._release("green", tasks, copies, order, stale)
        self.after_action("release_green")

    @rule(**RELEASE)
    def release_blue(self, tasks: int, copies: list[int], order: Any, stale: bool) -> None:
        """The same for blue."""
        self._release("blue", tasks, copies, order, stale)
        self.after_action("release_blue")

    @rule(tasks=RELEASE["tasks"], copies=RELEASE["copies"])
    def release_idle_side(self, tasks: int, copies: list[int]) -> None:
        """A release of the side that carries the least traffic now (the usual release:
        a release of the live side is a scale-out the trigger ignores)."""
        current = sim.OBSERVED.current
        side = "green" if current.get("green", 0) <= current.get("blue", 0) else "blue"
        self._release(side, tasks, copies, _NoShuffle(), False)
        self.after_action("release_idle_side")

    def _release(self, side: str, tasks: int, copies: list[int], order: Any, stale: bool) -> None:
        self.stack.ecs_deployments += 1
        number = self.stack.ecs_deployments
        ecs_deployment = f"ecs-svc/{number:019d}"
        plan = self.canary.plan(side, ecs_deployment)  # type: ignore[arg-type]
        dns = dict(sim.OBSERVED.current)
        other = "blue" if side == "green" else "green"
        already_live = dns.get(side, 0) > 0 and dns.get(other, 0) == 0
        self.releases.append(ReleaseMade(number, side, plan.deployment_id, not already_live))
        world = self.canary.world
        events = []
        for t in range(tasks):
            task_id = f"t{number:08d}x{t}"
            events += [task_event(world, side, task_id, ecs_deployment, version=3)] * copies[t]
        order.shuffle(events)
        if stale:
            events.append(task_event(world, side, f"t{number:08d}x0", ecs_deployment, version=1))
        for event in events:
            self.invoke_async("TriggerFunction", event)
            self.quiesce(observe=False)

    @precondition(lambda self: any(e.origin == "trigger" for e in self.running_executions()))
    @rule(tasks=st.integers(1, 3), copies=st.lists(st.integers(1, 3), min_size=3, max_size=3))
    def newer_release_mid_canary(self, tasks: int, copies: list[int]) -> None:
        """A newer deployment of the side a running canary is shifting to."""
        running = next(e for e in self.running_executions() if e.origin == "trigger")
        side = json.loads(self.stack.sfn.describe_execution(executionArn=running.arn)["input"])["target"]["color"]
        self._release(side, tasks, copies, _NoShuffle(), False)
        self.after_action("newer_release_mid_canary")

    @precondition(lambda self: bool(self.running_executions()))
    @rule(which=st.integers(0, 3), status_event=st.sampled_from(["prompt", "late"]))
    def console_stop(self, which: int, status_event: str) -> None:
        """On-call presses Stop on a running execution; the status rule's event comes
        promptly, or late (after whatever the next actions are)."""
        running = self.running_executions()
        target = running[which % len(running)]
        target.hold_event = status_event == "late"
        self.stack.sfn.stop_execution(executionArn=target.arn, error="Stop", cause="on-call pressed Stop")
        self.after_action("console_stop")

    @precondition(lambda self: bool(self.executions))
    @rule(which=st.integers(0, 7))
    def console_new_execution(self, which: int) -> None:
        """ "New execution" in the console with a running or ended execution's input."""
        chosen = sorted(self.executions)[which % len(self.executions)]
        self._console_start(self.stack.sfn.describe_execution(executionArn=chosen)["input"], "console")
        self.after_action("console_new_execution")

    @precondition(lambda self: bool(self.executions))
    @rule(which=st.integers(0, 7), edit=st.sampled_from(EDITS))
    def console_edited_input(self, which: int, edit: str) -> None:
        """ "New execution" with an execution's input, one field edited."""
        chosen = sorted(self.executions)[which % len(self.executions)]
        body = json.loads(self.stack.sfn.describe_execution(executionArn=chosen)["input"])
        if edit == "recordName":
            body["recordName"] = "other." + self.canary.world.zone_name
        elif edit == "alarmNames":
            body.setdefault("health", {})["alarmNames"] = []
        else:
            body["skipHealthGate"] = True
        self._console_start(json.dumps(body), "edited")
        self.after_action("console_edited_input")

    def _console_start(self, body: str, origin: str) -> None:
        self.console_runs += 1
        name = f"console-{origin}-{self.console_runs}"
        arn = self.stack.sfn.start_execution(
            stateMachineArn=self.canary.installed.state_machine_arn, name=name, input=body
        )["executionArn"]
        self.executions[arn] = ExecutionSeen(arn, name, origin, len(sim.OBSERVED.batches))
        STATS.executions += 1

    @rule(side=st.sampled_from(SIDES), state=st.sampled_from(["ALARM", "OK"]))
    def alarm(self, side: str, state: str) -> None:
        """A side's CloudWatch alarm changes state."""
        name = self.canary.world.green_alarm if side == "green" else self.canary.world.blue_alarm
        self.aws["cloudwatch"].set_alarm_state(AlarmName=name, StateValue=state, StateReason="simulation")
        self.after_action("alarm")

    @rule(fault=st.sampled_from(FAULTS))
    def transient_fault(self, fault: str) -> None:
        """The next call of a DynamoDB operation fails, or the next Route 53 call is
        throttled (once, after the SDK's own retries)."""
        service, operation, code = fault.split(" ")
        if service == "dynamodb":
            patches.DDB_FAULTS.append(patches.DdbFault(operation, code, times=ONE_CALL))
        else:
            faults.ROUTE53_FAULTS.append(faults.Route53Fault(code, times=ONE_CALL))
        STATS.faults += 1
        self.after_action("transient_fault")

    @precondition(lambda self: bool(sim.SCHEDULER.parked))
    @rule(which=st.integers(0, 3))
    def time_passes(self, which: int) -> None:
        """Time passes until one parked execution's wait ends (a bake poll, a queue
        poll); every wait due before it ends first."""
        parked = sorted(sim.SCHEDULER.parked)
        self.pass_time_until(parked[which % len(parked)])
        self.after_action("time_passes")

    @precondition(lambda self: bool(sim.SCHEDULER.parked))
    @rule(minutes=st.sampled_from([5, 20, 70]))
    def minutes_pass(self, minutes: int) -> None:
        """Nobody acts for a while: every wait due in that time ends, in order, and the
        status events of what ended arrive (EventBridge delivers to a working target
        within the hour)."""
        until = patches.SIM_TIME.elapsed + minutes * 60
        self.deliver_status_events(include_held=True)
        for _ in range(10_000):
            spot = sim.SCHEDULER.next_due()
            if spot is None or spot.due > until:
                break
            self.end_next_wait()
            self.deliver_status_events(include_held=True)
        patches.SIM_TIME.advance_to(until)
        self.after_action("minutes_pass")

    @rule()
    def settle(self) -> None:
        """Time passes until nothing runs; the outage ends; the dead letters are replayed
        (as ``weightshift replay`` does); late status events arrive."""
        self._settle()
        STATS.count("settle")

    def _settle(self) -> None:
        self.recover()  # the outage ends: faults armed and not yet hit never fire
        for _ in range(2000):
            self.quiesce()
            self.deliver_status_events(include_held=True)
            if self.replay_dead_letters():
                continue
            if sim.SCHEDULER.parked:
                self.end_next_wait()
                continue
            if not self.running_executions():
                self.settled = True
                return
        raise AssertionError("the system did not settle in 2000 rounds (a canary that never ends)")

    def replay_dead_letters(self) -> bool:
        sqs = self.aws["sqs"]
        messages = sqs.receive_message(QueueUrl=self.stack.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
        for message in messages:
            failed = replay.parse(message)
            assert failed.target, failed.why
            assert failed.event, failed.why
            logical = {"trigger": "TriggerFunction", "abort": "AbortFunction"}[failed.target]
            resp = self.aws["lambda"].invoke(
                FunctionName=self.canary.installed.functions[logical], Payload=json.dumps(failed.event).encode()
            )
            payload = resp["Payload"].read()
            assert "FunctionError" not in resp, f"replay of a dead letter failed with no fault armed: {payload!r}"
            sqs.delete_message(QueueUrl=self.stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.quiesce()
        return bool(messages)

    def teardown(self) -> None:
        """Settle, then judge the whole history once more (so a pasted script, which
        hypothesis prints without the per-step invariant calls, checks them too)."""
        try:
            if not self.settled:
                self._settle()
            self.check_all()
        finally:
            STATS.weight_changes += len(sim.OBSERVED.batches)

    # ---------------------------------------------------------------- invariants
    def check_all(self) -> None:
        for check in (
            self.weights_in_range,
            self.one_writer_at_a_time,
            self.one_execution_per_deployment,
            self.nothing_stranded_when_settled,
            self.promoted_stays_promoted,
            self.records_agree_when_settled,
            self.no_promotion_through_an_alarm,
        ):
            check()

    def _violation(self, message: str) -> AssertionError:
        STATS.violations += 1
        batches = [(b.writer.rsplit(":", 1)[-1], b.comment, b.weights) for b in sim.OBSERVED.batches]
        return AssertionError(f"{message}\n  batches (writer, comment, weights after): {batches}")

    @invariant()
    def weights_in_range(self) -> None:
        """1. Never 0/0, never outside 0-255: after every batch, and now."""
        STATS.invariant_checks += 1
        for b in sim.OBSERVED.batches:
            values = list(b.weights.values())
            if not all(0 <= w <= 255 for w in values) or not any(values):
                raise self._violation(f"invariant 1: weights {b.weights} after batch {b.index} ({b.comment})")

    @invariant()
    def one_writer_at_a_time(self) -> None:
        """2. Two executions' writes never interleave (A, B, A), and an execution started
        with an edited input never writes."""
        STATS.invariant_checks += 1
        last: dict[str, int] = {}
        for b in sim.OBSERVED.batches:
            seen = self.executions.get(b.writer)
            if seen is not None and seen.origin == "edited":
                raise self._violation(f"invariant 2/8: an edited input wrote DNS: batch {b.index} by {b.writer}")
            if b.writer in last:
                between = [o for o in sim.OBSERVED.batches[last[b.writer] + 1 : b.index] if o.writer != b.writer]
                if between:
                    raise self._violation(
                        f"invariant 2: {b.writer} wrote batch {b.index} after {between[0].writer} "
                        f"wrote batch {between[0].index}, itself having written batch {last[b.writer]}"
                    )
            last[b.writer] = b.index

    @invariant()
    def one_execution_per_deployment(self) -> None:
        """3. Each ECS deployment starts at most one execution (the trigger names it after
        the deployment); once settled, every release that should start one has one."""
        STATS.invariant_checks += 1
        by_name: dict[str, int] = {}
        for seen in self.executions.values():
            if seen.origin == "trigger":
                by_name[seen.name] = by_name.get(seen.name, 0) + 1
        released = {r.deployment_id for r in self.releases}
        strangers = [n for n in by_name if n not in released]
        if strangers:
            raise self._violation(f"invariant 3: executions not named after a release: {strangers}")
        if not self.settled:
            return
        for r in self.releases:
            newer = any(o.side == r.side and o.number > r.number for o in self.releases)
            if r.should_start and not newer and r.deployment_id not in by_name:
                raise self._violation(f"invariant 3: release {r.deployment_id} started no execution (lost trigger)")

    def last_writer(self) -> tuple[sim.Batch | None, DeploymentRecord | None]:
        if not sim.OBSERVED.batches:
            return None, None
        last = sim.OBSERVED.batches[-1]
        deployment = last.comment.removeprefix("Weightshift ").split(":")[0]
        return last, self.table.get(self.route, deployment)

    @invariant()
    def nothing_stranded_when_settled(self) -> None:
        """4. When nothing runs, DNS is the last deployment's recorded original or its
        full promotion (or, with no change at all, what it was)."""
        STATS.invariant_checks += 1
        if not self.settled:
            return
        weights = self.canary.weights()
        last, record = self.last_writer()
        if last is None:
            if weights != self.initial:
                raise self._violation(f"invariant 4: no change was made, yet DNS is {weights}, not {self.initial}")
            return
        if record is None:
            raise self._violation(f"invariant 4: the last write ({last.comment}) names no deployment record")
        allowed = [promoted(record.target_color)]
        if record.original_weights is not None:
            allowed.append(record.original_weights.dump())
        if weights not in allowed:
            raise self._violation(f"invariant 4: stranded at {weights}; {record.deployment_id} allows {allowed}")

    @invariant()
    def promoted_stays_promoted(self) -> None:
        """5. After an execution promoted its release, nothing moves it back: no later
        batch by that execution, and no later fail back of its deployment except by a
        console run started after it."""
        STATS.invariant_checks += 1
        for seen in self.executions.values():
            mine = [b for b in sim.OBSERVED.batches if b.writer == seen.arn]
            if not mine or not self.entered_promote(seen):
                continue  # not promoted, or promoted before this sequence observed a write (target already live)
            at = mine[-1].index
            deployment = mine[-1].comment.removeprefix("Weightshift ").split(":")[0]
            later_runs = {e.arn for e in self.executions.values() if e.origin != "trigger" and e.started_at_batch > at}
            for b in sim.OBSERVED.batches[at + 1 :]:
                if b.writer == seen.arn or (f"{deployment}: fail back" in b.comment and b.writer not in later_runs):
                    raise self._violation(
                        f"invariant 5: {seen.name} was promoted at batch {at}, then batch {b.index} "
                        f"({b.comment}) by {b.writer} moved it to {b.weights}"
                    )

    @invariant()
    def records_agree_when_settled(self) -> None:
        """6. Once settled: every record is finished, agrees with its execution, gives a
        reason when it did not succeed, and was announced; the last one agrees with DNS;
        the route lock is free."""
        STATS.invariant_checks += 1
        if not self.settled:
            return
        weights = self.canary.weights()
        _, last_record = self.last_writer()
        published = {(p.deployment_id, p.kind) for p in faults.PUBLISHED}
        for record in self.table.list_route(self.route):
            where = f"invariant 6: {record.deployment_id} {record.status}"
            if record.status not in TERMINAL:
                raise self._violation(f"{where}: not finished while nothing runs")
            seen = self.executions.get(record.execution_arn or "")
            if record.status == Status.SUCCEEDED and seen is not None and self.entered_promote(seen) is False:
                raise self._violation(f"{where}: its execution {seen.name} ended {seen.status} without promoting")
            if record.status in (Status.ROLLED_BACK, Status.REJECTED) and not (record.reason or record.error):
                raise self._violation(f"{where}: no reason")
            if record.status == Status.ROLLED_BACK and seen is not None and seen.status == "SUCCEEDED":
                raise self._violation(f"{where}: its execution {seen.name} SUCCEEDED")
            kind = OUTCOME_KIND.get(record.status)
            if kind and (record.deployment_id, kind) not in published:
                raise self._violation(f"{where}: no {kind} notification")
        if last_record is not None:
            where = f"invariant 6: {last_record.deployment_id} {last_record.status}"
            if last_record.status == Status.SUCCEEDED and weights != promoted(last_record.target_color):
                raise self._violation(f"{where} but DNS is {weights}")
            if (
                last_record.status == Status.ROLLED_BACK
                and last_record.original_weights is not None
                and weights != last_record.original_weights.dump()
            ):
                raise self._violation(f"{where} to {last_record.original_weights.dump()} but DNS is {weights}")
        holder = self.table.lock_holder(self.route)
        if holder is not None and holder.deployment_id:
            raise self._violation(f"invariant 6: the route is still held by {holder.deployment_id} while nothing runs")

    @invariant()
    def no_promotion_through_an_alarm(self) -> None:
        """7. No execution was promoted if an alarm was in ALARM when a poll of its final
        bake (after its last shift) elapsed."""
        STATS.invariant_checks += 1
        for seen in self.executions.values():
            mine = [b for b in sim.OBSERVED.batches if b.writer == seen.arn]
            if not mine or not self.entered_promote(seen):
                continue
            at = mine[-1].index
            for r in sim.SCHEDULER.releases:
                if r.execution == seen.arn and r.state == "Bake and watch health" and r.batch_index > at:
                    firing = [a for a, s in r.alarms.items() if s == "ALARM"]
                    if firing:
                        raise self._violation(
                            f"invariant 7: {seen.name} was promoted though {firing} was in ALARM during its final bake"
                        )


def promoted(target: str | None) -> dict[str, int]:
    return {"blue": 100 if target == "blue" else 0, "green": 100 if target == "green" else 0}


class _NoShuffle:
    def shuffle(self, items: list[Any]) -> None:
        return None
