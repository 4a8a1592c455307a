"""``weightshift replay``: hand the events in the stack's dead-letter queue back to their function.

Two kinds of message land in that queue (``TriggerDeadLetterQueueUrl``), and both are read:

- **An on-failure invocation record** from the trigger's or the abort function's
  ``EventInvokeConfig`` destination: Lambda accepted the event, the function failed every
  attempt. The body is the record: ``version``, ``timestamp``, ``requestContext``
  (``requestId``, ``functionArn``, ``condition``, ``approximateInvokeCount``),
  ``requestPayload`` (the original event), ``responseContext``, ``responsePayload``.
  Source: "Example invocation record",
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
- **An EventBridge rule-target dead letter:** EventBridge could not invoke the function.
  The body is the event itself; the message attributes say why (``RULE_ARN``,
  ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``, ``EXHAUSTED_RETRY_CONDITION``,
  ``RETRY_ATTEMPTS``). Source:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html

Which function gets the event is decided by the event, not by the record: an "ECS Task
State Change" goes to the trigger, a "Step Functions Execution Status Change" to the abort
function, a "CloudWatch Alarm State Change" to the alarm listener. Each is invoked
synchronously; the message is deleted only when the function succeeds, so a failed replay
stays in the queue for the next try. Replaying is safe to
repeat: the trigger dedupes on the ECS deployment (one execution per deployment, whatever
the number of events) and the abort function does nothing once the deployment is finished.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.config import Config

from weightshift_cli.aws import _CONFIG, Ports
from weightshift_cli.errors import CliError

Source = Literal["lambda-destination", "eventbridge-dlq", "unknown"]
Target = Literal["trigger", "abort", "alarm"]
Outcome = Literal["replayed", "failed", "skipped", "listed"]

# What each function handles: (source, detail-type) of the event.
ROUTES: dict[tuple[str, str], Target] = {
    ("aws.ecs", "ECS Task State Change"): "trigger",
    ("aws.states", "Step Functions Execution Status Change"): "abort",
    # The alarm listener: a replayed alarm event ends a bake only if one is still in progress
    # and the alarm changed after its deployment took the route (alarm_watch.on_alarm).
    ("aws.cloudwatch", "CloudWatch Alarm State Change"): "alarm",
}
OUTPUT_FOR: dict[Target, str] = {
    "trigger": "TriggerFunctionName",
    "abort": "AbortFunctionName",
    "alarm": "AlarmFunctionName",
}
QUEUE_OUTPUT = "TriggerDeadLetterQueueUrl"
# Long enough for a batch of ten synchronous invokes of a function with a 60 s timeout.
VISIBILITY_SECONDS = 900
# A synchronous invoke waits for the function (Timeout 60 s in the template).
_INVOKE_CONFIG = _CONFIG.merge(Config(read_timeout=120))


@dataclass
class FailedEvent:
    """One message of the queue, understood."""

    message_id: str
    receipt_handle: str
    source: Source
    event: dict[str, Any] | None
    target: Target | None
    why: str  # why it is in the queue: the condition and the error, or EventBridge's error code
    outcome: Outcome | None = None
    result: str = ""  # the function's answer, or the reason it was not replayed

    def summary(self) -> str:
        """What the event is about, in a few words."""
        detail = (self.event or {}).get("detail") or {}
        if not isinstance(detail, dict):
            return "?"
        if self.target == "trigger":
            group = str(detail.get("group", "")).removeprefix("service:")
            task = str(detail.get("taskArn", "")).rsplit("/", 1)[-1]
            return f"{group} task {task} ({detail.get('startedBy') or '?'})"
        if self.target == "abort":
            return f"execution {detail.get('name')} {detail.get('status')}"
        return str((self.event or {}).get("detail-type") or "not an event Weightshift handles")

    def dump(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "source": self.source,
            "function": self.target,
            "event": self.summary(),
            "why": self.why,
            "outcome": self.outcome,
            "result": self.result,
        }


def parse(message: dict[str, Any]) -> FailedEvent:
    """Read one SQS message in either format (see the module docstring)."""
    message_id, handle = str(message.get("MessageId")), str(message.get("ReceiptHandle"))
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return FailedEvent(message_id, handle, "unknown", None, None, "the body is not a JSON object")
    attributes = {k: v.get("StringValue", "") for k, v in (message.get("MessageAttributes") or {}).items()}
    if isinstance(body.get("requestContext"), dict) and "requestPayload" in body:
        context = body["requestContext"]
        response = body.get("responsePayload")
        error = ""
        if isinstance(response, dict):
            error = f"{response.get('errorType', '')}: {response.get('errorMessage', '')}".strip(": ")
        why = f"{context.get('condition')} after {context.get('approximateInvokeCount')} attempts" + (
            f" ({error})" if error else ""
        )
        event = body["requestPayload"] if isinstance(body["requestPayload"], dict) else None
        source: Source = "lambda-destination"
    elif "detail-type" in body and "source" in body:
        event = body
        why = f"EventBridge could not deliver it: {attributes.get('ERROR_CODE', '?')}"
        if attributes.get("ERROR_MESSAGE"):
            why += f" ({attributes['ERROR_MESSAGE']})"
        source = "eventbridge-dlq"
    else:
        return FailedEvent(message_id, handle, "unknown", None, None, "neither an invocation record nor an event")
    target = ROUTES.get((str((event or {}).get("source")), str((event or {}).get("detail-type"))))
    return FailedEvent(message_id, handle, source, event, target, why)


@dataclass
class Replay:
    """Reads the queue in batches; replays (or lists) each message once."""

    ports: Ports
    dry_run: bool = False
    limit: int | None = None
    events: list[FailedEvent] = field(default_factory=list)

    @property
    def queue_url(self) -> str:
        url = self.ports.stack.outputs.get(QUEUE_OUTPUT)
        if not url:
            raise CliError(f"stack {self.ports.stack.name} has no {QUEUE_OUTPUT} output: redeploy it")
        return url

    def function(self, target: Target) -> str:
        name = self.ports.stack.outputs.get(OUTPUT_FOR[target])
        if not name:
            raise CliError(f"stack {self.ports.stack.name} has no {OUTPUT_FOR[target]} output: redeploy it")
        return name

    def waiting(self) -> int:
        """About how many messages wait in the queue (SQS's approximate count)."""
        attributes = self.ports.aws.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def messages(self) -> Iterator[FailedEvent]:
        sqs, seen = self.ports.aws.client("sqs"), set()
        while self.limit is None or len(self.events) < self.limit:
            want = 10 if self.limit is None else max(1, min(10, self.limit - len(self.events)))
            batch = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=want,
                MessageAttributeNames=["All"],
                VisibilityTimeout=VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            fresh = [m for m in batch if m.get("MessageId") not in seen]
            if not fresh:
                return
            for message in fresh:
                seen.add(message.get("MessageId"))
                failed = parse(message)
                self.events.append(failed)
                yield failed

    def handle(self, failed: FailedEvent) -> None:
        """Replay one message (or list it); delete it only when its function succeeded."""
        sqs = self.ports.aws.client("sqs")
        if self.dry_run:
            failed.outcome = "listed"
            failed.result = f"would invoke the {failed.target} function" if failed.target else "would skip it"
        elif failed.target is None or failed.event is None:
            failed.outcome, failed.result = "skipped", "left in the queue: " + failed.why
        else:
            ok, failed.result = self._invoke(failed.target, failed.event)
            failed.outcome = "replayed" if ok else "failed"
        if failed.outcome == "replayed":
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=failed.receipt_handle)

    def _invoke(self, target: Target, event: dict[str, Any]) -> tuple[bool, str]:
        client = self.ports.aws.session.client(
            "lambda", endpoint_url=self.ports.aws.options.endpoint_url, config=_INVOKE_CONFIG
        )
        response = client.invoke(
            FunctionName=self.function(target), InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        raw = response["Payload"].read()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        if response.get("FunctionError"):
            if isinstance(payload, dict):
                return False, f"{payload.get('errorType', 'Error')}: {payload.get('errorMessage', '')}"
            return False, f"function error: {payload}"
        return True, _answer(target, payload)

    def run(self, on_event: Callable[[FailedEvent], None]) -> list[FailedEvent]:
        try:
            for failed in self.messages():
                self.handle(failed)
                on_event(failed)
        finally:
            self.release()
        return self.events

    def release(self) -> None:
        """Make what was not replayed visible again, for the next run. Only now: a message made
        visible during the run would be received again, and hidden again, by the next batch."""
        sqs = self.ports.aws.client("sqs")
        for failed in self.events:
            if failed.outcome != "replayed":
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=failed.receipt_handle, VisibilityTimeout=0
                )


def _answer(target: Target, payload: Any) -> str:
    if not isinstance(payload, dict):
        return str(payload)
    if target == "trigger":
        text = str(payload.get("decision", "?"))
        if payload.get("deployment_id"):
            text += f" {payload['deployment_id']}"
        return text + (f" ({payload['reason']})" if payload.get("reason") else "")
    if target == "alarm":  # alarm_watch.Outcome.log_fields
        return f"{payload.get('decision', '?')} ({payload.get('detail', '')})"
    text = str(payload.get("action", "?"))
    if payload.get("restoredWeights"):
        weights = payload["restoredWeights"]
        text += f" to blue={weights.get('blue')} green={weights.get('green')}"
    return text + (f" ({payload['reason']})" if payload.get("reason") else "")


def counts(events: list[FailedEvent]) -> dict[str, int]:
    out = {"replayed": 0, "failed": 0, "skipped": 0, "listed": 0}
    for failed in events:
        if failed.outcome:
            out[failed.outcome] += 1
    return out
