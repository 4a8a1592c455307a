"""Configuration that breaks after the deploy is loud (issue 9, section 3): an alarm, a
Route 53 health check or an ECS service the stack names, deleted since, rejects the next
deployment in preflight with the parameter and the value: a failed execution, a REJECTED
record with the reason, a "rejected" notification, and no DNS change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from weightshift_emulator import faults

from tests.workflow.conftest import Canary


def delete_alarm(canary: Canary) -> None:
    canary.aws["cloudwatch"].delete_alarms(AlarmNames=[canary.world.green_alarm])


def delete_health_check(canary: Canary) -> None:
    canary.aws["route53"].delete_health_check(HealthCheckId=canary.world.green_health_check)


def delete_service(canary: Canary) -> None:
    canary.aws["ecs"].delete_service(cluster=canary.world.cluster, service=canary.world.green_service, force=True)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (delete_alarm, "(AlarmNames) does not exist"),
        (delete_health_check, "(GreenHealthCheckId) does not exist"),
        (delete_service, "(GreenServiceName) does not exist in cluster"),
    ],
    ids=["alarm deleted", "health check deleted", "service deleted"],
)
def test_a_resource_deleted_after_the_deploy_rejects_the_next_deployment_before_any_dns_change(
    canary: Canary, breakage: Callable[[Canary], Any], expected: str
) -> None:
    canary.set_pair(blue=100, green=0)
    breakage(canary)
    canary.r53.batches.clear()
    faults.PUBLISHED.clear()
    plan = canary.plan("green", "ecs-svc/9101")

    result = canary.run(plan)

    assert result["status"] == "FAILED"
    assert result["error"] == "ConfigurationBroken", result.get("cause")
    assert expected in result["cause"]
    assert canary.r53.batches == []
    assert canary.weights() == {"blue": 100, "green": 0}
    record = canary.record(plan)
    assert record["status"] == "REJECTED"
    assert expected in record["reason"]
    told = {p.service for p in faults.PUBLISHED if p.deployment_id == plan.deployment_id and p.kind == "rejected"}
    assert told == {"events", "sns"}


def test_a_configuration_that_still_matches_passes_the_check(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)

    result = canary.run(canary.plan("green", "ecs-svc/9102"))

    assert result["status"] == "SUCCEEDED", result.get("cause")
