"""The SAM transform and the change-set flow of ``sam deploy`` in the emulator's CloudFormation
(cfn_transform.py), on a small SAM template, in-process: each call answers as AWS does (sources
in the module). The real ``sam deploy`` against the emulator server is tests/e2e/test_sam_deploy.py.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError
from weightshift_emulator import cfn_custom, cfn_transform

pytestmark = pytest.mark.usefixtures("cfn_patched")

SAM = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hello}
  WithTopic: {Type: String, Default: "no", AllowedValues: ["yes", "no"]}
Conditions:
  HasTopic: !Equals [!Ref WithTopic, "yes"]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      CodeUri: s3://artifacts/fn.zip
      Environment: {Variables: {GREETING: !Ref Greeting}}
  Queue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
    Condition: HasTopic
Outputs:
  FunctionName: {Value: !Ref Fn}
"""
BROKEN = SAM.replace("      CodeUri: s3://artifacts/fn.zip\n", "")
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


@pytest.fixture
def aws(aws: dict[str, Any]) -> dict[str, Any]:
    """moto in-process with the function's code in S3 (the handlers run from the checkout anyway)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    aws["s3"].create_bucket(Bucket="artifacts")
    aws["s3"].put_object(Bucket="artifacts", Key="fn.zip", Body=buffer.getvalue())
    return aws


def _change_set(cfn: Any, body: str = SAM, kind: str = "CREATE", name: str = "one", **kwargs: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"Capabilities": ["CAPABILITY_IAM"], **kwargs}
    made = cfn.create_change_set(StackName="app", ChangeSetName=name, TemplateBody=body, ChangeSetType=kind, **request)
    return dict(cfn.describe_change_set(ChangeSetName=made["Id"]))


def _changes(described: dict[str, Any]) -> dict[str, str]:
    return {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Action"] for c in described["Changes"]}


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_a_change_set_holds_the_transformed_template_and_executing_it_creates_the_functions(
    aws: dict[str, Any],
) -> None:
    cfn = aws["cloudformation"]
    described = _change_set(cfn)
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    # What the transform makes, not what the template says; the topic's condition is false.
    assert _changes(described) == {"Fn": "Add", "FnRole": "Add", "Queue": "Add"}
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    original = cfn.get_template(ChangeSetName=described["ChangeSetId"], TemplateStage="Original")
    assert "Transform: AWS::Serverless-2016-10-31" in original["TemplateBody"]
    assert original["StagesAvailable"] == ["Original", "Processed"]

    cfn.execute_change_set(ChangeSetName=described["ChangeSetId"])
    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    name = stack["Outputs"][0]["OutputValue"]
    variables = aws["lambda"].get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    assert variables == {"GREETING": "hello"}
    processed = cfn.get_template(StackName="app")  # Processed by default
    body = processed["TemplateBody"]
    body = body if isinstance(body, dict) else json.loads(body)
    assert "Transform" not in body
    assert body["Resources"]["Fn"]["Type"] == "AWS::Lambda::Function"
    assert "Transform:" in cfn.get_template(StackName="app", TemplateStage="Original")["TemplateBody"]
    with pytest.raises(ClientError) as exc:
        cfn.execute_change_set(ChangeSetName=described["ChangeSetId"])
    assert _error(exc) == (
        "InvalidChangeSetStatus",
        f"ChangeSet [{described['ChangeSetId']}] cannot be executed in its current execution status of "
        "[EXECUTE_COMPLETE]",
    )


def test_a_failed_transform_fails_the_change_set_and_the_stack_waits_in_review(aws: dict[str, Any]) -> None:
    cfn = aws["cloudformation"]
    described = _change_set(cfn, BROKEN)
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    # The translator's own words after CloudFormation's prefix (their wording is the pinned translator's).
    assert described["StatusReason"].startswith(
        "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification "
        "document. Number of errors found: 1. Resource with id [Fn] is invalid. "
    )
    assert described.get("Changes", []) == []
    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"
    assert cfn.get_template(ChangeSetName=described["ChangeSetId"], TemplateStage="Original")["StagesAvailable"] == [
        "Original"
    ]
    with pytest.raises(ClientError) as exc:
        cfn.execute_change_set(ChangeSetName=described["ChangeSetId"])
    assert _error(exc)[0] == "InvalidChangeSetStatus"
    assert "[UNAVAILABLE]" in _error(exc)[1]
    # sam deploy sends CREATE again for a REVIEW_IN_PROGRESS stack: the same stack takes it.
    fixed = _change_set(cfn, SAM, name="two")
    assert fixed["StackId"] == stack["StackId"]
    assert len(cfn.describe_stacks(StackName="app")["Stacks"]) == 1
    cfn.execute_change_set(ChangeSetName=fixed["ChangeSetId"])
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    with pytest.raises(ClientError) as exc:
        _change_set(cfn, SAM, name="three")
    assert _error(exc) == (
        "ValidationError",
        "Stack [app] already exists and cannot be created again with the changeSet [three].",
    )


def test_capabilities_are_checked_on_the_processed_template(aws: dict[str, Any]) -> None:
    cfn = aws["cloudformation"]
    none = _change_set(cfn, Capabilities=[])
    assert (none["Status"], none["StatusReason"]) == ("FAILED", "Requires capabilities : [CAPABILITY_IAM]")
    template = {"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "named"}}}}
    named = _change_set(cfn, json.dumps(template), name="two", Capabilities=["CAPABILITY_IAM"])
    assert named["StatusReason"] == "Requires capabilities : [CAPABILITY_NAMED_IAM]"
    with pytest.raises(ClientError) as exc:
        _change_set(cfn, name="three", Capabilities=["CAPABILITY_IAM", "CAPABILITIY_AUTO_EXPAND"])
    assert _error(exc) == (
        "ValidationError",
        "1 validation error detected: Value '[CAPABILITY_IAM, CAPABILITIY_AUTO_EXPAND]' at 'capabilities' "
        "failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
        "[CAPABILITY_AUTO_EXPAND, CAPABILITY_NAMED_IAM, CAPABILITY_IAM]]",
    )
    with pytest.raises(ClientError) as exc:
        cfn.create_stack(StackName="direct", TemplateBody=SAM, Capabilities=["CAPABILITY_IAM"])
    assert _error(exc) == ("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_AUTO_EXPAND]")
    with pytest.raises(ClientError) as exc:
        cfn.create_stack(StackName="direct", TemplateBody=SAM, Capabilities=["CAPABILITY_AUTO_EXPAND"])
    assert _error(exc) == ("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_IAM]")
    assert [s["StackName"] for s in cfn.describe_stacks()["Stacks"]] == ["app"]
    cfn.create_stack(StackName="direct", TemplateBody=SAM, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    resources = cfn.list_stack_resources(StackName="direct")["StackResourceSummaries"]
    assert {r["ResourceType"] for r in resources} == {"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::SQS::Queue"}
    with pytest.raises(ClientError) as exc:
        cfn.update_stack(
            StackName="direct", TemplateBody=SAM, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
        )
    assert _error(exc) == ("ValidationError", "No updates are to be performed.")


def test_an_update_change_set_lists_what_changes_and_a_redeploy_of_the_same_is_empty(aws: dict[str, Any]) -> None:
    cfn = aws["cloudformation"]
    created = _change_set(cfn, Parameters=[{"ParameterKey": "Greeting", "ParameterValue": "hello"}])
    cfn.execute_change_set(ChangeSetName=created["ChangeSetId"])
    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    function = stack["Outputs"][0]["OutputValue"]

    # The same template and values, given or left to UsePreviousValue (what sam deploy sends).
    for name, parameters in (
        ("same", [{"ParameterKey": "Greeting", "ParameterValue": "hello"}]),
        ("previous", [{"ParameterKey": "Greeting", "UsePreviousValue": True}]),
        ("defaulted", []),
    ):
        described = _change_set(cfn, kind="UPDATE", name=name, Parameters=parameters)
        assert (described["Status"], described["StatusReason"]) == ("FAILED", NO_CHANGES), name
        assert described["ExecutionStatus"] == "UNAVAILABLE"

    changed = _change_set(
        cfn,
        kind="UPDATE",
        name="changed",
        Parameters=[
            {"ParameterKey": "Greeting", "ParameterValue": "hi"},
            {"ParameterKey": "WithTopic", "ParameterValue": "yes"},
        ],
    )
    assert changed["Status"] == "CREATE_COMPLETE"
    assert _changes(changed) == {"Topic": "Add", "Fn": "Modify"}
    (modify,) = [c["ResourceChange"] for c in changed["Changes"] if c["ResourceChange"]["Action"] == "Modify"]
    assert modify["PhysicalResourceId"] == function
    assert modify["Replacement"] == "Conditional"
    other = _change_set(
        cfn, kind="UPDATE", name="other", Parameters=[{"ParameterKey": "Greeting", "ParameterValue": "hey"}]
    )
    cfn.execute_change_set(ChangeSetName=changed["ChangeSetId"])
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    variables = aws["lambda"].get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    assert variables == {"GREETING": "hi"}
    assert cfn.describe_change_set(ChangeSetName=other["ChangeSetId"])["ExecutionStatus"] == "OBSOLETE"
    removed = _change_set(
        cfn, kind="UPDATE", name="removed", Parameters=[{"ParameterKey": "Greeting", "ParameterValue": "hi"}]
    )
    assert _changes(removed) == {"Topic": "Remove"}


def test_template_urls_are_s3_urls_or_the_emulators_own(aws: dict[str, Any]) -> None:
    s3, cfn = aws["s3"], aws["cloudformation"]
    s3.put_object(Bucket="artifacts", Key="prefix/t.template", Body=SAM.encode())
    assert cfn_transform.s3_location("http://127.0.0.1:5123/artifacts/prefix/t.template") == (
        "artifacts",
        "prefix/t.template",
        None,
    )
    for url in (
        "https://s3.amazonaws.com/artifacts/prefix/t.template",
        "https://s3.us-east-1.amazonaws.com/artifacts/prefix/t.template",
        "https://s3-us-east-1.amazonaws.com/artifacts/prefix/t.template",
        "https://artifacts.s3.amazonaws.com/prefix/t.template",
        "https://artifacts.s3.us-east-1.amazonaws.com/prefix/t.template?versionId=v1",
    ):
        location = cfn_transform.s3_location(url)
        assert location is not None, url
        assert location[:2] == ("artifacts", "prefix/t.template"), url
    for url in ("http://s3.amazonaws.com/artifacts/t", "https://example.com/artifacts/t", "s3://artifacts/t"):
        assert cfn_transform.s3_location(url) is None, url

    made = cfn.create_change_set(
        StackName="app",
        ChangeSetName="one",
        ChangeSetType="CREATE",
        TemplateURL="https://artifacts.s3.us-east-1.amazonaws.com/prefix/t.template",
        Capabilities=["CAPABILITY_IAM"],
    )
    assert cfn.describe_change_set(ChangeSetName=made["Id"])["Status"] == "CREATE_COMPLETE"
    with pytest.raises(ClientError) as exc:
        cfn.create_change_set(
            StackName="other", ChangeSetName="one", ChangeSetType="CREATE", TemplateURL="https://example.com/t.yaml"
        )
    assert _error(exc) == ("ValidationError", "TemplateURL must be an Amazon S3 URL.")
    missing = "https://s3.amazonaws.com/artifacts/prefix/missing.template"
    with pytest.raises(ClientError) as exc:
        cfn.create_change_set(StackName="other", ChangeSetName="one", ChangeSetType="CREATE", TemplateURL=missing)
    assert _error(exc) == ("ValidationError", f"Template file referenced by {missing} does not exist.")


def test_other_transforms_fail_rather_than_half_create(aws: dict[str, Any]) -> None:
    body = SAM.replace("Transform: AWS::Serverless-2016-10-31", "Transform: [AWS::LanguageExtensions]")
    described = _change_set(aws["cloudformation"], body)
    assert described["Status"] == "FAILED"
    assert described["StatusReason"] == (
        "Transform AWS::LanguageExtensions is not modelled by the emulator (only AWS::Serverless-2016-10-31 is)"
    )


def test_the_moto_internals_the_transform_patches_are_still_there() -> None:
    """Fail loudly if a moto upgrade moves what cfn_transform.py wraps."""

    def params(func: Any) -> list[str]:
        return list(inspect.signature(func).parameters)

    original = cfn_transform._ORIGINAL
    # moto's own, under cfn_custom's wrapper (which passes every argument on): called positionally
    assert params(cfn_custom._ORIGINAL["create_change_set"]) == [
        "self",
        "stack_name",
        "change_set_name",
        "template",
        "parameters",
        "description",
        "change_set_type",
        "notification_arns",
        "tags",
        "role_arn",
    ]
    assert params(original["update_stack"])[:2] == ["self", "name"]
    assert params(original["validate_different_update"]) == ["self", "incoming_params", "stack_body", "old_stack"]
    assert params(original["get_stack_from_s3_url"]) == ["self", "template_url"]
    parsing = importlib.import_module("moto.cloudformation.parsing")
    assert params(parsing.ResourceMap)[:8] == [
        "stack_id",
        "stack_name",
        "parameters",
        "tags",
        "region_name",
        "account_id",
        "template",
        "cross_stack_resources",
    ]
    for method in ("load_mapping", "load_parameters", "load_conditions"):
        assert callable(getattr(parsing.ResourceMap, method)), method
    models = importlib.import_module("moto.cloudformation.models")
    assert params(models.Change) == ["action", "logical_resource_id", "resource_type"]
    responses = importlib.import_module("moto.cloudformation.responses")
    assert responses.CloudFormationResponse._get_stack_from_s3_url is cfn_transform._template_from_url
    assert responses.CloudFormationResponse.get_template is cfn_transform._get_template_request
