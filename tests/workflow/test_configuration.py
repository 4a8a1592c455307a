"""Configuration that breaks after the deploy is loud (issue 9, section 3): an alarm, a
Route 53 health check or an ECS service the stack names, deleted since, rejects the next
deployment in preflight with the parameter and the value: a failed execution, a REJECTED
record with the reason, a "rejected" notification, and no DNS change."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse
from weightshift.adapters.route53 import Route53
from weightshift_emulator import faults, install, patches

from tests.workflow.conftest import Canary

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def delete_alarm(canary: Canary) -> None:
    canary.aws["cloudwatch"].delete_alarms(AlarmNames=[canary.world.green_alarm])


def delete_health_check(canary: Canary) -> None:
    canary.aws["route53"].delete_health_check(HealthCheckId=canary.world.green_health_check)


def delete_service(canary: Canary) -> None:
    canary.aws["ecs"].delete_service(cluster=canary.world.cluster, service=canary.world.green_service, force=True)


def remove_the_claim(canary: Canary) -> None:
    """The ownership record deleted by hand (with the exact value, as Route 53 requires)."""
    assert Route53(canary.aws["route53"]).release(canary.world.zone_id, canary.world.record_name, install.STACK_ID)


def claimed_by_another_stack(canary: Canary) -> None:
    remove_the_claim(canary)
    assert Route53(canary.aws["route53"]).claim(canary.world.zone_id, canary.world.record_name, OTHER_STACK)


OTHER_STACK = "arn:aws:cloudformation:eu-west-1:210987654321:stack/shop-copy/6f1d1c2e-0000-4000-8000-00000000beef"


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (delete_alarm, "(AlarmNames) does not exist"),
        (delete_health_check, "(GreenHealthCheckId) does not exist"),
        (delete_service, "(GreenServiceName) does not exist in cluster"),
        (
            remove_the_claim,
            "shop.example.com is not claimed by this stack: its ownership record "
            "_weightshift.shop.example.com. TXT is missing",
        ),
        (
            claimed_by_another_stack,
            "shop.example.com is managed by stack shop-copy in account 210987654321, region eu-west-1",
        ),
    ],
    ids=["alarm deleted", "health check deleted", "service deleted", "claim removed", "claimed by another stack"],
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


def test_a_release_the_stack_cannot_plan_is_a_failed_and_notified_execution(
    canary_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schedule that deploys but cannot be planned (decreasing): the release starts its
    execution anyway, which preflight rejects with the reason; a duplicate delivery
    starts the same execution, not a second one."""
    from weightshift_emulator.world import task_event

    from tests.conftest import wait_for

    canary = canary_factory(Schedule="50,10,100")
    canary.set_pair(blue=100, green=0)
    canary.r53.batches.clear()
    faults.PUBLISHED.clear()
    event = task_event(canary.world, "green", "0fe1d2c3b4a59687", "ecs-svc/9201", version=3)

    first = canary.invoke("TriggerFunction", event)
    again = canary.invoke("TriggerFunction", event)  # EventBridge delivers at least once

    assert (first["decision"], first["reason"]) == ("rejected", "invalid-configuration")
    assert again["execution_arn"] == first["execution_arn"]
    result = wait_for(canary.sfn, first["execution_arn"])
    assert result["status"] == "FAILED"
    assert result["error"] == "ConfigurationBroken"
    assert "cannot plan deployment" in result["cause"]
    assert len(canary.sfn.list_executions(stateMachineArn=canary.installed.state_machine_arn)["executions"]) == 1
    assert canary.r53.batches == []
    assert canary.weights() == {"blue": 100, "green": 0}
    told = {p.service for p in faults.PUBLISHED if p.deployment_id == first["deployment_id"] and p.kind == "rejected"}
    assert told == {"events", "sns"}
    # The metric the stack's InvalidConfigurationAlarm watches: same name, namespace and dimensions.
    emitted = [
        line
        for line in (json.loads(raw) for raw in capsys.readouterr().out.splitlines() if raw.startswith('{"_aws"'))
        if "InvalidConfiguration" in line
    ]
    assert len(emitted) == 2, emitted  # one a delivery
    alarm = yaml_parse(TEMPLATE.read_text())["Resources"]["InvalidConfigurationAlarm"]["Properties"]
    (directive,) = emitted[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == alarm["Namespace"]
    assert [m["Name"] for m in directive["Metrics"]] == [alarm["MetricName"]]
    (dimensions,) = directive["Dimensions"]  # a set of names, in CloudWatch's eyes
    assert sorted(dimensions) == sorted(d["Name"] for d in alarm["Dimensions"])

    # A scale-out of the side that carries all traffic is no release: ignored, as always.
    scale_out = task_event(canary.world, "blue", "1fe1d2c3b4a59687", "ecs-svc/9202", version=3)
    outcome = canary.invoke("TriggerFunction", scale_out)
    assert outcome["decision"] == "ignored"
    assert len(canary.sfn.list_executions(stateMachineArn=canary.installed.state_machine_arn)["executions"]) == 1
    assert emitted[0]["service"] == "weightshift"

    # The schedule fixed (sam deploy), a late task of the rejected deployment arrives: the
    # deployment has its (failed) execution; nothing more starts, nothing fails.
    trigger = canary.installed.functions["TriggerFunction"]
    variables = canary.aws["lambda"].get_function_configuration(FunctionName=trigger)["Environment"]["Variables"]
    canary.aws["lambda"].update_function_configuration(
        FunctionName=trigger, Environment={"Variables": {**variables, "SCHEDULE": "10,100"}}
    )
    late = task_event(canary.world, "green", "2fe1d2c3b4a59687", "ecs-svc/9201", version=3)
    assert canary.invoke("TriggerFunction", late)["execution_arn"] == first["execution_arn"]
    assert len(canary.sfn.list_executions(stateMachineArn=canary.installed.state_machine_arn)["executions"]) == 1
    assert canary.weights() == {"blue": 100, "green": 0}
    assert emitted[0]["stack"] == canary.installed.env("TriggerFunction")["STACK_NAME"] != ""


def test_a_claim_removed_mid_canary_stops_the_next_step_and_fails_back(canary: Canary) -> None:
    """The ownership record goes after preflight checked it: the next forward step refuses
    to write (the record is no longer this stack's), and the fail back restores the
    recorded weights (putting traffic back is never a takeover)."""
    canary.set_pair(blue=100, green=0)
    removed: list[bool] = []

    def remove_at_the_first_bake(wait: patches.Wait) -> None:
        if wait.state == "Bake and watch health" and not removed:
            removed.append(True)
            remove_the_claim(canary)

    patches.CLOCK.hooks.append(remove_at_the_first_bake)
    plan = canary.plan("green", "ecs-svc/9301")
    result = canary.run(plan)

    assert result["status"] == "FAILED"
    assert removed
    record = canary.record(plan)
    assert "is not claimed by this stack" in record["reason"], record["reason"]
    # Step 1 (5%) was the last forward batch; then only the fail back to 100/0.
    assert canary.r53.weight_batches() == [{"blue": 95, "green": 5}, {"blue": 100, "green": 0}]
    assert canary.weights() == {"blue": 100, "green": 0}


def _emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents the functions printed (what CloudWatch turns into metrics)."""
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(raw) for raw in lines if raw.startswith('{"_aws"')]


def _named(documents: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [d for d in documents if any(m["Name"] == name for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"])]


def test_every_metric_carries_the_stack_and_feeds_its_alarms_and_dashboard(
    canary: Canary, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12 §2: a canary failed back by its health check emits the weights of each change
    (the dashboard's weights over time), the failed poll and the rollback, each with the
    dimensions the stack's alarms watch (service and stack: two stacks never mix)."""
    canary.set_pair(blue=100, green=0)
    canary.on_step(2, lambda: patches.UNHEALTHY_CHECKS.add(canary.world.green_health_check))
    capsys.readouterr()
    result = canary.run(canary.plan())
    assert result["status"] == "FAILED"
    documents = _emitted(capsys)
    stack_name = canary.installed.env("GateFunction")["STACK_NAME"]
    assert documents
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert sorted(directive["Dimensions"][0]) == ["service", "stack"], document
        assert document["stack"] == stack_name
    greens = [v for d in _named(documents, "GreenWeightShare") for v in _values(d["GreenWeightShare"])]
    assert greens[0] == 5.0  # the first step of 5,25,50,100
    assert greens[-1] == 0.0  # the fail back put it all back on blue
    assert _named(documents, "HealthPollFailed")
    resources = yaml_parse(TEMPLATE.read_text())["Resources"]
    for alarm, metric in (("RollbackAlarm", "DeploymentRolledBack"),):
        props = resources[alarm]["Properties"]
        assert props["MetricName"] == metric
        assert sorted(d["Name"] for d in props["Dimensions"]) == ["service", "stack"]
        assert _named(documents, metric), metric


def _values(value: Any) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def test_an_event_of_another_cluster_is_counted_for_the_misconfiguration_alarm(
    canary: Canary, capsys: pytest.CaptureFixture[str]
) -> None:
    from weightshift_emulator.world import task_event

    event = task_event(canary.world, "green", "3fe1d2c3b4a59687", "ecs-svc/9301", version=3)
    event["detail"]["clusterArn"] = event["detail"]["clusterArn"].replace(":cluster/shop", ":cluster/other")
    capsys.readouterr()
    outcome = canary.invoke("TriggerFunction", event)
    assert (outcome["decision"], outcome["reason"]) == ("ignored", "foreign-cluster")
    (document,) = _named(_emitted(capsys), "EventIgnoredForConfiguration")
    props = yaml_parse(TEMPLATE.read_text())["Resources"]["TriggerMisconfiguredAlarm"]["Properties"]
    assert props["MetricName"] == "EventIgnoredForConfiguration"
    assert document["stack"] == canary.installed.env("TriggerFunction")["STACK_NAME"]
