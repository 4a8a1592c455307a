"""Patches that make moto behave enough like AWS to run Weightshift offline.

Each patch touches a moto internal. moto is pinned exactly in pyproject.toml,
and ``tests/component/test_emulator_patches.py`` has one test per patched
internal that fails loudly if an upgrade moves it.

- Lambda: moto's Docker-less backend only echoes payloads. We run the real
  handler in-process, with the function's environment variables. An ``Event``
  (asynchronous) invoke goes through ``lambda_async.py``: retries, then the
  on-failure destination.
- Wait and Retry: moto's engine really sleeps. We record each requested
  duration in a :class:`Clock` and sleep a scaled-down fraction of it.
- DynamoDB: moto checks a ConditionExpression and then writes, without a lock.
  Real DynamoDB makes each conditional write atomic; one lock gives moto the
  same guarantee, so concurrency tests exercise our code, not moto's race.
- Route 53 health-check status: moto hard-codes "Healthy"; we let a test mark
  a check unhealthy.
- ALB target health: moto reports a target ``healthy`` the moment it is registered;
  ELB reports it ``initial`` until it passes its health checks. A test lists the
  targets whose checks have not passed yet (:data:`INITIAL_TARGETS`).
- DynamoDB faults: a test may make a table operation fail with a server-side error
  (InternalServerError, throttling) the way DynamoDB does; boto3's own retries still
  run against it, as they do on AWS.
- StopExecution: moto drops the request's ``error`` and ``cause`` (AWS shows them
  on the ABORTED execution and in its status-change event), and fails when the
  stop comes before the execution's worker is ready; both fixed here. And a Task
  that fails after the Stop (its Lambda kept running) turned the ABORTED execution
  into FAILED; an aborted execution stays ABORTED here, as on AWS.
- Lambda timeouts: a test may make an invoke time out *after* the handler ran (its
  side effects done, its answer lost), answered as Lambda answers a timed-out invoke.
- SDK retries: botocore sleeps between its own retries (standard mode: up to 2^n
  seconds); recorded on the :class:`Clock` like the engine's waits, not slept.
- Route 53, SNS and EventBridge faults, and a record of every notification: see
  ``faults.py``.
- The functions' clock: handlers read the time through ``weightshift.clock.now``.
  Outside a simulation it is the wall clock, as on AWS. A simulation that lets time
  pass at Wait states (:data:`SIM_TIME`) runs the functions on that simulated time,
  so a deadline or a queue's hour passes for them when it passes for the workflow.
  Named deviation: the engine's own timestamps (execution start, history events,
  ``$$.State.EnteredTime``) stay on the wall clock; Weightshift's functions do not
  read them. Retry intervals and SDK backoffs take no simulated time.
- aws-sdk task errors: moto names a Route 53 ``Throttling`` on an
  ``aws-sdk:route53:getChange`` task ``route53.route53Exception`` (its own service
  spelling, and the service name again for an error botocore does not model). AWS
  names it ``Route53.ThrottlingException``; named here as AWS does.
- ASL parse cache: moto's engine parses the definition with ANTLR for every execution
  (~75 ms, far more under thread contention). Each distinct definition is parsed once
  and kept pickled; every execution unpickles its own copy of that pristine program
  (~1.3 ms), as fresh as a parse: components carry per-execution state (a retrier's
  attempt count).
- Engine clients: moto's engine builds a new boto3 client for every Lambda and aws-sdk
  task (~8 ms each). One client per (service, region, endpoint) serves them all: the
  same configuration (no retries, so no retry state to share), and botocore clients
  are thread-safe.
- CloudWatch alarms start INSUFFICIENT_DATA, keep their state on update, and send the
  "CloudWatch Alarm State Change" event; GetMetricData rounds StartTime as CloudWatch
  does: ``alarms.py`` (which also evaluates alarms from their data on ``simclock.py``'s time).
  GetMetricData with metric math and percentiles, and PutMetricData Values/Counts kept as
  distributions: ``metric_data.py`` / ``metric_math.py`` (installed by ``alarms.install``).
- Fast paths that answer the same for less CPU (cached JSONPath parses, DynamoDB
  attribute values already in wire form): ``speed.py``.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import itertools
import json
import os
import pickle
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.endpoint as botocore_endpoint
import moto.awslambda_simple.models as lambda_simple
import moto.dynamodb.exceptions as ddb_exceptions
import moto.dynamodb.models as ddb_models
import moto.elbv2.models as elbv2_models
import moto.route53.responses as r53_responses
import moto.stepfunctions.models as sfn_models
import moto.stepfunctions.parser.asl.component.common.retry.retrier_decl as retrier_decl
import moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils as lambda_eval_utils
import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk as aws_sdk
import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback as cb_task
import moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function as wait_function
import moto.stepfunctions.parser.asl.eval.environment as sfn_environment
import moto.stepfunctions.parser.asl.utils.boto_client as engine_boto_client
import moto.stepfunctions.parser.backend.execution as sfn_execution
import moto.stepfunctions.parser.backend.execution_worker as sfn_execution_worker
import moto.stepfunctions.responses as sfn_responses
from botocore.exceptions import ClientError
from moto.core.exceptions import AWSError
from moto.core.models import botocore_stubber
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.stepfunctions.exceptions import ExecutionDoesNotExist
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerTimeout,
    CallbackNotifyConsumerError,
    CallbackOutcomeFailure,
    CallbackOutcomeTimedOut,
)
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from weightshift_emulator import faults, speed

ENGINE_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


# --------------------------------------------------------------------- clock
@dataclass
class Wait:
    kind: str  # "wait" (a Wait state, or a waitForTaskToken task's timeout) or "retry" (a Retry interval)
    state: str
    seconds: float
    execution: str
    # For a task waiting on its token: true once the token was answered, so a clock that
    # lets the wait's time pass (simclock.following_waits) can stop at that moment.
    ended: Callable[[], bool] | None = None
    # The simulated seconds it really lasted, once over, when that can be less than
    # ``seconds`` (a token answered early); None: all of ``seconds``.
    elapsed: float | None = None

    @property
    def lasted(self) -> float:
        return self.seconds if self.elapsed is None else self.elapsed


@dataclass
class Clock:
    """Records the waits the engine asks for; sleeps ``scale`` of each."""

    scale: float = 0.0
    waits: list[Wait] = field(default_factory=list)
    hooks: list[Callable[[Wait], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, wait: Wait) -> None:
        with self._lock:
            self.waits.append(wait)
        for hook in list(self.hooks):
            hook(wait)

    def total(self, kind: str | None = None) -> float:
        return sum(w.seconds for w in self.waits if kind is None or w.kind == kind)

    def for_execution(self, execution_arn: str) -> list[Wait]:
        return [w for w in self.waits if w.execution == execution_arn]


CLOCK = Clock()


@dataclass
class SimulatedTime:
    """The time the functions see while a simulation lets time pass.

    Off (``start`` is None): the wall clock. On: ``start`` plus the simulated seconds
    the simulation let pass, which only moves forward."""

    start: datetime | None = None
    elapsed: float = 0.0

    def now(self) -> datetime:
        if self.start is None:
            return datetime.now(UTC)
        return self.start + timedelta(seconds=self.elapsed)

    def begin(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC)
        self.elapsed = 0.0

    def advance_to(self, elapsed: float) -> None:
        self.elapsed = max(self.elapsed, elapsed)

    def end(self) -> None:
        self.start, self.elapsed = None, 0.0


SIM_TIME = SimulatedTime()


def _context(env: Any) -> tuple[str, str]:
    data = env.states.context_object.context_object_data
    return data.get("State", {}).get("Name", "?"), data.get("Execution", {}).get("Id", "?")


def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    state, execution = _context(env)
    CLOCK.record(Wait("wait", state, float(wait_seconds), execution))
    if CLOCK.scale > 0 and wait_seconds > 0:
        # Interruptible, like the original: a StopExecution wakes it.
        env.program_state_event.wait(wait_seconds * CLOCK.scale)


def _wait_for_task_token(
    self: Any, env: Any, timeout_seconds: int, callback_endpoint: Any, heartbeat_endpoint: Any
) -> Any:
    """A ``waitForTaskToken`` task waits for its token on the clock, like a Wait state.

    AWS ends such a task when SendTaskSuccess/SendTaskFailure names its token, or with
    States.Timeout after its TimeoutSeconds (Step Functions Developer Guide, "Wait for a
    Callback with Task Token"; "Task state": TimeoutSeconds/TimeoutSecondsPath). The engine
    waits the wall clock's seconds; here the wait is recorded on the clock (its hooks may
    let simulated time pass, and an alarm the time brings may answer the token) and sleeps
    ``CLOCK.scale`` of it. Unanswered at the end: timed out, as on AWS. With a heartbeat,
    the engine's own wait."""
    if heartbeat_endpoint is not None:
        return _ORIGINAL["wait_for_token"](self, env, timeout_seconds, callback_endpoint, heartbeat_endpoint)
    state, execution = _context(env)
    answered = lambda: callback_endpoint.get_outcome() is not None  # noqa: E731 - read by the clock's hooks
    wait = Wait("wait", state, float(timeout_seconds), execution, ended=answered)
    began_sim, began_wall = SIM_TIME.elapsed, time.monotonic()
    CLOCK.record(wait)
    outcome = callback_endpoint.get_outcome()
    if outcome is None and CLOCK.scale > 0 and timeout_seconds > 0:
        # Interruptible, like a Wait state: a StopExecution ends the wait.
        deadline = time.monotonic() + timeout_seconds * CLOCK.scale
        while outcome is None and env.is_running() and (left := deadline - time.monotonic()) > 0:
            outcome = callback_endpoint.wait(timeout=min(left, 0.05))
    if outcome is not None:  # answered before its time: how long it really waited
        if SIM_TIME.start is not None:
            lasted = SIM_TIME.elapsed - began_sim
        elif CLOCK.scale > 0:
            lasted = (time.monotonic() - began_wall) / CLOCK.scale
        else:
            lasted = 0.0
        wait.elapsed = min(float(timeout_seconds), max(0.0, lasted))
    # The task is closed either way: a later SendTask* with its token gets TaskTimedOut ("The
    # task token has either expired or the task associated with the token has already been
    # closed", SendTaskFailure API reference). moto never closes a token, and would accept it.
    callback_endpoint.report(CallbackConsumerTimeout())
    return outcome if outcome is not None else CallbackOutcomeTimedOut(callback_id=callback_endpoint.callback_id)


def _send_task_failure_response(self: Any) -> Any:
    """SendTaskFailure as the API reference describes it, where moto differs:
    - the ``cause`` is kept (moto's response drops it; the task's failure, its Catch's
      ``Cause``, carries it);
    - a token whose task is closed gets ``TaskTimedOut`` ("The task token has either expired
      or the task associated with the token has already been closed"), one no execution
      knows ``InvalidToken`` (moto raises those without a message, a TypeError, a 500)."""
    token = self._get_param("taskToken")
    outcome = CallbackOutcomeFailure(callback_id=token, error=self._get_param("error"), cause=self._get_param("cause"))
    for execution in self.stepfunction_backend._get_executions():
        worker = getattr(execution, "exec_worker", None)
        if worker is None:
            continue
        try:
            if worker.env.callback_pool_manager.notify(callback_id=token, outcome=outcome):
                return ActionResult({})
        except CallbackNotifyConsumerError as closed:
            timed_out = isinstance(closed.callback_consumer_error, CallbackConsumerTimeout)
            raise AWSError(
                "The task token has either expired or the task associated with the token has already been closed."
                if timed_out
                else "The activity token is invalid.",
                exception_type="TaskTimedOut" if timed_out else "TaskDoesNotExist",
            ) from None
    raise AWSError("Invalid Token: 'Invalid token'", exception_type="InvalidToken")


class _RecordedTime:
    """Stands in for the ``time`` module where the engine or the SDK sleeps: records the
    wait on the clock (as ``kind``) and sleeps only ``CLOCK.scale`` of it.
    - ``"retry"``: inside the engine's retrier (a state's Retry interval);
    - ``"sdk-retry"``: inside ``botocore.endpoint``, between the SDK's own retries
      (standard mode: a random delay up to 2^attempt s)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.env: Any = None

    def sleep(self, seconds: float) -> None:
        CLOCK.record(Wait(self.kind, "?", float(seconds), "?"))
        if CLOCK.scale > 0:
            time.sleep(seconds * CLOCK.scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


# ------------------------------------------------------------------- lambda
class LambdaContext:
    """The attributes of a Lambda context object that Powertools reads."""

    def __init__(self, function_name: str, arn: str, memory: int = 256) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "in-process"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


class LambdaServiceFault(Exception):
    """Raise from an INVOKE_HOOKS hook to simulate a Lambda service error
    (``Lambda.ServiceException``, ``Lambda.Unknown``...) rather than a handler error."""

    def __init__(self, error_type: str = "Lambda.ServiceException") -> None:
        super().__init__(f"simulated {error_type}")
        self.error_type = error_type


class LambdaTimedOut(Exception):
    """Raise from an INVOKE_HOOKS hook to make the invoke time out.

    The worst case is modelled: the handler still runs to the end (its DNS change, its
    DynamoDB writes, its notifications all happen) and then its answer is lost, as when
    the function is killed at its timeout just before returning. Lambda answers a
    timed-out invoke with ``X-Amz-Function-Error: Unhandled`` and the payload
    ``{"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: <id> Error: Task timed
    out after <timeout>.00 seconds"}`` (what Lambda's runtime interface emulator writes,
    aws/aws-lambda-runtime-interface-emulator, and what invokers observe, e.g.
    seek-oss/aws-codedeploy-hooks). A Task state whose Resource is the function ARN takes
    the ``errorType`` as its error name, so the state machine sees ``Sandbox.Timedout``.
    The Step Functions guide says unhandled errors "including function timeouts" are
    reported as ``Lambda.Unknown`` (bp-lambda-serviceexception); the ASL retries
    ``Lambda.Unknown`` on every Lambda task but ``Sandbox.Timedout`` only where it
    retries ``States.ALL``, so ``Sandbox.Timedout`` is the harsher name and the one used.
    For an asynchronous invoke a timeout is a function error, retried by Lambda.
    """

    def __init__(self, after_side_effects: bool = True) -> None:
        super().__init__("simulated Lambda timeout")
        self.after_side_effects = after_side_effects


def timed_out_payload(fn: Any, request_id: str) -> dict[str, str]:
    timeout = int(getattr(fn, "timeout", 0) or 3)
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout}.00 seconds",
    }


_ENV_LOCK = threading.RLock()
# Extra environment for every in-process invoke (e.g. AWS_ENDPOINT_URL in server mode).
INVOKE_ENVIRONMENT: dict[str, str] = {"POWERTOOLS_TRACE_DISABLED": "true"}
# Called before each handler runs: (function name, event). A test may raise from it
# to simulate a crash of the Lambda runtime.
INVOKE_HOOKS: list[Callable[[str, Any], None]] = []


_ADDED: set[str] = set()


@contextmanager
def environment(extra: dict[str, str]) -> Iterator[None]:
    """Apply a function's env vars for one handler call (handlers read env per call).

    Keys the call adds stay set until :func:`cleanup_environment`: removing a key
    while another thread iterates ``os.environ`` (botocore does, to find proxies)
    raises KeyError in that thread. Values that were there are put back at once.
    """
    with _ENV_LOCK:
        changed = {k: str(v) for k, v in extra.items() if os.environ.get(k) != str(v)}  # each set is a putenv
        saved = {k: os.environ[k] for k in changed if k in os.environ}
        _ADDED.update(k for k in changed if k not in os.environ)
        os.environ.update(changed)
        try:
            yield
        finally:
            os.environ.update(saved)


def cleanup_environment() -> None:
    """Remove the keys handler calls added. Call it when no execution is running."""
    with _ENV_LOCK:
        for key in sorted(_ADDED):
            os.environ.pop(key, None)
        _ADDED.clear()


def resolve_handler(handler: str) -> Callable[[Any, Any], Any]:
    module_name, _, attr = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]


def stack_trace(exc: BaseException) -> list[str]:
    """The last lines of the formatted traceback, as the emulator's error payload carries
    them: ``traceback.format_exception(exc)[-3:]``, formatting only the frames that end
    up in them (formatting every frame, with 3.11's caret anchors, parses each one's
    source). Recursion near the end (repeated frames, which the formatting folds into
    "[Previous line repeated ...]") takes the full formatting."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno, tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    tail = frames[-4:]
    if any(a == b for a, b in itertools.pairwise(tail)):
        return traceback.format_exception(exc)[-3:]
    return traceback.format_exception(exc, limit=-2)[-3:]


def run_handler(fn: Any, body: Any, response_headers: dict[str, Any]) -> bytes:
    """Run a deployed function's real handler; report errors the way Lambda does."""
    event = json.loads(body) if body else {}
    env = {k: str(v) for k, v in (fn.environment_vars or {}).items()}
    env.update(INVOKE_ENVIRONMENT)
    env.setdefault("AWS_LAMBDA_FUNCTION_NAME", fn.function_name)
    context = LambdaContext(fn.function_name, fn.function_arn)
    with environment(env):
        try:
            for hook in list(INVOKE_HOOKS):
                hook(fn.function_name, event)
            handler = resolve_handler(fn.handler)
            result = handler(event, context)
        except LambdaTimedOut as timeout:
            if timeout.after_side_effects:
                with contextlib.suppress(Exception):  # its answer is lost with the timeout either way
                    resolve_handler(fn.handler)(event, context)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(timed_out_payload(fn, context.aws_request_id)).encode()
        except Exception as exc:  # noqa: BLE001 - Lambda turns any exception into a function error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": getattr(exc, "error_type", type(exc).__name__),
                    "errorMessage": str(exc),
                    "stackTrace": stack_trace(exc),
                }
            ).encode()
    return json.dumps(result).encode()


def _invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    if str((headers or {}).get("X-Amz-Invocation-Type", "")).lower() == "event":
        # Asynchronous: Lambda accepts the event (202, empty body), then runs it with its own
        # retries and on-failure destination (lambda_async.py).
        from weightshift_emulator import lambda_async

        lambda_async.accept(self, function_name, qualifier, json.loads(body) if body else {})
        return b""
    fn = self.get_function(function_name, qualifier)
    return run_handler(fn, body, response_headers)


# ------------------------------------------------------------------ dynamodb
_DDB_LOCK = threading.RLock()


@dataclass
class DdbFault:
    """Fail ``times`` calls of a DynamoDB ``operation`` whose key's sort key starts with
    ``sort_key`` (or any key, if empty) with ``code``.

    Codes DynamoDB really returns for a server-side fault, and that boto3 retries by
    itself before the caller sees them (botocore's retry config: 5xx and throttling
    errors; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
    ``InternalServerError``, ``ProvisionedThroughputExceededException``,
    ``ThrottlingException``, ``RequestLimitExceeded``. A persistent fault needs
    ``times`` above the SDK's attempts to reach the caller.
    """

    operation: str  # put_item | update_item | delete_item | get_item | transact_write_items, or "*" for any
    code: str = "InternalServerError"
    sort_key: str = ""
    times: int = 1_000_000
    hits: int = 0

    def matches(self, operation: str, key: Any) -> bool:
        if self.operation not in ("*", operation) or self.hits >= self.times:
            return False
        sk = key.get("sk") if isinstance(key, dict) else None
        value = sk.get("S") if isinstance(sk, dict) else getattr(sk, "value", sk)
        return str(value or "").startswith(self.sort_key)


DDB_FAULTS: list[DdbFault] = []


class _DdbServerError(ddb_exceptions.DynamodbException):  # type: ignore[misc]  # moto ships no type hints
    def __init__(self, code: str) -> None:
        super().__init__(ddb_exceptions.ERROR_TYPE_PREFIX + code, f"simulated {code}")
        self.code = 500 if code == "InternalServerError" else 400  # HTTP status, as DynamoDB answers


def _inject_ddb_fault(operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    key = next((kwargs[k] for k in ("key", "keys", "item_attrs") if k in kwargs), args[2] if len(args) > 2 else None)
    with _DDB_LOCK:
        for fault in DDB_FAULTS:
            if fault.matches(operation, key):
                fault.hits += 1
                raise _DdbServerError(fault.code)


def _locked(original: Callable[..., Any], operation: str = "") -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _inject_ddb_fault(operation, args, kwargs)
        with _DDB_LOCK:
            return original(*args, **kwargs)

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapper


def _faulty(original: Callable[..., Any], operation: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _inject_ddb_fault(operation, args, kwargs)
        return original(*args, **kwargs)

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapper


# ------------------------------------------------------------------ route 53
UNHEALTHY_CHECKS: set[str] = set()


def _health_check_status(self: Any) -> Any:
    health_check_id = self._get_param("HealthCheckId")
    if health_check_id not in UNHEALTHY_CHECKS:
        return _ORIGINAL["health"](self)
    self.backend.get_health_check(health_check_id)
    reports = [
        {
            "Region": region,
            "IPAddress": "127.0.13.37",
            "StatusReport": {"Status": "Failure: HTTP Status Code 503", "CheckedTime": utcnow()},
        }
        for region in ("us-east-1", "eu-west-1", "ap-southeast-1")
    ]
    return ActionResult({"HealthCheckObservations": reports})


# ------------------------------------------------------------ ALB target health
# A target newly registered with a target group is ``initial`` (reason
# ``Elb.RegistrationInProgress``, then ``Elb.InitialHealthChecking``: "the load balancer is
# still sending the target the minimum number of health checks required to determine its
# health status") until it passes HealthyThresholdCount checks in a row (ALB default: 5,
# every 30 s). Source: TargetHealth, Elastic Load Balancing API reference,
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html
# moto says ``healthy`` at once, which is kinder than ELB; a test adds (target group ARN,
# target id) here for the targets whose checks have not passed yet.
INITIAL_TARGETS: set[tuple[str, str]] = set()


def _target_health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    status = _ORIGINAL["health_for"](self, target, ec2_backend)
    if status.status == "healthy" and (self.arn, str(target["Id"])) in INITIAL_TARGETS:
        status.status = "initial"
        status.reason = "Elb.InitialHealthChecking"
        status.description = "Initial health checks in progress"
    return status


# ------------------------------------------------------------ stop execution
_STOP_REASON = threading.local()


def _stop_execution_response(self: Any) -> Any:
    _STOP_REASON.value = (self._get_param("error"), self._get_param("cause"))
    try:
        return _ORIGINAL["stop_response"](self)
    finally:
        _STOP_REASON.value = None


def _stop_execution(self: Any, execution_arn: str) -> Any:
    error, cause = getattr(_STOP_REASON, "value", None) or (None, None)
    execution = next((x for x in self.executions if x.execution_arn == execution_arn), None)
    if execution is None:
        raise ExecutionDoesNotExist("Execution Does Not Exist: '" + execution_arn + "'")
    for _ in range(200):  # the worker's environment appears a moment after StartExecution
        worker = execution.exec_worker
        if worker is None or worker.env is not None:
            break
        time.sleep(0.01)
    execution.stop(stop_date=utcnow(), error=error or "", cause=cause or "")
    return execution


def _terminated(self: Any) -> None:
    _ORIGINAL["terminated"](self)
    state = self.execution.exec_worker.env.program_state()
    if isinstance(state, ProgramStopped):
        self.execution.error = state.error or None
        self.execution.cause = state.cause or None


def _set_error(self: Any, error: Any) -> None:
    """StopExecution ends an execution ABORTED for good: "ExecutionAborted" is its last
    history event, and a Task whose Lambda was still running when it was stopped cannot
    fail it afterwards (Step Functions does nothing to a running task,
    https://stackoverflow.com/questions/45596276; its result is dropped). moto's program
    loop sets the Task's uncaught error over the stop, ending the execution FAILED."""
    if isinstance(self._program_state, ProgramStopped):
        return
    _ORIGINAL["set_error"](self, error)


# ------------------------------------------------------- aws-sdk error names
# "If an AWS SDK integration encounters an error, the resulting Error field is composed
# of the service name and the error name, separated by a period: ServiceName.ErrorName.
# Both the service name and error name are in Pascal case. [...] Always add the
# Exception suffix to potential error names in your AWS Step Functions integrations.
# Do this even if the suffix isn't already part of the service-provided error name."
# (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html,
# with S3.BucketAlreadyExistsException and AcmPca.ResourceNotFoundException as examples.)
# The Pascal-case spelling of a service is not derivable from its lower-case name
# (acmpca -> AcmPca), so it is listed. A service not listed keeps moto's spelling: a
# Retry or Catch on the AWS name then does not match here, which is harsher than AWS,
# never kinder.
SDK_SERVICE_ERROR_NAMES = {"route53": "Route53", "dynamodb": "DynamoDb", "sfn": "Sfn", "acmpca": "AcmPca", "s3": "S3"}


def sdk_error_name(service: str, code: str) -> str:
    """The ``Error`` of a failed ``arn:aws:states:::aws-sdk:<service>:<action>`` task, as AWS names it."""
    name = SDK_SERVICE_ERROR_NAMES.get(service.lower(), service)
    return f"{name}.{code if code.endswith('Exception') else code + 'Exception'}"


def _sdk_service_error_name(service_name: str) -> str:
    return SDK_SERVICE_ERROR_NAMES.get(service_name.lower()) or _ORIGINAL["sdk_service"](service_name)


def _sdk_exception_name(norm_service_name: str, ex: Exception) -> str:
    if isinstance(ex, ClientError):  # the error code Route 53 sent, not botocore's class for it
        return sdk_error_name(norm_service_name, str(ex.response.get("Error", {}).get("Code", "")))
    return str(_ORIGINAL["sdk_exception"](norm_service_name, ex))


# ---------------------------------------------------------- ASL parse cache
_PROGRAMS: dict[str, bytes | Any] = {}  # definition text -> its one parse, pickled (else the parse itself)
_PROGRAMS_LOCK = threading.Lock()


def program_for(definition: str) -> Any:
    """A fresh program for one execution, from the one parse of ``definition`` (a copy,
    never the parsed program itself: its components keep per-execution state). The parse
    is kept pickled: unpickling makes the same fresh object graph as a deep copy, ~12x
    faster (~1.3 ms against ~15 ms for Weightshift's definition); a parse that does not
    pickle is deep-copied instead."""
    with _PROGRAMS_LOCK:
        pristine = _PROGRAMS.get(definition)
    if pristine is None:
        parsed = AmazonStateLanguageParser.parse(definition)[0]  # raises, and caches nothing, if invalid
        try:
            pristine = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            pristine = parsed
        with _PROGRAMS_LOCK:
            pristine = _PROGRAMS.setdefault(definition, pristine)
    # S301: these bytes are our own pickle of our own parse, made just above, never read from outside
    return pickle.loads(pristine) if isinstance(pristine, bytes) else copy.deepcopy(pristine)  # noqa: S301


def _evaluation_entrypoint(self: Any) -> Any:
    return program_for(self._evaluation_details.state_machine_details.definition)


# ------------------------------------------------------------- engine clients
_ENGINE_CLIENTS: dict[tuple[Any, ...], Any] = {}
_ENGINE_CLIENTS_LOCK = threading.Lock()
# The engine's modules that call boto_client_for for the tasks Weightshift's ASL uses.
_ENGINE_CLIENT_USERS = (lambda_eval_utils, aws_sdk)


def _engine_client(region: str, service: str, state_credentials: Any = None) -> Any:
    key = (region, service, botocore_stubber.enabled, os.environ.get("MOTO_PORT"))
    with _ENGINE_CLIENTS_LOCK:
        made = _ENGINE_CLIENTS.get(key)
        if made is None:
            made = _ENGINE_CLIENTS[key] = _ORIGINAL["engine_client"](region, service, state_credentials)
        return made


# ------------------------------------------------------------------- install
_ORIGINAL: dict[str, Any] = {}
_INSTALLED = False


def install() -> None:
    """Apply every patch once per process. Safe to call again."""
    global _INSTALLED
    if _INSTALLED:
        return
    _ORIGINAL["wait"] = wait_function.WaitFunction._wait_interval
    wait_function.WaitFunction._wait_interval = _wait_interval
    waiting_task = cb_task.StateTaskServiceCallback
    _ORIGINAL["wait_for_token"] = waiting_task._eval_wait_for_task_token
    waiting_task._eval_wait_for_task_token = _wait_for_task_token
    _ORIGINAL["send_task_failure"] = sfn_responses.StepFunctionResponse.send_task_failure
    sfn_responses.StepFunctionResponse.send_task_failure = _send_task_failure_response
    _ORIGINAL["retry_time"] = retrier_decl.time
    retrier_decl.time = _RecordedTime("retry")
    _ORIGINAL["invoke"] = lambda_simple.LambdaSimpleBackend.invoke
    lambda_simple.LambdaSimpleBackend.invoke = _invoke
    table = ddb_models.DynamoDBBackend
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        _ORIGINAL[f"ddb_{name}"] = getattr(table, name)
        setattr(table, name, _locked(getattr(table, name), name))
    _ORIGINAL["ddb_get_item"] = table.get_item
    table.get_item = _faulty(table.get_item, "get_item")
    _ORIGINAL["stop_response"] = sfn_responses.StepFunctionResponse.stop_execution
    sfn_responses.StepFunctionResponse.stop_execution = _stop_execution_response
    _ORIGINAL["stop"] = sfn_models.StateMachine.stop_execution
    sfn_models.StateMachine.stop_execution = _stop_execution
    _ORIGINAL["terminated"] = sfn_execution.BaseExecutionWorkerCommunication.terminated
    sfn_execution.BaseExecutionWorkerCommunication.terminated = _terminated
    _ORIGINAL["set_error"] = sfn_environment.Environment.set_error
    sfn_environment.Environment.set_error = _set_error
    _ORIGINAL["health"] = r53_responses.Route53.get_health_check_status
    r53_responses.Route53.get_health_check_status = _health_check_status
    _ORIGINAL["health_for"] = elbv2_models.FakeTargetGroup.health_for
    elbv2_models.FakeTargetGroup.health_for = _target_health_for
    sdk_task = aws_sdk.StateTaskServiceAwsSdk
    _ORIGINAL["sdk_service"] = sdk_task._normalise_service_error_name
    _ORIGINAL["sdk_exception"] = sdk_task._normalise_exception_name
    sdk_task._normalise_service_error_name = staticmethod(_sdk_service_error_name)
    sdk_task._normalise_exception_name = staticmethod(_sdk_exception_name)
    _ORIGINAL["sdk_retry_time"] = botocore_endpoint.time  # type: ignore[attr-defined]
    botocore_endpoint.time = _RecordedTime("sdk-retry")  # type: ignore[attr-defined]
    import weightshift.clock as functions_clock  # the handlers' one reader of the time

    _ORIGINAL["functions_now"] = functions_clock.now
    functions_clock.now = SIM_TIME.now
    worker = sfn_execution_worker.ExecutionWorker
    _ORIGINAL["entrypoint"] = worker._get_evaluation_entrypoint
    worker._get_evaluation_entrypoint = _evaluation_entrypoint
    _ORIGINAL["engine_client"] = engine_boto_client.boto_client_for
    for module in _ENGINE_CLIENT_USERS:
        module.boto_client_for = _engine_client
    faults.install()
    from weightshift_emulator import route53_changes  # ChangeResourceRecordSets as Route 53 validates it

    route53_changes.install()
    speed.install()
    from weightshift_emulator import cfn_parameters  # AWS-shaped hosted zone ids (Z...)

    cfn_parameters.install_zone_ids()
    from weightshift_emulator import alarms  # alarms start INSUFFICIENT_DATA; state-change events

    alarms.install()
    _INSTALLED = True


def reset() -> None:
    """Forget recorded waits, hooks and simulated faults between tests."""
    CLOCK.waits.clear()
    CLOCK.hooks.clear()
    CLOCK.scale = 0.0
    SIM_TIME.end()
    INVOKE_HOOKS.clear()
    UNHEALTHY_CHECKS.clear()
    INITIAL_TARGETS.clear()
    DDB_FAULTS.clear()
    faults.reset()
    from weightshift_emulator import alarms

    alarms.reset()
    cleanup_environment()
