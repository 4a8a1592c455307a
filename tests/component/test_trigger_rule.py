"""The EventBridge rule in template.yaml does the cheap filtering: only RUNNING tasks of this
cluster's blue and green services ever invoke the trigger.

moto does not deliver to Lambda targets, so the pattern is checked with moto's own
matcher (the one put_events uses), resolved for the pair the sample events describe.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from moto.events.models import EventPattern
from samtranslator.yaml_helper import yaml_parse
from weightshift_emulator.world import ROOT

from tests.conftest import load_event

PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "ClusterName": "shop",
    "BlueServiceName": "shop-blue",
    "GreenServiceName": "shop-green",
}


def _resolve(node: Any) -> Any:
    """Resolve the few ``!Sub`` / ``!Ref`` the pattern uses; fail on anything else."""
    if isinstance(node, dict) and set(node) == {"Fn::Sub"}:
        text = node["Fn::Sub"]
        assert isinstance(text, str), f"unexpected Fn::Sub form {text!r}"
        return re.sub(r"\$\{([^}]+)\}", lambda m: PARAMETERS[m.group(1)], text)
    if isinstance(node, dict) and set(node) == {"Ref"}:
        return PARAMETERS[node["Ref"]]
    if isinstance(node, dict):
        assert not any(k.startswith("Fn::") for k in node), f"unresolved intrinsic in the pattern: {node}"
        return {k: _resolve(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v) for v in node]
    return node


def _rule() -> dict[str, Any]:
    template = yaml_parse((ROOT / "template.yaml").read_text())
    events = template["Resources"]["TriggerFunction"]["Properties"]["Events"]
    return dict(events["EcsTaskRunning"])


@pytest.fixture(scope="module")
def pattern() -> EventPattern:
    rule = _rule()
    assert rule["Type"] == "EventBridgeRule"
    return EventPattern.load(json.dumps(_resolve(rule["Properties"]["Pattern"])))


def _changed(name: str, path: str, value: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(name))
    *parents, last = path.split(".")
    node = event
    for key in parents:
        node = node[key]
    node[last] = value
    return event


MATCHES = {
    "green running": lambda: load_event("green-task-running.json"),
    "green running, duplicate": lambda: load_event("green-task-running-duplicate.json"),
    "green running, older version": lambda: load_event("green-task-running-stale.json"),
    "blue running": lambda: load_event("blue-task-running-scaleout.json"),
    "no startedBy": lambda: _changed("green-task-running.json", "detail.startedBy", None),
}
DOES_NOT_MATCH = {
    "green stopped": lambda: load_event("green-task-stopped.json"),
    "green pending": lambda: _changed("green-task-running.json", "detail.lastStatus", "PENDING"),
    "other cluster": lambda: _changed(
        "green-task-running.json", "detail.clusterArn", "arn:aws:ecs:us-east-1:123456789012:cluster/shop-staging"
    ),
    "same cluster name, other account": lambda: _changed(
        "green-task-running.json", "detail.clusterArn", "arn:aws:ecs:us-east-1:210987654321:cluster/shop"
    ),
    "same cluster name, other region": lambda: _changed(
        "green-task-running.json", "detail.clusterArn", "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
    ),
    "other service group": lambda: _changed("green-task-running.json", "detail.group", "service:shop-admin"),
    "standalone task of the family": lambda: _changed("green-task-running.json", "detail.group", "family:shop-green"),
    "other source": lambda: _changed("green-task-running.json", "source", "my.app"),
    "other detail-type": lambda: _changed("green-task-running.json", "detail-type", "ECS Service Action"),
}


@pytest.mark.parametrize("case", sorted(MATCHES))
def test_the_rule_pattern_matches_running_tasks_of_both_services(pattern: EventPattern, case: str) -> None:
    assert pattern.matches_event(MATCHES[case]())


@pytest.mark.parametrize("case", sorted(DOES_NOT_MATCH))
def test_the_rule_pattern_drops_everything_else(pattern: EventPattern, case: str) -> None:
    assert not pattern.matches_event(DOES_NOT_MATCH[case]())


def test_the_rule_retries_and_keeps_what_it_cannot_deliver() -> None:
    """EventBridge retries only what it cannot *deliver* (the Invoke call fails), then dead-letters it.
    A trigger that raises is Lambda's to retry: see the next test."""
    props = _rule()["Properties"]
    assert props["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert props["RetryPolicy"]["MaximumEventAgeInSeconds"] >= 3600
    # The stack's own queue (an explicit Arn; "Type: SQS" would make SAM create another one).
    assert props["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["TriggerDeadLetterQueue", "Arn"]}}


def _template() -> dict[str, Any]:
    return dict(yaml_parse((ROOT / "template.yaml").read_text()))


def test_every_asynchronously_invoked_function_keeps_what_it_fails_to_handle() -> None:
    """Every function an EventBridge rule invokes (asynchronously) has an on-failure destination,
    the stack's dead-letter queue, so a function that fails every attempt loses no event; and
    retries and maximum age are set on purpose, within Lambda's limits (0-2, 60-21600 s)."""
    resources = _template()["Resources"]
    asynchronous = {
        name: props
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
        for props in [r["Properties"]]
        if any(e["Type"] in ("EventBridgeRule", "CloudWatchEvent") for e in (props.get("Events") or {}).values())
    }
    assert set(asynchronous) == {"TriggerFunction", "AbortFunction", "AlarmFunction"}
    for name, props in asynchronous.items():
        config = props.get("EventInvokeConfig")
        assert config, f"{name} has no EventInvokeConfig: a function error would drop the event"
        assert config["DestinationConfig"]["OnFailure"] == {
            "Type": "SQS",
            "Destination": {"Fn::GetAtt": ["TriggerDeadLetterQueue", "Arn"]},
        }, name
        assert config["MaximumRetryAttempts"] == 2, name
        assert 600 <= config["MaximumEventAgeInSeconds"] <= 21600, name  # room for both retries (1 + 2 min)


def test_the_dead_letter_alarm_watches_the_queue_the_destinations_use() -> None:
    alarm = _template()["Resources"]["DeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["TriggerDeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["AlarmActions"] == [{"Ref": "NotificationTopic"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
