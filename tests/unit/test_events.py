"""weightshift.events mirrors Powertools' Parser models (which it stopped importing for cold
start): every sample event parses to the same envelope, and every envelope Powertools refuses,
ours refuses too. Powertools' models are the reference here, imported only by the test."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import (
    CloudFormationCustomResourceCreateModel,
    CloudFormationCustomResourceDeleteModel,
    CloudFormationCustomResourceUpdateModel,
    EventBridgeModel,
)
from pydantic import BaseModel, Field
from weightshift import events
from weightshift.custom_resource import parse_request

from tests.unit.helpers import EVENTS, event_json

ENVELOPE = ("version", "id", "source", "account", "time", "region", "resources", "detail_type", "replay_name")
SAMPLES = sorted(p.name for p in EVENTS.glob("*.json") if "detail-type" in event_json(p.name))


def _ours(raw: dict[str, Any]) -> events.EventBridgeEvent:
    models = {"aws.ecs": events.EcsTaskEvent, "aws.cloudwatch": events.AlarmStateChange}
    return parse(event=raw, model=models.get(raw.get("source"), events.EventBridgeEvent))


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_event_parses_to_the_envelope_powertools_reads(name: str) -> None:
    raw = event_json(name)
    theirs = parse(event=raw, model=EventBridgeModel)
    ours = _ours(raw)
    assert {f: getattr(ours, f) for f in ENVELOPE} == {f: getattr(theirs, f) for f in ENVELOPE}


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize(
    "edit",
    [
        *[pytest.param(lambda e, f=f: e.pop(f), id=f"no {f}") for f in ("version", "id", "source", "account")],
        pytest.param(lambda e: e.pop("detail-type"), id="no detail-type"),
        pytest.param(lambda e: e.pop("resources"), id="no resources"),
        pytest.param(lambda e: e.update(time="yesterday"), id="time not a date"),
        pytest.param(lambda e: e.update(resources="arn"), id="resources not a list"),
        pytest.param(lambda e: e.update(region=5), id="region not a string"),
    ],
)
def test_an_envelope_powertools_refuses_is_refused(name: str, edit: Any) -> None:
    raw = copy.deepcopy(event_json(name))
    edit(raw)
    with pytest.raises(ValidationError):
        parse(event=raw, model=EventBridgeModel)
    with pytest.raises(ValidationError):
        _ours(raw)


class _Theirs(BaseModel):
    request: (
        CloudFormationCustomResourceCreateModel
        | CloudFormationCustomResourceUpdateModel
        | CloudFormationCustomResourceDeleteModel
    ) = Field(discriminator="request_type")


def _request(kind: str, **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:check",
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=1",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r-1",
        "LogicalResourceId": "ConfigurationCheck",
        "ResourceType": "Custom::ConfigurationCheck",
        "ResourceProperties": {"ServiceToken": "t", "RecordName": "shop.example.com"},
    }
    if kind != "Create":
        raw["PhysicalResourceId"] = "weightshift-route-1"
    if kind == "Update":
        raw["OldResourceProperties"] = {"ServiceToken": "t", "RecordName": "old.example.com"}
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


FIELDS = (
    "request_type",
    "service_token",
    "stack_id",
    "request_id",
    "logical_resource_id",
    "resource_type",
    "resource_properties",
)


@pytest.mark.parametrize("kind", ["Create", "Update", "Delete"])
def test_a_custom_resource_request_reads_as_powertools_reads_it(kind: str) -> None:
    raw = _request(kind)
    theirs = parse(event={"request": raw}, model=_Theirs).request
    ours = parse_request(raw)
    assert type(ours).__name__.startswith(kind)
    for name in (*FIELDS, "physical_resource_id", "old_resource_properties"):
        assert getattr(ours, name, None) == getattr(theirs, name, None), name
    assert ours.response_url == str(theirs.response_url)


@pytest.mark.parametrize(
    ("kind", "changes"),
    [
        ("Create", {"RequestType": "Replace"}),
        ("Create", {"ResponseURL": "ftp://example.com/x"}),
        ("Create", {"ResponseURL": "not a url"}),
        ("Create", {"StackId": None}),
        ("Update", {"PhysicalResourceId": None}),
        ("Delete", {"PhysicalResourceId": None}),
        ("Create", {"LogicalResourceId": None}),
    ],
)
def test_a_custom_resource_request_powertools_refuses_is_refused(kind: str, changes: dict[str, Any]) -> None:
    raw = _request(kind, **changes)
    with pytest.raises(ValidationError):
        parse(event={"request": raw}, model=_Theirs)
    with pytest.raises(ValidationError):
        parse_request(raw)
