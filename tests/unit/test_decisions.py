"""Which ECS events start a canary, and what happens to a newer deployment."""

from __future__ import annotations

import pytest
from weightshift.decisions import (
    Candidate,
    Ignore,
    InFlight,
    against_traffic,
    classify,
    out_of_scope,
    supersedes,
)
from weightshift.models import Weights

from .helpers import ecs_event, make_config

GREEN_DEPLOYMENT = "ecs-svc/4823749823748923749"
GREEN_TASK_DEF = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-green:7"


def _candidate(target="green", deployment=GREEN_DEPLOYMENT) -> Candidate:
    return Candidate(
        target=target, ecs_deployment=deployment, task_arn="arn:task", task_definition_arn=GREEN_TASK_DEF, version=3
    )


# ------------------------------------------------------------------ out_of_scope
OUR_CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/shop"


@pytest.mark.parametrize(
    ("envelope", "cluster_arn", "reason"),
    [
        # The same cluster name in another account, region or partition: a suffix match said "ours".
        ({}, "arn:aws:ecs:us-east-1:210987654321:cluster/shop", "foreign-cluster"),
        ({}, "arn:aws:ecs:eu-west-1:123456789012:cluster/shop", "foreign-cluster"),
        ({}, "arn:aws-cn:ecs:us-east-1:123456789012:cluster/shop", "foreign-cluster"),
        ({}, "shop", "foreign-cluster"),  # a bare name says nothing about where it runs
        ({}, "arn:aws:ecs:us-east-1:123456789012:cluster/shop-staging", "foreign-cluster"),
        # The envelope is checked on its own: an event forwarded from another account or region.
        ({"account": "210987654321"}, OUR_CLUSTER, "foreign-account"),
        ({"region": "eu-west-1"}, OUR_CLUSTER, "foreign-region"),
        (
            {"account": "210987654321", "region": "eu-west-1"},
            "arn:aws:ecs:eu-west-1:210987654321:cluster/shop",
            "foreign-account",
        ),
    ],
)
def test_an_event_from_outside_the_stacks_account_region_or_cluster_is_ignored(envelope, cluster_arn, reason):
    event = ecs_event("green-task-running.json", clusterArn=cluster_arn).model_copy(update=envelope)

    result = classify(event, make_config())

    assert isinstance(result, Ignore)
    assert result.reason == reason
    assert "123456789012" in result.detail or "us-east-1" in result.detail  # says what the stack expects


def test_only_the_stacks_own_account_region_and_cluster_arn_are_in_scope():
    config = make_config()
    assert out_of_scope(ecs_event("green-task-running.json"), config.scope) is None
    assert isinstance(classify(ecs_event("green-task-running.json"), config), Candidate)


def test_without_a_configured_scope_nothing_is_in_scope():
    result = classify(ecs_event("green-task-running.json"), make_config(cluster_arn=None))
    assert isinstance(result, Ignore)
    assert result.reason == "no-stack-scope"


# ------------------------------------------------------------------ classify
def test_a_running_green_task_is_a_green_candidate_keyed_by_its_ecs_deployment():
    result = classify(ecs_event("green-task-running.json"), make_config())
    assert result == Candidate(
        target="green",
        ecs_deployment=GREEN_DEPLOYMENT,
        task_arn="arn:aws:ecs:us-east-1:123456789012:task/shop/0c2a9e4e6a8c4d2b9f1e3a7b5c6d8e90",
        task_definition_arn=GREEN_TASK_DEF,
        version=3,
    )
    assert result.live == "blue"


def test_duplicate_and_stale_deliveries_classify_to_the_same_deployment():
    config = make_config()
    keys = {
        classify(ecs_event(name), config).ecs_deployment
        for name in ("green-task-running.json", "green-task-running-duplicate.json", "green-task-running-stale.json")
    }
    assert keys == {GREEN_DEPLOYMENT}


def test_other_tasks_of_the_same_deployment_share_its_key_not_a_container_or_task():
    config = make_config()
    other = ecs_event("green-task-running.json", taskArn="arn:aws:ecs:us-east-1:123456789012:task/shop/ffff")
    first = classify(ecs_event("green-task-running.json"), config)
    assert classify(other, config).ecs_deployment == first.ecs_deployment


def test_a_blue_task_makes_blue_the_target():
    result = classify(ecs_event("blue-task-running-scaleout.json"), make_config())
    assert isinstance(result, Candidate)
    assert (result.target, result.live, result.ecs_deployment) == ("blue", "green", "ecs-svc/1102938475610293847")


def test_a_task_without_started_by_falls_back_to_its_task_definition():
    result = classify(ecs_event("green-task-running.json", startedBy=None), make_config())
    assert result.ecs_deployment == GREEN_TASK_DEF


@pytest.mark.parametrize(
    ("event", "config", "reason"),
    [
        (ecs_event("green-task-stopped.json"), make_config(), "not-running"),
        (ecs_event("green-task-running.json", desiredStatus="STOPPED"), make_config(), "being-stopped"),
        (
            ecs_event("green-task-running.json"),
            make_config(cluster_name="payments", cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/payments"),
            "foreign-cluster",
        ),
        (ecs_event("green-task-running.json", group="service:shop-green-v2"), make_config(), "foreign-service"),
        (
            ecs_event("green-task-running.json").model_copy(update={"source": "custom.ecs"}),
            make_config(),
            "foreign-event",
        ),
    ],
)
def test_events_that_are_not_a_running_task_of_our_services_are_ignored_with_a_reason(event, config, reason):
    result = classify(event, config)
    assert isinstance(result, Ignore)
    assert result.reason == reason
    assert result.detail


# ------------------------------------------------------------------ against_traffic
@pytest.mark.parametrize(
    ("target", "weights", "ignored"),
    [
        ("green", None, False),
        ("green", Weights(blue=100, green=0), False),
        ("green", Weights(blue=90, green=10), False),
        ("green", Weights(blue=0, green=0), False),
        ("green", Weights(blue=0, green=100), True),
        ("blue", Weights(blue=100, green=0), True),
    ],
)
def test_a_task_of_the_side_that_carries_all_traffic_is_a_scale_out_not_a_release(target, weights, ignored):
    result = against_traffic(_candidate(target), weights)
    if ignored:
        assert isinstance(result, Ignore)
        assert result.reason == "already-live"
    else:
        assert result is None


# ------------------------------------------------------------------ supersedes
@pytest.mark.parametrize(
    ("holder", "expected"),
    [
        (None, False),
        (InFlight(deployment_id="green-new", execution_arn="arn:x", target="green"), False),
        (InFlight(deployment_id="green-old", execution_arn="arn:x", target="green"), True),
        (InFlight(deployment_id="blue-old", execution_arn="arn:x", target="blue"), False),
        (InFlight(deployment_id="unknown", execution_arn="arn:x", target=None), False),
    ],
)
def test_a_newer_deployment_of_the_canarys_target_supersedes_it_and_others_wait(holder, expected):
    assert supersedes("green-new", _candidate("green"), holder) is expected


# ------------------------------------------------------------------ settled_deployment
def test_new_task_of_a_long_finished_primary_deployment_is_a_replacement() -> None:
    from datetime import UTC, datetime, timedelta

    from weightshift.decisions import settled_deployment
    from weightshift.models import EcsDeployment

    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    old = EcsDeployment(GREEN_DEPLOYMENT, "PRIMARY", "COMPLETED", now - timedelta(hours=3))

    verdict = settled_deployment(_candidate(), (old,), now)

    assert isinstance(verdict, Ignore)
    assert verdict.reason == "task-replacement"


@pytest.mark.parametrize(
    ("status", "rollout", "age_minutes", "deployment"),
    [
        ("PRIMARY", "IN_PROGRESS", 180, GREEN_DEPLOYMENT),  # still rolling out: a release
        ("PRIMARY", "COMPLETED", 5, GREEN_DEPLOYMENT),  # just finished: its own late events
        ("ACTIVE", "COMPLETED", 180, GREEN_DEPLOYMENT),  # not the primary
        ("PRIMARY", "", 180, GREEN_DEPLOYMENT),  # no rollout state reported: unknown
        ("PRIMARY", "COMPLETED", 180, "ecs-svc/someone-else"),  # the event's deployment is not listed
    ],
)
def test_anything_short_of_a_settled_match_lets_the_event_through(
    status: str, rollout: str, age_minutes: int, deployment: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from weightshift.decisions import settled_deployment
    from weightshift.models import EcsDeployment

    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    listed = EcsDeployment(deployment, status, rollout, now - timedelta(minutes=age_minutes))

    assert settled_deployment(_candidate(), (listed,), now) is None
