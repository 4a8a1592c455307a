"""The whole-system simulation of issue 8, as a hypothesis ``RuleBasedStateMachine``.

Each rule is something a user, ECS, CloudWatch or an AWS fault does to the deployed
stack; each ``@invariant`` judges only what AWS shows (DNS and its batches, executions
and their history, the deployments table, the notifications). See ``world.py`` for how
executions are parked at their waits so actions land at known points of a canary.
"""

from __future__ import annotations

import gc
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
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

# Faults that last until the outage ends (``outage_ends``, or ``settle``), each after the
# SDK's own retries, so every retry of the state machine and of Lambda fails too.
PERSISTENT = (
    *(f"dynamodb {op} InternalServerError" for op in ("*", "put_item", "update_item", "get_item")),
    "dynamodb * ProvisionedThroughputExceededException",
    "route53 * Throttling",  # every Route 53 action: the limit is per account, across all APIs
    "route53 change_resource_record_sets PriorRequestNotComplete",  # only ChangeResourceRecordSets returns it
    "route53 get_change never-insync",  # GetChange answers PENDING for ever
)
# Notification faults, as each service fails (faults.py): SNS Publish answers 500 InternalError
# (the SDK retries it: ONE_CALL occurrences fail one call); EventBridge refuses the entry in an
# HTTP 200 answer (FailedEntryCount), which the SDK does not retry: one occurrence, one call.
NOTIFY = {
    "sns": ("InternalError", ONE_CALL),
    "events": ("InternalFailure", 1),
    "events-throttled": ("ThrottlingException", 1),
}
# What a Task state sends each function (statemachine/canary.asl.json: its "action"
# parameter, "" where it sends none), and the two functions EventBridge invokes.
INVOCATIONS = (
    ("PreflightFunction", ""),
    ("ReadinessFunction", ""),
    ("ShiftFunction", "record"),
    ("ShiftFunction", "shift"),
    ("GateFunction", ""),
    ("FinishFunction", "promote"),
    ("FinishFunction", "failback"),
    ("FinishFunction", "reject"),
    ("TriggerFunction", ""),
    ("AbortFunction", ""),
)
TASK_FUNCTIONS = ("any", "PreflightFunction", "ReadinessFunction", "ShiftFunction", "GateFunction", "FinishFunction")
# A Lambda invocation that fails once: a service error before the handler runs (the Task
# sees it as its error name; the ASL retries both on every Lambda task), or a timeout
# after the handler's side effects (Sandbox.Timedout; see patches.LambdaTimedOut).
CRASHES = ("Lambda.Unknown", "Lambda.ServiceException", "timeout")


# ------------------------------------------------------------------------ summary
@dataclass
class Stats:
    """What one process's sequences did. Each shard attaches its own (``as_dict``) to its
    test report; ``conftest.py`` sums the shards of every process into one summary."""

    sequences: int = 0  # that ran at least one action (hypothesis aborts a few drawn ones at once)
    actions: int = 0
    shortest: int = 0  # the fewest actions a sequence ran
    short: int = 0  # sequences that ran fewer than ``steps`` actions (hypothesis cut them short)
    full: int = 0  # sequences that ran ``steps`` actions
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
            self.full += self.current >= self.steps
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
        return {k: v for k, v in asdict(self).items() if k not in ("started", "current")}

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
                elif name == "steps":
                    total.steps = max(total.steps, value)
                else:
                    setattr(total, name, getattr(total, name) + value)
        return total

    def summary(self, wall: float | None = None, heading: str = "") -> str:
        wall = time.monotonic() - self.started if wall is None else wall
        per_min = 60 / wall if wall else 0.0
        per_sequence = self.actions / self.sequences if self.sequences else 0.0
        lines = [
            "weightshift simulation summary" + (f" ({heading})" if heading else ""),
            f"  sequences:        {self.sequences} ({self.sequences * per_min:.0f}/min): {self.full} of "
            f"{self.steps} actions, {self.short} cut short by hypothesis",
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
    targets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # each side's targets as built

    @property
    def sfn(self) -> Any:
        return self.canary.sfn


@contextmanager
def installed_stack() -> Iterator[Stack]:
    """One emulator and one installed stack for many sequences (each resets what it sees).
    EventBridge delivers to Lambda targets as AWS does (cfn_patches): an alarm the simulation
    sets to ALARM reaches the stack's alarm listener, which ends a bake in progress."""
    from weightshift_emulator import cfn_patches

    patches.install()
    patches.reset()
    cfn_patches.install()
    cfn_patches.reset()
    with mock_aws(config=patches.ENGINE_CONFIG), sim.observing():
        aws = clients()
        world = build_surroundings(aws)
        installed = installer.install(aws, world.parameters(**SCHEDULE))
        queue_url = installer.dead_letter_queue(aws, installed)
        stack = Stack(Canary(aws, world, installed, Route53Log()), queue_url)
        for side, group in (("blue", world.blue_tg_arn), ("green", world.green_tg_arn)):
            health = aws["elbv2"].describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
            stack.targets[side] = [d["Target"] for d in health]
        gc.freeze()  # the installed stack lives as long as the process: out of the GC's full passes
        try:
            yield stack
        finally:
            gc.unfreeze()
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


# A release's draw: tasks, each task's deliveries (once or twice: a third copy meets the
# same "record exists" path as the second, for a third of a release's CPU), their order
# (a shuffle's seed: one draw, where a drawn Random draws per swap and overruns
# hypothesis's early size limit), and a stale event after them.
COPIES = st.lists(st.integers(1, 2), min_size=3, max_size=3)
RELEASE: dict[str, st.SearchStrategy[Any]] = {
    "tasks": st.integers(1, 3),
    "copies": COPIES,
    "order": st.integers(0, 2**16),
    "stale": st.booleans(),
}


# ------------------------------------------------- one-shot actions at a Lambda's start
@dataclass
class Armed:
    """Something that happens at the start of the next matching Lambda invocation (an
    ``INVOKE_HOOKS`` hook): a crash, a timeout, a console Stop. It runs in the invoking
    thread, inside the emulator's invoke (its environment lock held), so it never waits
    for another execution."""

    function: str  # the deployed function's name ("" any Task function of ``execution``)
    action: str  # the Task's "action" parameter ("" any)
    execution: str  # only this execution's invocations ("" any)
    fire: Callable[[Any], None]
    fault: bool  # a fault (ends with the outage) or a person's action (stays armed)

    def matches(self, function_name: str, event: Any) -> bool:
        body = event if isinstance(event, dict) else {}
        if self.function and function_name != self.function:
            return False
        if self.action and body.get("action") != self.action:
            return False
        return not self.execution or body.get("executionArn") == self.execution


ARMED: list[Armed] = []
_ARMED_LOCK = threading.Lock()
# What went wrong inside a hook that was not meant to fail the invocation (an exception
# there would read as the Lambda's own error): reported by the next invariant check.
HOOK_ERRORS: list[str] = []


def fire_armed(function_name: str, event: Any) -> None:
    """The ``INVOKE_HOOKS`` hook: fire (and disarm) the first armed action that matches."""
    with _ARMED_LOCK:
        hit = next((a for a in ARMED if a.matches(function_name, event)), None)
        if hit is not None:
            ARMED.remove(hit)
    if hit is not None:
        hit.fire(event)


def crash(kind: str) -> Callable[[Any], None]:
    def fire(event: Any) -> None:
        if kind == "timeout":
            raise patches.LambdaTimedOut(after_side_effects=True)
        raise patches.LambdaServiceFault(kind)

    return fire


# ------------------------------------------------------------ the sides' health signals
@dataclass(frozen=True)
class Signals:
    """What each side's health signals showed after an action changed them, and where in
    the run: how many bake/queue waits had been let go, how many batches Route 53 had
    accepted. The state in effect for a later wait or batch is the last one before it."""

    releases: int
    batches: int
    check_failing: dict[str, bool]  # Route 53 calls the check unhealthy (18% or fewer checkers healthy)
    healthy_targets: dict[str, int]  # targets ELB reports "healthy" in the side's target group
    registered: dict[str, int]  # targets registered in it, in any state


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
        self.listed: tuple[tuple[str, str, str], ...] | None = None  # the executions the last observe saw
        self.signals: list[Signals] = []
        self.targets_of: dict[str, str] = {}  # execution -> its target side, from its input
        self.explained: set[str] = set()  # ended executions whose error or cause was seen
        self.seen_now: dict[str, Any] = {}  # what the invariants read since the world last moved

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

    def dns(self) -> dict[str, int]:
        return self.read_once("dns", lambda: sim.dns_weights(self.canary.world.zone_id, self.canary.world.record_name))

    def read_once(self, what: str, read: Callable[[], Any]) -> Any:
        """One read per quiescent world: the invariants after a step share what they read
        (nothing moves until the next action; :meth:`quiesce` forgets it)."""
        if what not in self.seen_now:
            self.seen_now[what] = read()
        return self.seen_now[what]

    def alarms(self) -> dict[str, str]:
        return sim.alarm_states([self.canary.world.blue_alarm, self.canary.world.green_alarm])

    def status(self, arn: str) -> str:
        return str(self.stack.sfn.describe_execution(executionArn=arn)["status"])

    def quiesce(self, observe: bool = True) -> None:
        sim.SCHEDULER.quiesce(sim.still_running)
        self.seen_now.clear()
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
        for arn, name, status in now:
            seen = self.executions.get(arn)
            if seen is None:
                seen = ExecutionSeen(arn, name, "trigger", len(sim.OBSERVED.batches))
                self.executions[arn] = seen
                STATS.executions += 1
            if seen.status == "RUNNING" and status != "RUNNING":
                seen.status = status

    def entered_promote(self, seen: ExecutionSeen) -> bool | None:
        """Whether an ended execution entered "Promote" (None while it runs), from its
        history, read once, when an invariant first asks."""
        if seen.status != "RUNNING" and seen.promoted is None:
            history = sim.execution_history(seen.arn)
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
        sim.deliver(self.canary.installed.functions[logical_id], event)

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
        self.heal_surroundings()

    def heal_surroundings(self) -> None:
        """Both sides as built: every target registered and healthy, health checks passing;
        nothing armed at any Lambda's start."""
        with _ARMED_LOCK:
            ARMED.clear()
        HOOK_ERRORS.clear()
        if fire_armed not in patches.INVOKE_HOOKS:
            patches.INVOKE_HOOKS.append(fire_armed)  # after the scheduler's invocation tag
        patches.UNHEALTHY_CHECKS.clear()
        patches.INITIAL_TARGETS.clear()
        for side, targets in self.stack.targets.items():
            self.aws["elbv2"].register_targets(TargetGroupArn=self.target_group(side), Targets=targets)
        self.note_signals()

    def recover(self) -> None:
        """Every fault cleared: the outage ends."""
        patches.DDB_FAULTS.clear()
        faults.ROUTE53_FAULTS.clear()
        faults.NOTIFY_FAULTS.clear()
        faults.SYNC.pending = 0
        with _ARMED_LOCK:
            ARMED[:] = [a for a in ARMED if not a.fault]

    def outage(self) -> bool:
        """A fault is armed and not used up."""
        with _ARMED_LOCK:
            crashes = any(a.fault for a in ARMED)
        return (
            crashes
            or faults.SYNC.pending > 0
            or any(f.hits < f.times for f in patches.DDB_FAULTS)
            or any(f.hits < f.times for f in faults.ROUTE53_FAULTS)
            or any(f.hits < f.times for f in faults.NOTIFY_FAULTS)
        )

    # --------------------------------------------------------------------- rules
    @rule(**RELEASE)
    def release_green(self, tasks: int, copies: list[int], order: int, stale: bool) -> None:
        """ECS starts a new deployment of green: each task's RUNNING event, duplicated,
        shuffled, and (if ``stale``) an older version of one task's event after them."""
        self._release("green", tasks, copies, order, stale)
        self.after_action("release_green")

    @rule(**RELEASE)
    def release_blue(self, tasks: int, copies: list[int], order: int, stale: bool) -> None:
        """The same for blue."""
        self._release("blue", tasks, copies, order, stale)
        self.after_action("release_blue")

    @rule(tasks=RELEASE["tasks"], copies=RELEASE["copies"])
    def release_idle_side(self, tasks: int, copies: list[int]) -> None:
        """A release of the side that carries the least traffic now (the usual release:
        a release of the live side is a scale-out the trigger ignores)."""
        current = sim.OBSERVED.current
        side = "green" if current.get("green", 0) <= current.get("blue", 0) else "blue"
        self._release(side, tasks, copies, None, False)
        self.after_action("release_idle_side")

    def _release(self, side: str, tasks: int, copies: list[int], order: int | None, stale: bool) -> None:
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
        if order is not None:
            random.Random(order).shuffle(events)
        if stale:
            events.append(task_event(world, side, f"t{number:08d}x0", ecs_deployment, version=1))
        for event in events:
            self.invoke_async("TriggerFunction", event)
            self.quiesce(observe=False)

    @precondition(lambda self: any(e.origin == "trigger" for e in self.running_executions()))
    @rule(tasks=st.integers(1, 3), copies=COPIES)
    def newer_release_mid_canary(self, tasks: int, copies: list[int]) -> None:
        """A newer deployment of the side a running canary is shifting to."""
        running = next(e for e in self.running_executions() if e.origin == "trigger")
        side = json.loads(self.stack.sfn.describe_execution(executionArn=running.arn)["input"])["target"]["color"]
        self._release(side, tasks, copies, None, False)
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
        if not sim.dead_letters_waiting(self.stack.queue_url):
            return False
        sqs = self.aws["sqs"]
        messages = sqs.receive_message(QueueUrl=self.stack.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
        for message in messages:
            failed = replay.parse(message)
            assert failed.target, failed.why
            assert failed.event, failed.why
            logical = {"trigger": "TriggerFunction", "abort": "AbortFunction"}[failed.target]
            if failed.target == "trigger":
                self.trigger_replayed(failed.event)
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

    def trigger_replayed(self, event: dict[str, Any]) -> None:
        """A dead-lettered ECS event is replayed. If no delivery of its release got as far as
        the claim (no record), this replay is the trigger's first look at DNS: whether the
        release should start a canary is decided now, by the rule the trigger applies (a
        side that already carries all traffic is a scale-out, decisions.against_traffic),
        not by DNS when ECS sent the event (a late status event may have failed a canary
        back to this side since)."""
        started_by = str((event.get("detail") or {}).get("startedBy", ""))
        release = next((r for r in self.releases if f"ecs-svc/{r.number:019d}" == started_by), None)
        if release is None or self.table.get(self.route, release.deployment_id) is not None:
            return
        dns = sim.OBSERVED.current
        other = "blue" if release.side == "green" else "green"
        release.should_start = not (dns.get(release.side, 0) > 0 and dns.get(other, 0) == 0)

    # ------------------------------------- rules: the sides' health, outages, crashes
    def target_group(self, side: str) -> str:
        world = self.canary.world
        return world.green_tg_arn if side == "green" else world.blue_tg_arn

    def health_check(self, side: str) -> str:
        world = self.canary.world
        return world.green_health_check if side == "green" else world.blue_health_check

    def note_signals(self) -> None:
        """Record what the sides' signals show now (ELB's DescribeTargetHealth, which no fault
        touches; the health check's status as the simulation just set it, since asking
        Route 53 would spend an armed Route 53 fault)."""
        healthy, registered = {}, {}
        for side in SIDES:
            states = sim.target_states(self.target_group(side))
            healthy[side], registered[side] = states.count("healthy"), len(states)
        failing = {side: self.health_check(side) in patches.UNHEALTHY_CHECKS for side in SIDES}
        at = (len(sim.SCHEDULER.releases), len(sim.OBSERVED.batches))
        self.signals.append(Signals(*at, failing, healthy, registered))

    def sides_missing_targets(self) -> list[str]:
        now = self.signals[-1] if self.signals else None
        return [s for s in SIDES if now and now.registered[s] < len(self.stack.targets.get(s, []))]

    def sides_checking_targets(self) -> list[str]:
        now = self.signals[-1] if self.signals else None
        return [s for s in SIDES if now and now.healthy_targets[s] < now.registered[s]]

    def signals_at(self, releases: int | None = None, batches: int | None = None) -> Signals:
        """The signals in effect when the wait numbered ``releases`` was let go, or when the
        batch numbered ``batches`` was written."""
        now = self.signals[0]
        for s in self.signals:
            if (releases is not None and s.releases <= releases) or (batches is not None and s.batches <= batches):
                now = s
        return now

    @rule(side=st.sampled_from(SIDES), failing=st.booleans())
    def route53_health_check(self, side: str, failing: bool) -> None:
        """A side's Route 53 health check starts failing, or recovers: every checker reports
        ``Failure: HTTP Status Code 503`` (or success again). The gate reads the *target*
        side's check at every poll and fails at 18% or fewer healthy checkers ("Route 53
        considers the endpoint healthy if more than 18% of health checkers report that it's
        healthy", Route 53 developer guide, "How Amazon Route 53 determines whether a health
        check is healthy"). The time the checkers take to agree (FailureThreshold x
        RequestInterval) is the time between two actions here."""
        check = self.health_check(side)
        if failing:
            patches.UNHEALTHY_CHECKS.add(check)
        else:
            patches.UNHEALTHY_CHECKS.discard(check)
        self.note_signals()
        self.after_action("route53_health_check")

    @precondition(lambda self: bool(self.signals) and any(self.signals[-1].registered.values()))
    @rule(side=st.sampled_from(SIDES), how_many=st.sampled_from(["all", "one"]))
    def targets_deregistered(self, side: str, how_many: str) -> None:
        """A side's targets leave its target group (ECS replacing tasks, a scale-in, a person).
        ELB shows a deregistered target ``draining`` for the deregistration delay (300 s by
        default), then ``unused``; moto drops it at once. The product counts healthy targets
        of those listed, so both read "no healthy target" when all go: never kinder."""
        if not self.signals[-1].registered[side]:
            side = "blue" if side == "green" else "green"
        group = self.target_group(side)
        listed = self.aws["elbv2"].describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        targets = [d["Target"] for d in listed]
        if how_many == "one":
            targets = targets[:1]
        if targets:
            self.aws["elbv2"].deregister_targets(TargetGroupArn=group, Targets=targets)
        self.note_signals()
        self.after_action("targets_deregistered")

    @precondition(lambda self: bool(self.sides_missing_targets()))
    @rule(which=st.integers(0, 1))
    def targets_registered(self, which: int) -> None:
        """The side's targets are registered again. ELB reports a newly registered target
        ``initial`` (Elb.RegistrationInProgress, Elb.InitialHealthChecking) until it passes
        HealthyThresholdCount checks in a row (TargetHealth, ELB API reference): not healthy
        yet (``patches.INITIAL_TARGETS``) until ``targets_pass_health_checks``."""
        missing_on = self.sides_missing_targets()
        side = missing_on[which % len(missing_on)]
        group = self.target_group(side)
        listed = self.aws["elbv2"].describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        present = {d["Target"]["Id"] for d in listed}
        missing = [t for t in self.stack.targets[side] if t["Id"] not in present]
        for t in missing:
            patches.INITIAL_TARGETS.add((group, str(t["Id"])))
        if missing:
            self.aws["elbv2"].register_targets(TargetGroupArn=group, Targets=missing)
        self.note_signals()
        self.after_action("targets_registered")

    @precondition(lambda self: bool(self.sides_checking_targets()))
    @rule(which=st.integers(0, 1))
    def targets_pass_health_checks(self, which: int) -> None:
        """Enough time passed for a side's new targets to pass their health checks: healthy."""
        checking = self.sides_checking_targets()
        group = self.target_group(checking[which % len(checking)])
        for entry in [e for e in patches.INITIAL_TARGETS if e[0] == group]:
            patches.INITIAL_TARGETS.discard(entry)
        self.note_signals()
        self.after_action("targets_pass_health_checks")

    @rule(fault=st.sampled_from(PERSISTENT))
    def persistent_fault(self, fault: str) -> None:
        """An outage: a DynamoDB operation, Route 53 (throttled across every action, or
        PriorRequestNotComplete on every change) fails on every call, or GetChange never
        reports INSYNC, until ``outage_ends`` (or ``settle``). Every SDK retry, state machine
        Retry and Lambda async retry in between meets it."""
        service, operation, code = fault.split(" ")
        if service == "dynamodb":
            patches.DDB_FAULTS.append(patches.DdbFault(operation, code, times=faults.FOREVER))
        elif code == "never-insync":
            faults.SYNC.pending = faults.FOREVER
        else:
            actions = () if operation == "*" else (operation,)
            faults.ROUTE53_FAULTS.append(faults.Route53Fault(code, actions, times=faults.FOREVER))
        STATS.faults += 1
        self.after_action("persistent_fault")

    @rule(channel=st.sampled_from(sorted(NOTIFY)), persistent=st.booleans())
    def notification_fault(self, channel: str, persistent: bool) -> None:
        """SNS Publish fails with InternalError (500) for one call (its SDK retries used up) or
        until the outage ends; or EventBridge refuses the next entry (or every entry) with
        FailedEntryCount 1 and InternalFailure/ThrottlingException (faults.py)."""
        code, one_call = NOTIFY[channel]
        service = "sns" if channel == "sns" else "events"
        faults.NOTIFY_FAULTS.append(faults.NotifyFault(service, code, faults.FOREVER if persistent else one_call))
        STATS.faults += 1
        self.after_action("notification_fault")

    @precondition(lambda self: self.outage())
    @rule()
    def outage_ends(self) -> None:
        """Every armed fault clears (what ``settle`` does first, without letting time pass)."""
        self.recover()
        self.after_action("outage_ends")

    @rule(invocation=st.sampled_from(INVOCATIONS), kind=st.sampled_from(CRASHES))
    def function_crash(self, invocation: tuple[str, str], kind: str) -> None:
        """The next invocation of a function (for a Task function: with that action) fails
        once: a Lambda service error before the handler runs (``Lambda.Unknown``, e.g. out of
        memory, or ``Lambda.ServiceException``; the ASL retries both, per the Step Functions
        guide's advice, bp-lambda-serviceexception), or a timeout after the handler's side
        effects (``Sandbox.Timedout``, patches.LambdaTimedOut). An asynchronous invocation
        (the trigger, the status rule) is retried by Lambda itself (lambda_async.py)."""
        logical, action = invocation
        function = self.canary.installed.functions[logical]
        with _ARMED_LOCK:
            ARMED.append(Armed(function, action, "", crash(kind), fault=True))
        STATS.faults += 1
        self.after_action("function_crash")

    @precondition(lambda self: bool(self.running_executions()))
    @rule(
        which=st.integers(0, 3),
        function=st.sampled_from(TASK_FUNCTIONS),
        status_event=st.sampled_from(["before", "prompt", "late"]),
    )
    def console_stop_during_lambda(self, which: int, function: str, status_event: str) -> None:
        """On-call presses Stop while one of the execution's Task Lambdas runs: at the start of
        its next invocation (of ``function``, or any), the execution is stopped, and the
        handler then runs to its end for an ABORTED execution (StopExecution does nothing to
        a running task: https://stackoverflow.com/questions/45596276). The status rule's
        event reaches its Lambda before the handler runs (the worst order), promptly after
        it, or late."""
        running = self.running_executions()
        target = running[which % len(running)]
        logical = "" if function == "any" else function
        name = self.canary.installed.functions[logical] if logical else ""

        def stop(event: Any) -> None:
            try:
                target.hold_event = status_event == "late"
                cause = "on-call pressed Stop while a Lambda ran"
                self.stack.sfn.stop_execution(executionArn=target.arn, error="Stop", cause=cause)
                if status_event == "before":
                    self.deliver_status_event_now(target, "Stop", cause)
            except Exception as exc:  # noqa: BLE001 - reported by an invariant, not as the Lambda's error
                HOOK_ERRORS.append(f"console_stop_during_lambda on {target.name}: {exc!r}")

        with _ARMED_LOCK:
            ARMED.append(Armed(name, "", target.arn, stop, fault=False))
        self.after_action("console_stop_during_lambda")

    def deliver_status_event_now(self, seen: ExecutionSeen, error: str, cause: str) -> None:
        """From inside a hook: the status rule's Lambda runs now, in this thread (EventBridge
        delivers the event while the stopped execution's Lambda has not started its work).

        The event says ABORTED, with the Stop's error and cause, as AWS sends it once
        StopExecution returns. moto's DescribeExecution still says RUNNING here: its engine
        marks the execution ABORTED only when the running Task's invocation returns."""
        caller = getattr(sim._CALLER, "value", None)
        event = self.canary.abort_event(seen.arn)
        stopped_ms = int(time.time() * 1000)
        event["detail"].update(status="ABORTED", stopDate=stopped_ms, error=error, cause=cause, output=None)
        event["detail"]["outputDetails"] = None
        seen.delivered = True
        try:
            self.invoke_async("AbortFunction", event)
        finally:
            sim._CALLER.value = caller  # the invocation that called the hook goes on

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
            self.no_shift_onto_an_unhealthy_side,
            self.no_promotion_through_failing_health,
            self.nothing_ends_without_a_reason,
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
        return last, self.read_once(f"record {deployment}", lambda: self.table.get(self.route, deployment))

    @invariant()
    def nothing_stranded_when_settled(self) -> None:
        """4. When nothing runs, DNS is the last deployment's recorded original or its
        full promotion (or, with no change at all, what it was)."""
        STATS.invariant_checks += 1
        if not self.settled:
            return
        weights = self.dns()
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
        weights = self.dns()
        _, last_record = self.last_writer()
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
            unannounced = unannounced_channels(record.deployment_id, kind) if kind else []
            if unannounced:
                raise self._violation(f"{where}: no {kind} notification on {', '.join(unannounced)}")
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

    def target_of(self, arn: str) -> str:
        if arn not in self.targets_of:
            body = json.loads(self.stack.sfn.describe_execution(executionArn=arn)["input"])
            target = body.get("target") if isinstance(body, dict) else None
            self.targets_of[arn] = str(target.get("color", "")) if isinstance(target, dict) else ""
        return self.targets_of[arn]

    @invariant()
    def no_shift_onto_an_unhealthy_side(self) -> None:
        """8. No step moves traffic onto a side whose target group had no healthy target
        (readiness, then the gate, read it just before); no step after the first moves it
        onto a side whose Route 53 health check was failing (the gate read it just before)."""
        STATS.invariant_checks += 1
        for b in sim.OBSERVED.batches:
            step = step_target(b.comment)
            if step is None or b.writer not in self.executions:
                continue
            number, side = step
            now = self.signals_at(batches=b.index)
            if now.healthy_targets.get(side, 0) == 0:
                raise self._violation(
                    f"invariant 8: batch {b.index} ({b.comment}) shifted onto {side}, which had no healthy target"
                )
            if number > 1 and now.check_failing.get(side):
                raise self._violation(
                    f"invariant 8: batch {b.index} ({b.comment}) shifted onto {side} though its health check failed"
                )

    @invariant()
    def no_promotion_through_failing_health(self) -> None:
        """9. No execution was promoted if, when a poll of its final bake elapsed, its target's
        Route 53 health check was failing or its target group had no healthy target."""
        STATS.invariant_checks += 1
        for seen in self.executions.values():
            if not seen.promoted:
                continue
            mine = [b for b in sim.OBSERVED.batches if b.writer == seen.arn]
            if not mine:
                continue
            at = mine[-1].index
            side = self.target_of(seen.arn)
            for i, r in enumerate(sim.SCHEDULER.releases):
                if r.execution != seen.arn or r.state != "Bake and watch health" or r.batch_index <= at:
                    continue
                now = self.signals_at(releases=i)
                if now.check_failing.get(side) or now.healthy_targets.get(side, 0) == 0:
                    raise self._violation(
                        f"invariant 9: {seen.name} was promoted though, during its final bake, {side}'s "
                        f"health check failing={now.check_failing.get(side)}, "
                        f"healthy targets={now.healthy_targets.get(side)}"
                    )

    @invariant()
    def hooks_ran_cleanly(self) -> None:
        """The simulation's own hooks did what they meant to (not an AWS invariant)."""
        if HOOK_ERRORS:
            errors = list(HOOK_ERRORS)
            HOOK_ERRORS.clear()
            raise AssertionError("a simulation hook failed: " + "; ".join(errors))

    @invariant()
    def nothing_ends_without_a_reason(self) -> None:
        """6 (executions). An execution that did not succeed says why: DescribeExecution
        shows an error or a cause."""
        STATS.invariant_checks += 1
        for seen in self.executions.values():
            if seen.status in ("RUNNING", "SUCCEEDED") or seen.arn in self.explained:
                continue
            desc = self.stack.sfn.describe_execution(executionArn=seen.arn)
            if not (desc.get("error") or desc.get("cause")):
                raise self._violation(f"invariant 6: {seen.name} ended {seen.status} with no error and no cause")
            self.explained.add(seen.arn)


def unannounced_channels(deployment_id: str, kind: str) -> list[str]:
    """The channels (EventBridge, SNS) that never received this outcome. A channel counts
    as told when it accepted the notification, or when it refused it under an armed fault
    (faults.py records a refusal only then): notifications are best effort (adapters/notify.py
    logs a refusal and goes on), so a refusal is the one excuse, and only for the channel
    that refused."""
    tried = [p for p in faults.PUBLISHED if p.deployment_id == deployment_id and p.kind == kind]
    return [service for service in ("events", "sns") if not any(p.service == service for p in tried)]


def step_target(comment: str) -> tuple[int, str] | None:
    """(step number, target side) of a shift's batch ("Weightshift <id>: step 1/2 -> green 50")."""
    _, _, rest = comment.partition(": step ")
    if not rest:
        return None
    number, _, after = rest.partition("/")
    _, _, target = after.partition("-> ")
    return int(number), target.split(" ")[0]


def promoted(target: str | None) -> dict[str, int]:
    return {"blue": 100 if target == "blue" else 0, "green": 100 if target == "green" else 0}
