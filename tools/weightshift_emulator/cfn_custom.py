"""Lambda-backed custom resources, and the stack lifecycle they need, in moto's CloudFormation.

moto 5.2.5 sends a custom resource only a ``Create`` (never ``Update`` or ``Delete``),
ignores a ``FAILED`` response, needs a moto server for the response URL, and never rolls a
stack back. This module replaces that with the real protocol and the lifecycle around it.
Every rule below names its source; where AWS's exact behaviour could not be confirmed the
emulator takes the harsher reading and says so ("unconfirmed").

**The protocol** (``AWS::CloudFormation::CustomResource`` and ``Custom::<Name>`` whose
``ServiceToken`` is a Lambda function ARN):

- CloudFormation invokes the function *asynchronously* ("CloudFormation invokes your Lambda
  function asynchronously with an event that includes a callback URL",
  https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html), so Lambda's
  own retries of a function error apply (``lambda_async.accept``: two retries, on the
  simulated clock).
- The request fields per type: ``RequestType``, ``ServiceToken``, ``ResponseURL``,
  ``StackId``, ``RequestId``, ``LogicalResourceId``, ``ResourceType``,
  ``ResourceProperties`` (with ``ServiceToken``); ``Update`` adds ``PhysicalResourceId`` and
  ``OldResourceProperties``; ``Delete`` adds ``PhysicalResourceId``
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html,
  .../crpg-ref-requesttypes-update.html, .../crpg-ref-requesttypes-delete.html).
- Property values reach the function as strings: numbers and booleans are turned into
  strings ("true"/"false"), inside lists and maps too
  (https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1037; the
  delete-request example in aws_lambda_events keeps lists and maps, with string leaves).
- ``Update`` is sent only when the resource's properties changed ("your custom resource code
  doesn't have to detect changes [...] it knows that its properties have changed when the
  request type is Update", crpg-ref-requesttypes-update.html).
- The response is a JSON body PUT to the presigned ``ResponseURL``: ``Status``
  (SUCCESS/FAILED), ``Reason``, ``PhysicalResourceId``, ``StackId``, ``RequestId``,
  ``LogicalResourceId``, ``NoEcho``, ``Data``; "The total size of the response body can't
  exceed 4096 bytes"; the physical id is "a non-empty string", "up to 1 KB"
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html).
  Here the URL is served by :class:`ResponseListener` on 127.0.0.1 and matched to its
  request by a token in the URL.
- CloudFormation waits for the response until ``ServiceTimeout`` (1-3600 s, default 3600)
  (crpg-ref-requests.html). The emulator waits on real time for at most
  :attr:`Settings.response_wait_seconds` (60 s by default), and no longer once the
  function's asynchronous invocation has finished without a response (nothing else can
  answer then); either way it records the full ``ServiceTimeout`` on the simulated clock
  (``patches.CLOCK``, kind ``cfn-custom-resource-timeout``) and fails as AWS does at the
  timeout. The bound: ``WEIGHTSHIFT_CUSTOM_RESOURCE_WAIT_SECONDS`` in the environment, or
  :data:`SETTINGS` in-process (``reset()`` restores it).

**The messages** (resource ``ResourceStatusReason``):

- FAILED: ``Received response status [FAILED] from custom resource. Message returned:
  <Reason> (RequestId: <RequestId>)``
  (https://github.com/awslabs/aws-video-transcriber/issues/32,
  https://github.com/aws-samples/amazon-connect-contact-surveys/issues/4).
- No response: ``CloudFormation did not receive a response from your Custom Resource. Please
  check your logs for requestId [<RequestId>]. If you are using the Python cfn-response
  module, you may need to update your Lambda function code so that CloudFormation can attach
  the updated version.``
  (https://github.com/aws-samples/aws-security-reference-architecture-examples/issues/162).
- A body over 4096 bytes: ``Response object is too long.``
  (https://github.com/carlnordenfelt/aws-api-gateway-for-cloudformation/issues/37; the limit
  is inclusive, https://github.com/awsdocs/aws-cloudformation-user-guide/issues/262).
- No or empty ``PhysicalResourceId`` (SUCCESS or FAILED alike): ``Invalid
  PhysicalResourceId``, instead of the Reason
  (https://github.com/aws/aws-lambda-go/issues/107,
  https://github.com/remind101/empire/issues/918,
  https://github.com/aws-cloudformation/custom-resource-helper/issues/67).
- A ``Status`` other than SUCCESS/FAILED: ``Invalid Response object: '<Status>' is not a
  valid ResponseStatus``
  (https://github.com/PaloAltoNetworks/aws-elb-autoscaling/issues/23).
- Unconfirmed, harsher: a body that is not a JSON object, a ``Data`` that is not an object,
  or ``StackId``/``RequestId``/``LogicalResourceId`` not copied from the request fail with
  ``Invalid Response object: ...``; an Invoke that Lambda rejects (no such function) fails
  with Lambda's error; a ``Fn::GetAtt`` of a key the ``Data`` lacks fails the resource (or,
  in ``Outputs``, the stack) with ``CustomResource attribute error: Vendor response doesn't
  contain <key> key in object <StackId>|<LogicalId>|<RequestId>``
  (https://github.com/aws-solutions-library-samples/live-streaming-on-aws/issues/8 shows the
  message's start).

**The lifecycle** (moto's ``Stack.create_resources``, ``Stack.update``, ``Stack.delete`` and
``CloudFormationBackend.execute_change_set`` are replaced; every resource now has
``*_IN_PROGRESS``/``*_COMPLETE``/``*_FAILED`` events, which ``sam deploy`` prints):

- A failed create: the resource ``CREATE_FAILED``; the stack ``ROLLBACK_IN_PROGRESS`` with
  ``The following resource(s) failed to create: [<Ids>]. Rollback requested by user.``
  (https://github.com/aws-solutions/dynamic-image-transformation-for-amazon-cloudfront/issues/46,
  https://github.com/serverless/serverless/issues/1745); every resource created so far
  deleted in reverse order, the failed custom resource too, with the ``PhysicalResourceId``
  of its FAILED response ("When a CREATE operation fails, CloudFormation will automatically
  issue a DELETE operation with the PhysicalResourceId submitted by the FAILED response",
  https://github.com/aws/aws-cdk/issues/5525; without a valid one, CloudFormation generates
  one, https://github.com/remind101/empire/issues/918); then ``ROLLBACK_COMPLETE``, or
  ``ROLLBACK_FAILED`` with ``The following resource(s) failed to delete: [<Ids>]. `` if a
  delete fails (https://github.com/remind101/empire/issues/918).
- ``DeletionPolicy: Retain`` is honoured by the rollback of a create ("RetainExceptOnCreate
  [...] When set to true, newly created resources are deleted when the operation rolls back.
  This includes newly created resources marked with a deletion policy of Retain. Default:
  false", CreateStack/RollbackStack API reference): such a resource is ``DELETE_SKIPPED``.
  ``DeletionPolicy: RetainExceptOnCreate`` is deleted by the rollback of the operation that
  created it and kept otherwise (aws_cdk.CfnDeletionPolicy). The stack option
  ``RetainExceptOnCreate`` is not modelled.
- A failed update: ``UPDATE_FAILED``, ``UPDATE_ROLLBACK_IN_PROGRESS`` with ``The following
  resource(s) failed to update: [<Ids>]. ``; the previous template and parameters come back;
  each resource the update changed gets an update back (a custom resource an ``Update`` with
  the old properties as ``ResourceProperties``; the failed one too, "CloudFormation
  [executes] another update when rolling back", https://github.com/aws/aws-cdk/issues/17040,
  at the physical id its FAILED response gave, https://github.com/aws/aws-cdk/issues/13527);
  a custom resource the update had replaced (new physical id) returns to the old one and the
  new one gets a ``Delete``; then ``UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS`` deletes
  what the update added, and ``UPDATE_ROLLBACK_COMPLETE``. If the rollback's own request
  fails: ``UPDATE_ROLLBACK_FAILED``
  (https://github.com/aws-cloudformation/custom-resource-helper/issues/70).
- A successful update: resources the template removed, and the old physical id of a replaced
  custom resource ("If the value returned is different, CloudFormation recognizes the update
  as a replacement and sends a delete request to the old resource",
  crpg-ref-responses.html), are deleted in ``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS``. A
  failure there is a ``DELETE_FAILED`` event only; the stack still ends ``UPDATE_COMPLETE``
  (unconfirmed).
- Stack delete: every resource deleted in reverse dependency order (``Retain`` ones
  ``DELETE_SKIPPED``); a FAILED ``Delete`` leaves the stack ``DELETE_FAILED`` with ``The
  following resource(s) failed to delete: [<Ids>]. `` (weaveworks/eksctl's report of the
  stack event) and in the stack list, where a second ``DeleteStack`` tries again. What a
  resource that could not be deleted depends on is not deleted either (CloudFormation
  deletes a resource only once what depends on it is gone).
- ``StackStatusReason`` is the reason of the latest stack status and is cleared by a
  ``*_COMPLETE`` status (describe-stacks of ROLLBACK_COMPLETE stacks shows none).
- A stack in ``ROLLBACK_COMPLETE``, ``ROLLBACK_FAILED``, ``UPDATE_ROLLBACK_FAILED`` (or,
  unconfirmed, ``DELETE_FAILED``) cannot be updated: ``Stack:<StackId> is in <Status> state
  and can not be updated.`` (moto has the ROLLBACK_COMPLETE case for UpdateStack;
  https://github.com/aws-amplify/amplify-cli/issues/1364 for UPDATE_ROLLBACK_FAILED), for
  ``UpdateStack`` and for an ``UPDATE`` change set (which is what ``sam deploy`` sends for
  an existing stack).

**What stays simpler than AWS:** resources are created, updated and deleted one at a time
(AWS runs independent ones in parallel and cancels the others when one fails, "Resource
creation cancelled"); a failure of a non-custom resource is reported as ``Resource handler
returned message: "<moto's error>"``; stack ``Outputs`` are evaluated once, when the stack
operation completes, and a ``NoEcho`` custom resource masks only an output that is exactly
its ``Fn::GetAtt``; SNS service tokens are not modelled (the resource fails). The in-process
Lambda runs one handler at a time (``patches.environment``), so a function that hangs holds
up the next request (AWS would run it alongside).
"""

from __future__ import annotations

import contextlib
import copy
import http.server
import json
import logging
import os
import re
import secrets
import string
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import moto.cloudformation.models as cfn_models
import moto.cloudformation.parsing as cfn_parsing
from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudformation.exceptions import ValidationError
from moto.core.common_models import CloudFormationModel
from moto.utilities.arns import parse_arn

from weightshift_emulator import lambda_async, patches

LOG = logging.getLogger("weightshift_emulator")

CUSTOM_TYPE = "AWS::CloudFormation::CustomResource"
# crpg-ref-responses.html; inclusive: https://github.com/awsdocs/aws-cloudformation-user-guide/issues/262
MAX_RESPONSE_BYTES = 4096
MAX_PHYSICAL_ID_BYTES = 1024  # "up to 1 KB in size", crpg-ref-responses.html
DEFAULT_SERVICE_TIMEOUT_SECONDS = 3600  # "The default value is 3600 seconds (1 hour)", crpg-ref-requests.html
# The emulator's real-time bound (module docstring); WEIGHTSHIFT_CUSTOM_RESOURCE_WAIT_SECONDS overrides it.
DEFAULT_RESPONSE_WAIT_SECONDS = float(os.environ.get("WEIGHTSHIFT_CUSTOM_RESOURCE_WAIT_SECONDS", "60"))

FAILED_MESSAGE = (
    "Received response status [FAILED] from custom resource. Message returned: {reason} (RequestId: {request_id})"
)
TIMEOUT_MESSAGE = (
    "CloudFormation did not receive a response from your Custom Resource. Please check your logs for "
    "requestId [{request_id}]. If you are using the Python cfn-response module, you may need to update your "
    "Lambda function code so that CloudFormation can attach the updated version."
)
TOO_LONG_MESSAGE = "Response object is too long."
INVALID_PHYSICAL_ID_MESSAGE = "Invalid PhysicalResourceId"
INVALID_STATUS_MESSAGE = "Invalid Response object: '{status}' is not a valid ResponseStatus"
MISSING_ATTRIBUTE_MESSAGE = (
    "CustomResource attribute error: Vendor response doesn't contain {attribute} key in object "
    "{stack_id}|{logical_id}|{request_id}"
)
FAILED_TO = "The following resource(s) failed to {verb}: [{ids}]. "
ROLLBACK_REQUESTED = "Rollback requested by user."
CANNOT_UPDATE = "Stack:{stack_id} is in {status} state and can not be updated."
# States from which neither UpdateStack nor an UPDATE change set is accepted (module docstring).
NOT_UPDATABLE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED")


@dataclass
class Settings:
    """How long the emulator waits, on real time, for a custom resource's response before it
    treats the request as timed out (AWS waits ``ServiceTimeout``, an hour by default)."""

    response_wait_seconds: float = DEFAULT_RESPONSE_WAIT_SECONDS


SETTINGS = Settings()


# --------------------------------------------------------------------- errors
class ResourceFailed(Exception):
    """A resource's create, update or delete failed; ``reason`` is its ResourceStatusReason."""

    def __init__(self, logical_id: str, reason: str, resource: CustomResource | None = None) -> None:
        super().__init__(reason)
        self.logical_id = logical_id
        self.reason = reason
        self.resource = resource  # a failed custom resource, with the physical id its rollback Delete uses


class AttributeMissing(Exception):
    """``Fn::GetAtt`` of a key the custom resource's ``Data`` does not have."""


# ------------------------------------------------------------- the requests
@dataclass
class CustomRequest:
    """One request CloudFormation sent a custom resource, and what came of it (tests, the demo)."""

    event: dict[str, Any]
    outcome: str = "PENDING"  # SUCCESS, FAILED, TIMEOUT, INVALID, INVOKE_ERROR
    reason: str | None = None
    response: Any = None  # the JSON body the function PUT, parsed (None if none or not JSON)
    invocation: lambda_async.AsyncInvocation | None = None

    @property
    def request_type(self) -> str:
        return str(self.event["RequestType"])


REQUESTS: list[CustomRequest] = []
_REQUESTS_LOCK = threading.Lock()


@dataclass
class _Pending:
    received: threading.Event = field(default_factory=threading.Event)
    body: bytes | None = None


class ResponseListener:
    """The presigned-S3-URL stand-in: a threaded HTTP server on 127.0.0.1 (ephemeral port,
    started on first use) that takes the function's ``PUT`` of its response. The token in
    the URL's query matches a body to its request. Like S3, it answers a PUT with 200 and an
    empty body, and a PUT to an unknown token with 403."""

    def __init__(self) -> None:
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        self._start()
        assert self._server is not None
        return int(self._server.server_address[1])

    def _start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            listener = self

            class Handler(http.server.BaseHTTPRequestHandler):
                def do_PUT(self) -> None:
                    token = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("X-Amz-Signature", [""])
                    length = self.headers.get("Content-Length")
                    if length is None:  # S3 refuses a PUT without a length
                        self._answer(411)
                        return
                    body = self.rfile.read(int(length))
                    self._answer(200 if listener._deliver(token[0], body) else 403)

                def _answer(self, status: int) -> None:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    if status == 200:
                        self.send_header("ETag", '"emulated"')
                    self.end_headers()

                def log_message(self, format: str, *args: Any) -> None:
                    LOG.debug("custom resource response listener: " + format, *args)

            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.daemon_threads = True
            thread = threading.Thread(
                target=server.serve_forever, args=(0.05,), name="cfn-custom-responses", daemon=True
            )
            thread.start()
            self._server, self._thread = server, thread

    def register(self, stack_id: str, logical_id: str, request_id: str) -> tuple[str, str]:
        """A new response URL (the S3 key is ``StackId|LogicalId|RequestId``, as on AWS) and its token."""
        token = secrets.token_urlsafe(24)
        port = self.port
        with self._lock:
            self._pending[token] = _Pending()
        key = urllib.parse.quote(f"{stack_id}|{logical_id}|{request_id}", safe="")
        return f"http://127.0.0.1:{port}/{key}?X-Amz-Expires=7200&X-Amz-Signature={token}", token

    def _deliver(self, token: str, body: bytes) -> bool:
        with self._lock:
            pending = self._pending.get(token)
        if pending is None:
            return False
        if not pending.received.is_set():  # the first response counts; later PUTs overwrite nothing here
            pending.body = body
            pending.received.set()
        return True

    def wait(self, token: str, invoked: threading.Event, seconds: float) -> bytes | None:
        """The body PUT for ``token``; None if none came within ``seconds`` of real time, or
        once the invocation has finished without one (nothing else will answer then)."""
        with self._lock:
            pending = self._pending[token]
        deadline = time.monotonic() + seconds
        try:
            while True:
                remaining = deadline - time.monotonic()
                if pending.received.wait(timeout=max(0.0, min(0.02, remaining))):
                    return pending.body
                if invoked.is_set() or remaining <= 0:
                    # A PUT completes before the handler returns, so the check above saw it.
                    return pending.body if pending.received.is_set() else None
        finally:
            with self._lock:
                self._pending.pop(token, None)

    def forget(self, token: str) -> None:
        with self._lock:
            self._pending.pop(token, None)

    def stop(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
            self._pending.clear()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)


LISTENER = ResponseListener()


# --------------------------------------------------------------- the outcome
@dataclass
class Outcome:
    ok: bool
    physical_id: str | None = None  # None: no valid id came back
    data: dict[str, Any] = field(default_factory=dict)
    no_echo: bool = False
    reason: str = ""
    request_id: str = ""


def as_text(value: Any) -> Any:
    """Property values as the function receives them: numbers and booleans as strings, in
    lists and maps too (cloudformation-coverage-roadmap#1037)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    return value


def generated_physical_id(stack_name: str, logical_id: str) -> str:
    """The id CloudFormation makes up for a custom resource that gave none (its format is
    unconfirmed; CloudFormation's generated names look like this)."""
    suffix = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(12))
    return f"{stack_name}-{logical_id}-{suffix}"


def _judge(body: bytes, event: dict[str, Any]) -> tuple[str, Outcome]:
    """(outcome name, Outcome) of a response body, validated as CloudFormation does (module docstring)."""
    request_id = str(event["RequestId"])

    def invalid(reason: str, physical_id: str | None = None) -> tuple[str, Outcome]:
        return "INVALID", Outcome(False, physical_id, reason=reason, request_id=request_id)

    if len(body) > MAX_RESPONSE_BYTES:
        return invalid(TOO_LONG_MESSAGE)
    try:
        response = json.loads(body)
    except ValueError as exc:
        return invalid(f"Invalid Response object: {exc}")
    if not isinstance(response, dict):
        return invalid("Invalid Response object: the response body must be a JSON object")
    status = response.get("Status")
    if status not in ("SUCCESS", "FAILED"):
        return invalid(INVALID_STATUS_MESSAGE.format(status=status))
    physical_id = response.get("PhysicalResourceId")
    if not isinstance(physical_id, str) or not physical_id or len(physical_id.encode()) > MAX_PHYSICAL_ID_BYTES:
        return invalid(INVALID_PHYSICAL_ID_MESSAGE)
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        if response.get(key) != event[key]:
            return invalid(f"Invalid Response object: {key} must be copied from the request", physical_id)
    if status == "FAILED":
        reason = FAILED_MESSAGE.format(reason=response.get("Reason", ""), request_id=request_id)
        return "FAILED", Outcome(False, physical_id, reason=reason, request_id=request_id)
    data = response.get("Data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return invalid("Invalid Response object: Data must be a JSON object", physical_id)
    no_echo = response.get("NoEcho") in (True, "true", "True")
    return "SUCCESS", Outcome(True, physical_id, dict(data), no_echo, request_id=request_id)


def _service_timeout(properties: dict[str, Any]) -> int:
    raw = properties.get("ServiceTimeout", DEFAULT_SERVICE_TIMEOUT_SECONDS)
    try:
        seconds = int(str(raw))
    except ValueError:
        seconds = -1
    if not 1 <= seconds <= DEFAULT_SERVICE_TIMEOUT_SECONDS:  # "an integer from 1 to 3600", crpg-ref-requests.html
        raise ValueError(f"ServiceTimeout must be an integer from 1 to 3600, not {raw!r}")
    return seconds


def _function_of(service_token: str, region_name: str) -> tuple[Any, str, str | None]:
    """(Lambda backend, function name, qualifier) of a Lambda ServiceToken."""
    if not service_token.startswith("arn:") or len(service_token.split(":")) < 7:
        raise ValueError(f"ServiceToken {service_token!r} is not a Lambda function ARN")
    arn = parse_arn(service_token)
    if arn.service != "lambda":
        raise ValueError(f"ServiceToken {service_token} is not a Lambda function (only Lambda is modelled)")
    if arn.region != region_name:  # "The service token must be from the same Region as the stack"
        raise ValueError(f"ServiceToken {service_token} is not in the stack's Region {region_name}")
    parts = service_token.split(":")
    return lambda_backend(arn.account, arn.region), parts[6], parts[7] if len(parts) > 7 else None


def send(
    request_type: str,
    *,
    stack_id: str,
    logical_id: str,
    resource_type: str,
    region_name: str,
    properties: dict[str, Any],
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
) -> Outcome:
    """Send one request to the custom resource's function and wait for its response."""
    request_id = str(uuid.uuid4())
    url, token = LISTENER.register(stack_id, logical_id, request_id)
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": properties.get("ServiceToken"),
        "ResponseURL": url,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_id
    event["ResourceProperties"] = properties
    if request_type == "Update":
        event["OldResourceProperties"] = old_properties
    record = CustomRequest(event)
    with _REQUESTS_LOCK:
        REQUESTS.append(record)
    try:
        timeout = _service_timeout(properties)
        backend, function_name, qualifier = _function_of(str(properties.get("ServiceToken", "")), region_name)
    except ValueError as exc:
        LISTENER.forget(token)
        record.outcome, record.reason = "INVOKE_ERROR", str(exc)
        return Outcome(False, reason=str(exc), request_id=request_id)

    invoked = threading.Event()
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            record.invocation = lambda_async.accept(backend, function_name, qualifier, event)
        except Exception as exc:  # noqa: BLE001 - the Invoke call itself failed (no such function, throttled)
            errors.append(exc)
        finally:
            invoked.set()

    threading.Thread(target=invoke, name=f"cfn-custom-{logical_id}", daemon=True).start()
    body = LISTENER.wait(token, invoked, SETTINGS.response_wait_seconds)
    if body is None:
        if errors:
            error = errors[0]  # e.g. ResourceNotFoundException: the function is gone (message unconfirmed)
            code = getattr(error, "error_type", None) or getattr(error, "code", None) or type(error).__name__
            reason = f"{code}: {getattr(error, 'message', '') or error}"
            record.outcome, record.reason = "INVOKE_ERROR", reason
            return Outcome(False, reason=reason, request_id=request_id)
        # AWS waits the whole ServiceTimeout; the emulator records it and answers as AWS does then.
        patches.CLOCK.record(patches.Wait("cfn-custom-resource-timeout", logical_id, float(timeout), request_id))
        record.outcome, record.reason = "TIMEOUT", TIMEOUT_MESSAGE.format(request_id=request_id)
        return Outcome(False, reason=record.reason, request_id=request_id)
    with contextlib.suppress(ValueError):
        record.response = json.loads(body)
    name, outcome = _judge(body, event)
    record.outcome, record.reason = name, outcome.reason or None
    return outcome


# ------------------------------------------------------ the resource model
class CustomResource(CloudFormationModel):  # type: ignore[misc]
    """A custom resource as CloudFormation keeps it: its physical id, the properties it was
    last created or updated with (as the function saw them), and the ``Data`` of that response."""

    def __init__(
        self,
        *,
        logical_id: str,
        resource_type: str,
        stack_id: str,
        region_name: str,
        properties: dict[str, Any],
        physical_id: str,
        data: dict[str, Any] | None = None,
        no_echo: bool = False,
        request_id: str = "",
    ) -> None:
        self.logical_id = logical_id
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.stack_id = stack_id
        self.region_name = region_name
        self.properties = properties
        self._physical_id = physical_id
        self.data = data or {}
        self.no_echo = no_echo
        self.request_id = request_id

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    @staticmethod
    def cloudformation_type() -> str:
        return CUSTOM_TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True  # any key of the response's Data

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.data:
            return self.data[attribute_name]
        raise AttributeMissing(
            MISSING_ATTRIBUTE_MESSAGE.format(
                attribute=attribute_name, stack_id=self.stack_id, logical_id=self.logical_id, request_id=self.request_id
            )
        )

    def _with(self, outcome: Outcome, properties: dict[str, Any], physical_id: str) -> CustomResource:
        return CustomResource(
            logical_id=self.logical_id,
            resource_type=self.cf_resource_type,
            stack_id=self.stack_id,
            region_name=self.region_name,
            properties=properties,
            physical_id=physical_id,
            data=outcome.data,
            no_echo=outcome.no_echo,
            request_id=outcome.request_id,
        )

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> CustomResource:
        logical_id, stack_id = str(kwargs["LogicalId"]), str(kwargs["StackId"])
        properties = as_text(cloudformation_json.get("Properties") or {})
        resource = cls(
            logical_id=logical_id,
            resource_type=str(kwargs["ResourceType"]),
            stack_id=stack_id,
            region_name=region_name,
            properties=properties,
            physical_id="",
        )
        outcome = send(
            "Create",
            stack_id=stack_id,
            logical_id=logical_id,
            resource_type=resource.cf_resource_type,
            region_name=region_name,
            properties=properties,
        )
        stack_name = stack_id.split("/")[1] if "/" in stack_id else stack_id
        created = resource._with(
            outcome, properties, outcome.physical_id or generated_physical_id(stack_name, logical_id)
        )
        if not outcome.ok:
            raise ResourceFailed(logical_id, outcome.reason, created)
        return created

    def update_to(self, properties: dict[str, Any], old_properties: dict[str, Any]) -> CustomResource:
        """Send an ``Update``; the resource as it is afterwards (its physical id may be new)."""
        outcome = send(
            "Update",
            stack_id=self.stack_id,
            logical_id=self.logical_id,
            resource_type=self.cf_resource_type,
            region_name=self.region_name,
            properties=properties,
            physical_id=self.physical_resource_id,
            old_properties=old_properties,
        )
        # A FAILED response's physical id becomes the resource's
        # (https://github.com/aws/aws-cdk/issues/13527); without a valid one (or without a
        # response) it keeps its id.
        updated = self._with(outcome, properties, outcome.physical_id or self.physical_resource_id)
        if not outcome.ok:
            raise ResourceFailed(self.logical_id, outcome.reason, updated)
        return updated

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> CustomResource:
        properties = as_text(cloudformation_json.get("Properties") or {})
        return original_resource.update_to(properties, original_resource.properties)  # type: ignore[no-any-return]

    def delete(self, account_id: str = "", region_name: str = "") -> None:
        """Send a ``Delete`` (moto's ``ResourceMap._delete_resource`` calls this)."""
        outcome = send(
            "Delete",
            stack_id=self.stack_id,
            logical_id=self.logical_id,
            resource_type=self.cf_resource_type,
            region_name=self.region_name,
            properties=self.properties,
            physical_id=self.physical_resource_id,
        )
        if not outcome.ok:
            raise ResourceFailed(self.logical_id, outcome.reason, self)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        raise ResourceFailed("?", "a custom resource is deleted through its instance (CustomResource.delete)")


def is_custom(resource_type: str) -> bool:
    return resource_type == CUSTOM_TYPE or resource_type.startswith("Custom::")


# --------------------------------------------------------------- the engine
@dataclass
class _Updated:
    name: str
    old: Any  # the resource before the update
    new: Any  # after it (for the failed one: as the failure left it)
    failed: bool = False


@dataclass
class _Operation:
    """What one stack operation did, for its rollback or cleanup."""

    created: list[str] = field(default_factory=list)  # logical ids, in the order they completed
    failed_create: list[tuple[str, CustomResource | None]] = field(default_factory=list)
    updated: list[_Updated] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (logical id, "create" | "update")


def _stack_status(stack: Any, status: str, reason: str | None = None) -> None:
    stack.status = status
    stack.stack_status_reason = reason  # describe-stacks' StackStatusReason; cleared by a *_COMPLETE status
    stack._add_stack_event(status, resource_status_reason=reason)


def _resource_event(
    stack: Any, logical_id: str, resource_type: str, status: str, reason: str | None = None, physical_id: str = ""
) -> None:
    event = cfn_models.Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id or "",
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def _physical(resource: Any) -> str:
    """A resource's physical id for its events (some moto models have none, e.g. Lambda permissions)."""
    return str(getattr(resource, "physical_resource_id", "") or "")


def _handler_failure(exc: BaseException) -> str:
    return f'Resource handler returned message: "{exc}"'


def _failed_to(verb: str, names: list[str]) -> str:
    return FAILED_TO.format(verb=verb, ids=", ".join(names))


def references(node: Any) -> set[str]:
    """The names a template fragment refers to (Ref, Fn::GetAtt, Fn::Sub's ${Name} and ${Name.Attr})."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) and value else str(value).split(".")[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text, names = (value[0], value[1]) if isinstance(value, list) else (value, {})
                found |= references(names)
                for name in re.findall(r"\$\{([^!}][^}]*)\}", str(text)):
                    if name.split(".")[0] not in names:
                        found.add(name.split(".")[0])
            else:
                found |= references(value)
    return found


def dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource's direct dependencies: what it refers to, and its DependsOn."""
    deps: dict[str, set[str]] = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else list(depends)
        deps[name] = (references(resource.get("Properties", {})) | set(depends)) & set(resources) - {name}
    return deps


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """The resources, each after what it refers to or DependsOn (template order otherwise)."""
    deps = dependencies(resources)
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name in visiting:  # a cycle is the template's error; do not loop on it
            return
        visiting.add(name)
        for dep in sorted(deps[name], key=list(resources).index):
            visit(dep)
        visiting.discard(name)
        done.append(name)

    for name in resources:
        visit(name)
    return done


@contextlib.contextmanager
def _building(resource_map: Any, operation: _Operation) -> Iterator[None]:
    """While a stack operation runs, the resource map may create resources: moto creates one the
    first time anything reads it. Outside an operation it only reads what exists, so that a
    read (ListStackResources, DescribeStacks) never brings back a resource a rollback deleted."""
    resource_map._ws_managed = True
    resource_map._ws_op = operation
    try:
        yield
    finally:
        resource_map._ws_op = None


def _parsed(resource_map: Any) -> dict[str, Any]:
    return resource_map._parsed_resources  # type: ignore[no-any-return]


def _instance(resource_map: Any, name: str) -> Any:
    value = _parsed(resource_map).get(name)
    return value if isinstance(value, CloudFormationModel) else None


def _parse_and_create_resource(
    logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
) -> Any:
    """moto's ``parse_and_create_resource`` with the resource's events, and its failure as a
    :class:`ResourceFailed` (a template error while resolving its properties still raises as is)."""
    operation: _Operation | None = getattr(resources_map, "_ws_op", None)
    if operation is None:
        return _ORIGINAL["parse_and_create_resource"](logical_id, resource_json, resources_map, account_id, region_name)
    condition = resource_json.get("Condition")
    if condition and not resources_map.lazy_condition_map[condition]:
        return None
    resource_type = resource_json["Type"]
    stack = _stack_of(resources_map)
    try:
        parsed = cfn_parsing.parse_resource_and_generate_name(logical_id, resource_json, resources_map)
    except AttributeMissing as exc:  # a Fn::GetAtt of a custom resource's missing key fails this resource
        _resource_event(stack, logical_id, resource_type, "CREATE_FAILED", str(exc))
        operation.failures.append((logical_id, "create"))
        raise ResourceFailed(logical_id, str(exc)) from exc
    if not parsed:
        return None
    resource_class, cleaned, physical_name = parsed
    _resource_event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS")
    try:
        resource = resource_class.create_from_cloudformation_json(
            physical_name,
            cleaned,
            account_id,
            region_name,
            LogicalId=logical_id,
            StackId=resources_map.stack_id,
            ResourceType=resource_type,
        )
    except ResourceFailed as failure:
        physical = failure.resource.physical_resource_id if failure.resource else ""
        _resource_event(stack, logical_id, resource_type, "CREATE_FAILED", failure.reason, physical)
        operation.failures.append((logical_id, "create"))
        operation.failed_create.append((logical_id, failure.resource))
        raise
    except Exception as exc:
        _resource_event(stack, logical_id, resource_type, "CREATE_FAILED", _handler_failure(exc))
        operation.failures.append((logical_id, "create"))
        raise ResourceFailed(logical_id, _handler_failure(exc)) from exc
    resource.cf_resource_type = resource_type
    resource.logical_resource_id = logical_id
    operation.created.append(logical_id)
    _resource_event(stack, logical_id, resource_type, "CREATE_COMPLETE", None, _physical(resource))
    return resource


def _stack_of(resources_map: Any) -> Any:
    stack = getattr(resources_map, "_ws_stack", None)
    if stack is None:
        raise RuntimeError("a managed resource map without its stack")
    return stack


def _getitem(self: Any, key: str) -> Any:
    """Outside a stack operation a managed map never creates a resource: a missing one is gone."""
    managed = getattr(self, "_ws_managed", False) and getattr(self, "_ws_op", None) is None
    if managed and key not in self._parsed_resources and key in self._resource_json_map:
        return None
    return _ORIGINAL["getitem"](self, key)


def _iter(self: Any) -> Iterator[str]:
    """ListStackResources and DescribeStackResources list only the resources that exist."""
    if getattr(self, "_ws_managed", False) and getattr(self, "_ws_op", None) is None:
        return iter([k for k in self._resource_json_map if _instance(self, k) is not None])
    return _ORIGINAL["iter"](self)  # type: ignore[no-any-return]


def _resource_class_from_type(resource_type: str) -> Any:
    if is_custom(resource_type):
        return CustomResource
    return _ORIGINAL["resource_class_from_type"](resource_type)


# ------------------------------------------------------------------ outputs
_NOT_EVALUATED = object()


def _evaluate_outputs(stack: Any) -> list[dict[str, Any]]:
    """The stack's Outputs, evaluated now, as moto would at DescribeStacks."""
    stack.output_map = stack._create_output_map()
    try:
        outputs = _ORIGINAL["outputs"].fget(stack) or []
    except AttributeMissing as exc:
        raise ResourceFailed(stack.name, str(exc)) from exc
    declared = stack.template_dict.get("Outputs") or {}
    for output in outputs:  # NoEcho: "all returned values are masked with asterisks (*****)"
        value = (declared.get(output["OutputKey"]) or {}).get("Value")
        target = value.get("Fn::GetAtt") if isinstance(value, dict) else None
        name = target[0] if isinstance(target, list) and target else str(target or "").split(".")[0]
        resource = _instance(stack.resource_map, name) if name else None
        if isinstance(resource, CustomResource) and resource.no_echo:
            output["OutputValue"] = "*****"
    return list(outputs)


def _outputs(self: Any) -> list[dict[str, Any]] | None:
    stored: Any = getattr(self, "_ws_outputs", _NOT_EVALUATED)
    if stored is _NOT_EVALUATED:
        return _ORIGINAL["outputs"].fget(self)  # type: ignore[no-any-return]
    return list(stored) or None


# -------------------------------------------------------------- deleting
def _delete_resources(
    stack: Any,
    names: list[str],
    resources_json: dict[str, Any],
    *,
    created_by_this_operation: bool,
    extra: dict[str, Any] | None = None,
    replaced: bool = False,
) -> list[str]:
    """Delete ``names`` in this order (events, DeletionPolicy); the logical ids that failed.

    ``extra`` gives instances not (or no longer) in the resource map, by logical id (a failed
    custom resource, the old resource a replacement left behind). ``replaced``: these are the
    physical resources a replacement left behind, deleted whatever their DeletionPolicy (the
    policy "doesn't apply to resources whose physical instance is replaced during stack update
    operations", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html)."""
    resource_map = stack.resource_map
    failed: list[str] = []
    retry: list[tuple[str, Any, dict[str, Any], Exception]] = []
    deps = dependencies(resources_json)
    kept: set[str] = set()  # what a resource that could not be deleted depends on stays too

    def keep(name: str) -> None:
        for dep in deps.get(name, set()) - kept:
            kept.add(dep)
            keep(dep)

    for name in names:
        instance = (extra or {}).get(name) or _instance(resource_map, name)
        if instance is None:
            continue
        if name in kept:
            keep(name)
            continue
        resource_json = resources_json.get(name) or {"Type": getattr(instance, "cf_resource_type", "")}
        resource_type = str(getattr(instance, "cf_resource_type", "") or resource_json.get("Type", ""))
        physical = _physical(instance)
        policy = None if replaced else resource_json.get("DeletionPolicy")
        if policy == "Retain" or (policy == "RetainExceptOnCreate" and not created_by_this_operation):
            _resource_event(stack, name, resource_type, "DELETE_SKIPPED", None, physical)
            _forget(resource_map, name, instance)
            continue
        _resource_event(stack, name, resource_type, "DELETE_IN_PROGRESS", None, physical)
        try:
            resource_map._delete_resource(instance, resource_json)
        except ResourceFailed as failure:
            _resource_event(stack, name, resource_type, "DELETE_FAILED", failure.reason, physical)
            failed.append(name)
            keep(name)
            continue
        except Exception as exc:  # noqa: BLE001 - moto's dependency violations: retried below, as moto does
            retry.append((name, instance, resource_json, exc))
            continue
        _resource_event(stack, name, resource_type, "DELETE_COMPLETE", None, physical)
        _forget(resource_map, name, instance)
    while retry:
        still: list[tuple[str, Any, dict[str, Any], Exception]] = []
        for name, instance, resource_json, _ in retry:
            try:
                resource_map._delete_resource(instance, resource_json)
            except Exception as exc:  # noqa: BLE001
                still.append((name, instance, resource_json, exc))
                continue
            _resource_event(stack, name, instance.cf_resource_type, "DELETE_COMPLETE", None, _physical(instance))
            _forget(resource_map, name, instance)
        if len(still) == len(retry):
            for name, instance, _, error in still:
                _resource_event(
                    stack,
                    name,
                    instance.cf_resource_type,
                    "DELETE_FAILED",
                    _handler_failure(error),
                    _physical(instance),
                )
                failed.append(name)
            break
        retry = still
    return failed


def _forget(resource_map: Any, name: str, instance: Any) -> None:
    if _parsed(resource_map).get(name) is instance:
        _parsed(resource_map).pop(name, None)


# --------------------------------------------------------------- create
def _create_resources(self: Any) -> None:
    """``Stack.create_resources``: create in dependency order; on a failure, roll back."""
    stack = self
    resource_map = stack.resource_map
    resource_map._ws_stack = stack
    stack.status = "CREATE_IN_PROGRESS"
    stack._ws_outputs = []
    operation = _Operation()
    try:
        with _building(resource_map, operation):
            resource_map.create(stack.template_dict)
            outputs = _evaluate_outputs(stack)
    except ResourceFailed as failure:
        _rollback_create(stack, operation, failure)
        return
    stack.description = stack.template_dict.get("Description")
    stack._ws_outputs = outputs
    _stack_status(stack, "CREATE_COMPLETE")


def _rollback_create(stack: Any, operation: _Operation, failure: ResourceFailed) -> None:
    failed_names = [name for name, verb in operation.failures if verb == "create"]
    reason = _failed_to("create", failed_names) + ROLLBACK_REQUESTED if failed_names else failure.reason
    _stack_status(stack, "ROLLBACK_IN_PROGRESS", reason)
    resources_json = stack.template_dict.get("Resources", {})
    extra = {name: resource for name, resource in operation.failed_create if resource is not None}
    order = [name for name, _ in operation.failed_create if name in extra] + list(reversed(operation.created))
    failed = _delete_resources(stack, order, resources_json, created_by_this_operation=True, extra=extra)
    stack._ws_outputs = []
    if failed:
        _stack_status(stack, "ROLLBACK_FAILED", _failed_to("delete", failed))
    else:
        _stack_status(stack, "ROLLBACK_COMPLETE")


# --------------------------------------------------------------- update
@dataclass
class _Prior:
    """A stack as it was before an update: what its rollback restores."""

    template: Any
    template_dict: dict[str, Any]
    parameters: dict[str, Any]
    input_parameters: dict[str, Any]
    parsed: dict[str, Any]
    outputs: Any
    role_arn: Any
    tags: Any

    @classmethod
    def of(cls, stack: Any) -> _Prior:
        rm = stack.resource_map
        return cls(
            stack.template,
            stack.template_dict,
            stack.parameters,
            dict(rm.input_parameters),
            dict(rm._parsed_resources),
            getattr(stack, "_ws_outputs", _NOT_EVALUATED),
            stack.role_arn,
            stack.tags,
        )

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template_dict.get("Resources") or {})


def _load(resource_map: Any, template_dict: dict[str, Any], input_parameters: dict[str, Any]) -> None:
    """Point the resource map at a template and its parameters (what moto's update does first)."""
    resource_map._template = template_dict
    resource_map.input_parameters = input_parameters
    resource_map.resolved_parameters = {}
    resource_map.load_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()
    resource_map._resource_json_map = template_dict["Resources"]


def _stack_update(
    self: Any,
    template: str,
    role_arn: str | None = None,
    parameters: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """``Stack.update``: update in dependency order, clean up, or roll back."""
    stack = self
    resource_map = stack.resource_map
    resource_map._ws_stack = stack
    prior = _Prior.of(stack)
    _stack_status(stack, "UPDATE_IN_PROGRESS", "User Initiated")
    new_dict = stack.parse_template(template)
    diff = _diff(prior.resources, dict(new_dict["Resources"]), prior.input_parameters, parameters or {})
    stack.template, stack.template_dict = template, new_dict
    _load(resource_map, new_dict, parameters if parameters else prior.input_parameters)
    new_resources = new_dict["Resources"]
    old_resources = prior.resources
    customs = {
        n
        for n in new_resources
        if n in old_resources and is_custom(str(new_resources[n].get("Type", ""))) and n not in diff["Add"]
    }
    operation = _Operation()
    try:
        with _building(resource_map, operation):
            for name in dependency_order(new_resources):
                if name in diff["Add"]:
                    resource_map[name]  # created through the hook, with its events
                elif name in diff["Modify"] or name in customs:
                    _update_resource(stack, operation, name)
            outputs = _evaluate_outputs(stack)
    except ResourceFailed as failure:
        _rollback_update(stack, operation, prior, failure, new_resources)
        return
    stack.role_arn = role_arn
    if parameters:
        stack.parameters = parameters
    if tags is not None:
        stack.tags = tags
    stack.description = new_dict.get("Description")
    stack._ws_outputs = outputs
    _stack_status(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    removed = [n for n in reversed(dependency_order(old_resources)) if n in diff["Remove"]]
    _delete_resources(stack, removed, old_resources, created_by_this_operation=False)
    replaced = {u.name: u.old for u in operation.updated if _replaced(u)}
    _delete_resources(
        stack, list(replaced), old_resources, created_by_this_operation=False, extra=replaced, replaced=True
    )
    _stack_status(stack, "UPDATE_COMPLETE")


def _diff(
    old: dict[str, Any], new: dict[str, Any], old_parameters: dict[str, Any], new_parameters: dict[str, Any]
) -> dict[str, list[str]]:
    """Which resources an update adds, modifies and removes. A resource is modified when its
    type or properties change, or a parameter it refers to does (through Ref or Fn::Sub).
    (moto's own diff compares the raw template, into which its parser writes an empty
    ``Properties``, so a resource without properties looked changed, and moto replaced it.)"""
    changed = {k for k in set(old_parameters) | set(new_parameters) if old_parameters.get(k) != new_parameters.get(k)}

    def shape(resource: dict[str, Any]) -> tuple[Any, Any]:
        return resource.get("Type"), resource.get("Properties") or {}

    return {
        "Add": [n for n in new if n not in old],
        "Modify": [
            n
            for n in new
            if n in old and (shape(new[n]) != shape(old[n]) or references(new[n].get("Properties") or {}) & changed)
        ],
        "Remove": [n for n in old if n not in new],
    }


def _replaced(update: _Updated) -> bool:
    return (
        isinstance(update.old, CustomResource)
        and not update.failed
        and update.new.physical_resource_id != update.old.physical_resource_id
    )


def _update_resource(stack: Any, operation: _Operation, name: str) -> None:
    resource_map = stack.resource_map
    old = _instance(resource_map, name)
    if old is None:  # never created (an unsupported type, a false condition): create it now
        resource_map[name]
        return
    resource_json = resource_map._resource_json_map[name]
    resource_type = str(resource_json["Type"])
    try:
        parsed = cfn_parsing.parse_resource_and_generate_name(name, resource_json, resource_map)
    except AttributeMissing as exc:
        _resource_event(stack, name, resource_type, "UPDATE_FAILED", str(exc), _physical(old))
        operation.failures.append((name, "update"))
        raise ResourceFailed(name, str(exc)) from exc
    if not parsed:
        return
    resource_class, cleaned, new_name = parsed
    if isinstance(old, CustomResource) and as_text(cleaned.get("Properties") or {}) == old.properties:
        return  # properties unchanged: CloudFormation sends no Update
    if hasattr(resource_class.update_from_cloudformation_json, "__isabstractmethod__"):
        return  # moto cannot update this type; it keeps the resource as it is
    _resource_event(stack, name, resource_type, "UPDATE_IN_PROGRESS", None, _physical(old))
    try:
        new = resource_class.update_from_cloudformation_json(
            original_resource=old,
            new_resource_name=new_name,
            cloudformation_json=cleaned,
            account_id=resource_map._account_id,
            region_name=resource_map._region_name,
        )
    except ResourceFailed as failure:
        if failure.logical_id != name:
            raise
        now = failure.resource or old
        _resource_event(stack, name, resource_type, "UPDATE_FAILED", failure.reason, _physical(now))
        operation.failures.append((name, "update"))
        operation.updated.append(_Updated(name, old, now, failed=True))
        raise
    except Exception as exc:
        _resource_event(stack, name, resource_type, "UPDATE_FAILED", _handler_failure(exc), _physical(old))
        operation.failures.append((name, "update"))
        operation.updated.append(_Updated(name, old, old, failed=True))
        raise ResourceFailed(name, _handler_failure(exc)) from exc
    new = new if new is not None else old
    new.cf_resource_type = resource_type
    new.logical_resource_id = name
    _parsed(resource_map)[name] = new
    operation.updated.append(_Updated(name, old, new))
    _resource_event(stack, name, resource_type, "UPDATE_COMPLETE", None, _physical(new))


def _rollback_update(
    stack: Any, operation: _Operation, prior: _Prior, failure: ResourceFailed, new_resources: dict[str, Any]
) -> None:
    resource_map = stack.resource_map
    reason = "".join(
        _failed_to(verb, names)
        for verb in ("create", "update")
        if (names := [n for n, v in operation.failures if v == verb])
    )
    _stack_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason or failure.reason)
    added = {name: _instance(resource_map, name) for name in operation.created}
    # Back to the previous template and parameters, with the resources as the update left them.
    _load(resource_map, prior.template_dict, prior.input_parameters)
    for name in list(_parsed(resource_map)):
        if name not in prior.parsed:
            _parsed(resource_map).pop(name)
    for name, value in prior.parsed.items():
        if not isinstance(value, CloudFormationModel):
            _parsed(resource_map)[name] = value
    cleanup: dict[str, Any] = {}
    stuck: list[str] = []
    old_resources = prior.resources
    with _building(resource_map, _Operation()):
        for update in reversed(operation.updated):
            name, old, now = update.name, update.old, update.new
            resource_type = str(old_resources.get(name, {}).get("Type", getattr(old, "cf_resource_type", "")))
            if _replaced(update):  # the old resource is still there: back to it; the new one goes
                _parsed(resource_map)[name] = old
                cleanup[name] = now
                continue
            _parsed(resource_map)[name] = now
            _resource_event(stack, name, resource_type, "UPDATE_IN_PROGRESS", None, _physical(now))
            try:
                if isinstance(now, CustomResource):
                    restored = now.update_to(old.properties, now.properties)
                    if restored.physical_resource_id != now.physical_resource_id:
                        cleanup[name] = now  # unconfirmed: a new id from the rollback's own Update replaces
                else:
                    restored = _moto_update(resource_map, name, old_resources[name]) or now
            except Exception as exc:  # noqa: BLE001 - the rollback of this resource failed
                why = exc.reason if isinstance(exc, ResourceFailed) else _handler_failure(exc)
                _resource_event(stack, name, resource_type, "UPDATE_FAILED", why, _physical(now))
                stuck.append(name)
                break
            _parsed(resource_map)[name] = restored
            _resource_event(stack, name, resource_type, "UPDATE_COMPLETE", None, _physical(restored))
    stack.template, stack.template_dict = prior.template, prior.template_dict
    stack.parameters, stack.role_arn, stack.tags = prior.parameters, prior.role_arn, prior.tags
    if prior.outputs is _NOT_EVALUATED:
        with contextlib.suppress(AttributeError):
            del stack._ws_outputs
    else:
        stack._ws_outputs = prior.outputs
    stack.output_map = stack._create_output_map()
    if stuck:
        _stack_status(stack, "UPDATE_ROLLBACK_FAILED", _failed_to("update", stuck))
        return
    _stack_status(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    extra = {name: instance for name, instance in added.items() if instance is not None}
    extra.update({name: resource for name, resource in operation.failed_create if resource is not None})
    order = [name for name, _ in operation.failed_create if name in extra] + list(reversed(operation.created))
    _delete_resources(stack, order, new_resources, created_by_this_operation=True, extra=extra)
    _delete_resources(stack, list(cleanup), new_resources, created_by_this_operation=True, extra=cleanup, replaced=True)
    _stack_status(stack, "UPDATE_ROLLBACK_COMPLETE")


def _moto_update(resource_map: Any, name: str, resource_json: dict[str, Any]) -> Any:
    parsed = cfn_parsing.parse_resource_and_generate_name(name, copy.deepcopy(resource_json), resource_map)
    if not parsed:
        return None
    resource_class, cleaned, new_name = parsed
    if hasattr(resource_class.update_from_cloudformation_json, "__isabstractmethod__"):
        return None
    new = resource_class.update_from_cloudformation_json(
        original_resource=_instance(resource_map, name),
        new_resource_name=new_name,
        cloudformation_json=cleaned,
        account_id=resource_map._account_id,
        region_name=resource_map._region_name,
    )
    if new is not None:
        new.cf_resource_type = resource_json["Type"]
        new.logical_resource_id = name
    return new


# --------------------------------------------------------------- delete
def _stack_delete(self: Any) -> None:
    """``Stack.delete``: every resource in reverse dependency order; DELETE_FAILED if one fails."""
    stack = self
    resource_map = stack.resource_map
    resource_map._ws_stack = stack
    _stack_status(stack, "DELETE_IN_PROGRESS", "User Initiated")
    resource_map._ws_managed = True
    resources_json = dict(resource_map._resource_json_map)
    order = list(reversed(dependency_order(resources_json)))
    failed = _delete_resources(stack, order, resources_json, created_by_this_operation=False)
    if failed:
        _stack_status(stack, "DELETE_FAILED", _failed_to("delete", failed))
    else:
        _stack_status(stack, "DELETE_COMPLETE")


def _delete_stack(self: Any, name_or_stack_id: str) -> None:
    """``CloudFormationBackend.delete_stack``: a stack whose delete failed stays listed
    (DELETE_FAILED), and a second DeleteStack tries its remaining resources again."""
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None
    )
    if stack is None:
        return  # deleting a stack that does not exist succeeds, as on AWS
    try:
        export_names = [export.name for export in stack.exports]
    except Exception:  # noqa: BLE001 - exports of resources already gone (a rolled-back stack)
        export_names = []
    stack.delete()
    if stack.status != "DELETE_COMPLETE":
        return
    self.stacks.pop(stack.stack_id, None)
    self.deleted_stacks[stack.stack_id] = stack
    for name in export_names:
        self.exports.pop(name, None)


# --------------------------------------------------------- change sets
def _execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    """``CloudFormationBackend.execute_change_set``: the change set's create or update, with
    events and rollback like CreateStack/UpdateStack."""
    change_set = self.change_sets.get(change_set_name) or next(
        (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
    )
    if change_set is None:
        raise ValidationError(stack_name)
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.parameters = change_set.parameters
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.create_resources()
        ok = stack.status == "CREATE_COMPLETE"
    else:
        stack.update(change_set.template, change_set.role_arn, change_set.parameters, change_set.tags)
        ok = stack.status == "UPDATE_COMPLETE"
    # ExecutionStatus: EXECUTE_COMPLETE, or EXECUTE_FAILED when the stack operation failed.
    change_set.execution_status = "EXECUTE_COMPLETE" if ok else "EXECUTE_FAILED"


# -------------------------------------------------- not-updatable stacks
def _check_updatable(stack: Any) -> None:
    if stack.status in NOT_UPDATABLE:
        raise ValidationError(
            stack.stack_id, message=CANNOT_UPDATE.format(stack_id=stack.stack_id, status=stack.status)
        )


def _update_stack(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    _check_updatable(self.get_stack(name))
    return _ORIGINAL["update_stack"](self, name, *args, **kwargs)


def _create_change_set(self: Any, stack_name: str, *args: Any, **kwargs: Any) -> Any:
    change_set_type = kwargs.get("change_set_type", args[4] if len(args) > 4 else "CREATE")
    if change_set_type == "UPDATE":
        for stack in self.stacks.values():
            if stack.name == stack_name:
                _check_updatable(stack)
    return _ORIGINAL["create_change_set"](self, stack_name, *args, **kwargs)


# ----------------------------------------------------------------- install
_ORIGINAL: dict[str, Any] = {}
_INSTALL_LOCK = threading.Lock()
_INSTALLED = False


def install() -> None:
    """Apply the patches once per process. ``cfn_patches.install`` calls this first, so its
    own wrappers (Outputs after a change set) wrap these."""
    global _INSTALLED
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        _ORIGINAL["resource_class_from_type"] = cfn_parsing.resource_class_from_type
        cfn_parsing.resource_class_from_type = _resource_class_from_type
        _ORIGINAL["parse_and_create_resource"] = cfn_parsing.parse_and_create_resource
        cfn_parsing.parse_and_create_resource = _parse_and_create_resource
        resource_map = cfn_parsing.ResourceMap
        _ORIGINAL["getitem"] = resource_map.__getitem__
        _ORIGINAL["iter"] = resource_map.__iter__
        resource_map.__getitem__ = _getitem
        resource_map.__iter__ = _iter
        stack = cfn_models.Stack
        _ORIGINAL["create_resources"] = stack.create_resources
        _ORIGINAL["update"] = stack.update
        _ORIGINAL["delete"] = stack.delete
        _ORIGINAL["outputs"] = stack.__dict__["outputs"]
        stack.create_resources = _create_resources
        stack.update = _stack_update
        stack.delete = _stack_delete
        stack.outputs = property(_outputs)
        backend = cfn_models.CloudFormationBackend
        _ORIGINAL["execute_change_set"] = backend.execute_change_set
        _ORIGINAL["delete_stack"] = backend.delete_stack
        _ORIGINAL["update_stack"] = backend.update_stack
        _ORIGINAL["create_change_set"] = backend.create_change_set
        backend.execute_change_set = _execute_change_set
        backend.delete_stack = _delete_stack
        backend.update_stack = _update_stack
        backend.create_change_set = _create_change_set
        # moto lists CloudFormation models once (lru_cache over CloudFormationModel's subclasses).
        for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
            cached.cache_clear()
        _INSTALLED = True


def reset() -> None:
    """Stop the response listener, forget recorded requests, restore the default wait."""
    LISTENER.stop()
    with _REQUESTS_LOCK:
        REQUESTS.clear()
    SETTINGS.response_wait_seconds = DEFAULT_RESPONSE_WAIT_SECONDS


def requests_for(logical_id: str) -> list[CustomRequest]:
    """The requests sent to one custom resource, oldest first."""
    with _REQUESTS_LOCK:
        return [r for r in REQUESTS if r.event["LogicalResourceId"] == logical_id]
