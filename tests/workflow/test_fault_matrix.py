"""The fault matrix (issue 7 §6): every fault in every phase, then the invariants.

One table, :data:`MATRIX`: each line is a :class:`Cell` (a fault, the phase it hits,
``transient``/``persistent``/``once``, the outcome the ASL and design.md call for) or an
:class:`Impossible` (the fault cannot happen in that phase, and why). Test ids read
``fault/phase/kind``; impossible cells are listed as skipped with their reason.

Each runnable cell is one release as AWS would run it: a real-format ECS event
(``events/green-task-running.json``) is invoked *asynchronously* on the real trigger
(Lambda's retries and on-failure destination: ``lambda_async.py``), the trigger starts
the real ASL in moto's engine with the real handlers, the fault is armed when the
phase starts (an ``INVOKE_HOOKS`` hook on the phase's function and action, or the
first "Pause for DNS sync"), the execution ends, and an ABORTED/TIMED_OUT/FAILED
execution gets its "Execution Status Change" event on the status rule's Lambda,
asynchronously too. Then the outage ends ("recovery": every fault cleared) and what
waits in the dead-letter queue is replayed, as ``weightshift replay`` does. Only then
does :func:`check_invariants` look.

- **transient**: the fault fails exactly one call, after the SDK's own retries where
  the caller makes them (the functions' clients: standard mode, 3 attempts, so 3
  occurrences; the engine's GetChange client: 1 attempt; an EventBridge entry: 1, the
  SDK does not retry it). So the state machine's Retry/Catch, or Lambda's async retry,
  is what each transient cell tests. A crash or a timeout happens once.
- **persistent**: from the phase on until recovery (every retry of the execution and
  the status rule's three attempts fail); recovery then replays the dead letters.
- **once**: a console Stop or an execution timeout. The worst interleaving AWS allows
  is modelled: StopExecution does not stop a running Lambda task, so the status
  rule's Lambda (invoked as soon as the execution ended) runs to the end *before* the
  stopped task's Lambda does its work.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import moto.route53.models as r53_models
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.utils import TMP_THREADS
from weightshift.adapters.deployments import LOCK_SK, Deployments
from weightshift.models import Plan
from weightshift.observability import logger
from weightshift_cli import replay
from weightshift_emulator import faults, lambda_async, patches
from weightshift_emulator import install as installer
from weightshift_emulator.world import build_surroundings, clients, task_event

from tests.conftest import wait_for
from tests.workflow.conftest import Canary, Route53Log

pytestmark = pytest.mark.workflow

FAULTS = (
    "r53-throttling",
    "r53-prior-request",
    "ddb-throttling",
    "ddb-ise",
    "sns-error",
    "events-error",
    "lambda-crash",
    "lambda-timeout",
    "console-stop",
    "exec-timeout",
    "never-insync",
)
PHASES = (
    "trigger",
    "preflight",
    "readiness",
    "record",
    "shift",
    "dns-wait",
    "bake-gate",
    "promote",
    "failback",
    "abort",
)
S, RB, RJ = "SUCCEEDED", "ROLLED_BACK", "REJECTED"


@dataclass(frozen=True)
class Cell:
    fault: str
    phase: str
    kind: str  # transient | persistent | once
    expect: str  # the deployment record's final status: SUCCEEDED, ROLLED_BACK or REJECTED
    bug: str = ""  # a product bug breaks an invariant here: the cell is xfail(strict)

    @property
    def id(self) -> str:
        return f"{self.fault}/{self.phase}/{self.kind}"


@dataclass(frozen=True)
class Impossible:
    fault: str
    phase: str
    reason: str

    @property
    def id(self) -> str:
        return f"{self.fault}/{self.phase}/impossible"


# Product bugs found by the matrix (each xfails the cells it breaks; see the report).
NO_CHANGE = "makes no ChangeResourceRecordSets call"
NO_LAMBDA = "is an aws-sdk:route53:getChange task, no Lambda runs in it"
NO_DDB = "makes no DynamoDB call"
NO_PUBLISH = "publishes nothing"
EB_ONLY = "publishes only to EventBridge (email=False), never to SNS"
NO_EXECUTION = "runs before any execution exists (a Stop right after StartExecution is preflight/once)"
ENDED = "runs after the execution ended: nothing is left to stop or to time out"

MATRIX: list[Cell | Impossible] = [
    # ------------------------------------------------------------------ trigger (async, Lambda retries)
    Cell("r53-throttling", "trigger", "transient", S),
    Cell("r53-throttling", "trigger", "persistent", S),
    Impossible("r53-prior-request", "trigger", f"the trigger {NO_CHANGE}; PriorRequestNotComplete answers only that"),
    Cell("ddb-throttling", "trigger", "transient", S),
    Cell("ddb-throttling", "trigger", "persistent", S),
    Cell("ddb-ise", "trigger", "transient", S),
    Cell("ddb-ise", "trigger", "persistent", S),
    Impossible("sns-error", "trigger", f"the trigger {NO_PUBLISH} (the workflow announces the start)"),
    Impossible("events-error", "trigger", f"the trigger {NO_PUBLISH} (the workflow announces the start)"),
    Cell("lambda-crash", "trigger", "transient", S),
    Cell("lambda-crash", "trigger", "persistent", S),
    Cell("lambda-timeout", "trigger", "transient", S),
    Cell("lambda-timeout", "trigger", "persistent", S),
    Impossible("console-stop", "trigger", f"the trigger {NO_EXECUTION}"),
    Impossible("exec-timeout", "trigger", f"the trigger {NO_EXECUTION}"),
    Impossible("never-insync", "trigger", f"the trigger {NO_CHANGE}"),
    # ------------------------------------------------------------------ preflight and the route lock
    Cell("r53-throttling", "preflight", "transient", S),
    Cell("r53-throttling", "preflight", "persistent", RJ),
    Impossible(
        "r53-prior-request",
        "preflight",
        f"preflight {NO_CHANGE} (it reads the zone and the pair; an ended holder's fail back is the abort path)",
    ),
    Cell("ddb-throttling", "preflight", "transient", S),
    Cell("ddb-throttling", "preflight", "persistent", RB),
    Cell("ddb-ise", "preflight", "transient", S),
    Cell("ddb-ise", "preflight", "persistent", RB),
    Impossible("sns-error", "preflight", f"preflight {EB_ONLY}"),
    Cell("events-error", "preflight", "transient", S),
    Cell("events-error", "preflight", "persistent", S),
    Cell("lambda-crash", "preflight", "transient", S),
    Cell("lambda-crash", "preflight", "persistent", RJ),
    Cell("lambda-timeout", "preflight", "transient", S),
    Cell("lambda-timeout", "preflight", "persistent", RJ),
    Cell("console-stop", "preflight", "once", RB),
    Cell("exec-timeout", "preflight", "once", RB),
    Impossible("never-insync", "preflight", f"preflight {NO_CHANGE}"),
    # ------------------------------------------------------------------ readiness (ECS and ELB only)
    Impossible("r53-throttling", "readiness", "readiness reads ECS and ELB only, no Route 53"),
    Impossible("r53-prior-request", "readiness", "readiness reads ECS and ELB only, no Route 53"),
    Impossible("ddb-throttling", "readiness", f"readiness {NO_DDB}"),
    Impossible("ddb-ise", "readiness", f"readiness {NO_DDB}"),
    Impossible("sns-error", "readiness", f"readiness {NO_PUBLISH}"),
    Impossible("events-error", "readiness", f"readiness {NO_PUBLISH}"),
    Cell("lambda-crash", "readiness", "transient", S),
    Cell("lambda-crash", "readiness", "persistent", RB),
    Cell("lambda-timeout", "readiness", "transient", RB),  # Sandbox.Timedout: no retrier matches it here
    Cell("lambda-timeout", "readiness", "persistent", RB),
    Cell("console-stop", "readiness", "once", RB),
    Cell("exec-timeout", "readiness", "once", RB),
    Impossible("never-insync", "readiness", f"readiness {NO_CHANGE}"),
    # ------------------------------------------------------------------ record the original weights
    Cell("r53-throttling", "record", "transient", S),
    Cell("r53-throttling", "record", "persistent", RB),
    Impossible("r53-prior-request", "record", f"with the pair in place (as here) recording {NO_CHANGE}; it only reads"),
    Cell("ddb-throttling", "record", "transient", RB),  # a DynamoDB error is not retried by this task
    Cell("ddb-throttling", "record", "persistent", RB),
    Cell("ddb-ise", "record", "transient", RB),
    Cell("ddb-ise", "record", "persistent", RB),
    Impossible("sns-error", "record", f"recording {NO_PUBLISH}"),
    Impossible("events-error", "record", f"recording {NO_PUBLISH}"),
    Cell("lambda-crash", "record", "transient", S),
    Cell("lambda-crash", "record", "persistent", RB),
    Cell("lambda-timeout", "record", "transient", RB),
    Cell("lambda-timeout", "record", "persistent", RB),
    Cell("console-stop", "record", "once", RB),
    Cell("exec-timeout", "record", "once", RB),
    Impossible("never-insync", "record", f"with the pair in place recording {NO_CHANGE}"),
    # ------------------------------------------------------------------ shift (step 1: 50/50)
    Cell("r53-throttling", "shift", "transient", S),
    Cell("r53-throttling", "shift", "persistent", RB),
    Cell("r53-prior-request", "shift", "transient", S),
    Cell("r53-prior-request", "shift", "persistent", RB),
    Cell("ddb-throttling", "shift", "transient", RB),  # after the DNS change: caught, failed back
    Cell("ddb-throttling", "shift", "persistent", RB),
    Cell("ddb-ise", "shift", "transient", RB),
    Cell("ddb-ise", "shift", "persistent", RB),
    Impossible("sns-error", "shift", f"a shift {EB_ONLY}"),
    Cell("events-error", "shift", "transient", S),
    Cell("events-error", "shift", "persistent", S),
    Cell("lambda-crash", "shift", "transient", S),
    Cell("lambda-crash", "shift", "persistent", RB),
    Cell("lambda-timeout", "shift", "transient", RB),  # after its DNS change, which fail back undoes
    Cell("lambda-timeout", "shift", "persistent", RB),
    Cell("console-stop", "shift", "once", RB),
    Cell("exec-timeout", "shift", "once", RB),
    Impossible("never-insync", "shift", "the shift's change is waited on in the next phase: dns-wait/never-insync"),
    # ------------------------------------------------------------------ DNS wait (aws-sdk GetChange)
    Cell("r53-throttling", "dns-wait", "transient", S),
    Cell("r53-throttling", "dns-wait", "persistent", RB),
    Impossible("r53-prior-request", "dns-wait", "GetChange does not return PriorRequestNotComplete (API reference)"),
    Impossible("ddb-throttling", "dns-wait", f"the wait {NO_LAMBDA}, {NO_DDB}"),
    Impossible("ddb-ise", "dns-wait", f"the wait {NO_LAMBDA}, {NO_DDB}"),
    Impossible("sns-error", "dns-wait", f"the wait {NO_LAMBDA}, {NO_PUBLISH}"),
    Impossible("events-error", "dns-wait", f"the wait {NO_LAMBDA}, {NO_PUBLISH}"),
    Impossible("lambda-crash", "dns-wait", f"the wait {NO_LAMBDA}"),
    Impossible("lambda-timeout", "dns-wait", f"the wait {NO_LAMBDA}"),
    Cell("console-stop", "dns-wait", "once", RB),
    Cell("exec-timeout", "dns-wait", "once", RB),
    Cell("never-insync", "dns-wait", "transient", S),  # INSYNC three polls late
    Cell("never-insync", "dns-wait", "persistent", RB),
    # ------------------------------------------------------------------ bake and health gate (step 1)
    Cell("r53-throttling", "bake-gate", "transient", S),  # GetHealthCheckStatus -> SignalUnavailable, retried
    Cell("r53-throttling", "bake-gate", "persistent", RB),
    Impossible("r53-prior-request", "bake-gate", f"the gate {NO_CHANGE}"),
    Cell("ddb-throttling", "bake-gate", "transient", RB),  # the "baked" write is not retried by this task
    Cell("ddb-throttling", "bake-gate", "persistent", RB),
    Cell("ddb-ise", "bake-gate", "transient", RB),
    Cell("ddb-ise", "bake-gate", "persistent", RB),
    Impossible("sns-error", "bake-gate", f"the gate {NO_PUBLISH}"),
    Impossible("events-error", "bake-gate", f"the gate {NO_PUBLISH}"),
    Cell("lambda-crash", "bake-gate", "transient", S),
    Cell("lambda-crash", "bake-gate", "persistent", RB),
    Cell("lambda-timeout", "bake-gate", "transient", RB),
    Cell("lambda-timeout", "bake-gate", "persistent", RB),
    Cell("console-stop", "bake-gate", "once", RB),
    Cell("exec-timeout", "bake-gate", "once", RB),
    Impossible("never-insync", "bake-gate", f"the gate {NO_CHANGE}"),
    # ------------------------------------------------------------------ promote (invariant 9)
    Impossible("r53-throttling", "promote", "promote makes no Route 53 call: DNS is already at the target"),
    Impossible("r53-prior-request", "promote", f"promote {NO_CHANGE}"),
    Cell("ddb-throttling", "promote", "transient", S),
    Cell("ddb-throttling", "promote", "persistent", S),
    Cell("ddb-ise", "promote", "transient", S),
    Cell("ddb-ise", "promote", "persistent", S),
    Cell("sns-error", "promote", "transient", S),
    Cell("sns-error", "promote", "persistent", S),
    Cell("events-error", "promote", "transient", S),
    Cell("events-error", "promote", "persistent", S),
    Cell("lambda-crash", "promote", "transient", S),
    Cell("lambda-crash", "promote", "persistent", S),
    Cell("lambda-timeout", "promote", "transient", S),
    Cell("lambda-timeout", "promote", "persistent", S),
    Cell("console-stop", "promote", "once", S),
    Cell("exec-timeout", "promote", "once", S),
    Impossible("never-insync", "promote", f"promote {NO_CHANGE}"),
    # ------------------------------------------------------------------ fail back (alarm at step 1)
    Cell("r53-throttling", "failback", "transient", RB),
    Cell("r53-throttling", "failback", "persistent", RB),
    Cell("r53-prior-request", "failback", "transient", RB),
    Cell("r53-prior-request", "failback", "persistent", RB),
    Cell("ddb-throttling", "failback", "transient", RB),
    Cell("ddb-throttling", "failback", "persistent", RB),
    Cell("ddb-ise", "failback", "transient", RB),
    Cell("ddb-ise", "failback", "persistent", RB),
    Cell("sns-error", "failback", "transient", RB),
    Cell("sns-error", "failback", "persistent", RB),
    Cell("events-error", "failback", "transient", RB),
    Cell("events-error", "failback", "persistent", RB),
    Cell("lambda-crash", "failback", "transient", RB),
    Cell("lambda-crash", "failback", "persistent", RB),
    Cell("lambda-timeout", "failback", "transient", RB),
    Cell("lambda-timeout", "failback", "persistent", RB),
    Cell("console-stop", "failback", "once", RB),
    Cell("exec-timeout", "failback", "once", RB),
    Cell("never-insync", "failback", "transient", RB),
    Cell("never-insync", "failback", "persistent", RB),
    # ------------------------------------------------------------------ abort: the status rule's Lambda after a Stop
    Cell("r53-throttling", "abort", "transient", RB),
    Cell("r53-throttling", "abort", "persistent", RB),
    Cell("r53-prior-request", "abort", "transient", RB),
    Cell("r53-prior-request", "abort", "persistent", RB),
    Cell("ddb-throttling", "abort", "transient", RB),
    Cell("ddb-throttling", "abort", "persistent", RB),
    Cell("ddb-ise", "abort", "transient", RB),
    Cell("ddb-ise", "abort", "persistent", RB),
    Cell("sns-error", "abort", "transient", RB),
    Cell("sns-error", "abort", "persistent", RB),
    Cell("events-error", "abort", "transient", RB),
    Cell("events-error", "abort", "persistent", RB),
    Cell("lambda-crash", "abort", "transient", RB),
    Cell("lambda-crash", "abort", "persistent", RB),
    Cell("lambda-timeout", "abort", "transient", RB),
    Cell("lambda-timeout", "abort", "persistent", RB),
    Impossible("console-stop", "abort", ENDED),
    Impossible("exec-timeout", "abort", ENDED),
    Cell("never-insync", "abort", "persistent", RB),  # the status rule's Lambda does not wait for INSYNC
]

# --------------------------------------------------------------------------- the world of one cell
SCHEDULE = {"Schedule": "50,100", "StepIntervalSeconds": "60", "HealthPollSeconds": "60"}  # one poll per bake
ORIGINAL = {"blue": 200, "green": 0}  # not 100/0: fail back restores what was there (invariant 5)
PROMOTED = {"blue": 0, "green": 100}
OUTCOME_KIND = {S: "promoted", RB: "rolled-back", RJ: "rejected"}
# Where each phase starts: the function (logical id) and the Finish/Shift action it is invoked with.
PHASE_ENTRY = {
    "trigger": ("TriggerFunction", None),
    "preflight": ("PreflightFunction", None),
    "readiness": ("ReadinessFunction", None),
    "record": ("ShiftFunction", "record"),
    "shift": ("ShiftFunction", "shift"),
    "bake-gate": ("GateFunction", None),
    "promote": ("FinishFunction", "promote"),
    "failback": ("FinishFunction", "failback"),
    "abort": ("AbortFunction", None),
}
# One failed call, after the SDK's own attempts (see the module docstring).
ONE_CALL = {"r53": 3, "ddb": 3, "sns": 3, "events": 1, "get_change": 1, "lambda": 1}


@dataclass
class Run:
    canary: Canary
    cell: Cell
    plan: Plan
    queue_url: str
    log: io.StringIO
    delivered: dict[str, str] = field(default_factory=dict)  # execution -> status delivered to the rule
    entered: bool = False
    recovered: bool = False
    stopped: bool = False
    lambda_faults_left: int = 0
    replayed: list[str] = field(default_factory=list)
    trigger_done: threading.Event = field(default_factory=threading.Event)

    @property
    def aws(self) -> dict[str, Any]:
        return self.canary.aws

    def fn(self, logical_id: str) -> str:
        return self.canary.installed.functions[logical_id]

    # ------------------------------------------------------------- what AWS delivers
    def invoke_async(self, logical_id: str, event: dict[str, Any]) -> None:
        """As EventBridge invokes a rule's Lambda target: asynchronously (lambda_async.py)."""
        resp = self.aws["lambda"].invoke(
            FunctionName=self.fn(logical_id), InvocationType="Event", Payload=json.dumps(event).encode()
        )
        assert resp["StatusCode"] == 202

    def deliver_status(self, arn: str, status: str | None = None) -> None:
        """The "Step Functions Execution Status Change" event, on the status rule's Lambda."""
        event = self.canary.abort_event(arn)
        if status:
            event["detail"]["status"] = status
        self.delivered[arn] = event["detail"]["status"]
        self.invoke_async("AbortFunction", event)

    def end_execution_now(self, arn: str) -> None:
        """A console Stop, or the execution's TimeoutSeconds, while the phase runs: the execution
        ends, the status rule's Lambda runs at once (and finishes first, the worst order)."""
        if self.cell.phase == "preflight":
            assert self.trigger_done.wait(10)  # the trigger has marked the record STARTED
        timed_out = self.cell.fault == "exec-timeout"
        self.canary.sfn.stop_execution(executionArn=arn, cause="" if timed_out else "on-call pressed Stop")
        self.deliver_status(arn, "TIMED_OUT" if timed_out else "ABORTED")  # the event says so at once

    # ------------------------------------------------------------- the fault
    def arm(self) -> None:
        fault, persistent = self.cell.fault, self.cell.kind == "persistent"

        def times(what: str) -> int:
            return faults.FOREVER if persistent else ONE_CALL[what]

        if fault == "r53-throttling":
            faults.ROUTE53_FAULTS.append(
                faults.Route53Fault("Throttling", times=times("get_change" if self.cell.phase == "dns-wait" else "r53"))
            )
        elif fault == "r53-prior-request":
            faults.ROUTE53_FAULTS.append(
                faults.Route53Fault("PriorRequestNotComplete", ("change_resource_record_sets",), times("r53"))
            )
        elif fault == "ddb-throttling":
            patches.DDB_FAULTS.append(
                patches.DdbFault("*", "ProvisionedThroughputExceededException", times=times("ddb"))
            )
        elif fault == "ddb-ise":
            patches.DDB_FAULTS.append(patches.DdbFault("*", "InternalServerError", times=times("ddb")))
        elif fault == "sns-error":
            faults.NOTIFY_FAULTS.append(faults.NotifyFault("sns", "InternalError", times("sns")))
        elif fault == "events-error":
            faults.NOTIFY_FAULTS.append(faults.NotifyFault("events", "InternalFailure", times("events")))
        elif fault == "never-insync":
            faults.SYNC.pending = faults.FOREVER if persistent else 3
        else:
            raise AssertionError(f"{fault} is not armed this way")

    def on_phase(self, execution_arn: str) -> None:
        """The phase started (its function was invoked, or the DNS wait paused)."""
        if self.recovered:
            return
        fault, first = self.cell.fault, not self.entered
        self.entered = True
        if fault in ("lambda-crash", "lambda-timeout"):
            if self.lambda_faults_left > 0:
                self.lambda_faults_left -= 1
                if fault == "lambda-crash":
                    raise patches.LambdaServiceFault("Lambda.Unknown")  # an unhandled crash (out of memory...)
                raise patches.LambdaTimedOut(after_side_effects=True)
            return
        if not first:
            return
        if fault in ("console-stop", "exec-timeout"):
            self.end_execution_now(execution_arn)
        else:
            self.arm()

    def recover(self) -> None:
        """The outage ends: every fault cleared."""
        self.recovered = True
        patches.DDB_FAULTS.clear()
        faults.ROUTE53_FAULTS.clear()
        faults.NOTIFY_FAULTS.clear()
        faults.SYNC.pending = 0

    # ------------------------------------------------------------- running it out
    def executions(self) -> list[dict[str, Any]]:
        """This cell's executions (the module's stack serves every cell)."""
        sm = self.canary.installed.state_machine_arn
        listed = self.canary.sfn.list_executions(stateMachineArn=sm)["executions"]
        return [e for e in listed if e["name"] == self.plan.deployment_id]  # the trigger names it so

    def settle(self) -> None:
        """Let every execution end, deliver the status rule its events; after recovery, replay
        the dead letters (and anything a replay starts) until nothing is left."""
        while True:
            progressed = False
            for ex in self.executions():
                wait_for(self.canary.sfn, ex["executionArn"])
            for thread in list(TMP_THREADS):  # a stopped execution's task Lambda may still run
                if thread is not threading.current_thread():
                    thread.join(30)
            for ex in self.executions():
                arn = ex["executionArn"]
                if ex["status"] in ("FAILED", "ABORTED", "TIMED_OUT") and arn not in self.delivered:
                    self.deliver_status(arn)
                    progressed = True
            if self.recovered:
                progressed = self.replay_dead_letters() or progressed
            if not progressed:
                return

    def dead_letters(self) -> list[dict[str, Any]]:
        return list(
            self.aws["sqs"]
            .receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            .get("Messages", [])
        )

    def replay_dead_letters(self) -> bool:
        """What ``weightshift replay`` does: each message back to its function, synchronously."""
        messages = self.dead_letters()
        for message in messages:
            failed = replay.parse(message)
            assert failed.target, failed.why
            assert failed.event, failed.why
            logical = {"trigger": "TriggerFunction", "abort": "AbortFunction"}[failed.target]
            result = self.canary.invoke(logical, failed.event)  # asserts the function succeeded
            self.replayed.append(f"{failed.target}: {result}")
            self.aws["sqs"].delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bool(messages)


@dataclass
class Stack:
    """One emulator, world and installed stack for the whole module: each cell brings its own
    ECS deployment (so its own record and execution) and starts from the same DNS and queue."""

    canary: Canary
    queue_url: str
    cells: int = 0


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    patches.install()
    with mock_aws(config=patches.ENGINE_CONFIG), pytest.MonkeyPatch.context() as mp:
        aws = clients()
        world = build_surroundings(aws)
        installed = installer.install(aws, world.parameters(**SCHEDULE))
        r53 = Route53Log()
        original = r53_models.Route53Backend.change_resource_record_sets

        def change(self: Any, zone_id: str, change_list: Any) -> Any:  # the batches Route 53 accepted
            result = original(self, zone_id, change_list)
            batch = [
                (c["Action"], c["ResourceRecordSet"].get("SetIdentifier", ""), int(c["ResourceRecordSet"]["Weight"]))
                for c in change_list
                if c["ResourceRecordSet"].get("Weight") is not None
            ]
            with r53.lock:
                r53.batches.append(batch)
            return result

        mp.setattr(r53_models.Route53Backend, "change_resource_record_sets", change)
        queue_url = installer.dead_letter_queue(aws, installed)
        yield Stack(Canary(aws, world, installed, r53), queue_url)
        for ex in aws["stepfunctions"].list_executions(stateMachineArn=installed.state_machine_arn)["executions"]:
            if ex["status"] == "RUNNING":  # never leave an engine thread running past the mock
                aws["stepfunctions"].stop_execution(executionArn=ex["executionArn"])
                wait_for(aws["stepfunctions"], ex["executionArn"], timeout=30)


@pytest.fixture
def make_run(stack: Stack) -> Iterator[Callable[[Cell], Run]]:
    handler = logger.registered_handler
    log = io.StringIO()
    old_stream = handler.setStream(log)  # type: ignore[attr-defined]
    lambda_async.reset()
    try:

        def make(cell: Cell) -> Run:
            canary = stack.canary
            stack.cells += 1
            # What an earlier cell may have left (a bug's stranded weights or held lock, the alarm).
            canary.set_pair(**ORIGINAL)
            canary.aws["cloudwatch"].set_alarm_state(
                AlarmName=canary.world.green_alarm, StateValue="OK", StateReason="a new cell"
            )
            route = Deployments(canary.aws["dynamodb"], canary.installed.table_name)
            plan = canary.plan("green", f"ecs-svc/77{stack.cells:017d}")
            if route.lock_holder(plan.route_key):
                canary.aws["dynamodb"].delete_item(
                    TableName=canary.installed.table_name, Key={"pk": {"S": plan.route_key}, "sk": {"S": LOCK_SK}}
                )
            while (
                messages := canary.aws["sqs"]
                .receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10)
                .get("Messages", [])
            ):
                for m in messages:
                    canary.aws["sqs"].delete_message(QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"])
            return Run(canary, cell, plan, stack.queue_url, log)

        yield make
    finally:
        handler.setStream(old_stream)  # type: ignore[attr-defined]


def install_phase_hooks(run: Run) -> None:
    cell, canary = run.cell, run.canary
    if cell.fault in ("lambda-crash", "lambda-timeout"):
        run.lambda_faults_left = faults.FOREVER if cell.kind == "persistent" else ONE_CALL["lambda"]
    if cell.phase == "dns-wait":
        faults.SYNC.pending = 1  # Route 53 answers PENDING first, so the workflow pauses in its DNS wait

        def on_wait(wait: patches.Wait) -> None:
            if wait.kind == "wait" and wait.state == "Pause for DNS sync" and not run.entered:
                run.on_phase(wait.execution)

        patches.CLOCK.hooks.append(on_wait)
        return
    if cell.phase == "failback":  # a bad release: the alarm fires at step 1, the gate fails it
        canary.on_step(
            1,
            lambda: canary.aws["cloudwatch"].set_alarm_state(
                AlarmName=canary.world.green_alarm, StateValue="ALARM", StateReason="5xx spike"
            ),
        )
    if cell.phase == "abort":  # on-call presses Stop during step 1's bake (no Lambda is running)

        def stop_in_bake(wait: patches.Wait) -> None:
            if wait.kind == "wait" and wait.state == "Bake and watch health" and not run.stopped:
                run.stopped = True
                canary.sfn.stop_execution(executionArn=wait.execution, cause="on-call pressed Stop")

        patches.CLOCK.hooks.append(stop_in_bake)
    logical, action = PHASE_ENTRY[cell.phase]
    function = canary.installed.functions[logical]

    def hook(function_name: str, event: Any) -> None:
        if function_name != function or (action and event.get("action") != action):
            return
        if cell.phase == "shift" and int((event.get("state", {}).get("shift") or {}).get("stepIndex", 0)) != 0:
            return  # the matrix hits step 1 (50/50)
        run.on_phase(str(event.get("executionArn") or event.get("detail", {}).get("executionArn", "")))

    patches.INVOKE_HOOKS.append(hook)


def run_cell(run: Run) -> None:
    install_phase_hooks(run)
    deployment = run.plan.ecs_deployment
    run.invoke_async("TriggerFunction", task_event(run.canary.world, "green", f"task{deployment[-8:]}", deployment))
    run.trigger_done.set()
    run.settle()
    if run.cell.kind != "persistent":  # a transient fault, a Stop or a timeout needs no operator
        assert run.dead_letters() == [], "a dead letter without a persistent fault"
    run.recover()
    run.settle()


# --------------------------------------------------------------------------- the invariants
def log_lines(run: Run) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.log.getvalue().split("\n") if line.startswith("{")]


def check_invariants(run: Run, expect: str) -> None:
    """Invariants 1-6 of the matrix, from what AWS would show after the cell."""
    canary, plan = run.canary, run.plan
    weights = canary.weights()
    table = Deployments(canary.aws["dynamodb"], canary.installed.table_name)
    found = table.get(plan.route_key, plan.deployment_id)
    record = found.as_dict() if found is not None else {}
    status = record.get("status")
    context = f"weights {weights}, record {status}: {record.get('reason')!r}; replayed {run.replayed}"
    # 1. the recorded original or the full promotion, never in between, never 0/0
    assert weights in (ORIGINAL, PROMOTED), f"stranded: {context}"
    assert record.get("originalWeights") in (None, ORIGINAL), context
    # 2. the record agrees with DNS and says why when it did not succeed
    assert status in (S, RB, RJ), f"record not finished: {context}"
    assert weights == (PROMOTED if status == S else ORIGINAL), f"record and DNS disagree: {context}"
    if status != S:
        assert record.get("reason"), context
    assert status == expect, context
    # 3. the route lock is released (after recovery, for a persistent fault)
    assert table.lock_holder(plan.route_key) is None, f"lock still held: {table.lock_holder(plan.route_key)}"
    # 4. one execution for the deployment
    executions = run.executions()
    assert len(executions) == 1, [e["name"] for e in executions]
    # 5. the outcome was announced, and no notification was lost silently
    kind = OUTCOME_KIND[status]
    mine = [p for p in faults.PUBLISHED if p.deployment_id == plan.deployment_id]
    assert any(p.ok and p.kind == kind for p in mine), f"no {kind} notification: {mine}"
    warned = {
        ("sns" if "SNS" in str(line.get("message")) else "events", str(line.get("kind")))
        for line in log_lines(run)
        if str(line.get("message", "")).startswith(("could not publish to SNS", "could not put the EventBridge"))
    }
    silent = [p for p in mine if not p.ok and (p.service, p.kind) not in warned]
    assert not silent, f"notifications lost without a log line: {silent}"
    # 6. a promoted release is never moved back
    arn = executions[0]["executionArn"]
    if any(e.get("stateEnteredEventDetails", {}).get("name") == "Promote" for e in canary.history(arn)):
        batches = canary.r53.weight_batches()
        after = batches[batches.index(PROMOTED) :]
        assert status == S, f"promoted, then recorded {status}: {context}"
        assert all(b == PROMOTED for b in after), f"moved back after promotion: {batches}"


# --------------------------------------------------------------------------- the tests
# ``make test`` runs these cells (each phase at least once, each fault at least once, a
# recovery from a persistent outage in every phase that has one, one cell per bug);
# ``make matrix`` runs them all (about a second of CPU per cell).
IN_MAKE_TEST = {
    "ddb-ise/trigger/persistent",
    "lambda-timeout/trigger/persistent",
    "ddb-ise/preflight/persistent",
    "lambda-crash/preflight/persistent",
    "console-stop/preflight/once",
    "console-stop/readiness/once",
    "ddb-throttling/record/transient",
    "ddb-ise/record/persistent",
    "ddb-ise/shift/persistent",
    "r53-prior-request/shift/persistent",
    "lambda-timeout/shift/persistent",
    "console-stop/shift/once",
    "r53-throttling/dns-wait/persistent",
    "never-insync/dns-wait/persistent",
    "ddb-ise/bake-gate/persistent",
    "lambda-crash/bake-gate/persistent",
    "exec-timeout/bake-gate/once",
    "ddb-ise/promote/persistent",
    "lambda-timeout/promote/persistent",
    "events-error/promote/transient",
    "console-stop/promote/once",
    "r53-throttling/failback/persistent",
    "sns-error/failback/persistent",
    "ddb-ise/failback/persistent",
    "ddb-ise/abort/persistent",
    "lambda-crash/abort/persistent",
}


def _param(entry: Cell | Impossible) -> Any:
    if isinstance(entry, Impossible):
        return pytest.param(entry, id=entry.id, marks=pytest.mark.skip(reason=f"cannot happen: {entry.reason}"))
    marks = [pytest.mark.xfail(strict=True, reason=entry.bug)] if entry.bug else []
    if entry.id not in IN_MAKE_TEST:
        marks.append(pytest.mark.matrix_full)
    return pytest.param(entry, id=entry.id, marks=marks)


@pytest.mark.parametrize("cell", [_param(e) for e in MATRIX])
def test_fault_matrix(cell: Cell, make_run: Callable[[Cell], Run]) -> None:
    run = make_run(cell)

    run_cell(run)

    assert run.entered, f"the fault never met its phase ({cell.phase})"
    check_invariants(run, cell.expect)


def test_the_matrix_is_complete_and_each_line_is_one_cell() -> None:
    seen: dict[tuple[str, str], list[str]] = {}
    for entry in MATRIX:
        assert entry.fault in FAULTS, entry
        assert entry.phase in PHASES, entry
        seen.setdefault((entry.fault, entry.phase), []).append(entry.kind if isinstance(entry, Cell) else "impossible")
    assert set(seen) == {(f, p) for f in FAULTS for p in PHASES}, "every fault x every phase"
    for pair, kinds in seen.items():
        assert len(kinds) == len(set(kinds)), pair
        assert kinds in (["impossible"], ["once"], ["transient", "persistent"], ["persistent"]), (pair, kinds)
    assert all(isinstance(e, Cell) or e.reason for e in MATRIX)
    runnable = {e.id for e in MATRIX if isinstance(e, Cell)}
    assert runnable >= IN_MAKE_TEST, IN_MAKE_TEST - runnable
