"""The lock and record rules of issue 7, fault by fault, on the in-memory fakes.

Each test drives the workflow's Task functions as the state machine would (tests/fakes/
world.py) and checks design.md's invariants from what AWS would show: the weights,
the Route 53 batches, the deployment record and the route lock. Milliseconds each; the
emulator tests (tests/workflow/test_safety.py) keep what only the real ASL can show.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from weightshift import records
from weightshift.errors import (
    DeploymentAlreadyRunning,
    ExecutionFinished,
    FailbackInProgress,
    InvalidPlan,
    Route53Throttled,
    RouteBusyTimeout,
    RouteLost,
)
from weightshift.models import Weights
from weightshift.records import FAILBACK_FENCE_SECONDS, Status
from weightshift.settings import Resources
from weightshift.trigger import TriggerPorts, handle

from tests.fakes.faults import client_error
from tests.fakes.world import STATE_MACHINE, Run, World
from tests.unit.helpers import event_json, make_config

ORIGINAL = Weights(blue=100, green=0)
PROMOTED = Weights(blue=0, green=100)


def _ddb_error() -> ClientError:
    return client_error("InternalServerError", "UpdateItem")


def _status_is(status: Status) -> object:
    return lambda route, deployment_id, change: change.fields.get("status") == status


def _holder(world: World) -> str | None:
    lock = world.lock()
    return lock.execution_arn if lock else None


@pytest.fixture
def world() -> World:
    world = World()
    world.set_pair(blue=100, green=0)
    return world


# ------------------------------------------------------- one execution holds the route
def test_a_second_execution_of_the_running_deployment_is_refused_and_writes_nothing(world: World) -> None:
    # Given canary A at step 2 (75/25)
    plan = world.plan()
    first = world.run(plan)
    first.to_step(2)
    writes, batches = len(world.store.writes), list(world.dns.batches)
    # When a console "New execution" with the same input runs its preflight
    second = world.run(plan, name="console-new-execution")
    with pytest.raises(DeploymentAlreadyRunning, match="changed nothing"):
        second.preflight()
    # Then nothing was written: not the record, not the lock, not DNS
    assert len(world.store.writes) == writes
    assert world.dns.batches == batches
    assert world.record(plan).execution_arn == first.arn
    assert _holder(world) == first.arn


def test_another_deployment_queues_while_the_holder_runs_and_touches_neither_dns_nor_its_record(
    world: World,
) -> None:
    green = world.plan("green", "ecs-svc/1")
    holder = world.run(green)
    holder.to_step(1)
    before = world.record(green)

    queued = world.run(world.plan("blue", "ecs-svc/2")).preflight()

    assert queued["busy"] is True
    assert queued["holderExecution"] == holder.arn
    assert world.dns.batches == [Weights(blue=95, green=5)]
    assert world.record(green) == before


def test_the_queue_waits_below_its_deadline_and_gives_up_at_it() -> None:
    # Given a stack whose RouteBusyTimeoutSeconds is 600, and a running holder
    world = World(config=make_config(schedule="5,25,50,100", route_busy_timeout_seconds=600))
    world.set_pair(blue=100, green=0)
    world.run(world.plan("green", "ecs-svc/1")).to_step(1)
    queued = world.run(world.plan("blue", "ecs-svc/2"))
    # When it asks at 0 s and 599 s, it is busy; at 600 s it gives up
    assert queued.preflight()["waited"] == 0
    world.tick(599)
    assert queued.preflight() == {**queued.state["run"], "busy": True, "waited": 599}
    world.tick(1)
    with pytest.raises(RouteBusyTimeout, match="RouteBusyTimeoutSeconds of 600s"):
        queued.preflight()
    # Then the reject records why and leaves the holder's weights alone
    queued.reject("RouteBusyTimeout", "held")
    assert world.record(queued.plan).status == Status.REJECTED
    assert world.weights() == Weights(blue=95, green=5)
    assert _holder(world) != queued.arn


def test_a_queue_timestamp_that_is_not_ours_starts_the_count_again(world: World) -> None:
    world.run(world.plan("green", "ecs-svc/1")).to_step(1)
    queued = world.run(world.plan("blue", "ecs-svc/2"))
    queued.state["run"] = {"queuedSince": "not a time"}

    assert queued.preflight()["waited"] == 0


def test_taking_over_from_an_ended_holder_fails_it_back_first(world: World) -> None:
    # Given canary A stopped at 75/25 and the status rule's event lost
    first_plan = world.plan("green", "ecs-svc/1")
    first = world.run(first_plan)
    first.to_step(2)
    world.sfn.end(first.arn, "ABORTED")
    # When the next deployment's preflight finds the route still held by A
    nxt_plan = world.plan("green", "ecs-svc/2")
    nxt = world.run(nxt_plan)
    assert nxt.preflight()["busy"] is False
    # Then A was failed back to its originals, and the next one records those as its own
    assert world.record(first_plan).status == Status.ROLLED_BACK
    assert "failed back by the next deployment" in str(world.record(first_plan).reason)
    assert world.weights() == ORIGINAL
    assert _holder(world) == nxt.arn
    assert nxt.record_original()["originalWeights"] == ORIGINAL.dump()


def test_taking_over_from_an_ended_promoted_holder_records_its_promotion_and_never_moves_it_back() -> None:
    """The takeover records the holder's promotion and takes the lock in the same preflight.
    Before, recording the promotion released the lock, the takeover's conditional write
    then found no holder, and the deployment was told "busy": one needless poll, and with
    RouteBusyTimeoutSeconds=0 a RouteBusyTimeout on a free route."""
    world = World(config=make_config(schedule="5,25,50,100", route_busy_timeout_seconds=0))
    world.set_pair(blue=100, green=0)
    green = world.plan("green", "ecs-svc/1")
    holder = world.run(green)
    holder.to_step(4)
    world.store.faults.fail("apply", _ddb_error(), times=99, when=_status_is(Status.SUCCEEDED))
    with pytest.raises(ClientError):
        holder.promote()
    world.store.faults.clear()
    world.sfn.end(holder.arn, "FAILED", entered={"Promote"})
    batches = len(world.dns.batches)

    blue = world.run(world.plan("blue", "ecs-svc/2"))
    assert blue.preflight()["busy"] is False

    assert world.record(green).status == Status.SUCCEEDED
    assert len(world.dns.batches) == batches  # no fail back of the promoted release
    assert _holder(world) == blue.arn
    assert blue.record_original()["originalWeights"] == PROMOTED.dump()


# --------------------------------------------- one fail back of an ended execution at a time
def _stopped_at_step_2(world: World) -> tuple[Run, Run]:
    first = world.run(world.plan("green", "ecs-svc/1"))
    first.to_step(2)
    world.sfn.end(first.arn, "ABORTED")
    return first, world.run(world.plan("green", "ecs-svc/2"))


def test_the_next_deployment_waits_while_the_status_rule_is_failing_the_holder_back(world: World) -> None:
    # Given the status rule's Lambda has fenced the stopped holder's fail back (and is mid-way)
    first, nxt = _stopped_at_step_2(world)
    assert world.store.fence(world.config.route_key, first.arn, first.arn, world.now.isoformat(), "")
    # When the next deployment's preflight finds the route held by the ended execution
    result = nxt.preflight()
    # Then it waits in line: no takeover, no DNS write of its own
    assert result["busy"] is True
    assert _holder(world) == first.arn
    assert world.weights() == Weights(blue=75, green=25)


def test_a_late_status_rule_leaves_dns_to_the_deployment_that_took_the_route(world: World) -> None:
    # Given the next deployment took the route over (failing the holder back) and shifted
    first, nxt = _stopped_at_step_2(world)
    assert nxt.preflight()["busy"] is False
    nxt.record_original()
    nxt.shift()
    # When the status rule's Lambda for the stopped holder runs late
    result = first.ends("ABORTED")
    # Then it changes nothing: the record is finished and the route is not the holder's
    assert result["action"] == "none"
    assert world.weights() == Weights(blue=95, green=5)
    assert _holder(world) == nxt.arn


def test_the_status_rule_retries_while_the_next_deployment_is_failing_the_holder_back(world: World) -> None:
    # Given the next deployment fenced the holder's fail back, then died before its takeover
    first, nxt = _stopped_at_step_2(world)
    assert world.store.fence(world.config.route_key, first.arn, nxt.arn, world.now.isoformat(), "")
    # When the status rule runs while that fence is fresh, it does not write: Lambda retries it
    with pytest.raises(FailbackInProgress):
        first.ends("ABORTED")
    assert world.weights() == Weights(blue=75, green=25)
    # And once the fence is older than any Lambda could live, the retry fails back
    world.tick(FAILBACK_FENCE_SECONDS + 1)
    assert first.ends("ABORTED")["action"] == "failed-back"
    assert world.weights() == ORIGINAL
    assert world.lock() is None


def test_a_stop_while_a_shift_is_writing_waits_for_the_write_then_fails_back(world: World) -> None:
    # Given canary A at step 1, its Shift Lambda holding the write lease for step 2
    plan = world.plan()
    run = world.run(plan)
    run.to_step(1)
    assert world.store.lease(plan.route_key, run.arn, world.now.isoformat())
    # When A is stopped and the status rule runs at once
    with pytest.raises(FailbackInProgress):
        run.ends("ABORTED")
    assert world.weights() == Weights(blue=95, green=5)  # it waited: no write under the shift's
    # Then, once the write ended (or its lease lapsed), the retry fails back
    world.store.unlease(plan.route_key, run.arn)
    assert run.ends("ABORTED")["action"] == "failed-back"
    assert world.weights() == ORIGINAL


def test_a_shift_that_outlives_its_stopped_execution_writes_nothing(world: World) -> None:
    # Given canary A at step 1, stopped, and failed back by the status rule
    plan = world.plan()
    run = world.run(plan)
    run.to_step(1)
    assert run.ends("ABORTED")["action"] == "failed-back"
    # When A's Shift Lambda, already running at the Stop, goes on to write step 2
    with pytest.raises(RouteLost):
        run.shift()
    # Then DNS stays at the originals
    assert world.weights() == ORIGINAL
    assert world.record(plan).status == Status.ROLLED_BACK


def test_a_preflight_that_outlives_its_stopped_execution_changes_nothing(world: World) -> None:
    # Given an execution stopped during its preflight: the status rule has already finished it
    plan = world.plan()
    run = world.run(plan)
    world.store.claim(plan, plan.deployment_id, world.now.isoformat())
    world.store.apply(plan.route_key, plan.deployment_id, records.mark_started(run.arn, world.now.isoformat()))
    assert run.ends("ABORTED")["action"] == "failed-back"
    # When the preflight Lambda, still running, goes on
    with pytest.raises(ExecutionFinished):
        run.preflight()
    # Then the record stays finished and the route is free
    assert world.record(plan).status == Status.ROLLED_BACK
    assert world.lock() is None
    # And a re-run (another execution) may still start the deployment over
    assert world.run(plan, name="console-rerun").preflight()["busy"] is False
    assert world.record(plan).status == Status.IN_PROGRESS


def test_a_stack_update_mid_canary_fails_it_back_to_the_originals(world: World) -> None:
    # Given a canary at 75/25
    plan = world.plan()
    run = world.run(plan)
    run.to_step(2)
    # When `sam deploy` changes a gate: the running execution's input no longer matches
    world.config = world.config.model_copy(update={"alarm_names": ["shop-green-5xx", "shop-green-latency"]})
    with pytest.raises(InvalidPlan, match=r"health\.alarmNames"):
        run.gate()
    # Then the Catch path's fail back still restores the recorded weights
    assert run.fail_back()["restoredWeights"] == ORIGINAL.dump()
    assert world.weights() == ORIGINAL
    assert world.lock() is None


# ------------------------------------------------------ the originals, once
def test_the_original_weights_are_recorded_once_and_a_rerun_fails_back_to_them(world: World) -> None:
    plan = world.plan()
    first = world.run(plan)
    first.to_step(2)
    first.fail_back()
    world.set_pair(blue=60, green=40)  # moved by hand after the fail back

    again = world.run(plan, name="console-rerun")
    again.preflight()
    assert again.record_original()["originalWeights"] == ORIGINAL.dump()
    again.shift()
    again.fail_back()

    assert world.weights() == ORIGINAL
    assert world.record(plan).original_execution == first.arn


def test_fail_back_restores_the_recorded_weights_not_100_0(world: World) -> None:
    world.set_pair(blue=80, green=20)
    plan = world.plan()
    run = world.run(plan)
    run.to_step(3)
    run.gate()  # a poll of step 3's bake

    result = run.fail_back()

    assert result["changed"] is True
    assert world.weights() == Weights(blue=80, green=20)
    record = world.record(plan)
    assert record.status == Status.ROLLED_BACK
    assert record.restored_weights == Weights(blue=80, green=20)
    assert world.lock() is None
    assert world.notifier.kinds()[-1] == "rolled-back"
    # The notification carries the split the clients made at the last poll beside the intended one.
    detail = world.notifier.published[-1][1]
    assert detail["observed"] == record.observed
    assert detail["observed"] is not None
    assert detail["observed"]["intendedShare"] == 0.5


def test_fail_back_before_the_first_change_changes_nothing(world: World) -> None:
    plan = world.plan()
    run = world.run(plan)
    run.preflight()

    result = run.fail_back("TargetNotReady", "not steady")

    assert result["changed"] is False
    assert world.dns.batches == []
    assert "no DNS change had been made" in str(world.record(plan).reason)


# --------------------------------------------------- fail back never acts wrongly
def test_fail_back_does_nothing_for_a_finished_deployment(world: World) -> None:
    plan = world.plan()
    run = world.run(plan)
    run.to_promotion()
    batches = list(world.dns.batches)

    result = run.fail_back("States.TaskFailed", "late")

    assert result["changed"] is False
    assert "already finished" in result["cause"]
    assert world.dns.batches == batches
    assert world.weights() == PROMOTED
    assert world.record(plan).status == Status.SUCCEEDED


def test_fail_back_leaves_dns_alone_when_another_execution_holds_the_route(world: World) -> None:
    plan = world.plan()
    run = world.run(plan)
    run.to_step(2)
    other = "arn:aws:states:us-east-1:123456789012:execution:shop-canary:other"
    assert world.store.fence(plan.route_key, run.arn, other, world.now.isoformat(), "")
    assert world.store.take_over(plan.route_key, run.arn, "green-other", other, world.now.isoformat())

    result = run.fail_back()

    assert result["changed"] is False
    assert "DNS left alone" in result["cause"]
    assert world.weights() == Weights(blue=75, green=25)
    assert _holder(world) == other


def test_the_status_rule_ignores_an_execution_that_never_held_the_route(world: World) -> None:
    plan = world.plan()
    holder = world.run(plan)
    holder.to_step(2)
    refused = world.run(plan, name="console-new-execution")
    with pytest.raises(DeploymentAlreadyRunning):
        refused.preflight()

    result = refused.ends("FAILED")

    assert result == {"action": "none", "reason": "this execution never held the route"}
    assert world.weights() == Weights(blue=75, green=25)


def test_the_status_rule_fails_back_a_stopped_execution(world: World) -> None:
    plan = world.plan()
    run = world.run(plan)
    run.to_step(2)

    result = run.ends("ABORTED")

    assert result["action"] == "failed-back"
    assert world.weights() == ORIGINAL
    assert world.record(plan).error == "Aborted"
    assert world.lock() is None


# --------------------------------------------------- a promoted release stays promoted
@pytest.mark.parametrize(
    ("operation", "when"),
    [("release", None), ("apply", _status_is(Status.SUCCEEDED))],
    ids=["releasing the lock fails", "recording SUCCEEDED fails"],
)
def test_a_bookkeeping_failure_in_promote_never_fails_back_and_the_status_rule_finishes_it(
    world: World, operation: str, when: object
) -> None:
    # Given the final bake passed and DNS is at the target
    plan = world.plan()
    run = world.run(plan)
    run.to_step(4)
    # When DynamoDB keeps failing one of promote's writes (the state machine's retries too)
    world.store.faults.fail(operation, _ddb_error(), times=99, when=when)  # type: ignore[arg-type]
    with pytest.raises(ClientError):
        run.promote()
    assert world.weights() == PROMOTED
    world.store.faults.clear()
    # Then the status rule, once DynamoDB answers, finishes the promotion: never a fail back
    result = run.ends("FAILED", promoted=True)

    assert result["action"] in ("promoted", "none")
    assert world.weights() == PROMOTED
    assert world.dns.batches[-1] == PROMOTED
    assert world.record(plan).status == Status.SUCCEEDED
    assert world.lock() is None


def test_a_failed_notification_does_not_fail_promote(world: World) -> None:
    plan = world.plan()
    run = world.run(plan)
    world.notifier.faults.fail("publish", client_error("InternalError", "PutEvents"), times=99)

    assert run.to_promotion()["status"] == "SUCCEEDED"
    assert world.record(plan).status == Status.SUCCEEDED


# ----------------------------------------------- fail back under faults: retry-safe
FAILBACK_FAULTS = [
    ("store", "get", _ddb_error()),
    ("store", "lock_holder", _ddb_error()),
    ("dns", "change_weights", Route53Throttled("Route 53 throttled changing weights")),
    ("store", "apply", _ddb_error()),
    ("store", "release", _ddb_error()),
]


@pytest.mark.parametrize(("port", "operation", "error"), FAILBACK_FAULTS, ids=[f[1] for f in FAILBACK_FAULTS])
def test_a_fault_at_any_write_of_fail_back_is_safe_to_retry(
    world: World, port: str, operation: str, error: Exception
) -> None:
    # Given canary at 50/50
    plan = world.plan()
    run = world.run(plan)
    run.to_step(3)
    # When one call of fail back fails
    getattr(world, port).faults.fail(operation, error)
    with pytest.raises(type(error)):
        run.fail_back()
    # Then DNS is at the step or at the originals, never elsewhere
    assert world.weights() in (Weights(blue=50, green=50), ORIGINAL)
    # And the state machine's retry finishes it: the originals, one restoring batch
    run.fail_back()
    assert world.weights() == ORIGINAL
    assert world.dns.batches.count(ORIGINAL) == 1
    assert world.record(plan).status == Status.ROLLED_BACK
    assert world.lock() is None


def test_route53_refuses_a_weight_outside_0_to_255(world: World) -> None:
    from weightshift.errors import RouteNotFound

    pair = world.dns.find_pair(world.config.hosted_zone_id, world.config.record_name, "blue", "green")
    assert pair is not None
    with pytest.raises(RouteNotFound, match="outside 0-255"):
        world.dns.change_weights(pair, Weights(blue=256, green=0), world.config.hosted_zone_id, "")
    assert world.dns.batches == []


# ------------------------------------------------------------------ the property
ACTIONS = ["fail back", "promote", "stop", "end after promotion", "rerun", "next deployment"]
FAULTY = ["get", "apply", "release", "lock_holder", "acquire", "take_over"]


@settings(max_examples=150, deadline=None)
@given(
    shifted=st.integers(min_value=-1, max_value=4),
    actions=st.lists(st.sampled_from(ACTIONS), max_size=5),
    faults=st.lists(st.tuples(st.sampled_from(FAULTY), st.integers(min_value=1, max_value=3)), max_size=3),
)
def test_whatever_happens_in_whatever_order_traffic_ends_at_the_original_or_the_target(
    shifted: int, actions: list[str], faults: list[tuple[str, int]]
) -> None:
    """Any sequence of fail backs, promotions, stops, re-runs and takeovers, with DynamoDB
    failing now and then, ends (once the status rule has run) at the original weights or
    fully promoted; never in between (invariant 3), and never moved back after promotion."""
    world = World()
    world.set_pair(blue=100, green=0)
    plan = world.plan()
    run = world.run(plan)
    if shifted >= 0:
        run.to_step(shifted)
    else:
        run.preflight()
    for operation, times in faults:
        world.store.faults.fail(operation, _ddb_error(), times=times)
    promoted = False
    workflow_done = False  # after a fail back, a promote or a stop, the workflow runs no more states

    for action in actions:
        try:
            if action == "fail back" and not workflow_done:
                workflow_done = True
                run.fail_back()
            elif action == "promote" and not workflow_done and shifted == len(plan.steps):
                workflow_done = promoted = True
                run.promote()
            elif action == "stop":
                workflow_done = True
                run.ends("ABORTED", promoted=promoted)
            elif action == "end after promotion" and promoted:
                run.ends("FAILED", promoted=True)
            elif action == "rerun":
                world.run(plan, name="console-rerun").preflight()
            elif action == "next deployment":
                workflow_done = True
                world.sfn.end(run.arn, "ABORTED", entered={"Promote"} if promoted else set())
                world.run(world.plan("green", "ecs-svc/2")).preflight()
        except (ClientError, DeploymentAlreadyRunning, FailbackInProgress):
            pass
        if promoted:
            assert world.weights() == PROMOTED  # invariant 9: nothing moves a promoted release back

    # The execution ends; the status rule's Lambda runs once DynamoDB answers again, and
    # Lambda retries it (about 1 and 2 minutes later) while another actor's fail-back
    # fence is fresh.
    world.store.faults.clear()
    for attempt, wait in enumerate((60, 120, None)):
        try:
            run.ends("FAILED" if promoted else "ABORTED", promoted=promoted)
            break
        except FailbackInProgress:
            assert wait is not None, f"still fenced after {attempt} retries"
            world.tick(wait)

    assert world.weights() in (ORIGINAL, PROMOTED)
    if promoted:
        assert world.weights() == PROMOTED
    record = world.record(plan)
    assert record.finished or record.execution_arn != run.arn  # finished, or a re-run has taken it on
    assert _holder(world) != run.arn


# ------------------------------------------------------------------ the trigger
def _trigger(world: World) -> tuple[TriggerPorts, Resources]:
    return TriggerPorts(world.store, world.dns, world.sfn), Resources(table_name="t", state_machine_arn=STATE_MACHINE)


def test_every_task_event_delivered_three_times_starts_one_execution(world: World) -> None:
    ports, resources = _trigger(world)
    events = [{**event_json("green-task-running.json"), "id": f"e{i}"} for i in range(30)]
    for i, raw in enumerate(events):
        raw["detail"] = {**raw["detail"], "taskArn": f"{raw['detail']['taskArn']}-{i % 10}"}

    decisions = [handle(raw, world.config, resources, ports, world.now).decision for raw in events]

    assert decisions.count("started") == 1
    assert set(decisions) == {"started", "duplicate"}
    assert len(world.sfn.executions) == 1


def test_a_trigger_that_died_after_its_claim_starts_the_execution_on_retry(world: World) -> None:
    ports, resources = _trigger(world)
    raw = event_json("green-task-running.json")
    world.sfn.faults.fail("start", client_error("ServiceUnavailable", "StartExecution"))
    with pytest.raises(ClientError):
        handle(raw, world.config, resources, ports, world.now)
    (record,) = world.store.list_route(world.config.route_key)
    assert record.status == Status.CLAIMED  # "claimed, not started yet": never "already seen"

    retried = handle(raw, world.config, resources, ports, world.now)

    assert retried.decision == "resumed"
    assert world.store.list_route(world.config.route_key)[0].status == Status.STARTED
    assert list(world.sfn.executions) == [retried.execution_arn]
