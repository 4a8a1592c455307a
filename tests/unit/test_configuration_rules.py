"""The deploy-time configuration check's rules, on facts built by hand (issue 9, section 1).

Each bad value gets one problem that names the parameter, the value and what was
expected; a configuration that fits gets none. The same rules run against moto in
tests/e2e/test_configuration_check.py, through the deployed custom resource.
"""

from __future__ import annotations

from typing import Any

import pytest
from weightshift.configuration import Facts, problems, ttl_of

from tests.unit.helpers import make_config

BLUE_LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blue/1"
GREEN_LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/green/2"
BLUE_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1"
GREEN_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2"


def lb(name: str, kind: str = "application") -> dict[str, Any]:
    return {"Type": kind, "DNSName": f"{name}-1.us-east-1.elb.amazonaws.com", "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K"}


def alias(set_id: str, lb_name: str, weight: int = 100) -> dict[str, Any]:
    return {
        "Name": "shop.example.com.",
        "Type": "A",
        "SetIdentifier": set_id,
        "Weight": weight,
        "AliasTarget": {
            "HostedZoneId": "Z35SXDOTRQ7X7K",
            "DNSName": f"dualstack.{lb_name}-1.us-east-1.elb.amazonaws.com.",
            "EvaluateTargetHealth": True,
        },
    }


def good_facts(**overrides: Any) -> Facts:
    values: dict[str, Any] = {
        "zone_name": "example.com.",
        "records": [alias("blue", "blue", 100), alias("green", "green", 0)],
        "load_balancers": {BLUE_LB: lb("blue"), GREEN_LB: lb("green")},
        "cluster_exists": True,
        "service_target_groups": {"shop-blue": [BLUE_TG], "shop-green": [GREEN_TG]},
        "target_group_load_balancers": {BLUE_TG: [BLUE_LB], GREEN_TG: [GREEN_LB]},
        "alarm_states": {"shop-green-5xx": "OK"},
        "health_checks": {},
    }
    values.update(overrides)
    return Facts(**values)


def only_problem(config_overrides: dict[str, Any], **fact_overrides: Any) -> str:
    found = problems(make_config(**config_overrides), good_facts(**fact_overrides))
    assert len(found) == 1, found
    return found[0]


def test_a_configuration_that_fits_has_no_problem() -> None:
    assert problems(make_config(), good_facts()) == []


def test_absent_records_are_fine_weightshift_creates_the_pair() -> None:
    assert problems(make_config(), good_facts(records=[])) == []


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("50,10,100", "Schedule '50,10,100': schedule must not decrease: 50% is followed by 10%"),
        ("10,50", "Schedule '10,50': schedule must end at 100%, it ends at 50%"),
        ("0,0,100", "Schedule '0,0,100': schedule step 0% is outside 1-100"),
        ("Canary0Percent5Minutes", "the step percentage must be 1-99, got 0"),
    ],
)
def test_a_schedule_the_workflow_cannot_plan_names_the_value_and_what_was_expected(
    schedule: str, expected: str
) -> None:
    problem = only_problem({"schedule": schedule})
    assert expected in problem
    assert "expected a preset (AllAtOnce" in problem


def test_a_schedule_whose_history_could_pass_the_execution_limit_is_refused() -> None:
    problem = only_problem({"schedule": "Linear1PercentEvery1Minute", "poll_seconds": 5})
    assert problem.startswith("Schedule 'Linear1PercentEvery1Minute' with HealthPollSeconds=5")
    assert "history events, over the budget of 20000 (Step Functions fails an execution at 25000)" in problem


def test_a_bake_shorter_than_the_records_ttl_is_refused_not_warned() -> None:
    cname = [
        {
            "Name": "shop.example.com.",
            "Type": "CNAME",
            "SetIdentifier": s,
            "Weight": w,
            "TTL": 300,
            "ResourceRecords": [{"Value": f"{s}-1.us-east-1.elb.amazonaws.com"}],
        }
        for s, w in (("blue", 100), ("green", 0))
    ]
    assert ttl_of(cname) == 300
    problem = only_problem({"schedule": "10,100", "step_interval_seconds": 120}, records=cname)
    assert problem.startswith("StepIntervalSeconds=120: a bake of 120 s is shorter than the 300 s TTL")
    preset = only_problem({"schedule": "Canary10Percent2Minutes", "step_interval_seconds": 300}, records=cname)
    assert preset.startswith("Schedule 'Canary10Percent2Minutes': a bake of 120 s is shorter than the 300 s TTL")
    assert (
        problems(make_config(schedule="Canary10Percent5Minutes", step_interval_seconds=300), good_facts(records=cname))
        == []
    )


def test_an_alias_pair_allows_bakes_of_its_60_second_ttl() -> None:
    assert "shorter than the 60 s TTL" in only_problem({"schedule": "10,100", "step_interval_seconds": 30})
    assert problems(make_config(schedule="10,100", step_interval_seconds=60), good_facts()) == []


def test_a_missing_zone() -> None:
    problem = only_problem({}, zone_name=None, records=[])
    assert problem.startswith("HostedZoneId 'Z0123456789ABCDEFGHIJ': no such hosted zone in this account")


def test_a_record_outside_the_zone() -> None:
    problem = only_problem({}, zone_name="other.org.", records=[])
    assert problem.startswith("RecordName 'shop.example.com' is not inside hosted zone other.org")


def test_a_simple_record_at_the_name_is_not_a_weighted_pair() -> None:
    simple = {"Name": "shop.example.com.", "Type": "A", "AliasTarget": alias("blue", "blue")["AliasTarget"]}
    problem = only_problem({}, records=[simple])
    assert "already has records that are not the weighted pair 'blue'/'green'" in problem
    assert "A (no SetIdentifier)" in problem


def test_a_pair_with_other_set_identifiers() -> None:
    problem = only_problem({}, records=[alias("one", "blue"), alias("two", "green")])
    assert "A one, A two" in problem


def test_half_a_pair() -> None:
    problem = only_problem({}, records=[alias("blue", "blue")])
    assert problem.startswith("GreenSetIdentifier 'green': shop.example.com has no weighted record")


def test_a_pair_that_aliases_the_wrong_load_balancers() -> None:
    found = problems(make_config(), good_facts(records=[alias("blue", "green"), alias("green", "blue")]))
    assert len(found) == 2
    assert found[0].startswith("BlueSetIdentifier 'blue': the record at shop.example.com points at green-1.")
    assert "not at BlueLoadBalancerArn's DNS name blue-1.us-east-1.elb.amazonaws.com" in found[0]


def test_a_network_load_balancer_is_refused() -> None:
    problem = only_problem({}, load_balancers={BLUE_LB: lb("blue", "network"), GREEN_LB: lb("green")})
    assert problem == (
        f"BlueLoadBalancerArn '{BLUE_LB}' is a network load balancer; expected an Application Load Balancer "
        "(Weightshift reads ALB target health and 5xx metrics)"
    )


def test_a_missing_load_balancer() -> None:
    problem = only_problem({}, load_balancers={BLUE_LB: lb("blue"), GREEN_LB: None})
    assert problem.startswith(f"GreenLoadBalancerArn '{GREEN_LB}': no such load balancer")


def test_a_missing_cluster() -> None:
    problem = only_problem({}, cluster_exists=False, service_target_groups={})
    assert problem.startswith("ClusterName 'shop': no such ECS cluster")


def test_a_missing_service() -> None:
    problem = only_problem({}, service_target_groups={"shop-blue": [BLUE_TG]})
    assert problem == "GreenServiceName 'shop-green': no such ECS service in cluster 'shop' (ClusterName)"


def test_a_service_attached_to_the_other_sides_load_balancer() -> None:
    found = problems(
        make_config(), good_facts(service_target_groups={"shop-blue": [GREEN_TG], "shop-green": [GREEN_TG]})
    )
    assert found == [
        f"BlueServiceName 'shop-blue' registers its tasks with {GREEN_LB}, not with BlueLoadBalancerArn "
        f"{BLUE_LB}; expected the blue service attached (through a target group) to the blue load balancer"
    ]


def test_a_service_with_no_load_balancer() -> None:
    problem = only_problem({}, service_target_groups={"shop-blue": [BLUE_TG], "shop-green": []})
    assert problem.startswith("GreenServiceName 'shop-green' registers its tasks with no load balancer")


def test_a_missing_alarm_and_health_check() -> None:
    config = {
        "alarm_names": ["shop-green-5xx", "typo"],
        "green_health_check_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
    }
    found = problems(make_config(**config), good_facts(alarm_states={"shop-green-5xx": "OK", "typo": "MISSING"}))
    assert found == [
        "AlarmNames: alarm 'typo' does not exist in this account and region; expected the name of a CloudWatch "
        "metric or composite alarm",
        "GreenHealthCheckId '00000000-0000-0000-0000-000000000000': no such Route 53 health check; expected the id "
        "of an existing health check, or empty",
    ]


def test_the_same_set_identifier_for_both_sides() -> None:
    problem = only_problem({"green_set_identifier": "blue"}, records=[])
    assert problem.startswith("BlueSetIdentifier and GreenSetIdentifier are both 'blue'")


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        make_config(schedule="50,10,100", alarm_names=["typo"]),
        good_facts(cluster_exists=False, service_target_groups={}, alarm_states={"typo": "MISSING"}),
    )
    assert [p.split(" ")[0] for p in found] == ["ClusterName", "Schedule", "AlarmNames:"]
