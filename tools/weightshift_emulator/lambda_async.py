"""Lambda's asynchronous invocation, as AWS documents it, on the emulator's clock.

EventBridge invokes a Lambda target asynchronously, and so does ``Invoke`` with
``InvocationType=Event``. Lambda then owns the event: EventBridge's retry policy
and dead-letter queue no longer apply (``cfn_patches`` models that split). What
Lambda does with it, and where each rule comes from:

- **Function errors are retried twice by default**, "with a one-minute wait between
  the first two attempts, and two minutes between the second and third attempts";
  a timeout is a function error too. ``MaximumRetryAttempts`` (0-2) and
  ``MaximumEventAgeInSeconds`` (60-21600, default 6 hours) change that.
  Source: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
  and https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html
- **Then the event is discarded**, unless the function has an on-failure
  destination, which receives an *invocation record*: ``version``, ``timestamp``,
  ``requestContext`` (``requestId``, ``functionArn``, ``condition`` =
  ``RetriesExhausted`` or ``EventAgeExceeded``, ``approximateInvokeCount``),
  ``requestPayload`` (the original event), ``responseContext`` (``statusCode``,
  ``executedVersion``, ``functionError``) and ``responsePayload`` (the error).
  For an SQS destination the record is the message body.
  Source: "Example invocation record",
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html

Where the emulator differs, it is never kinder than AWS:

- Lambda retries throttling and its own 500-series errors for up to the maximum
  event age. The emulator treats every failure of an accepted event as a function
  error (2 retries at most), so it gives up sooner, never later.
- A function's own dead-letter queue (``DeadLetterConfig``) is not modelled: such an
  event is dropped here, where AWS would keep its body. Weightshift uses destinations.
- Retries run in the caller's thread, on the simulated :data:`patches.CLOCK` (a
  one-minute wait is recorded and sleeps ``CLOCK.scale`` of a minute). On AWS other
  events run during that minute; here the retries of one event come before the next
  event of the same ``put_events`` call.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.exceptions import UnknownEventConfig
from moto.sqs.models import sqs_backends
from moto.utilities.arns import parse_arn

from weightshift_emulator import patches

LOG = logging.getLogger("weightshift_emulator")

# AWS's defaults when a function has no EventInvokeConfig (sources in the module docstring).
DEFAULT_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 21600
# The wait before retry 1 and retry 2 of a function error.
RETRY_DELAYS_SECONDS = (60.0, 120.0)


class InvokeRejected(Exception):
    """Raise from an :data:`ACCEPT_HOOKS` hook: the ``Invoke`` API call itself fails
    (Lambda never accepts the event), e.g. ``TooManyRequestsException``. For an
    EventBridge target this is a *delivery* failure, which EventBridge retries."""

    def __init__(self, code: str = "TooManyRequestsException", message: str = "Rate Exceeded.") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# Called with (function name, event) before Lambda accepts an asynchronous invoke.
ACCEPT_HOOKS: list[Callable[[str, Any], None]] = []


@dataclass
class Attempt:
    number: int  # 1, 2, 3
    at_seconds: float  # simulated seconds after Lambda accepted the event
    ok: bool
    response: Any  # the handler's result, or Lambda's error object


@dataclass
class AsyncInvocation:
    """One event Lambda accepted, and what became of it."""

    function: str
    function_arn: str
    request_id: str
    payload: Any
    attempts: list[Attempt] = field(default_factory=list)
    condition: str | None = None  # None: succeeded; RetriesExhausted / EventAgeExceeded
    destination: str | None = None  # the on-failure destination the record went to, if any
    finished: bool = False  # every attempt made (and the record sent, if it failed)

    @property
    def ok(self) -> bool:
        """Finished, and an attempt succeeded."""
        return self.finished and self.condition is None

    @property
    def response(self) -> Any:
        """The last attempt's result (the handler's return value when ``ok``)."""
        return self.attempts[-1].response if self.attempts else None


INVOCATIONS: list[AsyncInvocation] = []
_LOCK = threading.Lock()


def event_invoke_config(backend: Any, function_name: str) -> dict[str, Any]:
    """The function's EventInvokeConfig as ``GetFunctionEventInvokeConfig`` returns it ({} if none)."""
    try:
        return dict(backend.get_function_event_invoke_config(function_name))
    except UnknownEventConfig:
        return {}


def accept(backend: Any, function_name: str, qualifier: str | None, payload: Any) -> AsyncInvocation:
    """``Invoke`` with ``InvocationType=Event``: accept the event (or raise :class:`InvokeRejected`
    or moto's not-found error), then process it as Lambda does: attempts, retries, destination."""
    fn = backend.get_function(function_name, qualifier)  # a missing function fails the Invoke call itself
    for hook in list(ACCEPT_HOOKS):
        hook(fn.function_name, payload)
    invocation = AsyncInvocation(fn.function_name, fn.function_arn, str(uuid.uuid4()), payload)
    with _LOCK:
        INVOCATIONS.append(invocation)
    try:
        _process(backend, fn, invocation)
    finally:
        invocation.finished = True
    return invocation


def _process(backend: Any, fn: Any, invocation: AsyncInvocation) -> None:
    config = event_invoke_config(backend, fn.function_name)
    retries = int(config.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS))
    max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_SECONDS))
    body = json.dumps(invocation.payload)
    age = 0.0
    for number in range(1, retries + 2):
        if number > 1:
            delay = RETRY_DELAYS_SECONDS[min(number - 2, len(RETRY_DELAYS_SECONDS) - 1)]
            patches.CLOCK.record(patches.Wait("lambda-retry", fn.function_name, delay, invocation.request_id))
            if patches.CLOCK.scale > 0:
                time.sleep(delay * patches.CLOCK.scale)
            age += delay
            if age >= max_age:  # discarded from the queue before this attempt
                invocation.condition = "EventAgeExceeded"
                break
        headers: dict[str, Any] = {}
        raw = patches.run_handler(fn, body, headers)
        response = json.loads(raw) if raw else None
        ok = "x-amz-function-error" not in headers
        invocation.attempts.append(Attempt(number, age, ok, response))
        if ok:
            return
    else:
        invocation.condition = "RetriesExhausted"
    _on_failure(config, fn, invocation)


def invocation_record(invocation: AsyncInvocation, now: datetime | None = None) -> dict[str, Any]:
    """The on-failure invocation record, in the documented format (see the module docstring)."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "1.0",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{invocation.function_arn}:$LATEST",
            "condition": invocation.condition,
            "approximateInvokeCount": len(invocation.attempts),
        },
        "requestPayload": invocation.payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": invocation.response,
    }


def _on_failure(config: dict[str, Any], fn: Any, invocation: AsyncInvocation) -> None:
    destination = (config.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
    if not destination:
        LOG.warning("%s: event %s dropped (no on-failure destination)", fn.function_name, invocation.request_id)
        return
    arn = parse_arn(destination)
    if arn.service != "sqs":
        # Only SQS destinations are modelled; an unmodelled destination loses the event (never kinder).
        LOG.warning("%s: on-failure destination %s not modelled; event dropped", fn.function_name, destination)
        return
    sqs_backends[arn.account][arn.region].send_message(
        queue_name=arn.resource_id, message_body=json.dumps(invocation_record(invocation))
    )
    invocation.destination = destination


def reset() -> None:
    with _LOCK:
        INVOCATIONS.clear()
    ACCEPT_HOOKS.clear()
