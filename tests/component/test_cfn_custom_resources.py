"""Lambda-backed custom resources in the emulator (``cfn_custom.py``), through the real protocol.

The stack is ``custom_resource/template.yaml``: the function whose handler is
``custom_resource/handler.py`` (it PUTs its answer to the ResponseURL with urllib), an SQS
queue, a retained SNS topic and a ``Custom::Check`` that refers to both. The handler
answers SUCCESS or FAILED (or nothing, or nonsense) as the stack's parameters say. Each
test checks what CloudFormation would show: stack and resource statuses and reasons, what
the function received, what is left in the account.
"""

from __future__ import annotations

import copy
import inspect
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto.cloudformation.models as models
import moto.cloudformation.parsing as parsing
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from weightshift_emulator import cfn_custom, cfn_patches, lambda_async, patches, stack
from weightshift_emulator.server import start_emulator
from weightshift_emulator.world import REGION, clients

from tests.component.custom_resource import handler
from tests.served import reset_moto

pytestmark = pytest.mark.usefixtures("cfn_patched")

TEMPLATE = Path(__file__).parent / "custom_resource" / "template.yaml"
NAME = "checked"
FAILED = "Received response status [FAILED] from custom resource. Message returned: {} (RequestId: {})"
TIMEOUT = (
    "CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId "
    "[{}]. If you are using the Python cfn-response module, you may need to update your Lambda function code so "
    "that CloudFormation can attach the updated version."
)
EVENT_KEYS = {
    "Create": {
        "RequestType",
        "ServiceToken",
        "ResponseURL",
        "StackId",
        "RequestId",
        "LogicalResourceId",
        "ResourceType",
        "ResourceProperties",
    },
}
EVENT_KEYS["Update"] = EVENT_KEYS["Create"] | {"PhysicalResourceId", "OldResourceProperties"}
EVENT_KEYS["Delete"] = EVENT_KEYS["Create"] | {"PhysicalResourceId"}


_TRANSFORMED: dict[str, dict[str, Any]] = {}
_TRANSFORM = stack.to_cloudformation


def _transform_once(template: dict[str, Any], parameters: dict[str, str], region: str) -> dict[str, Any]:
    """The SAM transform of this template does not depend on the parameter values (no intrinsic
    in a SAM property): transform it once per session, for speed."""
    key = json.dumps([template, region], sort_keys=True)
    if key not in _TRANSFORMED:
        _TRANSFORMED[key] = _TRANSFORM(template, parameters, region)
    return copy.deepcopy(_TRANSFORMED[key])


_SESSION = boto3.Session(region_name=REGION)  # one session: botocore loads each service model once


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto in-process (the engine config, Lambda in-process), clients from one shared session."""
    monkeypatch.setattr(stack, "to_cloudformation", _transform_once)
    handler.reset()
    with mock_aws(config=patches.ENGINE_CONFIG):
        yield clients(session=_SESSION)
    handler.RELEASE.set()  # ends any "hang" invocation


def deploy(aws: dict[str, Any], **parameters: str) -> stack.Deployed:
    return stack.deploy(aws, parameters, NAME, TEMPLATE)


def events(aws: dict[str, Any], stack_name: str = NAME) -> list[tuple[str, str, str | None]]:
    """(logical id, status, reason) of every stack event, oldest first."""
    found = aws["cloudformation"].describe_stack_events(StackName=stack_name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in reversed(found)]


def stack_statuses(aws: dict[str, Any], stack_name: str = NAME) -> list[str]:
    return [status for logical_id, status, _ in events(aws, stack_name) if logical_id == NAME]


def described(aws: dict[str, Any], stack_name: str = NAME) -> dict[str, Any]:
    return dict(aws["cloudformation"].describe_stacks(StackName=stack_name)["Stacks"][0])


def received(kind: str | None = None) -> list[dict[str, Any]]:
    return [e for e in handler.RECEIVED if kind is None or e["RequestType"] == kind]


def topics(aws: dict[str, Any]) -> list[str]:
    return [t["TopicArn"] for t in aws["sns"].list_topics()["Topics"]]


def queues(aws: dict[str, Any]) -> list[str]:
    return list(aws["sqs"].list_queues().get("QueueUrls", []))


# ------------------------------------------------------------------- create
def test_create_sends_the_documented_request_and_data_becomes_getatt(aws: dict[str, Any]) -> None:
    deployed = deploy(aws, Value="v1")
    assert deployed.outputs["CheckEcho"] == "v1"  # Fn::GetAtt Check.Echo: the response's Data
    assert deployed.outputs["CheckId"] == "check-1"  # Ref: the response's PhysicalResourceId
    assert deployed.resources["Check"] == "check-1"
    [create] = received()
    assert set(create) == EVENT_KEYS["Create"]
    assert create["ResourceType"] == "Custom::Check"
    assert create["LogicalResourceId"] == "Check"
    assert create["StackId"] == deployed.stack_id
    assert create["ResponseURL"].startswith("http://127.0.0.1:")
    props = create["ResourceProperties"]
    assert props["ServiceToken"] == create["ServiceToken"]
    assert props["ServiceToken"].endswith(":function:" + deployed.functions["CheckFunction"])
    # Numbers and booleans reach the function as strings, in lists and maps too.
    assert (props["Count"], props["Enabled"], props["Nested"]) == ("3", "true", {"Limits": ["1", "false"]})
    assert props["ServiceTimeout"] == "3600"
    assert props["QueueUrl"] == deployed.outputs["QueueUrl"]
    # CloudFormation invokes the function asynchronously (Lambda's retries apply).
    [request] = cfn_custom.requests_for("Check")
    # (The stack goes on once the response is in; the invocation ends a moment later.)
    assert cfn_patches.wait_until(lambda: request.invocation is not None, timeout=5)
    assert isinstance(request.invocation, lambda_async.AsyncInvocation)
    assert request.outcome == "SUCCESS"
    assert ("Check", "CREATE_COMPLETE", None) in events(aws)
    assert stack_statuses(aws) == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]


def test_failed_create_rolls_back_deletes_what_it_created_and_only_delete_is_left(aws: dict[str, Any]) -> None:
    with pytest.raises(stack.DeployFailed) as failed:
        deploy(aws, Outcome="fail", Value="v1")
    [create] = received("Create")
    reason = FAILED.format("configuration rejected: v1", create["RequestId"])
    rollback = "The following resource(s) failed to create: [Check]. Rollback requested by user."
    assert failed.value.status == "ROLLBACK_COMPLETE"
    assert failed.value.reasons == {"Check": reason, NAME: rollback}
    assert reason in str(failed.value)
    history = events(aws)
    assert ("Check", "CREATE_FAILED", reason) in history
    assert (NAME, "ROLLBACK_IN_PROGRESS", rollback) in history
    assert stack_statuses(aws) == ["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"]
    # The failed custom resource gets a Delete, with the FAILED response's physical id, and
    # first: what it depends on (its function) is deleted after it.
    [delete] = received("Delete")
    assert set(delete) == EVENT_KEYS["Delete"]
    assert delete["PhysicalResourceId"] == "check-1"
    assert delete["ResourceProperties"] == create["ResourceProperties"]
    deletes = [(logical_id, status) for logical_id, status, _ in history if status.startswith("DELETE_")]
    assert deletes == [
        ("Check", "DELETE_IN_PROGRESS"),
        ("Check", "DELETE_COMPLETE"),
        ("CheckFunction", "DELETE_IN_PROGRESS"),
        ("CheckFunction", "DELETE_COMPLETE"),
        ("CheckFunctionRole", "DELETE_IN_PROGRESS"),
        ("CheckFunctionRole", "DELETE_COMPLETE"),
        ("Topic", "DELETE_SKIPPED"),  # DeletionPolicy Retain holds in a create's rollback
        ("Queue", "DELETE_IN_PROGRESS"),
        ("Queue", "DELETE_COMPLETE"),
    ]
    assert queues(aws) == []
    assert len(topics(aws)) == 1
    assert aws["lambda"].list_functions()["Functions"] == []
    after = described(aws)
    assert after["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "StackStatusReason" not in after
    assert "Outputs" not in after
    assert aws["cloudformation"].list_stack_resources(StackName=NAME)["StackResourceSummaries"] == []

    # A stack whose create rolled back can only be deleted (sam deploy fails the same way).
    with pytest.raises(stack.DeployFailed) as again:
        deploy(aws, Outcome="ok")
    assert f"Stack:{after['StackId']} is in ROLLBACK_COMPLETE state and can not be updated." in str(again.value)
    stack.delete(aws, NAME)
    assert len(received("Delete")) == 1  # nothing left to delete
    assert deploy(aws, Outcome="ok").status == "CREATE_COMPLETE"


# ------------------------------------------------------------------- update
def test_failed_update_rolls_back_to_the_previous_template_and_parameters(aws: dict[str, Any]) -> None:
    deployed = deploy(aws, Value="v1", Visibility="30")
    with pytest.raises(stack.DeployFailed) as failed:
        deploy(aws, Value="v2", Visibility="60", Outcome="fail")
    create, forward, back = received()
    assert [e["RequestType"] for e in (create, forward, back)] == ["Create", "Update", "Update"]
    assert set(forward) == EVENT_KEYS["Update"]
    assert forward["PhysicalResourceId"] == "check-1"
    assert forward["ResourceProperties"]["Value"] == "v2"
    assert forward["OldResourceProperties"] == create["ResourceProperties"]
    # The rollback's Update: back to the old properties, from the ones that failed.
    assert back["ResourceProperties"] == create["ResourceProperties"]
    assert back["OldResourceProperties"] == forward["ResourceProperties"]
    assert back["PhysicalResourceId"] == "check-1"
    reason = FAILED.format("configuration rejected: v2", forward["RequestId"])
    assert failed.value.status == "UPDATE_ROLLBACK_COMPLETE"
    assert failed.value.reasons == {"Check": reason, NAME: "The following resource(s) failed to update: [Check]. "}
    assert stack_statuses(aws)[2:] == [
        "UPDATE_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
    ]
    after = described(aws)
    assert {p["ParameterKey"]: p["ParameterValue"] for p in after["Parameters"]}["Value"] == "v1"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in after["Parameters"]}["Visibility"] == "30"
    assert {o["OutputKey"]: o["OutputValue"] for o in after["Outputs"]}["CheckEcho"] == "v1"
    queue = deployed.outputs["QueueUrl"]  # updated to 60 by the update, back to 30 by its rollback
    visibility = aws["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])
    assert visibility["Attributes"]["VisibilityTimeout"] == "30"
    assert json.loads(json.dumps(aws["cloudformation"].get_template(StackName=NAME)["TemplateBody"]))
    # An updatable stack again.
    assert deploy(aws, Value="v3").outputs["CheckEcho"] == "v3"


def test_a_failed_rollback_is_update_rollback_failed(aws: dict[str, Any]) -> None:
    deploy(aws, Value="v1")
    handler.OVERRIDE["Update"] = "fail"  # the rollback's Update fails too
    with pytest.raises(stack.DeployFailed) as failed:
        deploy(aws, Value="v2")
    assert failed.value.status == "UPDATE_ROLLBACK_FAILED"
    after = described(aws)
    assert after["StackStatus"] == "UPDATE_ROLLBACK_FAILED"
    assert after["StackStatusReason"] == "The following resource(s) failed to update: [Check]. "
    back = received("Update")[-1]
    assert back["ResourceProperties"]["Value"] == "v1"
    assert [s for logical_id, s, _ in events(aws) if logical_id == "Check"][-2:] == [
        "UPDATE_IN_PROGRESS",
        "UPDATE_FAILED",
    ]
    with pytest.raises(ClientError, match="is in UPDATE_ROLLBACK_FAILED state and can not be updated"):
        aws["cloudformation"].update_stack(StackName=NAME, UsePreviousTemplate=True, Parameters=[])


def test_only_changed_properties_send_an_update_and_a_new_physical_id_deletes_the_old(aws: dict[str, Any]) -> None:
    deploy(aws, PhysicalId="check-1", Visibility="30")
    deploy(aws, PhysicalId="check-1", Visibility="40")  # the queue changes; the check's properties do not
    assert received("Update") == []
    deployed = deploy(aws, PhysicalId="check-2", Visibility="40")
    [update] = received("Update")
    assert (update["PhysicalResourceId"], update["ResourceProperties"]["PhysicalId"]) == ("check-1", "check-2")
    assert update["OldResourceProperties"]["PhysicalId"] == "check-1"
    [delete] = received("Delete")  # the replaced one, in the cleanup phase
    assert delete["PhysicalResourceId"] == "check-1"
    assert delete["ResourceProperties"] == update["OldResourceProperties"]
    assert deployed.outputs["CheckId"] == "check-2"
    history = events(aws)
    cleanup = len(history) - 1 - history[::-1].index((NAME, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None))
    assert history[cleanup + 1 : cleanup + 4] == [
        ("Check", "DELETE_IN_PROGRESS", None),
        ("Check", "DELETE_COMPLETE", None),
        (NAME, "UPDATE_COMPLETE", None),
    ]


# ------------------------------------------------------------------- delete
def test_delete_sends_delete_and_a_failed_delete_leaves_the_stack_delete_failed(aws: dict[str, Any]) -> None:
    deployed = deploy(aws, OnDelete="fail", Value="v1")
    with pytest.raises(stack.DeleteFailed) as failed:
        stack.delete(aws, NAME)
    [delete] = received("Delete")
    assert set(delete) == EVENT_KEYS["Delete"]
    assert (delete["PhysicalResourceId"], delete["ResourceProperties"]["Value"]) == ("check-1", "v1")
    reason = FAILED.format("configuration rejected: v1", delete["RequestId"])
    assert failed.value.reasons == {"Check": reason, NAME: "The following resource(s) failed to delete: [Check]. "}
    after = described(aws)
    assert (after["StackStatus"], after["StackStatusReason"]) == (
        "DELETE_FAILED",
        "The following resource(s) failed to delete: [Check]. ",
    )
    # What the check depends on stays (its function, the queue); the rest was deleted. A second
    # delete tries the check again, then the rest.
    assert [s for _, s, _ in events(aws) if s.startswith("DELETE_")] == [
        "DELETE_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "DELETE_FAILED",
    ]
    assert len(queues(aws)) == 1
    assert [f["FunctionName"] for f in aws["lambda"].list_functions()["Functions"]] == [
        deployed.functions["CheckFunction"]
    ]
    handler.OVERRIDE["Delete"] = "ok"
    stack.delete(aws, NAME)
    assert [e["PhysicalResourceId"] for e in received("Delete")] == ["check-1", "check-1"]
    assert described(aws, deployed.stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert queues(aws) == []
    assert aws["lambda"].list_functions()["Functions"] == []
    assert len(topics(aws)) == 1  # DeletionPolicy Retain


# ------------------------------------------------------------- no response
def test_no_response_fails_as_the_service_timeout_does(aws: dict[str, Any]) -> None:
    with pytest.raises(stack.DeployFailed) as failed:
        deploy(aws, Outcome="silent", ServiceTimeout="120")
    [create] = received("Create")
    assert failed.value.reasons["Check"] == TIMEOUT.format(create["RequestId"])
    # AWS waits the whole ServiceTimeout; the emulator records it on the simulated clock.
    waits = [w for w in patches.CLOCK.waits if w.kind == "cfn-custom-resource-timeout"]
    assert [(w.state, w.seconds) for w in waits] == [("Check", 120.0)]
    # No physical id came back: the rollback's Delete carries one CloudFormation made up.
    [delete] = received("Delete")
    assert delete["PhysicalResourceId"].startswith(f"{NAME}-Check-")
    assert described(aws)["StackStatus"] == "ROLLBACK_COMPLETE"


def test_a_hanging_function_times_out_on_the_emulators_real_time_bound(aws: dict[str, Any]) -> None:
    cfn_custom.SETTINGS.response_wait_seconds = 0.2
    # The in-process Lambda runs one handler at a time (patches.environment), so the rollback's
    # Delete would wait for the hanging Create: end the hang once the timeout is recorded.
    patches.CLOCK.hooks.append(lambda wait: wait.kind == "cfn-custom-resource-timeout" and handler.RELEASE.set())
    with pytest.raises(stack.DeployFailed) as failed:
        deploy(aws, Outcome="hang")
    [create] = received("Create")
    assert failed.value.reasons["Check"] == TIMEOUT.format(create["RequestId"])
    assert cfn_custom.requests_for("Check")[0].outcome == "TIMEOUT"
    assert described(aws)["StackStatus"] == "ROLLBACK_COMPLETE"


def test_a_function_error_is_retried_by_lambda_and_then_times_out(aws: dict[str, Any]) -> None:
    with pytest.raises(stack.DeployFailed) as failed:
        deploy(aws, Outcome="crash")
    creates = received("Create")
    assert len(creates) == 3  # an asynchronous invoke: Lambda's two retries of a function error
    assert len({e["RequestId"] for e in creates}) == 1
    assert [w.seconds for w in patches.CLOCK.waits if w.kind == "lambda-retry"] == [60.0, 120.0]
    assert failed.value.reasons["Check"] == TIMEOUT.format(creates[0]["RequestId"])


# -------------------------------------------------------- malformed answers
@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        ("no-physical-id", "Invalid PhysicalResourceId"),
        ("too-long", "Response object is too long."),
        ("bad-status", "Invalid Response object: 'DONE' is not a valid ResponseStatus"),
    ],
)
def test_a_malformed_response_fails_the_resource(aws: dict[str, Any], outcome: str, reason: str) -> None:
    with pytest.raises(stack.DeployFailed) as failed:
        deploy(aws, Outcome=outcome)
    assert failed.value.reasons["Check"] == reason
    assert failed.value.status == "ROLLBACK_COMPLETE"
    assert cfn_custom.requests_for("Check")[0].outcome == "INVALID"


def test_the_response_url_refuses_an_unknown_token(aws: dict[str, Any]) -> None:
    deploy(aws)
    url = received("Create")[0]["ResponseURL"].split("?")[0] + "?X-Amz-Signature=forged"
    request = urllib.request.Request(url, data=b"{}", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403


# -------------------------------------------------------------- change sets
def test_the_change_set_path_rolls_back_like_create_and_update_stack(aws: dict[str, Any]) -> None:
    cfn = aws["cloudformation"]
    region = cfn.meta.region_name
    body = json.dumps(stack.to_cloudformation(stack.package(stack.load_template(TEMPLATE), aws["s3"]), {}, region))

    def execute(name: str, kind: str, **parameters: str) -> dict[str, Any]:
        cfn.create_change_set(
            StackName=NAME,
            ChangeSetName=name,
            ChangeSetType=kind,
            TemplateBody=body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        cfn.execute_change_set(ChangeSetName=name, StackName=NAME)
        return dict(cfn.describe_change_set(ChangeSetName=name, StackName=NAME))

    assert execute("create-1", "CREATE", Outcome="fail")["ExecutionStatus"] == "EXECUTE_FAILED"
    assert stack_statuses(aws)[-3:] == ["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"]
    assert [e["RequestType"] for e in received()] == ["Create", "Delete"]
    # What sam deploy does next for an existing stack: an UPDATE change set, refused.
    stack_id = described(aws)["StackId"]
    with pytest.raises(ClientError, match=f"Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated"):
        execute("update-0", "UPDATE", Outcome="ok")
    stack.delete(aws, NAME)

    handler.reset()
    assert execute("create-2", "CREATE", Value="v1")["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert {o["OutputKey"]: o["OutputValue"] for o in described(aws)["Outputs"]}["CheckEcho"] == "v1"
    assert execute("update-1", "UPDATE", Value="v2", Outcome="fail")["ExecutionStatus"] == "EXECUTE_FAILED"
    assert described(aws)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert [(e["RequestType"], e["ResourceProperties"]["Value"]) for e in received()] == [
        ("Create", "v1"),
        ("Update", "v2"),
        ("Update", "v1"),
    ]
    assert {o["OutputKey"]: o["OutputValue"] for o in described(aws)["Outputs"]}["CheckEcho"] == "v1"
    assert execute("update-2", "UPDATE", Value="v3")["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert described(aws)["StackStatus"] == "UPDATE_COMPLETE"


# ------------------------------------------------------------- server mode
def test_through_the_emulator_server_as_sam_deploy_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """The moto server handles CreateChangeSet/ExecuteChangeSet on one of its threads while the
    function, in-process, PUTs its answer to the listener: the same statuses and events."""
    monkeypatch.setattr(stack, "to_cloudformation", _transform_once)
    handler.reset()
    emulator = start_emulator()
    try:
        reset_moto(emulator)
        aws = emulator.clients()
        cfn = aws["cloudformation"]
        body = json.dumps(stack.to_cloudformation(stack.package(stack.load_template(TEMPLATE), aws["s3"]), {}, REGION))
        cfn.create_change_set(
            StackName=NAME,
            ChangeSetName="first",
            ChangeSetType="CREATE",
            TemplateBody=body,
            Parameters=[{"ParameterKey": "Outcome", "ParameterValue": "fail"}],
            Capabilities=["CAPABILITY_IAM"],
        )
        cfn.execute_change_set(ChangeSetName="first", StackName=NAME)
        assert stack_statuses(aws)[-2:] == ["ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"]
        [create] = received("Create")
        assert (
            NAME,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [Check]. Rollback requested by user.",
        ) in events(aws)
        assert ("Check", "CREATE_FAILED", FAILED.format("configuration rejected: v1", create["RequestId"])) in events(
            aws
        )
        stack.delete(aws, NAME)
        assert deploy(aws, Value="served").outputs["CheckEcho"] == "served"
    finally:
        try:
            reset_moto(emulator)
        finally:
            emulator.stop()


# ----------------------------------------------------- the moto internals
def test_the_moto_internals_cfn_custom_replaces_are_where_it_expects() -> None:
    """moto is pinned; if an upgrade moves one of these, this fails with what moved."""

    def params(func: Any) -> list[str]:
        return list(inspect.signature(func).parameters)

    original = cfn_custom._ORIGINAL
    assert params(original["parse_and_create_resource"]) == [
        "logical_id",
        "resource_json",
        "resources_map",
        "account_id",
        "region_name",
    ], "moto internal parsing.parse_and_create_resource changed: moto upgrade?"
    assert params(parsing.parse_resource_and_generate_name) == ["logical_id", "resource_json", "resources_map"]
    assert params(original["update"]) == ["self", "template", "role_arn", "parameters", "tags"]
    assert params(original["execute_change_set"]) == ["self", "change_set_name", "stack_name"]
    assert params(original["update_stack"])[:2] == ["self", "name"]
    assert params(original["create_change_set"])[:7] == [
        "self",
        "stack_name",
        "change_set_name",
        "template",
        "parameters",
        "description",
        "change_set_type",
    ]
    assert params(models.Event)[:8] == [
        "stack_id",
        "stack_name",
        "logical_resource_id",
        "physical_resource_id",
        "resource_type",
        "resource_status",
        "resource_status_reason",
        "resource_properties",
    ]
    for method in ("_delete_resource", "load_mapping", "load_parameters", "load_conditions", "create"):
        assert callable(getattr(parsing.ResourceMap, method, None)), f"moto internal ResourceMap.{method} moved"
    for method in ("_add_stack_event", "_create_output_map", "_create_resource_map", "_parse_template"):
        assert callable(getattr(models.Stack, method, None)), f"moto internal Stack.{method} moved"
    assert isinstance(original["outputs"], property)
    # Installed (cfn_patches.install calls cfn_custom.install first).
    assert parsing.resource_class_from_type("Custom::Anything") is cfn_custom.CustomResource
    assert parsing.get_model_map()["AWS::CloudFormation::CustomResource"] is cfn_custom.CustomResource
    assert models.Stack.create_resources is cfn_custom._create_resources
    assert models.Stack.update is cfn_custom._stack_update
    assert models.Stack.delete is cfn_custom._stack_delete
    assert models.CloudFormationBackend.delete_stack is cfn_custom._delete_stack
    assert stack.unsupported({"A": "AWS::CloudFormation::CustomResource", "B": "Custom::Check"}) == {}
