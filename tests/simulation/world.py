"""The simulated world of issue 8: one installed stack in the in-process emulator, and
what the simulation observes of it, AWS-level only.

- **Scheduling.** With ``CLOCK.scale = 0`` an execution would run to its end in a
  blink. Instead, every Wait state of every execution *parks*: the engine's thread
  blocks at the wait (a CLOCK hook, outside any Lambda invoke, so no emulator lock is
  held) until the simulation lets that much time pass for it. Between two actions the
  world is *quiescent*: every engine thread is parked or finished. So actions land at
  known points of a canary (a bake, a queue poll), and a run is reproducible.
- **Simulated time.** One clock for the whole world (``patches.SIM_TIME``, which the
  functions read too). A parked wait is *due* at the simulated time it was parked plus
  its seconds; time passes only forward, and waits end in the order they are due, as
  on AWS. Letting one execution's wait end first ends every wait due before it.
- **What it observes.** Route 53 batches (with the change's Comment, which names the
  deployment, and which execution's invocation made the call, as CloudTrail would say),
  executions and their history, the deployments table, the notifications the emulator
  recorded (``faults.PUBLISHED``), and when each parked bake was let go with which alarm
  states. Never the functions' private state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import moto.route53.responses as r53_responses
from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudwatch.models import cloudwatch_backends
from moto.elbv2.models import elbv2_backends
from moto.route53.models import route53_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.stepfunctions.parser.utils import TMP_THREADS
from weightshift_emulator import lambda_async, patches
from weightshift_emulator.world import ACCOUNT, REGION

# ------------------------------------------------------------------ Route 53 batches


@dataclass(frozen=True)
class Batch:
    """One ChangeResourceRecordSets batch Route 53 accepted."""

    index: int
    comment: str
    writer: str  # the execution whose Lambda invocation made the call ("" if none)
    function: str
    weights: dict[str, int]  # the pair after the batch

    def about(self, deployment_id: str) -> bool:
        return f"Weightshift {deployment_id}:" in self.comment


@dataclass
class Observed:
    batches: list[Batch] = field(default_factory=list)
    current: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, current: dict[str, int]) -> None:
        with self.lock:
            self.batches.clear()
            self.current = dict(current)


OBSERVED = Observed()
_CALLER = threading.local()  # (function name, execution ARN) of the invocation running in this thread


def _tag_invocation(function_name: str, event: Any) -> None:
    arn = ""
    if isinstance(event, dict):
        arn = str(event.get("executionArn") or (event.get("detail") or {}).get("executionArn") or "")
    _CALLER.value = (function_name, arn)


def _record_change(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps moto's ChangeResourceRecordSets response (outside the fault hooks, so a
    refused call is not recorded)."""

    def change(self: Any) -> Any:
        result = original(self)
        comment = self._get_param("ChangeBatch.Comment") or ""
        change_list = self._get_param("ChangeBatch.Changes") or []
        function, writer = getattr(_CALLER, "value", ("", ""))
        with OBSERVED.lock:
            for ch in change_list:
                rrs = ch["ResourceRecordSet"]
                if rrs.get("Weight") is not None and ch["Action"] in ("UPSERT", "CREATE"):
                    OBSERVED.current[str(rrs.get("SetIdentifier", ""))] = int(rrs["Weight"])
            OBSERVED.batches.append(
                Batch(len(OBSERVED.batches), str(comment), writer, function, dict(OBSERVED.current))
            )
        return result

    return change


@contextmanager
def observing() -> Iterator[None]:
    """Install the batch log (for one stack's life)."""
    original = r53_responses.Route53.change_resource_record_sets
    r53_responses.Route53.change_resource_record_sets = _record_change(original)
    try:
        yield
    finally:
        r53_responses.Route53.change_resource_record_sets = original
        SCHEDULER.release_all()


@contextmanager
def scheduling() -> Iterator[None]:
    """Install the invocation tag and the parking hook (``patches.reset`` clears them, so
    a test installs them itself, after the suite's per-test reset)."""
    patches.INVOKE_HOOKS.append(_tag_invocation)
    patches.CLOCK.hooks.append(SCHEDULER.hook)
    try:
        yield
    finally:
        if _tag_invocation in patches.INVOKE_HOOKS:
            patches.INVOKE_HOOKS.remove(_tag_invocation)
        if SCHEDULER.hook in patches.CLOCK.hooks:
            patches.CLOCK.hooks.remove(SCHEDULER.hook)
        SCHEDULER.release_all()


def still_running(execution_arn: str) -> bool:
    """The scheduler's own question (emulator plumbing, not an observation): read from
    the engine's backend, as a DescribeExecution per poll would cost more than the rest."""
    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    return str(backend.describe_execution(execution_arn).status) == "RUNNING"


def executions_now(state_machine_arn: str) -> tuple[tuple[str, str, str], ...]:
    """Each execution's ARN, name and status, newest first: what ListExecutions answers,
    read from the engine's backend (its own listing), once per look."""
    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    listed, more = backend.list_executions(state_machine_arn, max_results=1000)
    assert more is None, "over 1000 executions in one sequence"
    return tuple((e.execution_arn, e.name, str(e.status)) for e in listed)


def alarm_states(names: list[str]) -> dict[str, str]:
    """Each named alarm's state, read from CloudWatch's backend: the same ``StateValue`` a
    DescribeAlarms answers (only the simulation sets it), without a call per let-go wait."""
    alarms = cloudwatch_backends[ACCOUNT][REGION].alarms
    return {name: str(alarms[name].state_value) for name in names if name in alarms}


def dns_weights(zone_id: str, record_name: str) -> dict[str, int]:
    """The pair's weights by SetIdentifier, read from Route 53's backend: what a
    ListResourceRecordSets answers (no fault is spent on it, as on the simulation's
    every other look)."""
    zone = route53_backends[ACCOUNT]["global"].get_hosted_zone(zone_id)
    name = record_name.rstrip(".") + "."
    return {str(r.set_identifier): int(r.weight) for r in zone.rrsets if r.name == name and r.weight is not None}


def execution_history(execution_arn: str) -> list[dict[str, Any]]:
    """An execution's history events, read from the engine's backend: what
    GetExecutionHistory pages through (the simulation reads each ended execution's once)."""
    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    return list(backend.get_execution_history(execution_arn)["events"])


def target_states(target_group_arn: str) -> list[str]:
    """Each registered target's health state, read from ELB's backend: what
    DescribeTargetHealth answers (the emulator's ``initial`` included)."""
    backend = elbv2_backends[ACCOUNT][REGION]
    return [str(h.status) for h in backend.describe_target_health(target_group_arn, [])]


def dead_letters_waiting(queue_url: str) -> bool:
    """Whether the dead-letter queue holds a message, read from SQS's backend (a
    ReceiveMessage per settle round would answer "none" almost every time)."""
    return sqs_backends[ACCOUNT][REGION].get_queue(queue_url.rsplit("/", 1)[-1]).approximate_number_of_messages > 0


def deliver(function_name: str, event: dict[str, Any]) -> None:
    """EventBridge delivers ``event`` to a function: Lambda's asynchronous invoke, as the
    emulator's Invoke with ``InvocationType=Event`` runs it (``lambda_async.accept``: the
    attempts, the retries, the on-failure destination), without the SDK round trip."""
    lambda_async.accept(lambda_backend(ACCOUNT, REGION), function_name, None, event)


def clear_executions(state_machine_arn: str) -> None:
    """Forget the ended executions of earlier sequences (emulator state, between sequences),
    so that listing stays cheap."""
    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    machine = backend.describe_state_machine(state_machine_arn)
    machine.executions[:] = [e for e in machine.executions if e.status == "RUNNING"]


# ------------------------------------------------------------------------ parking


@dataclass
class Parked:
    execution: str
    state: str
    seconds: float
    thread: int
    due: float  # simulated seconds (patches.SIM_TIME.elapsed) when the wait ends
    go: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Release:
    """A parked wait let go: that much time passed for the execution."""

    execution: str
    state: str
    batch_index: int  # how many batches Route 53 had accepted when it was let go
    alarms: dict[str, str]  # every alarm's state at that moment


class Scheduler:
    """Parks each Wait state's thread until :meth:`release`; :meth:`quiesce` waits until
    every engine thread is parked or done."""

    def __init__(self) -> None:
        self.parked: dict[str, Parked] = {}
        self.lock = threading.Lock()
        self.releases: list[Release] = []
        self.parking = threading.Condition(self.lock)  # notified each time a thread parks

    def hook(self, wait: patches.Wait) -> None:
        if wait.kind != "wait" or not wait.execution.startswith("arn:"):
            return
        due = patches.SIM_TIME.elapsed + wait.seconds
        spot = Parked(wait.execution, wait.state, wait.seconds, threading.get_ident(), due)
        with self.lock:
            self.parked[wait.execution] = spot
            self.parking.notify_all()
        spot.go.wait()

    def next_due(self) -> Parked | None:
        """The parked wait that ends first (ties: by execution ARN, so a run repeats)."""
        with self.lock:
            return min(self.parked.values(), key=lambda p: (p.due, p.execution), default=None)

    def release(self, execution: str, batch_index: int, alarms: dict[str, str]) -> Parked:
        """Let one parked wait end: simulated time moves to when it is due."""
        with self.lock:
            spot = self.parked.pop(execution)
            patches.SIM_TIME.advance_to(spot.due)
            self.releases.append(Release(execution, spot.state, batch_index, dict(alarms)))
        spot.go.set()
        return spot

    def release_all(self) -> None:
        with self.lock:
            spots = list(self.parked.values())
            self.parked.clear()
        for spot in spots:
            spot.go.set()

    def quiesce(self, running: Callable[[str], bool], timeout: float = 60) -> None:
        """Until every live engine thread is parked; a parked execution that no longer runs
        (stopped while it waited) is let go, so its thread ends.

        No busy polling: while a Task's thread runs, it joins that thread (a Task never
        parks, it ends); otherwise it waits until a thread parks (the hook notifies), or
        ``THREAD_END_POLL`` passes (an execution's own threads end, notifying nobody)."""
        deadline = time.monotonic() + timeout
        while True:
            task: threading.Thread | None = None
            with self.parking:
                # moto appends a thread to TMP_THREADS, then starts it (from other threads):
                # one not started yet counts as busy, and only ended ones are removed.
                for t in [t for t in TMP_THREADS if t.ident is not None and not t.is_alive()]:
                    TMP_THREADS.remove(t)
                alive = list(TMP_THREADS)
                parked_threads = {p.thread for p in self.parked.values()}
                spots = list(self.parked.values())
                # moto runs each execution in a thread (_execution_logic) that joins the program's
                # thread (the one that parks at a Wait), and each Task in a thread of its own.
                logic = [t for t in alive if "_execution_logic" in t.name]
                others = [t for t in alive if "_execution_logic" not in t.name]
                # A bake is a Task that parks: its own thread waits at the hook, and the
                # program's thread (eval) waits for that Task; such an eval thread is parked too.
                unparked = [t for t in others if t.ident not in parked_threads]
                parked_tasks = sum(1 for t in others if t.ident in parked_threads and "(_exec_and_notify)" in t.name)
                waiting_programs = [t for t in unparked if "(eval)" in t.name][:parked_tasks]
                busy_threads = [t for t in unparked if t not in waiting_programs]
                if not (len(logic) == len(spots) and not busy_threads):
                    if time.monotonic() > deadline:
                        busy = [t.name for t in busy_threads]
                        raise AssertionError(f"the emulator did not quiesce in {timeout}s: busy threads {busy}")
                    # (A bake is a Task that parks: its thread waits for its token at the hook.)
                    task = next(
                        (t for t in busy_threads if t.ident is not None and "(_exec_and_notify)" in t.name), None
                    )
                    if task is None:
                        self.parking.wait(THREAD_END_POLL)  # holds the lock until it waits: no park is missed
                        continue
            if task is not None:
                task.join(TASK_JOIN)
                continue
            ended = [p for p in spots if not running(p.execution)]
            if not ended:
                return
            with self.lock:
                for p in ended:
                    self.parked.pop(p.execution, None)
            for p in ended:
                p.go.set()


THREAD_END_POLL = 0.001  # seconds: how soon quiesce sees an execution's last thread end
TASK_JOIN = 0.05  # seconds: at most this long on one Task's thread before looking again


SCHEDULER = Scheduler()
