"""CloudFormation's parameter validation in the emulator (cfn_parameters.py), on the real template.

Each bad value our template's Parameters can get fails the call, before anything exists,
with CloudFormation's ValidationError and message (sources in cfn_parameters.py). Most
cases call CreateStack on the template transformed once for the module: a rejected call
needs neither the packaged code nor the surroundings. One test deploys for real (valid
values create the stack; a bad update leaves it as it was); one goes through the moto
server and a change set, as ``sam deploy`` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from weightshift_emulator import cfn_parameters, patches, stack
from weightshift_emulator.server import start_emulator
from weightshift_emulator.world import REGION, build_surroundings, clients

from tests.served import reset_moto

pytestmark = pytest.mark.usefixtures("cfn_patched")

ACCOUNT = "123456789012"
ALB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/shop-%s/50dc6c495c0c9188"
NLB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/net/shop-blue/50dc6c495c0c9188"
VALID = {  # what a user of the template passes; shapes of real ids
    "ClusterName": "shop",
    "BlueServiceName": "shop-blue",
    "GreenServiceName": "shop-green",
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    "RecordName": "app.example.com",
    "BlueLoadBalancerArn": ALB % "blue",
    "GreenLoadBalancerArn": ALB % "green",
    "Schedule": "5,25,50,100",
    "StepIntervalSeconds": "60",
    "AlarmNames": "shop-blue-5xx,shop-green-5xx",
}
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]

# (overrides, removed, error message): each bad value the template's Parameters can get.
BAD = {
    "zone id not starting with Z": (
        {"HostedZoneId": "0123456789ABCDEFGHIJK"},
        (),
        "Parameter HostedZoneId failed to satisfy constraint: a hosted zone id such as Z0123456789ABCDEFGHIJ",
    ),
    "zone id with the /hostedzone/ prefix": (
        {"HostedZoneId": "/hostedzone/Z0123456789ABCDEFGHIJ"},
        (),
        "Parameter HostedZoneId failed to satisfy constraint: a hosted zone id such as Z0123456789ABCDEFGHIJ",
    ),
    "record name with upper case": (
        {"RecordName": "App.example.com"},
        (),
        "Parameter RecordName failed to satisfy constraint: a lower-case DNS name without the trailing dot",
    ),
    "record name with the trailing dot": (
        {"RecordName": "app.example.com."},
        (),
        "Parameter RecordName failed to satisfy constraint: a lower-case DNS name without the trailing dot",
    ),
    "number below MinValue": (
        {"StepIntervalSeconds": "0"},
        (),
        "Parameter 'StepIntervalSeconds' must be a number not less than 1",
    ),
    "number above MaxValue": (
        {"HealthPollSeconds": "3601"},
        (),
        "Parameter 'HealthPollSeconds' must be a number not greater than 3600",
    ),
    "not a number": ({"ReadinessTimeoutSeconds": "10m"}, (), "Parameter 'ReadinessTimeoutSeconds' must be a number."),
    "network load balancer": (
        {"BlueLoadBalancerArn": NLB},
        (),
        "Parameter BlueLoadBalancerArn failed to satisfy constraint: an Application Load Balancer ARN",
    ),
    "pattern without ConstraintDescription": (
        {"BlueSetIdentifier": "blue side"},
        (),
        "Parameter 'BlueSetIdentifier' must match pattern ^[A-Za-z0-9_.-]{1,128}$",
    ),
    "missing required parameter": ({}, ("ClusterName",), "Parameters: [ClusterName] must have values"),
    "two missing, in template order": (
        {},
        ("RecordName", "ClusterName"),
        "Parameters: [ClusterName, RecordName] must have values",
    ),
    "unknown parameter": ({"Colour": "green"}, (), "Parameters: [Colour] do not exist in the template"),
}


def _request(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def transformed() -> str:
    """template.yaml packaged and SAM-transformed once for the module, as stack.deploy does
    (the packaged code is not kept: a rejected call never reads it)."""
    with mock_aws():
        s3 = clients()["s3"]
        return json.dumps(stack.to_cloudformation(stack.package(stack.load_template(), s3), VALID, REGION))


@pytest.fixture(scope="module")
def module_clients() -> dict[str, Any]:
    """boto3 clients made once for the module (making them is most of a rejected call's cost);
    moto's stubber serves them inside whichever mock is active."""
    return clients()


@pytest.fixture
def fresh(module_clients: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """An empty moto (the ``aws`` fixture's mock), with the module's clients."""
    with mock_aws(config=patches.ENGINE_CONFIG):
        yield module_clients


def _nothing_created(aws: dict[str, Any], name: str) -> None:
    with pytest.raises(ClientError) as exc:
        aws["cloudformation"].describe_stacks(StackName=name)
    assert _error(exc) == ("ValidationError", f"Stack with id {name} does not exist", 400)
    assert aws["cloudformation"].list_stacks()["StackSummaries"] == []
    assert aws["lambda"].list_functions()["Functions"] == []
    assert aws["dynamodb"].list_tables()["TableNames"] == []
    assert aws["sns"].list_topics()["Topics"] == []
    assert aws["iam"].list_roles()["Roles"] == []
    assert aws["events"].list_rules()["Rules"] == []
    assert aws["stepfunctions"].list_state_machines()["stateMachines"] == []


@pytest.mark.parametrize("case", list(BAD))
def test_create_stack_rejects_a_bad_parameter_and_creates_nothing(
    case: str, transformed: str, fresh: dict[str, Any]
) -> None:
    overrides, removed, message = BAD[case]
    values = {k: v for k, v in {**VALID, **overrides}.items() if k not in removed}
    with pytest.raises(ClientError) as exc:
        fresh["cloudformation"].create_stack(
            StackName="weightshift", TemplateBody=transformed, Parameters=_request(values), Capabilities=CAPABILITIES
        )
    assert exc.value.operation_name == "CreateStack"
    assert _error(exc) == ("ValidationError", message, 400)
    _nothing_created(fresh, "weightshift")


def test_change_sets_are_validated_and_use_previous_value_is_checked(transformed: str, fresh: dict[str, Any]) -> None:
    cfn = fresh["cloudformation"]
    bad = _request({**VALID, "RecordName": "app.example.com."})
    with pytest.raises(ClientError) as exc:
        cfn.create_change_set(StackName="weightshift", ChangeSetName="one", TemplateBody=transformed, Parameters=bad)
    assert _error(exc) == (
        "ValidationError",
        "Parameter RecordName failed to satisfy constraint: a lower-case DNS name without the trailing dot",
        400,
    )
    previous = [*_request(VALID), {"ParameterKey": "HealthPollSeconds", "UsePreviousValue": True}]
    with pytest.raises(ClientError) as exc:
        cfn.create_change_set(
            StackName="weightshift", ChangeSetName="one", TemplateBody=transformed, Parameters=previous
        )
    assert _error(exc) == (
        "ValidationError",
        "Cannot specify UsePreviousValue on Parameters when ChangeSetType is CREATE",
        400,
    )
    with pytest.raises(ClientError) as exc:
        cfn.create_stack(StackName="weightshift", TemplateBody=transformed, Parameters=previous)
    assert _error(exc)[0] == "ValidationError"  # moto: KeyError; AWS: a ValidationError (text unconfirmed)
    _nothing_created(fresh, "weightshift")


def _stack_parameters(aws: dict[str, Any], name: str) -> dict[str, Any]:
    found = aws["cloudformation"].describe_stacks(StackName=name)["Stacks"][0]
    return {"status": found["StackStatus"], **{p["ParameterKey"]: p["ParameterValue"] for p in found["Parameters"]}}


def test_valid_values_deploy_and_a_bad_update_leaves_the_stack_as_it_was(fresh: dict[str, Any]) -> None:
    aws = fresh
    world = build_surroundings(aws)
    deployed = stack.deploy(aws, world.parameters(HealthPollSeconds="30"))
    assert deployed.status == "CREATE_COMPLETE"
    cfn = aws["cloudformation"]
    before = _stack_parameters(aws, deployed.stack_name)
    assert before["HealthPollSeconds"] == "30"

    def update(parameters: list[dict[str, Any]]) -> tuple[str, str, int]:
        with pytest.raises(ClientError) as exc:
            cfn.update_stack(
                StackName=deployed.stack_name,
                UsePreviousTemplate=True,
                Parameters=parameters,
                Capabilities=CAPABILITIES,
            )
        return _error(exc)

    keep = [{"ParameterKey": k, "UsePreviousValue": True} for k in world.parameters()]
    assert update([*keep, {"ParameterKey": "HealthPollSeconds", "ParameterValue": "4"}]) == (
        "ValidationError",
        "Parameter 'HealthPollSeconds' must be a number not less than 5",
        400,
    )
    assert update([*keep, {"ParameterKey": "Region", "UsePreviousValue": True}]) == (
        "ValidationError",
        "Cannot specify usePreviousValue as true for a parameter key not in the previous template",
        400,
    )
    # Not given and no Default: an update does not keep the previous value by itself.
    without_zone = [p for p in keep if p["ParameterKey"] != "HostedZoneId"]
    assert update(without_zone) == ("ValidationError", "Parameters: [HostedZoneId] must have values", 400)
    assert _stack_parameters(aws, deployed.stack_name) == before

    with pytest.raises(ClientError) as exc:
        cfn.create_change_set(
            StackName=deployed.stack_name,
            ChangeSetName="bad",
            ChangeSetType="UPDATE",
            UsePreviousTemplate=True,
            Parameters=[
                *(p for p in keep if p["ParameterKey"] != "HostedZoneId"),
                {"ParameterKey": "HostedZoneId", "UsePreviousValue": True, "ParameterValue": "Z1"},
            ],
        )
    assert _error(exc) == (
        "ValidationError",
        "Invalid input for parameter key HostedZoneId. "
        "Cannot specify usePreviousValue as true and non empty value for a parameter",
        400,
    )
    assert _stack_parameters(aws, deployed.stack_name) == before


def test_an_update_change_set_keeps_previous_values_as_given(fresh: dict[str, Any]) -> None:
    """UsePreviousValue in a change set: moto hands the backend its *resolved* previous value
    (a list for a CommaDelimitedList, a number), which it then cannot parse; CloudFormation
    uses the value as given. A defaulted parameter's previous value is its Default."""
    cfn = fresh["cloudformation"]
    template = json.dumps(
        {
            "Parameters": {
                "Names": {"Type": "CommaDelimitedList", "AllowedPattern": "[a-z]+"},
                "Size": {"Type": "Number", "MinValue": 1},
                "Colour": {"Type": "String", "Default": "blue"},
            },
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        }
    )
    cfn.create_stack(StackName="small", TemplateBody=template, Parameters=_request({"Names": "a,b", "Size": "2"}))
    keep = [{"ParameterKey": k, "UsePreviousValue": True} for k in ("Names", "Colour")]
    change_set = cfn.create_change_set(
        StackName="small",
        ChangeSetName="same",
        ChangeSetType="UPDATE",
        UsePreviousTemplate=True,
        Parameters=[*keep, {"ParameterKey": "Size", "ParameterValue": "3"}],
    )
    described = cfn.describe_change_set(ChangeSetName=change_set["Id"])
    assert described["Status"] == "CREATE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]} == {
        "Names": "a,b",
        "Colour": "blue",
        "Size": "3",
    }
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    assert _stack_parameters(fresh, "small")["Size"] == "3"
    with pytest.raises(ClientError) as exc:
        cfn.create_change_set(
            StackName="small",
            ChangeSetName="bad",
            ChangeSetType="UPDATE",
            UsePreviousTemplate=True,
            Parameters=[*keep, {"ParameterKey": "Size", "ParameterValue": "0"}],
        )
    assert _error(exc) == ("ValidationError", "Parameter 'Size' must be a number not less than 1", 400)
    assert [c["ChangeSetName"] for c in cfn.list_change_sets(StackName="small")["Summaries"]] == ["same"]


def test_through_the_moto_server_a_change_set_gets_the_same_error(transformed: str) -> None:
    """sam deploy's path: CreateChangeSet over HTTP on 127.0.0.1; nothing is left behind."""
    emulator = start_emulator()
    try:
        reset_moto(emulator)
        cfn = emulator.clients()["cloudformation"]
        with pytest.raises(ClientError) as exc:
            cfn.create_change_set(
                StackName="weightshift",
                ChangeSetName="samcli-deploy1",
                ChangeSetType="CREATE",
                TemplateBody=transformed,
                Parameters=_request({**VALID, "HostedZoneId": "/hostedzone/Z0123456789ABCDEFGHIJ"}),
                Capabilities=CAPABILITIES,
            )
        assert exc.value.operation_name == "CreateChangeSet"
        assert _error(exc) == (
            "ValidationError",
            "Parameter HostedZoneId failed to satisfy constraint: a hosted zone id such as Z0123456789ABCDEFGHIJ",
            400,
        )
        assert cfn.list_stacks()["StackSummaries"] == []
    finally:
        try:
            reset_moto(emulator)
        finally:
            emulator.stop()


def test_new_hosted_zone_ids_have_the_aws_shape(fresh: dict[str, Any]) -> None:
    """Z + 20 upper-case letters and digits, so each passes the template's HostedZoneId pattern
    (moto's 22 random letters and digits start with Z one time in 36)."""
    pattern = stack.load_template()["Parameters"]["HostedZoneId"]["AllowedPattern"]
    route53 = fresh["route53"]
    ids = [
        route53.create_hosted_zone(Name=f"z{i}.example.com", CallerReference=f"zone-{i}")["HostedZone"]["Id"]
        for i in range(40)  # one moto id in 36 starts with Z
    ]
    assert all(i.startswith("/hostedzone/Z") for i in ids)
    zone_ids = [i.split("/")[-1] for i in ids]
    assert all(re.fullmatch(r"Z[A-Z0-9]{20}", z) for z in zone_ids), zone_ids
    assert all(re.fullmatch(pattern, z) for z in zone_ids)
    assert len(set(zone_ids)) == len(zone_ids)
    assert route53.get_hosted_zone(Id=zone_ids[0])["HostedZone"]["Name"] == "z0.example.com."


def test_zone_id_patch_is_where_moto_calls_it() -> None:
    """moto.route53.models.HostedZoneIdentifier.generate calls the module-level
    create_route53_zone_id at each call; the patch replaces that name (moto upgrade?)."""
    import moto.route53.models as r53_models

    assert patches._INSTALLED
    assert r53_models.create_route53_zone_id is cfn_parameters.create_route53_zone_id
    assert "create_route53_zone_id" in r53_models.HostedZoneIdentifier.generate.__code__.co_names


# ------------------------------------------------- the rules, without moto
SPEC: dict[str, dict[str, Any]] = {
    "Names": {"Type": "CommaDelimitedList", "AllowedPattern": "[a-z]+", "Default": "a,b"},
    "Sizes": {"Type": "List<Number>", "MinValue": 1},
    "Tier": {"Type": "String", "AllowedValues": ["gold", "silver"], "Default": "gold"},
    "Code": {"Type": "String", "MinLength": 2, "MaxLength": 3, "ConstraintDescription": "two or three"},
    "Digits": {"Type": "String", "AllowedPattern": "\\d+", "Default": "1"},
}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"Names": "a, b ,c"}, None),  # each member is space trimmed
        ({"Names": "a,B"}, "Parameter 'Names' must match pattern [a-z]+"),  # each member, whole member
        ({"Names": ""}, "Parameter 'Names' must match pattern [a-z]+"),  # "" is one empty member
        ({"Names": "a,,b"}, "Parameter 'Names' must match pattern [a-z]+"),
        ({"Sizes": "1, 2.5"}, None),
        ({"Sizes": "1,x"}, "Parameter 'Sizes' must be a number."),
        ({"Sizes": "3,0"}, "Parameter 'Sizes' must be a number not less than 1"),
        ({"Tier": "bronze"}, "Parameter 'Tier' must be one of AllowedValues"),
        ({"Code": "a"}, "Parameter Code failed to satisfy constraint: two or three"),
        ({"Code": "abcd"}, "Parameter Code failed to satisfy constraint: two or three"),
        ({"Code": "ab", "Digits": "\u0661"}, "Parameter 'Digits' must match pattern \\d+"),  # Java's \d is ASCII
        ({"Code": "ab", "Digits": "12\n"}, "Parameter 'Digits' must match pattern \\d+"),
    ],
)
def test_rules(given: dict[str, str], message: str | None) -> None:
    values = {"Sizes": "1", "Code": "ab", **given}
    if message is None:
        cfn_parameters.validate(SPEC, values)
        return
    with pytest.raises(cfn_parameters.ValidationError) as exc:
        cfn_parameters.validate(SPEC, values)
    assert exc.value.message == message


def test_defaults_are_held_to_the_constraints_even_when_a_value_is_given() -> None:
    spec = {"Profiles": {"Type": "CommaDelimitedList", "Default": "", "AllowedPattern": "\\w+"}}
    with pytest.raises(cfn_parameters.ValidationError) as exc:
        cfn_parameters.validate(spec, {"Profiles": "dev"})
    assert exc.value.message == "Parameter 'Profiles' must match pattern \\w+"


def test_values_for_a_template_without_parameters() -> None:
    with pytest.raises(cfn_parameters.ValidationError) as exc:
        cfn_parameters.validate({}, {"ReleaseName": "r1"})
    assert exc.value.message == "Parameter values specified for a template which does not require them."
    cfn_parameters.validate({}, {})


def test_a_java_only_pattern_fails_the_call_rather_than_passing() -> None:
    spec = {"Name": {"Type": "String", "AllowedPattern": "\\p{javaLowerCase}+"}}
    with pytest.raises(cfn_parameters.ValidationError) as exc:
        cfn_parameters.validate(spec, {"Name": "abc"})
    assert exc.value.message.startswith("Parameter 'Name' AllowedPattern \\p{javaLowerCase}+: the emulator cannot")
