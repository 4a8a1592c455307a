"""The CloudFormation custom resource protocol, written out.

CloudFormation sends a request (Create, Update or Delete) and waits until the function
PUTs a JSON answer to the request's ``ResponseURL`` (a presigned S3 URL): ``Status``
SUCCESS or FAILED, a ``Reason`` that ``sam deploy`` shows, the ``PhysicalResourceId``,
and the request's ``StackId``, ``RequestId`` and ``LogicalResourceId``. The whole body
must stay under 4096 bytes. Source: "Custom resources" and "Custom resource response
objects", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html

Why not crhelper (aws-cloudformation/custom-resource-helper): it answers with
``http.client.HTTPSConnection`` whatever the URL's scheme, and retries a failed PUT
forever; its polling mode needs ``events:PutRule``/``lambda:AddPermission`` grants that
least privilege forbids. The check is one short synchronous run, so the protocol is
the 60 lines below: parse the request with Powertools' Parser models, run the handler,
answer once (a deadline answers FAILED before Lambda's timeout would leave CloudFormation
waiting an hour), retry the PUT a few times, never twice.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import (
    CloudFormationCustomResourceCreateModel,
    CloudFormationCustomResourceDeleteModel,
    CloudFormationCustomResourceUpdateModel,
)
from pydantic import BaseModel, Field

from weightshift.observability import logger

MAX_BODY_BYTES = 4096
DEADLINE_MARGIN_SECONDS = 10  # answer FAILED this long before Lambda would kill the function
PUT_ATTEMPTS = 3
PUT_TIMEOUT_SECONDS = 10


class _Request(BaseModel):
    request: (
        CloudFormationCustomResourceCreateModel
        | CloudFormationCustomResourceUpdateModel
        | CloudFormationCustomResourceDeleteModel
    ) = Field(discriminator="request_type")


Request = (
    CloudFormationCustomResourceCreateModel
    | CloudFormationCustomResourceUpdateModel
    | CloudFormationCustomResourceDeleteModel
)


@dataclass(frozen=True)
class Outcome:
    """The answer to one request."""

    ok: bool
    reason: str
    physical_resource_id: str
    data: dict[str, str] = field(default_factory=dict)


def properties(request: Request) -> dict[str, Any]:
    props = request.resource_properties
    return dict(props) if isinstance(props, dict) else {}


def body(request: Request, outcome: Outcome) -> bytes:
    """The response document, with the reason cut so the whole stays under 4096 bytes."""
    document = {
        "Status": "SUCCESS" if outcome.ok else "FAILED",
        "Reason": outcome.reason,
        "PhysicalResourceId": outcome.physical_resource_id,
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "Data": outcome.data,
    }
    encoded = json.dumps(document).encode()
    if len(encoded) > MAX_BODY_BYTES:
        room = len(outcome.reason) - (len(encoded) - MAX_BODY_BYTES) - 64
        document["Reason"] = outcome.reason[: max(room, 0)] + " ... (cut; every problem is in the function's log)"
        encoded = json.dumps(document).encode()
    return encoded


def put(url: str, payload: bytes) -> None:
    """PUT the answer; a few attempts, since CloudFormation would otherwise wait an hour."""
    for attempt in range(1, PUT_ATTEMPTS + 1):
        # Content-Type must be empty: the presigned URL is signed without one.
        request = urllib.request.Request(url, data=payload, method="PUT", headers={"Content-Type": ""})  # noqa: S310 (the URL is CloudFormation's ResponseURL, http(s) only: checked by the Parser model)
        try:
            with urllib.request.urlopen(request, timeout=PUT_TIMEOUT_SECONDS) as response:  # noqa: S310 (same URL)
                logger.info("answered CloudFormation", extra={"http_status": response.status})
                return
        except OSError:
            if attempt == PUT_ATTEMPTS:
                raise
            logger.warning("could not answer CloudFormation; retrying", exc_info=True)
            time.sleep(attempt)


class _Once:
    """Exactly one answer per invocation: the handler's or the deadline's."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self._lock = threading.Lock()
        self._sent = False

    def send(self, outcome: Outcome) -> bool:
        with self._lock:
            if self._sent:
                return False
            self._sent = True
        logger.info(
            "custom resource answer",
            extra={"status": "SUCCESS" if outcome.ok else "FAILED", "reason": outcome.reason},
        )
        put(str(self.request.response_url), body(self.request, outcome))
        return True


def parse_request(event: dict[str, Any]) -> Request:
    """The request, by its RequestType (Powertools' Parser models); ValidationError if it is not one."""
    return parse(event={"request": event}, model=_Request).request


def run(event: dict[str, Any], context: Any, handle: Callable[[Request], Outcome]) -> None:
    """Answer one CloudFormation request with ``handle``'s outcome; any exception in
    ``handle`` is a FAILED answer with its message (never a silent hour of waiting)."""
    try:
        request = parse_request(event)
    except ValidationError:
        # Not a CloudFormation request (or one without a usable ResponseURL): nobody to answer.
        logger.exception("not a CloudFormation custom resource request")
        raise
    answer = _Once(request)
    physical = getattr(request, "physical_resource_id", None) or request.logical_resource_id
    remaining_ms = context.get_remaining_time_in_millis() if context is not None else 0
    timer = None
    if remaining_ms > DEADLINE_MARGIN_SECONDS * 1000:
        timer = threading.Timer(
            remaining_ms / 1000 - DEADLINE_MARGIN_SECONDS,
            answer.send,
            args=(Outcome(False, "the configuration check did not finish in time; retry the deploy", physical),),
        )
        timer.daemon = True
        timer.start()
    try:
        outcome = handle(request)
    except Exception as exc:  # noqa: BLE001 (every failure must reach CloudFormation as FAILED)
        logger.exception("custom resource handler failed")
        outcome = Outcome(False, f"{type(exc).__name__}: {exc}", physical)
    finally:
        if timer is not None:
            timer.cancel()
    answer.send(outcome)
