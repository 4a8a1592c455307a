"""The fake record store keeps the real one's conditions: the same scenarios, both stores.

The real store (adapters/deployments.py) runs on moto's DynamoDB; the fake
(tests/fakes/record_store.py) in memory. If one grows a rule the other lacks, a
scenario here fails for one of them, and the unit tests on the fake stop being proof.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from weightshift.adapters.deployments import Deployments
from weightshift.models import Plan, Weights
from weightshift.plan import build_plan
from weightshift.ports import RecordStore
from weightshift.records import Status, mark_started, original_weights, promote, reject, roll_back, start, step

from tests.fakes.record_store import FakeRecordStore
from tests.unit.helpers import make_config

NOW = "2025-01-01T12:00:00+00:00"
LATER = "2025-01-01T12:05:00+00:00"
A = "arn:aws:states:us-east-1:123456789012:execution:shop-canary:a"
B = "arn:aws:states:us-east-1:123456789012:execution:shop-canary:b"
TASK_DEF = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop:7"


@pytest.fixture(params=["fake", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[RecordStore]:
    if request.param == "fake":
        yield FakeRecordStore()
        return
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="deployments",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Deployments(ddb, "deployments")


def _plan(ecs_deployment: str = "ecs-svc/1") -> Plan:
    return build_plan(make_config(), "green", ecs_deployment, TASK_DEF)


def _claimed(store: RecordStore, ecs_deployment: str = "ecs-svc/1", now: str = NOW) -> Plan:
    plan = _plan(ecs_deployment)
    assert store.claim(plan, plan.deployment_id, now).won
    return plan


def test_one_claim_wins_and_the_loser_gets_the_record(store: RecordStore) -> None:
    plan = _plan()
    first = store.claim(plan, "name", NOW)
    second = store.claim(plan, "other", LATER)

    assert first.won
    assert not second.won
    assert second.record == first.record
    assert store.get(plan.route_key, plan.deployment_id) == first.record
    assert first.record is not None
    assert first.record.claimed_plan() == plan


def test_no_change_applies_to_a_record_that_does_not_exist(store: RecordStore) -> None:
    plan = _plan()
    assert not store.apply(plan.route_key, plan.deployment_id, start(A, NOW, LATER))
    assert store.get(plan.route_key, plan.deployment_id) is None


def test_claimed_to_started_only_once(store: RecordStore) -> None:
    plan = _claimed(store)
    assert store.apply(plan.route_key, plan.deployment_id, mark_started(A, NOW))
    assert not store.apply(plan.route_key, plan.deployment_id, mark_started(B, LATER))
    record = store.get(plan.route_key, plan.deployment_id)
    assert record is not None
    assert (record.status, record.execution_arn) == (Status.STARTED, A)


def test_only_the_owning_execution_changes_a_record(store: RecordStore) -> None:
    plan = _claimed(store)
    weights = Weights(blue=95, green=5)
    assert store.apply(plan.route_key, plan.deployment_id, step(B, 1, weights, "C0", NOW))  # no owner yet: anyone
    assert store.apply(plan.route_key, plan.deployment_id, start(A, NOW, LATER))

    assert not store.apply(plan.route_key, plan.deployment_id, step(B, 1, weights, "C1", NOW))
    assert store.apply(plan.route_key, plan.deployment_id, step(A, 1, weights, "C2", NOW))
    record = store.get(plan.route_key, plan.deployment_id)
    assert record is not None
    assert [e.get("changeId") for e in record.timeline] == ["C0", None, "C2"]
    assert record.current_weights == weights


def test_a_finished_record_never_changes_status_again(store: RecordStore) -> None:
    plan = _claimed(store)
    store.apply(plan.route_key, plan.deployment_id, start(A, NOW, LATER))
    assert store.apply(plan.route_key, plan.deployment_id, promote(A, 300, "", LATER))

    assert not store.apply(plan.route_key, plan.deployment_id, roll_back(A, "E", "c", "r", None, LATER))
    assert not store.apply(plan.route_key, plan.deployment_id, reject(A, "E", "c", LATER))
    assert not store.apply(plan.route_key, plan.deployment_id, promote(A, 1, "again", LATER))
    record = store.get(plan.route_key, plan.deployment_id)
    assert record is not None
    assert (record.status, record.duration_seconds, record.finished) == (Status.SUCCEEDED, 300, True)


def test_the_original_weights_are_written_once(store: RecordStore) -> None:
    plan = _claimed(store)
    first, second = Weights(blue=100, green=0), Weights(blue=75, green=25)
    assert store.apply(plan.route_key, plan.deployment_id, original_weights(first, A, NOW))
    assert not store.apply(plan.route_key, plan.deployment_id, original_weights(second, B, LATER))
    record = store.get(plan.route_key, plan.deployment_id)
    assert record is not None
    assert (record.original_weights, record.original_execution) == (first, A)


def test_a_rolled_back_record_keeps_none_as_restored_weights(store: RecordStore) -> None:
    plan = _claimed(store)
    store.apply(plan.route_key, plan.deployment_id, start(A, NOW, LATER))
    store.apply(plan.route_key, plan.deployment_id, roll_back(A, "Aborted", "stopped", "r", None, LATER))
    record = store.get(plan.route_key, plan.deployment_id)
    assert record is not None
    assert record.restored_weights is None
    assert "restoredWeights" in record.as_dict()


def test_the_lock_belongs_to_one_execution(store: RecordStore) -> None:
    route = _plan().route_key
    assert store.acquire(route, "d1", A, NOW) is None
    assert store.acquire(route, "d1", A, LATER) is None  # the same execution again: still its own
    holder = store.acquire(route, "d1", B, NOW)  # the same deployment, another execution: refused
    assert holder is not None
    assert (holder.deployment_id, holder.execution_arn) == ("d1", A)

    assert not store.take_over(route, B, "d2", B, NOW)  # only from the holder it names
    store.release(route, B)  # not B's: nothing happens
    assert store.lock_holder(route) == holder.model_copy(update={"acquired_at": LATER})
    assert not store.take_over(route, A, "d2", B, NOW)  # not without B holding A's fail-back fence
    assert store.fence(route, A, B, NOW, "")
    assert store.take_over(route, A, "d2", B, NOW)
    store.release(route, B)
    assert store.lock_holder(route) is None
    assert not store.take_over(route, B, "d3", A, NOW)  # no lock to take over


def test_task_versions_only_move_forward(store: RecordStore) -> None:
    assert store.note_task_version("task/1", 3, 0)
    assert store.note_task_version("task/1", 3, 0)
    assert not store.note_task_version("task/1", 2, 0)
    assert store.note_task_version("task/1", 4, 0)


def test_records_of_a_route_are_listed_oldest_first(store: RecordStore) -> None:
    newer = _claimed(store, "ecs-svc/2", LATER)
    older = _claimed(store, "ecs-svc/1", NOW)
    assert [r.deployment_id for r in store.list_route(older.route_key)] == [older.deployment_id, newer.deployment_id]


def test_one_actor_at_a_time_fails_an_ended_holder_back(store: RecordStore) -> None:
    route = _plan().route_key
    assert store.acquire(route, "d1", A, NOW) is None
    assert not store.fence(route, B, A, NOW, "")  # only while the execution named still holds the route
    assert store.fence(route, A, A, NOW, "")  # the status rule, acting as A
    assert store.fence(route, A, A, LATER, "")  # its own retry re-enters
    assert not store.fence(route, A, B, LATER, NOW)  # another actor, while the fence is fresh
    assert store.fence(route, A, B, "2100-01-01T00:00:00+00:00", "2099-01-01T00:00:00+00:00")  # stale: taken
    held = store.lock_holder(route)
    assert held is not None
    assert (held.execution_arn, held.failback_by) == (A, B)


def test_a_dns_write_lease_only_for_the_holder_and_never_during_a_fail_back(store: RecordStore) -> None:
    route = _plan().route_key
    assert not store.lease(route, A, NOW)  # no lock: no write
    assert store.acquire(route, "d1", A, NOW) is None
    assert not store.lease(route, B, NOW)  # not the holder
    assert store.lease(route, A, NOW)
    assert not store.fence(route, A, A, NOW, "")  # the status rule (acting as A) waits out the write
    assert not store.fence(route, A, B, NOW, "")  # and so does a deployment taking the route over
    assert store.fence(route, A, A, NOW, "", after_writes=False)  # A's own Catch path runs after its writes
    store.unlease(route, A)
    assert not store.lease(route, A, LATER)  # a fail back is in progress: no more writes
    assert store.fence(route, A, B, "2100-01-01T00:00:00+00:00", "2099-01-01T00:00:00+00:00")


def test_a_record_finished_for_an_execution_is_not_started_over_by_it(store: RecordStore) -> None:
    plan = _claimed(store)
    route, deployment = plan.route_key, plan.deployment_id
    assert store.apply(route, deployment, mark_started(A, NOW))
    assert store.apply(route, deployment, roll_back(A, "Aborted", "stopped", "stopped", None, NOW))
    assert not store.apply(route, deployment, start(A, LATER, LATER))  # A's late preflight
    assert store.apply(route, deployment, start(B, LATER, LATER))  # a re-run
    found = store.get(route, deployment)
    assert found is not None
    assert (found.status, found.execution_arn) == ("IN_PROGRESS", B)
