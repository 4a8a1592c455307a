"""Route 53 health-check metrics in CloudWatch (us-east-1): the emulator publishes them per
simulated minute, and the gate's CloudWatch adapter reads the checkers' healthy fraction from
them, so a poll does not spend one of Route 53's 5 requests a second.

Sources for each modelled behaviour are beside the code (``health_metrics.py``,
``adapters/cloudwatch.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.cloudwatch.models import cloudwatch_backends
from weightshift.adapters import aws as aws_clients
from weightshift.adapters.cloudwatch import ROUTE53_METRICS_REGION, CloudWatch
from weightshift.errors import SignalUnavailable
from weightshift_emulator import health_metrics, patches, simclock
from weightshift_emulator.world import ACCOUNT, Surroundings

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def clock_for(world: Surroundings, **knobs: Any) -> simclock.SimClock:
    knobs.setdefault("rate", 10.0)
    knobs.setdefault("clients", 20)
    return simclock.for_surroundings(world, start=START, **knobs)


def minutes(aws: dict[str, Any], check_id: str, metric: str, until: datetime) -> dict[datetime, dict[str, float]]:
    """The published minutes of one health-check metric in us-east-1: minute -> statistics."""
    points = aws["cloudwatch"].get_metric_statistics(
        Namespace="AWS/Route53",
        MetricName=metric,
        Dimensions=[{"Name": "HealthCheckId", "Value": check_id}],
        StartTime=START - timedelta(minutes=5),
        EndTime=until,
        Period=60,
        Statistics=["Minimum", "Maximum", "Average", "SampleCount"],
    )["Datapoints"]
    return {p["Timestamp"].astimezone(UTC): p for p in points}


# ------------------------------------------------------------------ the emulator publishes
def test_each_health_check_publishes_both_metrics_once_a_minute_after_the_delay(
    aws: dict[str, Any], world: Surroundings
) -> None:
    patches.UNHEALTHY_CHECKS.add(world.green_health_check)
    clock = clock_for(world)
    clock.step(60 + 29)  # 10:01:29: the 10:00 minute is not published yet (30 s after it ends)
    for check in (world.blue_health_check, world.green_health_check):
        assert minutes(aws, check, "HealthCheckStatus", clock.now()) == {}
    clock.step(1)  # 10:01:30
    assert set(minutes(aws, world.blue_health_check, "HealthCheckStatus", clock.now())) == {START}
    clock.step(4 * 60)  # 10:05:30: the minutes 10:00 to 10:04
    now = clock.now()
    expected = {START + timedelta(minutes=m) for m in range(5)}
    blue_status = minutes(aws, world.blue_health_check, "HealthCheckStatus", now)
    blue_percent = minutes(aws, world.blue_health_check, "HealthCheckPercentageHealthy", now)
    green_status = minutes(aws, world.green_health_check, "HealthCheckStatus", now)
    green_percent = minutes(aws, world.green_health_check, "HealthCheckPercentageHealthy", now)
    assert set(blue_status) == set(blue_percent) == set(green_status) == set(green_percent) == expected
    assert {(p["Minimum"], p["Maximum"]) for p in blue_status.values()} == {(1.0, 1.0)}
    assert {(p["Minimum"], p["Maximum"]) for p in blue_percent.values()} == {(100.0, 100.0)}
    assert {p["Unit"] for p in blue_percent.values()} == {"Percent"}
    # GetHealthCheckStatus reports every checker failing for such a check: 0 % and 0.
    assert {(p["Minimum"], p["Maximum"]) for p in green_status.values()} == {(0.0, 0.0)}
    assert {(p["Minimum"], p["Maximum"]) for p in green_percent.values()} == {(0.0, 0.0)}
    reports = aws["route53"].get_health_check_status(HealthCheckId=world.green_health_check)
    assert all(
        o["StatusReport"]["Status"].startswith("Failure") for o in reports["HealthCheckObservations"]
    )  # the API agrees with the metric


def test_a_check_that_fails_mid_minute_shows_in_that_minutes_minimum(aws: dict[str, Any], world: Surroundings) -> None:
    clock = clock_for(world)
    clock.step(30)
    patches.UNHEALTHY_CHECKS.add(world.blue_health_check)  # 10:00:30
    clock.step(90 + 30)  # 10:02:30: 10:00 and 10:01 published
    got = minutes(aws, world.blue_health_check, "HealthCheckPercentageHealthy", clock.now())
    first, second = got[START], got[START + timedelta(minutes=1)]
    assert (first["Minimum"], first["Maximum"]) == (0.0, 100.0)
    assert first["Average"] == pytest.approx(50.0)
    assert (second["Minimum"], second["Maximum"]) == (0.0, 0.0)


def test_only_endpoint_checks_publish_the_percentage_and_disabled_ones_nothing(
    aws: dict[str, Any], world: Surroundings
) -> None:
    """ "For health checks that monitor an endpoint only"; "When a health check is disabled,
    this metric isn't available" (Route 53 Developer Guide)."""
    calculated = aws["route53"].create_health_check(
        CallerReference="calculated",
        HealthCheckConfig={
            "Type": "CALCULATED",
            "ChildHealthChecks": [world.blue_health_check, world.green_health_check],
            "HealthThreshold": 1,
        },
    )["HealthCheck"]["Id"]
    disabled = aws["route53"].create_health_check(
        CallerReference="disabled",
        HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "x.example.com", "Disabled": True},
    )["HealthCheck"]["Id"]
    clock = clock_for(world)
    clock.step(150)
    now = clock.now()
    assert set(minutes(aws, calculated, "HealthCheckStatus", now)) == {START, START + timedelta(minutes=1)}
    assert minutes(aws, calculated, "HealthCheckPercentageHealthy", now) == {}
    assert minutes(aws, disabled, "HealthCheckStatus", now) == {}
    assert minutes(aws, disabled, "HealthCheckPercentageHealthy", now) == {}


def test_the_metrics_are_in_us_east_1_only(aws: dict[str, Any], world: Surroundings) -> None:
    clock = clock_for(world)
    clock.step(150)
    assert clock.health_metrics is not None
    assert clock.health_metrics.published
    in_use1 = [d for d in cloudwatch_backends[ACCOUNT]["us-east-1"].metric_data if d.namespace == "AWS/Route53"]
    assert in_use1
    elsewhere = boto3.client("cloudwatch", region_name="eu-west-1")
    assert elsewhere.list_metrics(Namespace="AWS/Route53")["Metrics"] == []


def test_route53_metric_data_older_than_cloudwatch_keeps_is_dropped(aws: dict[str, Any], world: Surroundings) -> None:
    clock = clock_for(world)
    clock.step(180)
    assert clock.health_metrics is not None
    backend = cloudwatch_backends[ACCOUNT]["us-east-1"]

    def stamps() -> set[datetime]:
        return {d.timestamp for d in backend.metric_data if d.namespace == health_metrics.NAMESPACE}

    assert START.replace(tzinfo=None) in stamps()
    clock.health_metrics.prune(START.timestamp() + 15 * 86400 + 30)
    assert START.replace(tzinfo=None) not in stamps()
    assert (START + timedelta(minutes=1)).replace(tzinfo=None) in stamps()


# ------------------------------------------------------------------ the adapter reads
def test_the_gate_reads_the_healthy_fraction_of_the_newest_minute(aws: dict[str, Any], world: Surroundings) -> None:
    patches.UNHEALTHY_CHECKS.add(world.green_health_check)
    clock = clock_for(world)
    gate = CloudWatch(aws["cloudwatch"])  # in us-east-1: it serves Route 53's metrics itself
    assert gate.health_check_fraction(world.blue_health_check, clock.now()) is None  # nothing published yet
    clock.step(90)  # 10:01:30: the 10:00 minute is published
    assert gate.health_check_fraction(world.blue_health_check, clock.now()) == 1.0
    assert gate.health_check_fraction(world.green_health_check, clock.now()) == 0.0
    # Green recovers at 10:01:30; the newest published minute (10:01, at 10:02:30) had it
    # unhealthy for its first half: its Minimum is read, so it still counts as unhealthy.
    patches.UNHEALTHY_CHECKS.discard(world.green_health_check)
    clock.step(60)
    assert gate.health_check_fraction(world.green_health_check, clock.now()) == 0.0
    clock.step(60)  # 10:03:30: the 10:02 minute, healthy throughout
    assert gate.health_check_fraction(world.green_health_check, clock.now()) == 1.0
    assert gate.health_check_fraction("00000000-0000-0000-0000-000000000000", clock.now()) is None


def test_the_fraction_is_none_once_the_newest_minute_is_older_than_the_window(
    aws: dict[str, Any], world: Surroundings
) -> None:
    clock = clock_for(world)
    clock.step(150)
    gate = CloudWatch(aws["cloudwatch"])
    assert gate.health_check_fraction(world.blue_health_check, clock.now()) == 1.0
    # The check stops publishing (deleted): once its newest minute leaves the 3-minute window
    # the gate gets None and falls back to GetHealthCheckStatus, not a stale "healthy".
    aws["route53"].delete_health_check(HealthCheckId=world.blue_health_check)  # 10:02:30
    clock.step(60)  # its last, partial minute (10:02) is published at 10:03:30
    # GetMetricData rounds StartTime down to the minute: at 10:05:59 the window starts at
    # 10:02 and still holds that minute; at 10:06:00 it starts at 10:03.
    clock.step(149)
    assert gate.health_check_fraction(world.blue_health_check, clock.now()) == 1.0
    clock.step(1)
    assert gate.health_check_fraction(world.blue_health_check, clock.now()) is None


def test_it_reads_from_us_east_1_when_the_function_runs_elsewhere(
    aws: dict[str, Any], world: Surroundings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = clock_for(world)
    clock.step(90)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    aws_clients.clear_clients()
    local = aws_clients.client("cloudwatch")
    assert local.meta.region_name == "eu-west-1"
    # Only in us-east-1: the function's own region has none of it.
    assert CloudWatch(local, local).health_check_fraction(world.blue_health_check, clock.now()) is None
    # Without a us-east-1 client the adapter says so rather than read the wrong region.
    with pytest.raises(SignalUnavailable, match="us-east-1"):
        CloudWatch(local).health_check_fraction(world.blue_health_check, clock.now())
    # The handlers' wiring builds the second client in us-east-1.
    from weightshift.handlers import _wiring

    monkeypatch.setenv("TABLE_NAME", "weightshift-deployments")
    monkeypatch.setenv("STATE_MACHINE_ARN", f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:weightshift")
    monkeypatch.setenv("TOPIC_ARN", f"arn:aws:sns:eu-west-1:{ACCOUNT}:weightshift-notifications")
    monkeypatch.setenv("EVENT_BUS_NAME", "default")
    ports = _wiring.ports()
    assert ports.cloudwatch.health_check_fraction(world.blue_health_check, clock.now()) == 1.0
    assert ROUTE53_METRICS_REGION == "us-east-1"


class _Failing:
    class meta:  # noqa: N801 - mimics a boto3 client's meta
        region_name = "us-east-1"

    def __init__(self, response: dict[str, Any] | None = None) -> None:
        self.response = response

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        if self.response is not None:
            return self.response
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "GetMetricData")


def test_errors_raise_signal_unavailable() -> None:
    now = START
    with pytest.raises(SignalUnavailable, match="Throttling"):
        CloudWatch(_Failing()).health_check_fraction("abc", now)
    internal = {"MetricDataResults": [{"Id": "healthy", "StatusCode": "InternalError", "Timestamps": [], "Values": []}]}
    with pytest.raises(SignalUnavailable, match="InternalError"):
        CloudWatch(_Failing(internal)).health_check_fraction("abc", now)
