"""The trigger Lambda against moto: the real handler, the real template, the real state machine.

Behaviours from issue 2 (see also test_trigger_concurrency, test_trigger_inflight,
test_trigger_fuzz and test_trigger_rule):
1. duplicates, out-of-order events and every task of one deployment -> exactly one execution;
2. a crash between the claim and StartExecution is finished by EventBridge's retry;
3. the side that already has all traffic, and stale events, start nothing;
5. malformed, truncated and foreign events are logged and ignored, and write nothing;
6. every decision is one structured log line with the deployment id as correlation id, and a metric.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from weightshift.adapters import stepfunctions as sfn_adapter
from weightshift.adapters.deployments import CLAIMED, Deployments
from weightshift.plan import execution_name
from weightshift.records import Change
from weightshift_emulator.world import Surroundings

from tests.component.test_trigger_harness import SAMPLE_DEPLOYMENT, TriggerRig, bakes_held, trigger_rig
from tests.conftest import load_event, wait_for

NAME_RULE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")  # what Step Functions accepts and we promise


@pytest.fixture
def rig(aws: dict[str, Any], world: Surroundings) -> Iterator[TriggerRig]:
    with trigger_rig(aws, world) as made:
        yield made


def decisions(outcomes: list[dict[str, Any]]) -> Counter[str]:
    return Counter(o["decision"] for o in outcomes)


# ------------------------------------------------------------------ 1. exactly one
def test_every_task_of_one_deployment_with_duplicates_and_out_of_order_starts_exactly_one_execution(
    rig: TriggerRig,
) -> None:
    rig.set_pair(blue=100, green=0)
    # 10 tasks of one ECS deployment, each delivered 3 times: its RUNNING event twice
    # (at-least-once delivery) and an older version of it once; plus the sample files.
    events = []
    for n in range(10):
        task = f"{n:02d}c2a9e4e6a8c4d2b9f1e3a7b5c6d8e9"
        events += [rig.event("green", task, SAMPLE_DEPLOYMENT, version=3)] * 2
        events.append(rig.event("green", task, SAMPLE_DEPLOYMENT, version=2))
    events += [load_event(n) for n in ("green-task-running.json", "green-task-running-duplicate.json")]
    events.append(load_event("green-task-running-stale.json"))
    random.Random(20261120).shuffle(events)

    # The canary stays in flight (at its first bake, green=10) while the events arrive,
    # as it would in AWS: a canary lasts minutes, a deployment's tasks start in seconds.
    with bakes_held() as in_flight:
        outcomes = [rig.send(copy.deepcopy(e)) for e in events]
        assert rig.executions()[0]["status"] == "RUNNING"

    counts = decisions(outcomes)
    assert counts["started"] == 1, counts
    assert set(counts) <= {"started", "duplicate", "stale"}, counts
    assert counts["stale"] >= 1, "the shuffle should deliver some older versions after newer ones"
    executions = rig.executions()
    assert len(executions) == 1, executions
    (started,) = [o for o in outcomes if o["decision"] == "started"]
    assert executions[0]["executionArn"] == started["execution_arn"]
    # Every duplicate points at that same execution.
    assert {o.get("execution_arn") for o in outcomes if o["decision"] == "duplicate"} == {started["execution_arn"]}
    name = executions[0]["name"]
    assert NAME_RULE.match(name), name
    assert name == execution_name("green", SAMPLE_DEPLOYMENT, f"{rig.world.zone_id}#{rig.world.record_name}")
    records = rig.deployment_records()
    assert len(records) == 1
    assert records[0]["ecsDeployment"]["S"] == SAMPLE_DEPLOYMENT
    assert records[0]["executionName"]["S"] == name
    assert wait_for(rig.sfn, started["execution_arn"])["status"] == "SUCCEEDED"
    assert set(in_flight) <= {started["execution_arn"]}


def test_without_started_by_the_task_definition_is_the_deployment(rig: TriggerRig) -> None:
    # A family name at ECS's 255-character limit makes the ARN far longer than a name may be.
    family = "shop-green-" + "x" * 244
    task_def = f"arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:7"
    events = []
    # startedBy absent, null, empty or blank: all fall back to the task definition ARN.
    for n, started_by in enumerate([..., None, "", "   "] * 2):
        event = rig.event("green", f"task{n}", "unused", task_definition=task_def)
        if started_by is ...:
            del event["detail"]["startedBy"]
        else:
            event["detail"]["startedBy"] = started_by
        events += [event, event]

    with bakes_held():
        outcomes = [rig.send(e) for e in events]

    assert decisions(outcomes) == Counter({"started": 1, "duplicate": 15})
    (execution,) = rig.executions()
    assert len(execution["name"]) <= 80
    assert NAME_RULE.match(execution["name"]), execution["name"]
    (record,) = rig.deployment_records()
    assert record["ecsDeployment"]["S"] == task_def
    # Deterministic: the name is a function of (deployment, route) only.
    assert execution["name"] == execution_name("green", task_def, f"{rig.world.zone_id}#{rig.world.record_name}")
    assert wait_for(rig.sfn, execution["executionArn"])["status"] == "SUCCEEDED"


def test_the_dedupe_key_is_deployment_and_route(rig: TriggerRig) -> None:
    """The same ECS deployment on another route (another stack's record) is its own canary."""
    event = load_event("green-task-running.json")

    with bakes_held():  # both canaries in flight while the events arrive
        here = rig.send(copy.deepcopy(event))
        there = rig.send(copy.deepcopy(event), RECORD_NAME="api." + rig.world.zone_name)
        again_there = rig.send(copy.deepcopy(event), RECORD_NAME="api." + rig.world.zone_name)

    assert here["decision"] == "started"
    assert there["decision"] == "started"
    assert again_there["decision"] == "duplicate"
    assert here["deployment_id"] != there["deployment_id"]
    assert {e["name"] for e in rig.executions()} == {here["deployment_id"], there["deployment_id"]}
    for name in (here["deployment_id"], there["deployment_id"]):
        assert NAME_RULE.match(name), name
    assert len(rig.deployment_records()) == 2
    ended = {d["name"]: d for d in rig.settle()}
    assert ended[here["deployment_id"]]["status"] == "SUCCEEDED"
    # The state machine belongs to this stack's route: an input for another record is
    # refused before any DNS change (design.md, invariant 8).
    assert ended[there["deployment_id"]]["status"] == "FAILED"
    assert ended[there["deployment_id"]]["error"] == "InvalidPlan"


# ------------------------------------------------------------------ 2. no lost trigger
class Crash(RuntimeError):
    """The Lambda dies here (a timeout, an out-of-memory kill, a throttled API call)."""


def crash_once(monkeypatch: pytest.MonkeyPatch, cls: type, method: str, after: bool = False) -> list[int]:
    """Make ``cls.method`` raise once: before doing its work, or after it (``after=True``)."""
    original: Callable[..., Any] = getattr(cls, method)
    calls: list[int] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            return original(*args, **kwargs)
        if after:
            original(*args, **kwargs)
        raise Crash(f"the trigger died in {cls.__name__}.{method}")

    monkeypatch.setattr(cls, method, wrapper)
    return calls


def test_a_crash_after_the_claim_and_before_start_execution_is_finished_by_the_retry(
    rig: TriggerRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = crash_once(monkeypatch, sfn_adapter.StepFunctions, "start")
    event = load_event("green-task-running.json")

    # The exception escapes the handler, so EventBridge retries the event.
    with pytest.raises(Crash):
        rig.send(copy.deepcopy(event))
    assert calls == [1]
    (record,) = rig.deployment_records()
    assert record["status"]["S"] == CLAIMED, "the record must say: claimed, not started yet"
    assert "executionArn" not in record
    assert rig.executions() == []

    with bakes_held():  # the canary stays in flight while the retries arrive
        retried = rig.send(copy.deepcopy(event))
        assert retried["decision"] == "resumed"
        assert retried["reason"] == "claimed-not-started"
        (execution,) = rig.executions()
        assert execution["executionArn"] == retried["execution_arn"]
        assert execution["name"] == record["executionName"]["S"]
        # The execution runs exactly the plan that was claimed.
        started_with = rig.sfn.describe_execution(executionArn=retried["execution_arn"])["input"]
        assert json.loads(started_with) == json.loads(record["plan"]["S"])

        once_more = rig.send(copy.deepcopy(event))
        assert once_more["decision"] == "duplicate"
        assert once_more["execution_arn"] == retried["execution_arn"]
        assert len(rig.executions()) == 1
    assert wait_for(rig.sfn, retried["execution_arn"])["status"] == "SUCCEEDED"


def test_a_crash_after_start_execution_before_the_record_says_started_is_idempotent(
    rig: TriggerRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_once(monkeypatch, sfn_adapter.StepFunctions, "start", after=True)
    event = load_event("green-task-running.json")

    with bakes_held():
        with pytest.raises(Crash):
            rig.send(copy.deepcopy(event))
        (first,) = rig.executions()
        # The retry may find the record still CLAIMED (start again: same name and input give
        # the same ARN) or already moved on by the running workflow (a duplicate).
        retried = rig.send(copy.deepcopy(event))
        assert retried["decision"] in ("resumed", "duplicate"), retried
        assert retried["execution_arn"] == first["executionArn"]
        assert rig.send(copy.deepcopy(event))["decision"] == "duplicate"
        assert len(rig.executions()) == 1
    assert wait_for(rig.sfn, first["executionArn"])["status"] == "SUCCEEDED"
    assert len(rig.executions()) == 1


def test_a_retry_after_the_claimed_execution_already_ended_still_returns_it(rig: TriggerRig) -> None:
    """StartExecution with the same name and input after the execution closed (the record
    was left CLAIMED) resolves to the existing execution instead of failing forever."""
    event = load_event("green-task-running.json")
    first = rig.send(copy.deepcopy(event))
    assert wait_for(rig.sfn, first["execution_arn"])["status"] == "SUCCEEDED"
    table = Deployments(rig.aws["dynamodb"], rig.installed.table_name)
    table.apply(rig.route, first["deployment_id"], Change({"status": CLAIMED}))  # as if mark_started never ran
    rig.set_pair(blue=100, green=0)  # and green is not live, so the event is a release again

    retried = rig.send(copy.deepcopy(event))

    assert retried["decision"] == "resumed"
    assert retried["execution_arn"] == first["execution_arn"]
    assert len(rig.executions()) == 1


# ------------------------------------------------------------------ 3. already live, stale
def test_a_task_of_the_side_that_has_all_traffic_starts_nothing(rig: TriggerRig) -> None:
    for sample, blue, green in (
        ("blue-task-running-scaleout.json", 100, 0),  # a scale-out of the live side
        ("green-task-running.json", 0, 100),  # a task replacement after green was promoted
    ):
        rig.set_pair(blue=blue, green=green)

        outcome = rig.send(load_event(sample))

        assert outcome["decision"] == "ignored", sample
        assert outcome["reason"] == "already-live", sample
        assert rig.executions() == []
        assert rig.deployment_records() == []
        assert rig.lock() is None

    # The counterpart: with blue live, the same green task is a release and starts a canary.
    rig.set_pair(blue=100, green=0)
    outcome = rig.send(load_event("green-task-running.json"))
    assert outcome["decision"] == "started"
    assert wait_for(rig.sfn, outcome["execution_arn"])["status"] == "SUCCEEDED"


def test_a_stale_event_of_an_older_deployment_starts_nothing(rig: TriggerRig) -> None:
    rig.set_pair(blue=100, green=0)
    newer = load_event("green-task-running.json")  # version 3 of the task
    older = load_event("green-task-running-stale.json")  # version 2 of the same task...
    older["detail"]["startedBy"] = "ecs-svc/1111111111111111111"  # ...that names another deployment
    assert older["detail"]["taskArn"] == newer["detail"]["taskArn"]
    assert older["detail"]["version"] < newer["detail"]["version"]

    first = rig.send(newer)
    late = rig.send(older)

    assert first["decision"] == "started"
    assert late["decision"] == "stale"
    assert late["reason"] == "older-version"
    (execution,) = rig.executions()
    assert execution["executionArn"] == first["execution_arn"]
    assert [r["ecsDeployment"]["S"] for r in rig.deployment_records()] == [SAMPLE_DEPLOYMENT]
    assert wait_for(rig.sfn, first["execution_arn"])["status"] == "SUCCEEDED"


# ------------------------------------------------------------------ 5. junk is ignored
def _green() -> dict[str, Any]:
    return load_event("green-task-running.json")


def _with(path: str, value: Any) -> Callable[[], Any]:
    def build() -> Any:
        event = _green()
        *parents, last = path.split(".")
        node = event
        for key in parents:
            node = node[key]
        node[last] = value
        return event

    return build


def _without(path: str) -> Callable[[], Any]:
    def build() -> Any:
        event = _green()
        *parents, last = path.split(".")
        node = event
        for key in parents:
            node = node[key]
        del node[last]
        return event

    return build


def _truncated(cut: int) -> Callable[[], Any]:
    """The first ``cut`` keys of the event, and of its detail: what a cut-off body parses to."""

    def build() -> Any:
        event = _green()
        partial = dict(list(event.items())[:cut])
        if "detail" in partial:
            partial["detail"] = dict(list(event["detail"].items())[:cut])
        return partial

    return build


TASK_ARN_PREFIX = "arn:aws:ecs:us-east-1:123456789012:task/shop/"

JUNK: dict[str, tuple[Callable[[], Any], str]] = {
    "none": (lambda: None, "malformed"),
    "list": (lambda: [_green()], "malformed"),
    "string": (lambda: json.dumps(_green()), "malformed"),
    "number": (lambda: 42, "malformed"),
    "empty-object": (dict, "malformed"),
    "missing-detail": (_without("detail"), "malformed"),
    "detail-null": (_with("detail", None), "malformed"),
    "detail-string": (_with("detail", "RUNNING"), "malformed"),
    "missing-task-arn": (_without("detail.taskArn"), "malformed"),
    "missing-version": (_without("detail.version"), "malformed"),
    "negative-version": (_with("detail.version", -1), "malformed"),
    "version-not-a-number": (_with("detail.version", "three"), "malformed"),
    "cluster-not-a-string": (_with("detail.clusterArn", {"arn": "shop"}), "malformed"),
    # Parseable but past DynamoDB's limits (2048-byte key, 400 KB item, 38-digit numbers):
    # without bounds these reach a write and raise, and EventBridge retries them for a day.
    "task-arn-too-long": (_with("detail.taskArn", TASK_ARN_PREFIX + "f" * 3000), "malformed"),
    "task-arn-wide-characters": (_with("detail.taskArn", TASK_ARN_PREFIX + "\U0001f600" * 600), "malformed"),
    "started-by-too-long": (_with("detail.startedBy", "ecs-svc/" + "7" * 300_000), "malformed"),
    "version-too-large": (_with("detail.version", 10**40 + 1), "malformed"),
    "truncated-12": (_truncated(12), "malformed"),
    "truncated-9": (_truncated(9), "malformed"),
    "truncated-3": (_truncated(3), "malformed"),
    "wrong-source": (_with("source", "aws.ec2"), "foreign-event"),
    "wrong-detail-type": (_with("detail-type", "ECS Deployment State Change"), "foreign-event"),
    "other-cluster": (
        _with("detail.clusterArn", "arn:aws:ecs:us-east-1:123456789012:cluster/shop2"),
        "foreign-cluster",
    ),
    "other-account-lookalike": (
        _with("detail.clusterArn", "arn:aws:ecs:us-east-1:123456789012:shop"),
        "foreign-cluster",
    ),
    # The stack's cluster name, in another account or region (a cross-account bus, a copied rule).
    "same-cluster-name-other-account": (lambda: load_event("green-task-running-other-account.json"), "foreign-account"),
    "envelope-other-region": (_with("region", "eu-west-1"), "foreign-region"),
    "cluster-arn-other-region": (
        _with("detail.clusterArn", "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"),
        "foreign-cluster",
    ),
    "other-service": (_with("detail.group", "service:shop-green-canary"), "foreign-service"),
    "standalone-task": (_with("detail.group", "family:shop-green"), "foreign-service"),
    "stopped-sample": (lambda: load_event("green-task-stopped.json"), "not-running"),
    "pending": (_with("detail.lastStatus", "PENDING"), "not-running"),
    "running-but-being-stopped": (_with("detail.desiredStatus", "STOPPED"), "being-stopped"),
}


def test_malformed_truncated_and_foreign_events_are_logged_and_ignored(rig: TriggerRig) -> None:
    problems = []
    for case, (build, reason) in sorted(JUNK.items()):
        before, items_before = len(rig.decision_lines()), rig.items()
        try:
            outcome = rig.send(build())
        except Exception as exc:  # noqa: BLE001 - the point: nothing may escape
            problems.append(f"{case}: {type(exc).__name__} escaped: {exc}")
            continue
        lines = rig.decision_lines()[before:]
        if (outcome["decision"], outcome["reason"]) != ("ignored", reason):
            problems.append(f"{case}: {outcome['decision']} ({outcome['reason']}), want ignored ({reason})")
        if len(lines) != 1 or lines[0]["reason"] != reason or not lines[0].get("detail"):
            problems.append(f"{case}: want one log line with reason {reason} and a detail, got {lines}")
        elif lines[0]["level"] != "INFO" or lines[0]["decision"] != "ignored":
            problems.append(f"{case}: log line {lines[0]}")
        if rig.items() != items_before:
            problems.append(f"{case}: wrote {[i['pk']['S'][:80] for i in rig.items() if i not in items_before]}")

    assert not problems, "\n".join(problems)
    assert rig.items() == [], "an ignored event must write nothing"
    assert rig.executions() == []


def test_a_release_of_a_same_named_cluster_in_another_account_or_region_starts_nothing(rig: TriggerRig) -> None:
    """Issue 7, section 5: the cluster was matched by its name suffix, the envelope never read.
    Only the rule's pattern kept these out; the trigger now checks them against CLUSTER_ARN."""
    rig.set_pair(blue=100, green=0)
    other_account = load_event("green-task-running-other-account.json")  # real format, account 210987654321
    other_region = load_event("green-task-running.json")
    other_region["region"] = "eu-west-1"
    other_region["detail"]["clusterArn"] = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
    forwarded = load_event("green-task-running.json")  # our cluster's ARN, but another account's envelope
    forwarded["account"] = "210987654321"

    outcomes = [rig.send(e) for e in (other_account, other_region, forwarded)]

    assert [(o["decision"], o["reason"]) for o in outcomes] == [
        ("ignored", "foreign-account"),
        ("ignored", "foreign-region"),
        ("ignored", "foreign-account"),
    ]
    lines = rig.decision_lines()
    assert [line["reason"] for line in lines] == ["foreign-account", "foreign-region", "foreign-account"]
    assert all("123456789012" in line["detail"] or "us-east-1" in line["detail"] for line in lines)
    assert rig.items() == []
    assert rig.executions() == []
    assert rig.env["CLUSTER_ARN"] == "arn:aws:ecs:us-east-1:123456789012:cluster/shop"  # from the template

    # The counterpart: the same release in the stack's own account and region starts a canary.
    assert rig.send(load_event("green-task-running.json"))["decision"] == "started"


# ------------------------------------------------------------------ 6. one line + one metric
def emf_blobs(out: str) -> list[dict[str, Any]]:
    blobs = []
    for line in out.split("\n"):
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def metric_names(blob: dict[str, Any]) -> list[str]:
    return [m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]


def test_every_decision_is_one_structured_log_line_with_correlation_id_and_a_metric(
    rig: TriggerRig, capsys: pytest.CaptureFixture[str]
) -> None:
    rig.set_pair(blue=100, green=0)
    cases = [
        ("ignored", "EventIgnored", load_event("blue-task-running-scaleout.json")),  # blue has it all
        ("started", "DeploymentStarted", load_event("green-task-running.json")),
        ("duplicate", "DuplicateEvent", load_event("green-task-running-duplicate.json")),
        ("stale", "StaleEvent", load_event("green-task-running-stale.json")),
        ("ignored", "EventIgnored", load_event("green-task-stopped.json")),
    ]
    deployment_id = execution_name("green", SAMPLE_DEPLOYMENT, f"{rig.world.zone_id}#{rig.world.record_name}")
    blue_deployment = execution_name(
        "blue", "ecs-svc/1102938475610293847", f"{rig.world.zone_id}#{rig.world.record_name}"
    )
    expected_correlation = [blue_deployment, deployment_id, deployment_id, deployment_id, None]

    with bakes_held():  # the canary stays in flight, so its late events are duplicates
        for (decision, metric, event), correlation in zip(cases, expected_correlation, strict=True):
            capsys.readouterr()
            before = len(rig.decision_lines())

            outcome = rig.send(event)

            lines = rig.decision_lines()[before:]
            assert len(lines) == 1, f"{decision}: want exactly one decision line, got {lines}"
            (line,) = lines
            assert outcome["decision"] == decision
            assert line["decision"] == decision
            assert line["reason"] == outcome["reason"]
            assert line["service"] == "weightshift"
            assert line["function_name"] == rig.installed.functions["TriggerFunction"]
            assert line.get("correlation_id") == correlation, line
            if correlation:
                assert line["deployment_id"] == correlation
            blobs = [b for b in emf_blobs(capsys.readouterr().out) if metric in metric_names(b)]
            assert len(blobs) == 1, f"{decision}: want one {metric} metric"
            assert blobs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Weightshift"
            assert blobs[0][metric] in (1.0, [1.0])

    assert {e["status"] for e in rig.settle()} == {"SUCCEEDED"}


def test_a_late_retry_of_an_older_deployment_does_not_stop_the_newer_canary(
    rig: TriggerRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deployment A's trigger dies after its claim; deployment B of the same service then starts.
    crash_once(monkeypatch, sfn_adapter.StepFunctions, "start")
    older = rig.event("green", "taskA1", "ecs-svc/5000000000000000001")
    with pytest.raises(Crash):
        rig.send(copy.deepcopy(older))

    with bakes_held() as arrived:
        newer = rig.send(rig.event("green", "taskB1", "ecs-svc/5000000000000000002"))
        assert newer["decision"] == "started"
        assert wait_until_arrived(arrived, 1)
        # EventBridge's retry of A arrives only now.
        late = rig.send(copy.deepcopy(older))

        assert late["decision"] == "ignored"
        assert late["reason"] == "superseded-by-newer"
        assert [e["status"] for e in rig.executions()] == ["RUNNING"]
    records = {r["ecsDeployment"]["S"]: r["status"]["S"] for r in rig.deployment_records()}
    assert records["ecs-svc/5000000000000000001"] == "SUPERSEDED"
    assert wait_for(rig.sfn, newer["execution_arn"])["status"] == "SUCCEEDED"


def wait_until_arrived(arrived: list[str], count: int, timeout: float = 20) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(arrived) >= count:
            return True
        time.sleep(0.02)
    return False


def test_a_replacement_task_of_the_idle_sides_old_deployment_starts_nothing(rig: TriggerRig) -> None:
    """After green is promoted, blue idles on its old deployment; ECS replacing one of
    its tasks must not start a canary back to the old code."""
    from datetime import UTC, datetime, timedelta

    from weightshift.adapters.aws import client
    from weightshift.adapters.deployments import Deployments
    from weightshift.adapters.ecs_elb import EcsElb
    from weightshift.adapters.route53 import Route53
    from weightshift.settings import load_resources, load_route_config
    from weightshift.trigger import TriggerPorts, handle

    rig.set_pair(blue=0, green=100)
    blue = rig.aws["ecs"].describe_services(cluster=rig.world.cluster, services=[rig.world.blue_service])
    primary = next(d for d in blue["services"][0]["deployments"] if d["status"] == "PRIMARY")
    assert primary["rolloutState"] == "COMPLETED"
    event = rig.event("blue", "replacement01", primary["id"])
    config, resources = load_route_config(rig.env), load_resources(rig.env)
    ports = TriggerPorts(
        Deployments(client("dynamodb"), resources.table_name),
        Route53(client("route53")),
        sfn_adapter.StepFunctions(client("stepfunctions")),
        EcsElb(client("ecs"), client("elbv2")),
    )

    later = handle(event, config, resources, ports, datetime.now(UTC) + timedelta(hours=2))
    assert later.decision == "ignored"
    assert later.reason == "task-replacement"
    assert rig.executions() == []
    assert rig.deployment_records() == []

    # The same deployment's tasks minutes after it was created are its own release events.
    soon = handle(rig.event("blue", "replacement02", primary["id"]), config, resources, ports, datetime.now(UTC))
    assert soon.decision == "started"
    rig.settle(stop=True)
