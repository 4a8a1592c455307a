"""A bad configuration fails the deploy, not the first release; one record, one owner (issue 9).

The real template.yaml deployed through the emulator's CloudFormation, whose custom
resource protocol (tools/weightshift_emulator/cfn_custom.py) invokes the deployed
ConfigurationCheckFunction and waits for the answer it PUTs to the ResponseURL. A
FAILED answer fails the deploy with the reason and rolls the stack back; these
tests then look only at what AWS would show: the stack's status and events, and
the hosted zone's records (zero changes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws
from weightshift.ownership import owner_record_name
from weightshift_emulator import patches, stack
from weightshift_emulator.world import ACCOUNT, REGION, Surroundings, build_surroundings, clients

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("cfn_patched")]

PARAMETERS = {"Schedule": "5,25,50,100", "StepIntervalSeconds": "60", "HealthPollSeconds": "15"}


@pytest.fixture
def aws_world() -> Iterator[tuple[dict[str, Any], Surroundings]]:
    with mock_aws(config=patches.ENGINE_CONFIG):
        aws = clients()
        yield aws, build_surroundings(aws)


def records(aws: dict[str, Any], world: Surroundings) -> list[dict[str, Any]]:
    return list(aws["route53"].list_resource_record_sets(HostedZoneId=world.zone_id)["ResourceRecordSets"])


def owner_values(aws: dict[str, Any], world: Surroundings) -> list[str]:
    name = owner_record_name(world.record_name)
    return [r["ResourceRecords"][0]["Value"] for r in records(aws, world) if r["Name"] == name and r["Type"] == "TXT"]


def status(aws: dict[str, Any], name: str) -> str:
    return str(aws["cloudformation"].describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def failed_deploy(aws: dict[str, Any], parameters: dict[str, str], name: str) -> str:
    """Deploy, expect the deploy to fail; the failure's text as sam deploy would show it."""
    with pytest.raises(stack.DeployFailed) as failure:
        stack.deploy(aws, parameters, stack_name=name)
    return str(failure.value)


def a_simple_record_at_the_name(aws: dict[str, Any], world: Surroundings) -> None:
    aws["route53"].change_resource_record_sets(
        HostedZoneId=world.zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": world.record_name,
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "192.0.2.10"}],
                    },
                }
            ]
        },
    )


def a_service_of_another_cluster(aws: dict[str, Any], world: Surroundings) -> None:
    aws["ecs"].create_cluster(clusterName="other")
    aws["ecs"].create_service(
        cluster="other", serviceName="other-web", taskDefinition=world.task_definitions["green"], desiredCount=1
    )


def nothing(aws: dict[str, Any], world: Surroundings) -> None:
    pass


NO_SUCH_CHECK = "0b5c1f6e-9a43-4d2e-8f00-000000000000"
# (id, setup, parameter overrides, what the reason must say)
BAD: list[tuple[str, Callable[[dict[str, Any], Surroundings], None], dict[str, str], str]] = [
    ("decreasing schedule", nothing, {"Schedule": "50,10,100"},
     "Schedule '50,10,100': schedule must not decrease: 50% is followed by 10%"),
    ("schedule not ending at 100", nothing, {"Schedule": "10,50"}, "Schedule '10,50': schedule must end at 100%"),
    ("history over the limit", nothing, {"Schedule": "Linear1PercentEvery1Minute", "HealthPollSeconds": "5"},
     "history events, over the budget of 20000 (Step Functions fails an execution at 25000)"),
    ("bake shorter than the TTL", nothing, {"StepIntervalSeconds": "30"},
     "StepIntervalSeconds=30: a bake of 30 s is shorter than the 60 s TTL of the records at shop.example.com"),
    ("no such zone", nothing, {"HostedZoneId": "Z0000000000000000NOZONE"},
     "HostedZoneId 'Z0000000000000000NOZONE': no such hosted zone in this account"),
    ("record outside the zone", nothing, {"RecordName": "shop.example.org"},
     "RecordName 'shop.example.org' is not inside hosted zone example.com"),
    ("a simple record at the name", a_simple_record_at_the_name, {},
     "RecordName 'shop.example.com' already has records that are not the weighted pair 'blue'/'green'"),
    ("no such load balancer", nothing,
     {"GreenLoadBalancerArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/gone/"
                              "0123456789abcdef"},
     "GreenLoadBalancerArn 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/gone/"
     "0123456789abcdef': no such load balancer"),
    ("no such cluster", nothing, {"ClusterName": "nope"}, "ClusterName 'nope': no such ECS cluster"),
    ("a service of another cluster", a_service_of_another_cluster, {"GreenServiceName": "other-web"},
     "GreenServiceName 'other-web': no such ECS service in cluster 'shop' (ClusterName)"),
    ("services on each other's load balancer", nothing,
     {"BlueServiceName": "shop-green", "GreenServiceName": "shop-blue"},
     "BlueServiceName 'shop-green' registers its tasks with arn:aws:elasticloadbalancing:us-east-1:123456789012:"
     "loadbalancer/app/shop-green/"),
    ("alarm with a typo", nothing, {"AlarmNames": "shop-green-5xxx"},
     "AlarmNames: alarm 'shop-green-5xxx' does not exist"),
    ("no such health check", nothing, {"GreenHealthCheckId": NO_SUCH_CHECK},
     f"GreenHealthCheckId '{NO_SUCH_CHECK}': no such Route 53 health check"),
    ("custom checks that are not JSON", nothing, {"MetricChecks": "[{name: x}]"},
     "MetricChecks: not JSON (Expecting property name enclosed in double quotes at character 2)"),
    ("a custom check without its noData rule", nothing,
     {"MetricChecks": '[{"name": "x", "metrics": [{"Id": "m", "Expression": "TIME_SERIES(1)"}], '
                      '"threshold": 1, "comparison": "GreaterThanThreshold"}]'},
     "MetricChecks[0].noData: Field required"),
    ("a custom check CloudWatch refuses", nothing,
     {"MetricChecks": '[{"name": "bad-math", "metrics": [{"Id": "m", "Expression": "NO_SUCH_FUNCTION(1)"}], '
                      '"threshold": 1, "comparison": "GreaterThanThreshold", "noData": "fail"}]'},
     "MetricChecks: check 'bad-math': CloudWatch refused its queries: ValidationError"),
]  # fmt: skip


def test_each_bad_value_fails_the_deploy_with_its_message_rolls_back_and_changes_no_dns(
    aws_world: tuple[dict[str, Any], Surroundings],
) -> None:
    """One world, one stack name per case (a rolled-back stack keeps its name until deleted)."""
    aws, world = aws_world
    for i, (case, setup, overrides, expected) in enumerate(BAD):
        setup(aws, world)
        before = records(aws, world)
        name = f"bad-{i}"

        reason = failed_deploy(aws, world.parameters(**{**PARAMETERS, **overrides}), name)

        assert "Weightshift configuration check failed, nothing in DNS was changed" in reason, case
        assert expected in reason, (case, reason)
        assert status(aws, name) == "ROLLBACK_COMPLETE", case
        assert records(aws, world) == before, case
        assert aws["lambda"].list_functions()["Functions"] == [], case  # the rollback deleted them
        if setup is a_simple_record_at_the_name:  # put the zone back for the next cases
            aws["route53"].change_resource_record_sets(
                HostedZoneId=world.zone_id,
                ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": before[-1]}]},
            )


def test_an_update_with_a_bad_value_rolls_back_to_the_deployed_configuration(
    aws_world: tuple[dict[str, Any], Surroundings],
) -> None:
    aws, world = aws_world
    deployed = stack.deploy(aws, world.parameters(**PARAMETERS), stack_name="shop-canary")
    claimed = owner_values(aws, world)

    reason = failed_deploy(aws, world.parameters(**{**PARAMETERS, "Schedule": "50,10,100"}), "shop-canary")

    assert "Schedule '50,10,100': schedule must not decrease" in reason
    assert status(aws, "shop-canary") == "UPDATE_ROLLBACK_COMPLETE"
    params = aws["cloudformation"].describe_stacks(StackName="shop-canary")["Stacks"][0]["Parameters"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in params}["Schedule"] == "5,25,50,100"
    variables = aws["lambda"].get_function_configuration(FunctionName=deployed.trigger_function)["Environment"]
    assert variables["Variables"]["SCHEDULE"] == "5,25,50,100"
    assert owner_values(aws, world) == claimed


def test_one_record_has_one_owner_across_stacks_until_the_first_is_deleted(
    aws_world: tuple[dict[str, Any], Surroundings],
) -> None:
    aws, world = aws_world
    first = stack.deploy(aws, world.parameters(**PARAMETERS), stack_name="shop-canary")
    assert owner_values(aws, world) == [f'"heritage=weightshift,stack={first.stack_id}"']

    reason = failed_deploy(aws, world.parameters(**PARAMETERS), "shop-canary-copy")
    assert f"shop.example.com is managed by stack shop-canary in account {ACCOUNT}, region {REGION}" in reason, reason
    assert status(aws, "shop-canary-copy") == "ROLLBACK_COMPLETE"
    # The copy's rollback deleted its custom resource: the first stack's claim is untouched.
    assert owner_values(aws, world) == [f'"heritage=weightshift,stack={first.stack_id}"']

    stack.delete(aws, "shop-canary")
    assert owner_values(aws, world) == []
    stack.delete(aws, "shop-canary-copy")
    second = stack.deploy(aws, world.parameters(**PARAMETERS), stack_name="shop-canary-copy")
    assert second.status == "CREATE_COMPLETE"
    assert owner_values(aws, world) == [f'"heritage=weightshift,stack={second.stack_id}"']


def test_the_route_cannot_move_while_a_canary_holds_it(aws_world: tuple[dict[str, Any], Surroundings]) -> None:
    """An update of HostedZoneId or RecordName while a deployment holds the route would leave
    the old record at the canary's weights (its fail back looks on the new route): sam deploy
    refuses it, the stack rolls back, and the same update passes once the canary is over."""
    from weightshift.adapters.deployments import Deployments
    from weightshift.models import route_key

    aws, world = aws_world
    deployed = stack.deploy(aws, world.parameters(**PARAMETERS), stack_name="shop-canary")
    table = Deployments(aws["dynamodb"], deployed.table_name)
    route = route_key(world.zone_id, world.record_name)
    execution = "arn:aws:states:us-east-1:123456789012:execution:shop-canary-canary:green-ecs-svc-1"
    assert table.acquire(route, "green-ecs-svc-1", execution, "2026-11-30T10:00:00+00:00") is None
    moved = world.parameters(**{**PARAMETERS, "RecordName": "api.example.com"})

    reason = failed_deploy(aws, moved, "shop-canary")

    assert "HostedZoneId/RecordName: deployment green-ecs-svc-1 is running on shop.example.com" in reason
    assert "Wait for it to finish, or stop it (weightshift abort), then deploy again" in reason
    assert status(aws, "shop-canary") == "UPDATE_ROLLBACK_COMPLETE"
    variables = aws["lambda"].get_function_configuration(FunctionName=deployed.trigger_function)["Environment"]
    assert variables["Variables"]["RECORD_NAME"] == world.record_name
    table.release(route, execution)
    assert stack.deploy(aws, moved, stack_name="shop-canary").status == "UPDATE_COMPLETE"
