"""A Lambda-backed custom resource for the emulator's tests (``template.yaml`` beside it).

It answers the way a real one must: a JSON body PUT to the event's ``ResponseURL``
with urllib, nothing returned to Lambda. What it answers is read from the request's
``ResourceProperties`` (``Outcome`` for Create and Update, ``OnDelete`` for Delete), or
from :data:`OVERRIDE` (a test's switch, by RequestType):

- ``ok``: SUCCESS, ``PhysicalResourceId`` = the ``PhysicalId`` property (a Delete
  echoes the request's), ``Data`` = ``{"Echo": <Value>, "RequestType": ...}``;
- ``fail``: FAILED with ``Reason`` = ``configuration rejected: <Value>``;
- ``silent``: no response; ``hang``: no response until :data:`RELEASE` is set;
- ``crash``: an exception (a function error, which Lambda retries);
- ``no-physical-id``, ``too-long``, ``bad-status``: malformed responses.
"""

from __future__ import annotations

import copy
import json
import threading
import urllib.request
from typing import Any

RECEIVED: list[dict[str, Any]] = []  # every event, in the order the function got them
OVERRIDE: dict[str, str] = {}  # RequestType -> outcome, over the properties
RELEASE = threading.Event()  # ends a "hang"


def _put(url: str, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    # As cfn-response does: PUT, an empty content type, the length set by urllib.
    request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def handler(event: dict[str, Any], context: Any) -> None:
    RECEIVED.append(copy.deepcopy(event))
    kind = event["RequestType"]
    props = event["ResourceProperties"]
    outcome = OVERRIDE.get(kind) or (props.get("OnDelete", "ok") if kind == "Delete" else props.get("Outcome", "ok"))
    physical = event["PhysicalResourceId"] if kind == "Delete" else props.get("PhysicalId", "check-1")
    body: dict[str, Any] = {
        "Status": "SUCCESS",
        "PhysicalResourceId": physical,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {"Echo": props.get("Value"), "RequestType": kind},
    }
    if outcome == "silent":
        return
    if outcome == "hang":
        RELEASE.wait(30)
        return
    if outcome == "crash":
        raise RuntimeError("the check crashed")
    if outcome == "fail":
        body = {**body, "Status": "FAILED", "Reason": f"configuration rejected: {props.get('Value')}", "Data": {}}
        if kind == "Update":
            body["PhysicalResourceId"] = event["PhysicalResourceId"]
    elif outcome == "no-physical-id":
        del body["PhysicalResourceId"]
    elif outcome == "too-long":
        body["Data"] = {"Blob": "x" * 5000}
    elif outcome == "bad-status":
        body["Status"] = "DONE"
    _put(event["ResponseURL"], body)


def reset() -> None:
    RECEIVED.clear()
    OVERRIDE.clear()
    RELEASE.clear()
