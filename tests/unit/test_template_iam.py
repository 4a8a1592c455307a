"""The template's least privilege, held to the code it grants for (issue 7, section 5).

Pure file reading: template.yaml is parsed with SAM's own YAML loader (which
keeps the intrinsic functions as data); nothing is deployed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse
from weightshift.adapters.notify import EVENT_SOURCE
from weightshift.adapters.route53 import PAIR_RECORD_TYPES
from weightshift.ownership import OWNER_LABEL

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
TEMPLATE: dict[str, Any] = yaml_parse(TEMPLATE_PATH.read_text())
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner, statement) for every inline statement of a function, a state machine or a managed policy."""
    for logical_id, resource in RESOURCES.items():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                for statement in policy["Statement"]:
                    yield logical_id, statement
        document = props.get("PolicyDocument", {})
        for statement in document.get("Statement", []):
            yield logical_id, statement


def granting(action: str) -> list[tuple[str, dict[str, Any]]]:
    return [(owner, st) for owner, st in statements() if action in st["Action"]]


def test_every_record_change_is_limited_to_the_record_its_types_and_the_actions_the_code_uses() -> None:
    found = granting("route53:ChangeResourceRecordSets")
    assert {owner for owner, _ in found} == {"ShiftFunction", "FailbackPolicy", "ConfigurationCheckFunction"}
    for owner, statement in found:
        if owner == "ConfigurationCheckFunction":
            continue  # the ownership record, below
        condition = statement["Condition"]["ForAllValues:StringEquals"]
        assert condition["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == [{"Ref": "RecordName"}], owner
        assert tuple(condition["route53:ChangeResourceRecordSetsRecordTypes"]) == PAIR_RECORD_TYPES, owner
        actions = condition["route53:ChangeResourceRecordSetsActions"]
        # Only the Shift function creates a missing pair (record original); nothing deletes.
        assert actions == (["CREATE", "UPSERT"] if owner == "ShiftFunction" else ["UPSERT"]), owner


def test_the_configuration_check_writes_only_the_ownership_record() -> None:
    (statement,) = [
        st for owner, st in granting("route53:ChangeResourceRecordSets") if owner == "ConfigurationCheckFunction"
    ]
    condition = statement["Condition"]["ForAllValues:StringEquals"]
    assert condition["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == [
        {"Fn::Sub": f"{OWNER_LABEL}.${{RecordName}}"}
    ]
    assert condition["route53:ChangeResourceRecordSetsRecordTypes"] == ["TXT"]
    # CREATE claims (fails when anyone owns it), DELETE releases (only the exact value); never UPSERT.
    assert condition["route53:ChangeResourceRecordSetsActions"] == ["CREATE", "DELETE"]


def test_the_code_writes_only_the_actions_the_template_allows() -> None:
    source = (TEMPLATE_PATH.parent / "functions" / "weightshift" / "adapters" / "route53.py").read_text()
    assert set(re.findall(r'"Action": "([A-Z]+)"', source)) == {"CREATE", "UPSERT"}
    assert '"Type": "A"' in source  # the pair it creates
    # The ownership record: claimed with CREATE, released with DELETE, nothing else.
    assert set(re.findall(r'_owner_change\("([A-Z]+)"', source)) == {"CREATE", "DELETE"}


def test_events_are_put_only_under_the_notifiers_source() -> None:
    found = granting("events:PutEvents")
    assert found
    for owner, statement in found:
        assert statement["Condition"] == {"StringEquals": {"events:source": [EVENT_SOURCE]}}, owner


def test_only_this_stacks_rules_may_dead_letter_into_the_queue() -> None:
    (statement,) = RESOURCES["TriggerDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allowed = {rule["Fn::GetAtt"][0] for rule in statement["Condition"]["ArnEquals"]["aws:SourceArn"]}
    # SAM names the rule it generates for a function's event <function logical id><event logical id>.
    dead_lettering = {
        f"{fn}{event}"
        for fn, resource in RESOURCES.items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event, spec in resource["Properties"].get("Events", {}).items()
        if spec["Properties"].get("DeadLetterConfig", {}).get("Arn")
        == {"Fn::GetAtt": ["TriggerDeadLetterQueue", "Arn"]}
    }
    assert dead_lettering == {
        "TriggerFunctionEcsTaskRunning",
        "AbortFunctionExecutionEnded",
        "AlarmFunctionAlarmWentOff",
        "AlarmFunctionStackAlarmWentOff",
    }
    assert allowed == dead_lettering


@pytest.mark.parametrize("logical_id", ["DeploymentsTable", "TriggerDeadLetterQueue"])
def test_the_records_and_the_dead_letters_survive_stack_deletion_and_replacement(logical_id: str) -> None:
    resource = RESOURCES[logical_id]
    assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain")


def test_every_wildcard_resource_says_why_beside_it() -> None:
    lines = TEMPLATE_PATH.read_text().splitlines()
    unexplained = []
    for number, line in enumerate(lines):
        if re.search(r"Resource:.*\*|^\s+- !Sub arn:.*\*", line):
            above = lines[number - 1].strip()
            if "#" not in line and not above.startswith("#"):
                unexplained.append(f"template.yaml:{number + 1}: {line.strip()}")
    assert not unexplained, "\n".join(unexplained)
