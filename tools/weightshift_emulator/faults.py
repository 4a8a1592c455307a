"""Fault hooks for Route 53, SNS and EventBridge, modelled on what each service answers.

Installed by :func:`patches.install`, cleared by :func:`patches.reset`. A test arms a
fault; the emulator then answers the matching calls the way the service does when it
fails, and records every notification it accepted or refused (SNS Publish and
EventBridge PutEvents), so a test can tell "sent" from "lost".

- **Route 53 ``Throttling``** (HTTP 400): "5 requests per second per AWS account",
  across all Route 53 APIs, so :class:`Route53Fault` applies to every Route 53
  action unless it names some
  (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html#limits-api-requests).
- **Route 53 ``PriorRequestNotComplete``** (HTTP 400): returned by
  ``ChangeResourceRecordSets`` "if you submit a ChangeResourceRecordSets request for
  a hosted zone while a previous request for the same zone is still being processed"
  (the errors of ChangeResourceRecordSets in the API reference; GetChange,
  ListResourceRecordSets, GetHostedZone and GetHealthCheckStatus do not list it).
- **INSYNC that comes late or never:** ``GetChange`` answers ``PENDING`` until Route 53
  has applied the change everywhere ("usually within 60 seconds"); :data:`SYNC`
  answers ``PENDING`` for a number of calls, or for ever.
- **SNS ``InternalError``** (HTTP 500; the SDK retries it like any 5xx).
- **EventBridge PutEvents** failing *per entry*: HTTP 200 with ``FailedEntryCount`` 1
  and the entry's ``ErrorCode`` (``InternalFailure``, ``ThrottlingException``). The
  SDK does not retry it (the request itself succeeded): "PutEvents ... can partially
  fail ... check FailedEntryCount ... and retry the failed entries"
  (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html,
  "Handling failures when using PutEvents" in the EventBridge user guide). An
  emulator that raised instead would let the SDK's retries hide a lost event.

Each fault counts ``times`` occurrences (one per API call the service answers, so an
SDK retry is an occurrence) and then stops matching.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import moto.events.models as events_models
import moto.route53.responses as r53_responses
import moto.sns.models as sns_models
from moto.core.responses import ActionResult
from moto.route53.exceptions import Route53ClientError
from moto.sns.exceptions import InternalError as SnsInternalError

FOREVER = 1_000_000_000

# The Route 53 actions Weightshift calls, by the name moto's responses class gives them.
ROUTE53_ACTIONS = (
    "get_hosted_zone",
    "list_resource_record_sets",
    "change_resource_record_sets",
    "get_change",
    "get_health_check_status",
)

_LOCK = threading.Lock()


@dataclass
class Route53Fault:
    """Answer Route 53 actions with ``code`` (HTTP 400) ``times`` times.

    ``actions``: which actions fail (empty: every action, as throttling does).
    ``after``: stay dormant until this action is called once (answered normally), so a
    fault can be armed "from the next GetChange on" by a hook that runs earlier.
    """

    code: str = "Throttling"
    actions: tuple[str, ...] = ()
    times: int = FOREVER
    after: str | None = None
    hits: int = 0
    calls: list[str] = field(default_factory=list)  # the actions it failed, in order

    def take(self, action: str) -> bool:
        if self.after is not None:
            if action == self.after:
                self.after = None
            return False
        if self.hits >= self.times or (self.actions and action not in self.actions):
            return False
        self.hits += 1
        self.calls.append(action)
        return True


ROUTE53_FAULTS: list[Route53Fault] = []


@dataclass
class SyncDelay:
    """``GetChange`` answers PENDING for the next ``pending`` calls (FOREVER: never INSYNC)."""

    pending: int = 0
    answered: int = 0


SYNC = SyncDelay()


class _Route53Error(Route53ClientError):  # type: ignore[misc]  # moto ships no type hints
    def __init__(self, code: str) -> None:
        super().__init__(code, f"simulated {code}")


def _route53_action(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def action(self: Any) -> Any:
        with _LOCK:
            failing = next((f for f in ROUTE53_FAULTS if f.take(name)), None)
        if failing is not None:
            raise _Route53Error(failing.code)
        if name == "get_change":
            with _LOCK:
                pending = SYNC.pending > 0
                if pending:
                    SYNC.pending -= 1
                    SYNC.answered += 1
            if pending:
                return ActionResult({"ChangeInfo": {"Id": self._get_param("Id"), "Status": "PENDING"}})
        return original(self)

    action.__wrapped__ = original  # type: ignore[attr-defined]
    return action


# ---------------------------------------------------------------- notifications
@dataclass
class Publication:
    """One notification a service was asked to accept."""

    service: str  # "sns" | "events"
    kind: str  # the Weightshift event kind ("promoted", "rolled-back"...), from the body
    deployment_id: str
    ok: bool
    error: str = ""


PUBLISHED: list[Publication] = []


@dataclass
class NotifyFault:
    """``service`` "sns": Publish fails with InternalError (HTTP 500).
    ``service`` "events": each PutEvents entry fails with ``code`` (HTTP 200, FailedEntryCount)."""

    service: str
    code: str = ""
    times: int = FOREVER
    hits: int = 0

    def take(self, service: str) -> bool:
        if service != self.service or self.hits >= self.times:
            return False
        self.hits += 1
        return True


NOTIFY_FAULTS: list[NotifyFault] = []


def _about(body: Any) -> tuple[str, str]:
    try:
        parsed = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        return "?", "?"
    if not isinstance(parsed, dict):
        return "?", "?"
    return str(parsed.get("event", "?")), str(parsed.get("deploymentId", "?"))


def _sns_publish(original: Callable[..., Any]) -> Callable[..., Any]:
    def publish(self: Any, message: str, *args: Any, **kwargs: Any) -> Any:
        kind, deployment = _about(message)
        with _LOCK:
            failing = next((f for f in NOTIFY_FAULTS if f.take("sns")), None)
            if failing is not None:
                PUBLISHED.append(Publication("sns", kind, deployment, False, "InternalError"))
        if failing is not None:
            raise SnsInternalError("simulated InternalError")
        result = original(self, message, *args, **kwargs)
        with _LOCK:
            PUBLISHED.append(Publication("sns", kind, deployment, True))
        return result

    publish.__wrapped__ = original  # type: ignore[attr-defined]
    return publish


def _put_events(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answers: list[dict[str, Any] | None] = []
        passed: list[dict[str, Any]] = []
        for entry in events:
            kind, deployment = _about(entry.get("Detail"))
            with _LOCK:
                failing = next((f for f in NOTIFY_FAULTS if f.take("events")), None)
                PUBLISHED.append(
                    Publication("events", kind, deployment, failing is None, failing.code if failing else "")
                )
            if failing is not None:
                answers.append({"ErrorCode": failing.code, "ErrorMessage": f"simulated {failing.code}"})
            else:
                answers.append(None)
                passed.append(entry)
        accepted = iter(original(self, passed) if passed else [])
        return [answer if answer is not None else next(accepted) for answer in answers]

    put_events.__wrapped__ = original  # type: ignore[attr-defined]
    return put_events


# ---------------------------------------------------------------------- install
_ORIGINAL: dict[str, Any] = {}


def install() -> None:
    """Wrap the moto internals above (called once by :func:`patches.install`)."""
    if _ORIGINAL:
        return
    for name in ROUTE53_ACTIONS:
        _ORIGINAL[f"r53_{name}"] = getattr(r53_responses.Route53, name)
        setattr(r53_responses.Route53, name, _route53_action(name, _ORIGINAL[f"r53_{name}"]))
    _ORIGINAL["sns_publish"] = sns_models.SNSBackend.publish
    sns_models.SNSBackend.publish = _sns_publish(_ORIGINAL["sns_publish"])
    _ORIGINAL["put_events"] = events_models.EventsBackend.put_events
    events_models.EventsBackend.put_events = _put_events(_ORIGINAL["put_events"])


def reset() -> None:
    with _LOCK:
        ROUTE53_FAULTS.clear()
        NOTIFY_FAULTS.clear()
        PUBLISHED.clear()
        SYNC.pending = 0
        SYNC.answered = 0
