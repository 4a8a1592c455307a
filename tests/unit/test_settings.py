"""Settings read from the function's environment: the template's parameters."""

from __future__ import annotations

import pytest
from weightshift.errors import InvalidPlan
from weightshift.settings import StackScope, load_resources, load_route_config, load_trigger_config

REQUIRED = {
    "CLUSTER_NAME": "shop",
    "BLUE_SERVICE_NAME": "shop-blue",
    "GREEN_SERVICE_NAME": "shop-green",
    "HOSTED_ZONE_ID": "Z0123456789ABCDEFGHIJ",
    "RECORD_NAME": "shop.example.com",
    "BLUE_LOAD_BALANCER_ARN": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blue/1",
    "GREEN_LOAD_BALANCER_ARN": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/green/2",
}


def _env(**extra: str) -> dict[str, str]:
    return {**REQUIRED, **extra}


def test_required_variables_alone_give_the_documented_defaults():
    config = load_route_config(_env())
    assert config.cluster_name == "shop"
    assert (config.schedule, config.step_interval_seconds, config.poll_seconds) == ("Canary10Percent5Minutes", 60, 300)
    assert (config.alarm_names, config.blue_health_check_id, config.green_health_check_id) == ([], None, None)
    assert (config.latency_percentile, config.max_latency_ratio, config.metric_checks) == ("p99", 2.0, [])
    assert config.own_alarms == []


def test_every_template_variable_is_read_and_typed():
    config = load_route_config(
        _env(
            BLUE_SET_IDENTIFIER="b",
            GREEN_SET_IDENTIFIER="g",
            SCHEDULE="5,25,50,100",
            STEP_INTERVAL_SECONDS="120",
            HEALTH_POLL_SECONDS="30",
            READINESS_TIMEOUT_SECONDS="0",
            MIN_REQUESTS="10",
            MAX_ERROR_RATE_RATIO="1.5",
            MAX_POLLS_WITHOUT_TRAFFIC="4",
            LATENCY_PERCENTILE="p90",
            MAX_LATENCY_RATIO="1.5",
            METRIC_CHECKS='[{"name": "x", "metrics": [{"Id": "m", "Expression": "1"}], "threshold": 1, '
            '"comparison": "GreaterThanThreshold", "noData": "pass"}]',
            BLUE_ERROR_RATE_ALARM="ws-blue-5xx-vs-green",
            GREEN_ERROR_RATE_ALARM="ws-green-5xx-vs-blue",
            BLUE_LATENCY_ALARM="",
            GREEN_LATENCY_ALARM="",
            PATH="/usr/bin",  # unrelated variables are ignored
        )
    )
    assert (config.blue_set_identifier, config.green_set_identifier, config.schedule) == ("b", "g", "5,25,50,100")
    assert (config.step_interval_seconds, config.poll_seconds, config.readiness_timeout_seconds) == (120, 30, 0)
    assert (config.min_requests, config.max_error_rate_ratio, config.max_polls_without_traffic) == (10, 1.5, 4)
    assert (config.latency_percentile, config.max_latency_ratio) == ("p90", 1.5)
    assert [c.name for c in config.metric_checks] == ["x"]
    assert config.watched_alarms("green") == ["ws-green-5xx-vs-blue"]  # LatencyPercentile off: no latency alarm


@pytest.mark.parametrize(
    ("csv", "names"),
    [("", []), ("shop-5xx", ["shop-5xx"]), (" a , ,b, ", ["a", "b"])],
)
def test_alarm_names_come_from_a_comma_separated_list(csv, names):
    assert load_route_config(_env(ALARM_NAMES=csv)).alarm_names == names


def test_an_empty_health_check_id_means_none_and_a_set_one_is_kept():
    hc = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    config = load_route_config(_env(BLUE_HEALTH_CHECK_ID="", GREEN_HEALTH_CHECK_ID=hc))
    assert config.blue_health_check_id is None
    assert config.green_health_check_id == hc
    assert config.side("green").health_check_id == hc


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STEP_INTERVAL_SECONDS", "abc"),
        ("HEALTH_POLL_SECONDS", "0"),
        ("MIN_REQUESTS", "0"),
        ("MAX_ERROR_RATE_RATIO", "twice"),
        ("MAX_POLLS_WITHOUT_TRAFFIC", "1.5"),
        ("CLUSTER_NAME", ""),
    ],
)
def test_a_bad_value_is_rejected_with_an_error_that_names_the_variable(variable, value):
    with pytest.raises(InvalidPlan, match=f"bad Weightshift configuration: {variable}: "):
        load_route_config(_env(**{variable: value}))


def test_a_missing_variable_is_named_in_the_error():
    env = _env()
    del env["HOSTED_ZONE_ID"]
    with pytest.raises(InvalidPlan, match="HOSTED_ZONE_ID: Field required"):
        load_route_config(env)


def test_side_and_group_lookups_follow_the_configured_service_names():
    config = load_route_config(_env())
    assert config.side("blue").service_name == "shop-blue"
    assert config.side("green").load_balancer_arn.endswith("/green/2")
    assert config.color_of_group("service:shop-green") == "green"
    assert config.color_of_group("service:shop-blue") == "blue"
    assert config.color_of_group("shop-green") is None


def test_resources_need_a_table_name():
    assert load_resources({"TABLE_NAME": "deployments"}).event_bus_name == "default"
    with pytest.raises(InvalidPlan, match="TABLE_NAME"):
        load_resources({})


# ------------------------------------------------------------------ the trigger's scope
CLUSTER_ARN = "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/shop"


def test_the_trigger_reads_the_stacks_partition_region_and_account_from_the_cluster_arn():
    scope = load_trigger_config(_env(CLUSTER_ARN=CLUSTER_ARN)).scope
    assert scope == StackScope(partition="aws-cn", region="cn-north-1", account="123456789012", cluster_arn=CLUSTER_ARN)


def test_the_trigger_refuses_to_start_without_the_cluster_arn():
    with pytest.raises(InvalidPlan, match="CLUSTER_ARN: required by the trigger"):
        load_trigger_config(_env())


@pytest.mark.parametrize(
    "value",
    [
        "shop",  # a bare name carries no account or region
        "arn:aws:ecs:us-east-1:123456789012:service/shop",
        "arn:aws:ecs:us-east-1:12345:cluster/shop",
        "arn:aws:ecs:us-east-1:123456789012:cluster/payments",  # not CLUSTER_NAME's cluster
    ],
)
def test_a_cluster_arn_that_is_not_the_clusters_is_rejected_by_name(value):
    with pytest.raises(InvalidPlan, match="bad Weightshift configuration: CLUSTER_ARN: "):
        load_trigger_config(_env(CLUSTER_ARN=value))


def test_the_other_functions_need_no_cluster_arn():
    assert load_route_config(_env()).scope is None
