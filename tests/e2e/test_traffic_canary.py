"""End to end with traffic: a bad release is failed back because its alarm went to ALARM
from the data its own errors produced, with no alarm set by hand.

The real template is deployed (``stack.deploy``). Clients resolve the weighted record and
send requests (``traffic.py``); the ALBs publish their metrics; the alarms evaluate from
them (``alarms.py``); each Wait state of the canary lets its seconds pass for all of it
(``SimClock.following_waits``). Only the ECS side is faked: the service is pointed at the
new task definition and its tasks' RUNNING events are put on the bus (the ECS task
lifecycle is simulated elsewhere).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws
from weightshift_emulator import alarms, patches, simclock, stack, traffic
from weightshift_emulator.world import (
    Surroundings,
    build_surroundings,
    clients,
    execution_history,
    release_green_with_events,
    set_weighted_pair,
    weights,
)

from tests.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("cfn_patched")]

PARAMETERS = {"Schedule": "5,25,50,100", "StepIntervalSeconds": "60", "HealthPollSeconds": "15"}
BAD_IMAGE = "public.ecr.aws/nginx/nginx:2.0-bad"


@dataclass
class Env:
    aws: dict[str, Any]
    world: Surroundings
    stack: stack.Deployed


@pytest.fixture
def deploy() -> Iterator[Any]:
    """Deploys the template with extra parameters, inside one moto context."""
    with mock_aws(config=patches.ENGINE_CONFIG):
        aws = clients()
        world = build_surroundings(aws)

        def make(**extra: str) -> Env:
            return Env(aws, world, stack.deploy(aws, world.parameters(**{**PARAMETERS, **extra})))

        yield make


def release(env: Env, image: str, deployment: str) -> str:
    """What ECS does for a new deployment of green, as far as Weightshift can see: the
    service runs the new task definition, and each new task's RUNNING event reaches the bus."""
    release_green_with_events(env.aws, env.world, image, deployment)
    (execution,) = env.aws["stepfunctions"].list_executions(stateMachineArn=env.stack.state_machine_arn)["executions"]
    return str(execution["executionArn"])


def released_under_traffic(env: Env, image: str, deployment: str, rate: float = 50.0, clients: int = 500) -> Any:
    """blue=100 live for 3 simulated minutes of client traffic, then a release of green
    whose canary runs to its end, each wait letting its time pass: (description, clock, ARN)."""
    set_weighted_pair(env.aws, env.world, blue=100, green=0)
    clock = simclock.for_surroundings(env.world, rate=rate, clients=clients)
    clock.step(180)
    with clock.following_waits():
        arn = release(env, image, deployment)
        desc = wait_for(env.aws["stepfunctions"], arn, timeout=120)
    return desc, clock, arn


def dns_changes_in_simulated_time(monkeypatch: pytest.MonkeyPatch) -> list[tuple[datetime, str]]:
    """Every ChangeResourceRecordSets of the pair, with the simulated time it was made and its comment."""
    import moto.route53.responses as r53_responses

    changes: list[tuple[datetime, str]] = []
    original = r53_responses.Route53.change_resource_record_sets

    def recorded(self: Any) -> Any:
        body = self.body.decode() if isinstance(self.body, bytes) else str(self.body)
        if "<Type>TXT</Type>" not in body:
            comment = body.split("<Comment>")[1].split("</Comment>")[0] if "<Comment>" in body else ""
            changes.append((patches.SIM_TIME.now(), comment))
        return original(self)

    monkeypatch.setattr(r53_responses.Route53, "change_resource_record_sets", recorded)
    return changes


def test_a_bad_release_fails_back_because_its_alarm_went_to_alarm_from_its_errors(
    deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 5xx comparison can never reach a verdict (MinRequests out of reach, and no limit on
    # polls without one), so only the alarm can stop this canary.
    env = deploy(MinRequests="1000000")
    aws, world = env.aws, env.world
    set_weighted_pair(aws, world, blue=100, green=0)
    clock = simclock.for_surroundings(world, rate=50.0, clients=500)
    assert clock.traffic is not None
    assert clock.alarms is not None
    clock.step(180)  # the service has been live for a while
    assert aws["cloudwatch"].describe_alarms(AlarmNames=[world.green_alarm])["MetricAlarms"][0]["StateValue"] == (
        "INSUFFICIENT_DATA"  # green has no traffic, so no data at all
    )
    released = clock.now()

    changes = dns_changes_in_simulated_time(monkeypatch)
    with clock.following_waits():
        arn = release(env, BAD_IMAGE, "ecs-svc/4242424242424242424")
        desc = wait_for(aws["stepfunctions"], arn, timeout=120)

    # The alarm's state-change event ended the bake: the alarm listener failed its task.
    assert desc["status"] == "FAILED", desc
    assert desc["error"] == "AlarmFired"
    assert f"alarm {world.green_alarm} went to ALARM at " in desc["cause"]
    assert weights(aws, world) == {"blue": 100, "green": 0}

    # The alarm changed state from the data, on the simulated clock, and said so on the bus.
    (fired,) = [c for c in clock.alarms.changes if c.alarm == world.green_alarm and c.state == "ALARM"]
    assert fired.previous == "INSUFFICIENT_DATA"
    assert fired.reason.startswith("Threshold Crossed: 1 datapoint [")
    assert fired.reason.endswith("was greater than the threshold (10.0).")
    (event,) = [e for e in alarms.EVENTS if e["detail"]["alarmName"] == world.green_alarm]
    assert event["detail"]["state"]["value"] == "ALARM"
    # The errors were real requests of the clients that resolved green during the canary.
    bad_minutes = [m for m in clock.traffic.minutes("green") if m.target_5xx]
    assert bad_minutes
    assert all(m.target_5xx / m.requests > 0.3 for m in bad_minutes)
    # Simulated time passed only as the canary waited: the alarm fired within two minutes of
    # green's first traffic (a minute of errors, published 30 s after it ends, evaluated at
    # the next whole minute), and the canary failed back at the next poll.
    assert fired.when - released <= timedelta(minutes=3)
    assert clock.now() - released < timedelta(minutes=5)
    # The first fail-back change came within 5 simulated seconds of the alarm's state change
    # (issue 11's target), not at the next poll.
    failback = [when for when, comment in changes if "fail back" in comment.lower() or "restore" in comment.lower()]
    assert failback, changes
    assert timedelta(0) <= failback[0] - fired.when <= timedelta(seconds=5), (fired.when, failback[0])
    # After the fail-back, clients drift back to blue within a TTL.
    clock.step(120)
    assert clock.traffic.share("green", clock.now() - timedelta(seconds=60), clock.now()) == 0.0


def test_with_the_default_gate_the_5xx_comparison_sees_the_same_errors(deploy: Any) -> None:
    """Without the handicap, the gate's own comparison of the target's 5xx rate with the live
    side's reads the same data points through GetMetricData."""
    env = deploy()
    aws, world = env.aws, env.world
    desc, _, _ = released_under_traffic(env, BAD_IMAGE, "ecs-svc/4343434343434343434")
    assert desc["status"] == "FAILED", desc
    assert desc["error"] == "HealthGateFailed"
    assert "target 5xx rate" in desc["cause"]
    assert weights(aws, world) == {"blue": 100, "green": 0}


GOOD_IMAGE = "public.ecr.aws/nginx/nginx:2.0"


def test_a_good_release_records_the_split_the_clients_really_made_beside_the_intended_one(deploy: Any) -> None:
    """Issue 11 §2: at every poll the gate reads each side's RequestCount (the counts the 5xx
    comparison already reads: no extra call) and the record shows the target's observed share
    beside its weight's share. Clients cache the weighted answer for the 60 s TTL, so the
    observed share follows the weights a step behind, never ahead of them."""
    env = deploy(Schedule="10,50,100", HealthPollSeconds="60")
    aws = env.aws
    desc, _, arn = released_under_traffic(env, GOOD_IMAGE, "ecs-svc/4545454545454545454")
    assert desc["status"] == "SUCCEEDED", desc

    (item,) = aws["dynamodb"].scan(TableName=env.stack.table_name, FilterExpression="attribute_exists(targetColor)")[
        "Items"
    ]
    record = plain_item(item)
    baked = [t for t in record["timeline"] if t["event"] == "baked"]
    assert [float(t["observed"]["intendedShare"]) for t in baked] == [0.1, 0.5, 1.0]
    shares = [float(t["observed"]["targetShare"]) for t in baked]
    assert all(0.0 <= s <= 1.0 for s in shares), shares
    assert shares == sorted(shares), shares  # it follows the weights up...
    intended = [0.1, 0.5, 1.0]
    assert all(s <= i + 0.05 for s, i in zip(shares, intended, strict=True)), shares  # ...never ahead of them
    # ...and a step behind: with 60 s bakes, the newest complete minute of ALB data at a bake's
    # end is mostly the previous step's (the data arrives a minute late, and clients keep
    # their cached answer for the TTL). This is what the record makes visible.
    assert shares[-1] < intended[-1] - 0.3, shares
    assert shares[-1] > shares[0], shares
    assert all(int(t["observed"]["targetRequests"]) + int(t["observed"]["liveRequests"]) > 0 for t in baked)
    # The gate's output says the same, at every poll (the Step Functions console shows it).
    polls = [
        json.loads(e["lambdaFunctionSucceededEventDetails"]["output"])
        for e in execution_history(aws["stepfunctions"], arn)
        if e["type"] == "LambdaFunctionSucceeded" and '"observed"' in e["lambdaFunctionSucceededEventDetails"]["output"]
    ]
    assert [p["observed"]["intendedShare"] for p in polls] == [0.1, 0.5, 1.0]


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}


def bake_ends(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in record["timeline"] if t["event"] in ("step", "baked")]


def the_record(env: Env) -> dict[str, Any]:
    (item,) = env.aws["dynamodb"].scan(
        TableName=env.stack.table_name, FilterExpression="attribute_exists(targetColor)"
    )["Items"]
    return plain_item(item)


def test_evidence_based_pace_advances_a_good_release_early_and_never_before_the_ttl(deploy: Any) -> None:
    """Pace=Evidence, 10-minute bakes at most, plenty of traffic: the sequential test finds the
    target no worse within the first minutes of each step, and each bake ends once the TTL
    has passed, long before its 10 minutes. The record says which rule ended each step."""
    env = deploy(Schedule="10,50,100", StepIntervalSeconds="600", HealthPollSeconds="60", Pace="Evidence")
    aws, world = env.aws, env.world
    set_weighted_pair(aws, world, blue=100, green=0)
    clock = simclock.for_surroundings(world, rate=50.0, clients=500)
    clock.step(180)
    released = clock.now()
    with clock.following_waits():
        arn = release(env, GOOD_IMAGE, "ecs-svc/4646464646464646464")
        desc = wait_for(aws["stepfunctions"], arn, timeout=120)
    assert desc["status"] == "SUCCEEDED", desc
    baked = [t for t in the_record(env)["timeline"] if t["event"] == "baked"]
    assert [t["decidedBy"] for t in baked] == ["evidence"] * 3
    assert all(t["evidence"]["decision"] == "no-worse" for t in baked)
    assert all(float(t["evidence"]["llr"]) <= float(t["evidence"]["lower"]) for t in baked)
    # 3 steps of at most 10 minutes each took a few minutes in all (readiness included).
    assert clock.now() - released < timedelta(minutes=12), clock.now() - released
    bakes = [w.lasted for w in patches.CLOCK.for_execution(arn) if w.state == "Bake and watch health"]
    assert all(b >= 60 for b in bakes)  # never a bake shorter than the TTL
    assert len(bakes) <= 3 * 3


def test_evidence_based_pace_fails_a_bad_release_early(deploy: Any) -> None:
    """The same with an image that serves 5xx, no alarms and the fixed 5xx comparison out of
    reach (MinRequests): the sequential test alone finds the target worse, at the first poll."""
    env = deploy(
        Schedule="10,50,100", StepIntervalSeconds="600", HealthPollSeconds="60", Pace="Evidence",
        AlarmNames="", MinRequests="1000000",
    )  # fmt: skip
    aws, world = env.aws, env.world
    desc, _, arn = released_under_traffic(env, BAD_IMAGE, "ecs-svc/4747474747474747474")
    assert desc["status"] == "FAILED", desc
    assert desc["error"] == "HealthGateFailed"
    assert "SPRT:" in desc["cause"]
    assert "-> worse" in desc["cause"]
    assert weights(aws, world) == {"blue": 100, "green": 0}
    bakes = [w.lasted for w in patches.CLOCK.for_execution(arn) if w.state == "Bake and watch health"]
    assert len(bakes) <= 2, bakes  # within the first step's first minutes, not its 10


def test_evidence_based_pace_keeps_baking_while_thin_traffic_is_inconclusive(deploy: Any) -> None:
    """A trickle of requests never adds up to evidence either way: each step bakes its full
    time, as a fixed bake would, and the record says max-bake."""
    env = deploy(Schedule="50,100", StepIntervalSeconds="180", HealthPollSeconds="60", Pace="Evidence")
    desc, _, arn = released_under_traffic(env, GOOD_IMAGE, "ecs-svc/4848484848484848484", rate=0.2, clients=20)
    assert desc["status"] == "SUCCEEDED", desc
    baked = [t for t in the_record(env)["timeline"] if t["event"] == "baked"]
    assert [t["decidedBy"] for t in baked] == ["max-bake", "max-bake"]
    assert all(t["evidence"]["decision"] == "inconclusive" for t in baked)
    bakes = [w.lasted for w in patches.CLOCK.for_execution(arn) if w.state == "Bake and watch health"]
    assert sum(bakes) == 2 * 180


def test_with_min_observed_share_a_bake_waits_for_the_clients_to_follow_the_weights(deploy: Any) -> None:
    """MinObservedShare=0.8: a bake ends only once the target gets 80% of the share its
    weight asks for (or after one more bake of the step). The same release as above, where
    the shares lagged a step behind (0.0, 0.05, 0.30), now waits at each step until the
    clients caught up (the share of the newest minute with data), and the record says how
    long it waited."""
    env = deploy(Schedule="10,50,100", HealthPollSeconds="60", MinObservedShare="0.8")
    desc, _, _ = released_under_traffic(env, GOOD_IMAGE, "ecs-svc/4949494949494949494")
    assert desc["status"] == "SUCCEEDED", desc
    baked = [t for t in the_record(env)["timeline"] if t["event"] == "baked"]
    assert [float(t["observed"]["intendedShare"]) for t in baked] == [0.1, 0.5, 1.0]
    for t in baked:
        share, intended = float(t["observed"]["targetShare"]), float(t["observed"]["intendedShare"])
        if t["clients"]["lagged"]:  # the ceiling: one more bake (at least 3 polls), then on
            assert int(t["clients"]["waitedPolls"]) == 3
        else:
            assert share >= 0.8 * intended, t
    # Every step waited two more polls: a minute for its traffic's minute to be published,
    # a minute for the clients' cached answers (60 s TTL) to expire. Then the split held.
    assert [int(t["clients"]["waitedPolls"]) for t in baked] == [2, 2, 2]
    assert not any(t["clients"]["lagged"] for t in baked)
    shares = [float(t["observed"]["targetShare"]) for t in baked]
    assert all(abs(s - i) < 0.05 for s, i in zip(shares, [0.1, 0.5, 1.0], strict=True)), shares


# ------------------------------------------------------------------ issue 11 §1 and §3
SLOW_IMAGE = "public.ecr.aws/nginx/nginx:2.0-slow"


def canary_with_failback_changes(
    env: Env, monkeypatch: pytest.MonkeyPatch, image: str, deployment: str
) -> tuple[Any, Any, datetime, list[tuple[datetime, str]], str]:
    set_weighted_pair(env.aws, env.world, blue=100, green=0)
    clock = simclock.for_surroundings(env.world, rate=50.0, clients=500)
    clock.step(180)
    released = clock.now()
    changes = dns_changes_in_simulated_time(monkeypatch)
    with clock.following_waits():
        arn = release(env, image, deployment)
        desc = wait_for(env.aws["stepfunctions"], arn, timeout=120)
    return desc, clock, released, changes, arn


def first_failback_after(changes: list[tuple[datetime, str]], fired: datetime) -> timedelta:
    failback = [when for when, comment in changes if "fail back" in comment.lower() or "restore" in comment.lower()]
    assert failback, changes
    return failback[0] - fired


def failed_back_by_own_alarm(
    env: Env, desc: dict[str, Any], clock: Any, changes: list[tuple[datetime, str]], suffix: str
) -> None:
    """The execution failed with AlarmFired from the stack's alarm ending in ``suffix``, the
    weights are back, and the first fail-back change came within 5 s of the alarm's change."""
    assert desc["status"] == "FAILED", desc
    assert desc["error"] == "AlarmFired", desc
    assert f"{suffix} went to ALARM at " in desc["cause"]
    assert weights(env.aws, env.world) == {"blue": 100, "green": 0}
    (fired,) = [c for c in clock.alarms.changes if c.alarm.endswith(suffix) and c.state == "ALARM"]
    assert timedelta(0) <= first_failback_after(changes, fired.when) <= timedelta(seconds=5)


def test_the_stacks_own_5xx_alarm_fails_back_within_seconds_at_the_default_safety_poll(
    deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No AlarmNames, the default 300 s safety poll, 5-minute bakes: the stack's own 5xx
    comparison alarm (green's 5xx rate against blue's, metric math over both ALBs) goes to
    ALARM from the errors of the canary's first minute, and its event ends the bake within
    seconds, long before the first safety poll."""
    env = deploy(
        Schedule="10,50,100", StepIntervalSeconds="300", HealthPollSeconds="300", AlarmNames="", LatencyPercentile="off"
    )
    desc, clock, released, changes, _ = canary_with_failback_changes(
        env, monkeypatch, BAD_IMAGE, "ecs-svc/5151515151515151515"
    )
    failed_back_by_own_alarm(env, desc, clock, changes, "-green-5xx-vs-blue")
    assert clock.now() - released < timedelta(minutes=5)  # the first 300 s poll never came
    # Blue's own alarm (blue worse than green) never fired, and would not have been watched.
    assert not [c for c in clock.alarms.changes if c.alarm.endswith("-blue-5xx-vs-green") and c.state == "ALARM"]


def test_a_release_that_is_only_slower_fails_back_on_the_latency_comparison(
    deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11 §3: green answers as rarely with 5xx as blue, but 8 times slower. The stack's
    response-time alarm (p99 TargetResponseTime of green against blue's) fails it back."""
    monkeypatch.setitem(traffic.IMAGE_QUALITIES, ":2.0-slow", traffic.Quality(error_rate=0.001, latency=0.4))
    env = deploy(Schedule="10,50,100", StepIntervalSeconds="300", HealthPollSeconds="300", AlarmNames="")
    desc, clock, _, changes, _ = canary_with_failback_changes(
        env, monkeypatch, SLOW_IMAGE, "ecs-svc/5252525252525252525"
    )
    failed_back_by_own_alarm(env, desc, clock, changes, "-green-latency-vs-blue")
    assert not [c for c in clock.alarms.changes if "5xx-vs" in c.alarm and c.state == "ALARM"]


def test_the_gate_compares_latency_itself_when_the_alarm_cannot_judge(
    deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety poll's own comparison reads the same percentiles through GetMetricData:
    with 60 s polls it sees the slow target at the first poll of the canary."""
    monkeypatch.setitem(traffic.IMAGE_QUALITIES, ":2.0-slow", traffic.Quality(error_rate=0.001, latency=0.4))
    env = deploy(Schedule="10,50,100", HealthPollSeconds="60", AlarmNames="", LatencyPercentile="p90")
    desc, _, _ = released_under_traffic(env, SLOW_IMAGE, "ecs-svc/5353535353535353535")
    assert desc["status"] == "FAILED", desc
    assert "p90 response time" in desc["cause"] or "-green-latency-vs-blue" in desc["cause"], desc["cause"]
    assert weights(env.aws, env.world) == {"blue": 100, "green": 0}


def rate_check(no_data: str) -> str:
    """A custom check as a user writes it: the target's 5xx share of its requests, by metric math."""

    def stat(ident: str, name: str, ns: str) -> dict[str, Any]:
        dims = [{"Name": "LoadBalancer", "Value": "{targetLoadBalancer}"}]
        return {
            "Id": ident,
            "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name, "Dimensions": dims}, "Stat": "Sum"},
            "ReturnData": False,
        }

    return json.dumps(
        [
            {
                "name": "target-5xx-share",
                "metrics": [
                    stat("errors", "HTTPCode_Target_5XX_Count", "AWS/ApplicationELB"),
                    stat("requests", "RequestCount", "AWS/ApplicationELB"),
                    {"Id": "share", "Expression": "FILL(errors, 0) / requests"},
                ],
                "threshold": 0.05,
                "comparison": "GreaterThanThreshold",
                "noData": no_data,
            }
        ]
    )


# Only the custom check can stop these canaries: no alarms, no latency comparison, and the
# built-in 5xx comparison (and the stack's 5xx alarm) out of reach of MinRequests.
CHECK_ONLY = {"AlarmNames": "", "LatencyPercentile": "off", "MinRequests": "1000000", "Schedule": "10,50,100"}


def test_a_custom_check_promotes_a_good_release_and_says_so(deploy: Any) -> None:
    env = deploy(**CHECK_ONLY, HealthPollSeconds="60", MetricChecks=rate_check("wait"))
    desc, _, _ = released_under_traffic(env, GOOD_IMAGE, "ecs-svc/5454545454545454545")
    assert desc["status"] == "SUCCEEDED", desc
    baked = [t for t in the_record(env)["timeline"] if t["event"] == "baked"]
    assert len(baked) == 3
    assert all(any(n.startswith("check target-5xx-share: ") and "passes" in n for n in t["notes"]) for t in baked)


def test_a_custom_check_fails_back_a_bad_release(deploy: Any) -> None:
    env = deploy(**CHECK_ONLY, HealthPollSeconds="60", MetricChecks=rate_check("wait"))
    desc, _, _ = released_under_traffic(env, BAD_IMAGE, "ecs-svc/5555555555555555555")
    assert desc["status"] == "FAILED", desc
    assert desc["error"] == "HealthGateFailed"
    assert "check target-5xx-share: " in desc["cause"]
    assert "> 0.05" in desc["cause"]
    assert weights(env.aws, env.world) == {"blue": 100, "green": 0}


@pytest.mark.parametrize(("no_data", "status"), [("fail", "FAILED"), ("pass", "SUCCEEDED"), ("wait", "FAILED")])
def test_a_check_without_data_does_what_it_says(deploy: Any, no_data: str, status: str) -> None:
    """A check on an application metric nobody publishes (no orders yet, or a typo): never a
    silent pass. fail: the first poll fails it; pass: promoted, with the note in the record;
    wait: each bake waits for data, then fails after one more bake of waiting."""
    dims = [{"Name": "Service", "Value": "{targetService}"}]
    orders = {"Namespace": "Shop", "MetricName": "Orders", "Dimensions": dims}
    checks = json.dumps(
        [
            {
                "name": "orders",
                "metrics": [{"Id": "orders", "MetricStat": {"Metric": orders, "Stat": "Sum"}}],
                "threshold": 1,
                "comparison": "LessThanThreshold",
                "noData": no_data,
            }
        ]
    )
    env = deploy(**CHECK_ONLY, HealthPollSeconds="60", MetricChecks=checks)
    desc, _, _ = released_under_traffic(env, GOOD_IMAGE, "ecs-svc/5656565656565656565", rate=0.5, clients=20)
    assert desc["status"] == status, desc
    if status == "FAILED":
        assert f"check orders: no data (noData: {no_data})" in desc["cause"]
        assert weights(env.aws, env.world) == {"blue": 100, "green": 0}
    else:
        baked = [t for t in the_record(env)["timeline"] if t["event"] == "baked"]
        assert len(baked) == 3
        assert all("check orders: no data (noData: pass)" in t["notes"] for t in baked)
    if no_data == "wait":
        assert "still no data after the bake and 3 more polls" in desc["cause"]


def route53_calls_in_simulated_time(monkeypatch: pytest.MonkeyPatch) -> list[tuple[datetime, str]]:
    """Every Route 53 API call moto answers (the functions' and the state machine's own
    GetChange), with the simulated time it was made."""
    import botocore.session
    import moto.route53.responses as r53_responses
    from botocore import xform_name

    calls: list[tuple[datetime, str]] = []
    for operation in botocore.session.get_session().get_service_model("route53").operation_names:
        original = getattr(r53_responses.Route53, xform_name(operation), None)
        if original is None:
            continue

        def counted(self: Any, *args: Any, _original: Any = original, _operation: str = operation, **kw: Any) -> Any:
            calls.append((patches.SIM_TIME.now(), _operation))
            return _original(self, *args, **kw)

        monkeypatch.setattr(r53_responses.Route53, xform_name(operation), counted)
    return calls


def test_a_bake_asks_route53_nothing_and_a_canary_stays_under_two_calls_a_minute(
    deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11 §5: Route 53 allows 5 requests a second per account, shared by every tool.
    At the defaults (300 s safety poll, health checks on both records), a good 10,50,100
    release with 5-minute bakes makes only the calls that must be Route 53 (the changes,
    their INSYNC waits, a read of the pair per step); the health checks' status comes from
    CloudWatch, so no call falls inside a bake."""
    env = deploy(Schedule="10,50,100", StepIntervalSeconds="300", HealthPollSeconds="300")
    assert env.world.parameters()["GreenHealthCheckId"]
    set_weighted_pair(env.aws, env.world, blue=100, green=0)
    clock = simclock.for_surroundings(env.world, rate=50.0, clients=500)
    clock.step(180)
    released = clock.now()
    bakes: list[tuple[datetime, patches.Wait]] = []

    def on_wait(wait: patches.Wait) -> None:
        if wait.state == "Bake and watch health":
            bakes.append((patches.SIM_TIME.now(), wait))

    patches.CLOCK.hooks.append(on_wait)
    calls = route53_calls_in_simulated_time(monkeypatch)
    with clock.following_waits():
        arn = release(env, GOOD_IMAGE, "ecs-svc/5757575757575757575")
        desc = wait_for(env.aws["stepfunctions"], arn, timeout=120)
    assert desc["status"] == "SUCCEEDED", desc
    minutes = (clock.now() - released).total_seconds() / 60
    by_action = collections.Counter(action for _, action in calls)
    # Only preflight's check that both health checks still exist, once per deployment.
    assert by_action["GetHealthCheckStatus"] == 2, by_action
    assert by_action["ChangeResourceRecordSets"] == 3, by_action
    assert sum(by_action.values()) <= 2 * minutes, (by_action, minutes)
    assert len(bakes) == 3
    during = [
        (when, action)
        for when, action in calls
        for start, bake in bakes
        if start < when < start + timedelta(seconds=bake.lasted)
    ]
    assert during == [], during


def test_thin_traffic_gives_the_latency_comparison_no_verdict_and_says_so(
    deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A percentile of a handful of requests is not one: under MinRequests on a side, the
    response-time comparison (the gate's and the stack's alarm) gives no verdict, and every
    bake's record says so, rather than passing silently or failing on noise."""
    monkeypatch.setitem(traffic.IMAGE_QUALITIES, ":2.0-slow", traffic.Quality(error_rate=0.001, latency=0.4))
    env = deploy(Schedule="50,100", HealthPollSeconds="60", AlarmNames="")
    desc, clock, _ = released_under_traffic(env, SLOW_IMAGE, "ecs-svc/5858585858585858585", rate=0.2, clients=20)
    assert desc["status"] == "SUCCEEDED", desc
    baked = [t for t in the_record(env)["timeline"] if t["event"] == "baked"]
    assert len(baked) == 2
    for t in baked:
        assert any(n.startswith("latency: ") and "requests, fewer than 50" in n for n in t["notes"]), t["notes"]
    assert not [c for c in clock.alarms.changes if "latency-vs" in c.alarm and c.state == "ALARM"]
