"""Issue 10: traffic that behaves like DNS clients, ALB metrics, alarms that evaluate from
their data and send their state-change events, on the simulated clock.

Everything here steps the clock deterministically (``SimClock.step``), except the ticker
test. Sources for each modelled behaviour are beside the code (``traffic.py``,
``alarms.py``, ``simclock.py``)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.cloudwatch.models import cloudwatch_backends
from weightshift.adapters.cloudwatch import CloudWatch
from weightshift.models import alb_dimension
from weightshift_emulator import alarms, patches, simclock, traffic
from weightshift_emulator.world import ACCOUNT, REGION, Surroundings, build_surroundings, set_weighted_pair

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def clock_for(world: Surroundings, **knobs: Any) -> simclock.SimClock:
    knobs.setdefault("rate", 100.0)
    knobs.setdefault("clients", 500)
    return simclock.for_surroundings(world, start=START, **knobs)


def lb_dimension(arn: str) -> list[dict[str, str]]:
    return [{"Name": "LoadBalancer", "Value": alb_dimension(arn)}]


def put_5xx_alarm(aws: dict[str, Any], name: str, lb_arn: str, **extra: Any) -> None:
    aws["cloudwatch"].put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=lb_dimension(lb_arn),
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=extra.pop("EvaluationPeriods", 1),
        Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
        **extra,
    )


def state(aws: dict[str, Any], name: str) -> str:
    return str(aws["cloudwatch"].describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def transitions(clock: simclock.SimClock, name: str) -> list[tuple[str, str]]:
    assert clock.alarms is not None
    return [(c.previous, c.state) for c in clock.alarms.changes if c.alarm == name]


def event_queue(aws: dict[str, Any]) -> str:
    """An SQS queue behind a rule on the default bus matching the alarm state-change events."""
    url = aws["sqs"].create_queue(QueueName="alarm-events")["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws["events"].put_rule(
        Name="alarm-state-changes",
        EventPattern=json.dumps({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}),
    )
    aws["events"].put_targets(Rule="alarm-state-changes", Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def received(aws: dict[str, Any], url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while msgs := aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in msgs:
            out.append(json.loads(m["Body"]))
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


# ------------------------------------------------------------------ the patches to moto
def test_a_new_alarm_is_insufficient_data_and_an_update_keeps_its_state(aws: dict[str, Any]) -> None:
    """AWS::CloudWatch::Alarm: created INSUFFICIENT_DATA; "When you update an existing
    alarm, its state is left unchanged". moto: OK, and an update resets it."""
    lb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1"
    put_5xx_alarm(aws, "a", lb)
    described = aws["cloudwatch"].describe_alarms(AlarmNames=["a"])["MetricAlarms"][0]
    assert (described["StateValue"], described["StateReason"]) == (
        "INSUFFICIENT_DATA",
        "Unchecked: Initial alarm creation",
    )
    aws["cloudwatch"].set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="by hand")
    put_5xx_alarm(aws, "a", lb, AlarmDescription="updated")
    described = aws["cloudwatch"].describe_alarms(AlarmNames=["a"])["MetricAlarms"][0]
    assert (described["StateValue"], described["AlarmDescription"]) == ("ALARM", "updated")


def test_set_alarm_state_sends_the_event_and_lasts_until_the_next_evaluation(
    aws: dict[str, Any], world: Surroundings
) -> None:
    url = event_queue(aws)
    aws["cloudwatch"].set_alarm_state(AlarmName=world.green_alarm, StateValue="ALARM", StateReason="a drill")
    (event,) = received(aws, url)
    assert event["detail"]["state"]["value"] == "ALARM"
    assert event["detail"]["state"]["reason"] == "a drill"
    assert event["detail"]["previousState"]["value"] == "INSUFFICIENT_DATA"
    aws["cloudwatch"].set_alarm_state(AlarmName=world.green_alarm, StateValue="ALARM", StateReason="again")
    assert received(aws, url) == []  # no change of state, no event
    # "This temporary state change lasts only until the next alarm comparison occurs."
    set_weighted_pair(aws, world, blue=100, green=0)
    clock = clock_for(world)
    clock.step(60)
    assert state(aws, world.green_alarm) == "INSUFFICIENT_DATA"  # green had no data at all
    assert [e["detail"]["state"]["value"] for e in received(aws, url)] == ["INSUFFICIENT_DATA"]


def test_get_metric_data_rounds_the_start_time_down_to_the_minute(aws: dict[str, Any]) -> None:
    """GetMetricData: "Start time less than 15 days ago - Round down to the nearest whole
    minute". moto does not: a 60 s window from 10:00:30 missed the 10:00 data point."""
    dims = lb_dimension("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1")
    aws["cloudwatch"].put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[{"MetricName": "RequestCount", "Dimensions": dims, "Timestamp": START, "Value": 7.0}],
    )
    query = {
        "Id": "r",
        "MetricStat": {
            "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount", "Dimensions": dims},
            "Period": 60,
            "Stat": "Sum",
        },
    }
    resp = aws["cloudwatch"].get_metric_data(
        MetricDataQueries=[query], StartTime=START + timedelta(seconds=30), EndTime=START + timedelta(seconds=90)
    )
    (result,) = resp["MetricDataResults"]
    assert result["Values"] == [7.0]
    assert result["Timestamps"][0].replace(tzinfo=UTC) == START


# ------------------------------------------------------------------ quality of a side
def test_a_sides_quality_follows_the_image_it_runs() -> None:
    assert traffic.side_quality("public.ecr.aws/nginx/nginx:1.27-green") == traffic.HEALTHY
    assert traffic.side_quality("shop:bad") == traffic.BAD
    assert traffic.side_quality("registry:5000/team/shop:2.0-bad@sha256:abc") == traffic.BAD
    assert traffic.image_health("shop:2.0")
    assert not traffic.image_health("shop:2.0-bad")
    assert traffic.image_tag("shop") == "latest"
    traffic.IMAGE_QUALITIES[":2.1-slow"] = traffic.Quality(error_rate=0.2, latency=2.0)
    try:
        assert not traffic.image_health("shop:2.1-slow")
    finally:
        traffic.IMAGE_QUALITIES.clear()


def test_a_release_of_a_bad_image_makes_its_side_answer_5xx(aws: dict[str, Any], world: Surroundings) -> None:
    """By default the quality comes from the ECS service's current task definition."""
    set_weighted_pair(aws, world, blue=50, green=50)
    bad = aws["ecs"].register_task_definition(
        family="shop-green",
        containerDefinitions=[{"name": "web", "image": "public.ecr.aws/nginx/nginx:2.0-bad", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    aws["ecs"].update_service(cluster=world.cluster, service=world.green_service, taskDefinition=bad)
    clock = clock_for(world)
    assert clock.traffic is not None
    assert clock.traffic.image_of(world.green_lb_arn) == "public.ecr.aws/nginx/nginx:2.0-bad"
    clock.step(150)
    (green, *_) = clock.traffic.minutes("green")
    (blue, *_) = clock.traffic.minutes("blue")
    assert 0.4 < green.target_5xx / green.requests < 0.6
    assert blue.target_5xx / blue.requests < 0.01


# ------------------------------------------------------------------ DNS clients
def test_the_split_follows_the_weights_and_lags_by_the_ttl(aws: dict[str, Any], world: Surroundings) -> None:
    set_weighted_pair(aws, world, blue=100, green=0)
    clock = clock_for(world, clients=1000, rate=200.0)
    assert clock.traffic is not None
    t0 = clock.now()
    clock.step(120)
    assert clock.traffic.share("green", t0, clock.now()) == 0.0

    changed = clock.now()
    set_weighted_pair(aws, world, blue=50, green=50)
    at = [clock.step(15) for _ in range(8)]  # 2 minutes in 15 s steps
    shares = [clock.traffic.share("green", a - timedelta(seconds=15), a) for a in at]
    # Each client re-resolves when its cached answer expires (TTL 60 s, expiries spread over
    # one TTL): green's share climbs over one TTL, then holds at the weights.
    assert shares[0] < 0.15, shares
    assert shares[0] < shares[1] < shares[2] < shares[3], shares
    for later in shares[4:]:
        assert abs(later - 0.5) < 0.05, shares
    assert abs(clock.traffic.share("green", changed + timedelta(seconds=60), clock.now()) - 0.5) < 0.03
    held = clock.traffic.caching()
    assert abs(held["green"] / 1000 - 0.5) < 0.05

    set_weighted_pair(aws, world, blue=95, green=5)
    clock.step(60)
    clock.step(120)
    assert abs(clock.traffic.share("green", clock.now() - timedelta(seconds=120), clock.now()) - 0.05) < 0.015


def test_all_zero_weights_split_evenly(aws: dict[str, Any], world: Surroundings) -> None:
    set_weighted_pair(aws, world, blue=0, green=0)
    clock = clock_for(world, clients=1000, rate=200.0)
    assert clock.traffic is not None
    t0 = clock.now()
    clock.step(180)
    assert abs(clock.traffic.share("green", t0, clock.now()) - 0.5) < 0.05


def test_a_zero_weight_record_takes_the_traffic_when_the_weighted_one_is_unhealthy(
    aws: dict[str, Any], world: Surroundings
) -> None:
    """EvaluateTargetHealth on the alias: an ALB whose target group has no targets is
    unhealthy, so Route 53 answers with the zero-weight record. Clients that cached blue
    get the load balancer's own 503 until their TTL runs out."""
    set_weighted_pair(aws, world, blue=100, green=0)
    clock = clock_for(world)
    assert clock.traffic is not None
    clock.step(60)
    targets = aws["elbv2"].describe_target_health(TargetGroupArn=world.blue_tg_arn)["TargetHealthDescriptions"]
    aws["elbv2"].deregister_targets(TargetGroupArn=world.blue_tg_arn, Targets=[t["Target"] for t in targets])
    t0 = clock.now()
    clock.step(60)
    clock.step(120)
    assert clock.traffic.share("green", t0 + timedelta(seconds=60), clock.now()) == 1.0
    first_minute = clock.traffic.minutes("blue")[1]
    assert first_minute.elb_503 > 0
    assert first_minute.requests == 0
    cw = aws["cloudwatch"]
    got = cw.get_metric_statistics(
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_ELB_5XX_Count",
        Dimensions=lb_dimension(world.blue_lb_arn),
        StartTime=t0,
        EndTime=clock.now(),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(d["Sum"] for d in got) == sum(m.elb_503 for m in clock.traffic.minutes("blue"))


# ------------------------------------------------------------------ ALB metrics
def test_a_bad_sides_5xx_shows_in_get_metric_data_as_the_gate_reads_it(
    aws: dict[str, Any], world: Surroundings
) -> None:
    set_weighted_pair(aws, world, blue=50, green=50)
    clock = clock_for(world, publish_delay=30.0)
    assert clock.traffic is not None
    clock.traffic.set_quality("green", traffic.BAD)
    clock.traffic.set_quality("blue", traffic.Quality(error_rate=0.0))
    gate = CloudWatch(aws["cloudwatch"])  # the health gate's own adapter
    assert gate.alb_counts(world.green_lb_arn, clock.now(), 60) == (0.0, 0.0)  # no requests yet: no data
    clock.step(60 + 45)  # 10:01:45: the 10:00 minute was published at 10:01:30
    green_requests, green_errors = gate.alb_counts(world.green_lb_arn, clock.now(), 60)
    blue_requests, blue_errors = gate.alb_counts(world.blue_lb_arn, clock.now(), 60)
    assert 2000 < green_requests < 4000
    assert 0.4 < green_errors / green_requests < 0.6
    assert 2000 < blue_requests < 4000
    assert blue_errors == 0.0
    # A minute is published publish_delay after it ends: at 10:02:15 the 10:01 minute is
    # not there yet, and the gate's 60 s window (from 10:01:00) sees nothing.
    clock.step(30)
    assert gate.alb_counts(world.green_lb_arn, clock.now(), 60) == (0.0, 0.0)
    # A side without errors publishes no 5xx data point at all ("reported if nonzero").
    listed = aws["cloudwatch"].list_metrics(Namespace="AWS/ApplicationELB", Dimensions=lb_dimension(world.blue_lb_arn))
    names = {m["MetricName"] for m in listed["Metrics"]}
    assert {"RequestCount", "HTTPCode_Target_2XX_Count", "TargetResponseTime"} <= names
    assert "HTTPCode_Target_5XX_Count" not in names
    latency = aws["cloudwatch"].get_metric_statistics(
        Namespace="AWS/ApplicationELB",
        MetricName="TargetResponseTime",
        Dimensions=lb_dimension(world.green_lb_arn),
        StartTime=START,
        EndTime=clock.now(),
        Period=60,
        Statistics=["Average"],
    )["Datapoints"]
    assert latency
    assert all(0.2 < d["Average"] < 0.7 for d in latency)
    hosts = aws["cloudwatch"].get_metric_statistics(
        Namespace="AWS/ApplicationELB",
        MetricName="HealthyHostCount",
        Dimensions=[
            {"Name": "TargetGroup", "Value": world.green_tg_arn.split(":")[-1]},
            *lb_dimension(world.green_lb_arn),
        ],
        StartTime=START,
        EndTime=clock.now(),
        Period=60,
        Statistics=["Minimum"],
    )["Datapoints"]
    assert hosts
    assert all(d["Minimum"] == 2.0 for d in hosts)


def test_if_alb_data_arrives_over_a_minute_late_the_gates_window_never_sees_it(
    aws: dict[str, Any], world: Surroundings
) -> None:
    """A finding, not a model: the gate reads the last max(HealthPollSeconds, 60) s, and
    GetMetricData rounds that start down to the minute. A minute's data point is visible
    only while its minute is inside the window, so with a publication latency L it is seen
    in the last 60 - L seconds of the next minute, and never once L reaches 60 s. ALB's
    latency is not documented; publish_delay is the knob."""
    set_weighted_pair(aws, world, blue=50, green=50)
    clock = clock_for(world, publish_delay=75.0)
    assert clock.traffic is not None
    clock.traffic.set_quality("green", traffic.BAD)
    gate = CloudWatch(aws["cloudwatch"])
    seen = []
    for _ in range(40):  # 10 minutes of 15 s polls
        clock.step(15)
        seen.append(gate.alb_counts(world.green_lb_arn, clock.now(), 60))
    assert set(seen) == {(0.0, 0.0)}
    assert sum(m.target_5xx for m in clock.traffic.minutes("green")) > 5000  # the errors happened
    assert gate.alb_counts(world.green_lb_arn, clock.now(), 300)[1] > 0  # and a longer window sees them


# ------------------------------------------------------------------ alarms from the data
def test_an_alarm_goes_to_alarm_from_the_data_and_back_to_ok_with_its_events(
    aws: dict[str, Any], world: Surroundings
) -> None:
    set_weighted_pair(aws, world, blue=50, green=50)
    url = event_queue(aws)
    put_5xx_alarm(aws, "green-5xx-nb", world.green_lb_arn, TreatMissingData="notBreaching")
    clock = clock_for(world)
    assert clock.traffic is not None
    clock.traffic.set_quality("green", traffic.Quality(error_rate=0.0))
    clock.step(180)
    assert state(aws, "green-5xx-nb") == "OK"  # no 5xx data points: not breaching

    went_bad = clock.now()
    clock.traffic.set_quality("green", traffic.BAD)
    for _ in range(5):
        clock.step(60)
        if state(aws, "green-5xx-nb") == "ALARM":
            break
    assert state(aws, "green-5xx-nb") == "ALARM"
    # The bad minute ends, is published 30 s later, and the next whole-minute evaluation sees it.
    assert clock.now() - went_bad <= timedelta(minutes=2)
    # No DatapointsToAlarm: CloudWatch's short form, "1 datapoint [v (t)] was greater than ...".
    reason = aws["cloudwatch"].describe_alarms(AlarmNames=["green-5xx-nb"])["MetricAlarms"][0]["StateReason"]
    assert reason.startswith("Threshold Crossed: 1 datapoint [")
    assert reason.endswith(f"/{went_bad:%m/%y} {went_bad:%H:%M}:00)] was greater than the threshold (10.0).")

    clock.traffic.set_quality("green", traffic.Quality(error_rate=0.0))  # fixed: not a single 5xx
    clock.step(240)
    assert state(aws, "green-5xx-nb") == "OK"
    assert transitions(clock, "green-5xx-nb") == [("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM"), ("ALARM", "OK")]
    # The world's own alarm has no TreatMissingData ("missing"): once green's 5xx data
    # points stop (a side without errors reports none), it goes to INSUFFICIENT_DATA, not OK.
    assert transitions(clock, world.green_alarm)[-2:] == [
        ("INSUFFICIENT_DATA", "ALARM"),
        ("ALARM", "INSUFFICIENT_DATA"),
    ]

    # Each change went through the default bus and matched a rule on the documented pattern.
    delivered = [e for e in received(aws, url) if e["detail"]["alarmName"] == "green-5xx-nb"]
    assert [(e["detail"]["previousState"]["value"], e["detail"]["state"]["value"]) for e in delivered] == [
        ("INSUFFICIENT_DATA", "OK"),
        ("OK", "ALARM"),
        ("ALARM", "OK"),
    ]
    # The events as EventBridge delivers them (moto's SQS delivery drops "account" and
    # keeps "time" as a number; the emulator's record is the AWS shape).
    events = [e for e in alarms.EVENTS if e["detail"]["alarmName"] == "green-5xx-nb"]
    assert [e["detail"] for e in events] == [e["detail"] for e in delivered]
    alarm_event = events[1]
    assert alarm_event["source"] == "aws.cloudwatch"
    assert alarm_event["detail-type"] == "CloudWatch Alarm State Change"
    assert alarm_event["resources"] == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:green-5xx-nb"]
    assert alarm_event["account"] == ACCOUNT
    assert alarm_event["region"] == REGION
    (metric,) = alarm_event["detail"]["configuration"]["metrics"]
    assert metric["metricStat"] == {
        "metric": {
            "dimensions": {"LoadBalancer": alb_dimension(world.green_lb_arn)},
            "name": "HTTPCode_Target_5XX_Count",
            "namespace": "AWS/ApplicationELB",
        },
        "period": 60,
        "stat": "Sum",
    }
    assert metric["returnData"] is True
    detail_state = alarm_event["detail"]["state"]
    assert set(detail_state) == {"value", "reason", "reasonData", "timestamp"}
    data = json.loads(detail_state["reasonData"])
    assert data["statistic"] == "Sum"
    assert data["period"] == 60
    assert data["threshold"] == 10.0
    assert data["recentDatapoints"][0] > 10
    assert detail_state["timestamp"].endswith(".000+0000")
    assert alarm_event["time"] == detail_state["timestamp"][:19] + "Z"


def test_datapoints_to_alarm_two_of_three(aws: dict[str, Any], world: Surroundings) -> None:
    set_weighted_pair(aws, world, blue=50, green=50)
    put_5xx_alarm(
        aws,
        "green-2-of-3",
        world.green_lb_arn,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        TreatMissingData="notBreaching",
    )
    clock = clock_for(world)
    assert clock.traffic is not None
    clock.traffic.set_quality("green", traffic.Quality(error_rate=0.0))
    clock.step(120)
    clock.traffic.set_quality("green", traffic.BAD)
    clock.step(60)  # one bad minute
    clock.traffic.set_quality("green", traffic.Quality(error_rate=0.0))
    clock.step(300)
    assert "ALARM" not in {s for _, s in transitions(clock, "green-2-of-3")}
    assert state(aws, "green-2-of-3") == "OK"
    clock.traffic.set_quality("green", traffic.BAD)
    clock.step(120)  # two bad minutes, then the second one is published and evaluated
    clock.step(60)
    assert state(aws, "green-2-of-3") == "ALARM"
    reason = aws["cloudwatch"].describe_alarms(AlarmNames=["green-2-of-3"])["MetricAlarms"][0]["StateReason"]
    assert reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [")
    # M out of N, with the missing third period filled as TreatMissingData says.
    assert reason.endswith(
        "were greater than the threshold (10.0) and 1 missing datapoint was treated as [NonBreaching] "
        "(minimum 2 datapoints for OK -> ALARM transition)."
    )


def test_treat_missing_data_when_a_side_gets_no_traffic(aws: dict[str, Any], world: Surroundings) -> None:
    set_weighted_pair(aws, world, blue=100, green=0)
    for treatment in ("missing", "ignore", "breaching", "notBreaching"):
        put_5xx_alarm(aws, f"green-{treatment}", world.green_lb_arn, TreatMissingData=treatment)
    clock = clock_for(world)
    clock.step(300)
    assert {t: state(aws, f"green-{t}") for t in ("missing", "ignore", "breaching", "notBreaching")} == {
        "missing": "INSUFFICIENT_DATA",
        "ignore": "INSUFFICIENT_DATA",  # kept: the state it was created in
        "breaching": "ALARM",
        "notBreaching": "OK",
    }
    assert transitions(clock, "green-missing") == []
    assert transitions(clock, "green-ignore") == []
    reason = aws["cloudwatch"].describe_alarms(AlarmNames=["green-breaching"])["MetricAlarms"][0]["StateReason"]
    assert reason == (
        "Threshold Crossed: no datapoints were received for 1 period "
        "and 1 missing datapoint was treated as [Breaching]."
    )
    reason = aws["cloudwatch"].describe_alarms(AlarmNames=["green-notBreaching"])["MetricAlarms"][0]["StateReason"]
    assert reason.endswith("1 missing datapoint was treated as [NonBreaching].")


def test_alarms_it_cannot_evaluate_are_left_alone_and_listed(aws: dict[str, Any], world: Surroundings) -> None:
    latency = {"Namespace": "AWS/ApplicationELB", "MetricName": "TargetResponseTime"}
    aws["cloudwatch"].put_metric_alarm(
        AlarmName="diff",  # DIFF is metric math the emulator does not model (percentiles it does)
        Metrics=[
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {**latency, "Dimensions": lb_dimension(world.green_lb_arn)},
                    "Period": 60,
                    "Stat": "p99",
                },
                "ReturnData": False,
            },
            {"Id": "e1", "Expression": "DIFF(m1)", "ReturnData": True},
        ],
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    # moto 5.2.5 does not implement PutCompositeAlarm; its backend stores one as an alarm with a rule.
    cloudwatch_backends[ACCOUNT][REGION].put_metric_alarm(
        name="both",
        namespace=None,
        metric_name=None,
        comparison_operator=None,
        evaluation_periods=None,
        period=None,
        threshold=None,
        statistic=None,
        description=None,
        dimensions=[],
        alarm_actions=[],
        rule=f'ALARM("{world.green_alarm}")',
    )
    aws["cloudwatch"].set_alarm_state(AlarmName="both", StateValue="OK", StateReason="by hand")
    set_weighted_pair(aws, world, blue=50, green=50)
    clock = clock_for(world)
    clock.step(180)
    assert clock.alarms is not None
    assert clock.alarms.unsupported == {
        "diff": "metric math: the function DIFF is not supported by the emulator",
        "both": "composite alarm",
    }
    assert state(aws, "diff") == "INSUFFICIENT_DATA"
    composite = aws["cloudwatch"].describe_alarms(AlarmNames=["both"], AlarmTypes=["CompositeAlarm"])
    assert composite["CompositeAlarms"][0]["StateValue"] == "OK"


# ------------------------------------------------------------------ the clock
def test_the_ticker_runs_compressed_time_and_stops_cleanly(aws: dict[str, Any], world: Surroundings) -> None:
    set_weighted_pair(aws, world, blue=100, green=0)
    clock = clock_for(world, clients=100, rate=20.0)
    assert clock.traffic is not None
    clock.start(scale=1200.0)  # 20 simulated minutes a second
    try:
        assert patches.CLOCK.scale == pytest.approx(1 / 1200)  # a Wait state sleeps the same time
        with pytest.raises(RuntimeError, match="already running"):
            clock.start()
        deadline = time.monotonic() + 20
        while clock.elapsed < 240 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        clock.stop()
    assert not clock.running
    assert patches.CLOCK.scale == 0.0
    stopped_at = clock.elapsed
    assert stopped_at >= 240
    time.sleep(0.1)
    assert clock.elapsed == stopped_at
    assert len(clock.traffic.minutes("blue")) >= 3
    clock.step(60)  # stepping by hand still works after the ticker
    assert clock.elapsed == stopped_at + 60
    clock.stop()  # stopping twice is harmless


def test_following_waits_lets_each_wait_states_seconds_pass(aws: dict[str, Any], world: Surroundings) -> None:
    set_weighted_pair(aws, world, blue=100, green=0)
    clock = clock_for(world)
    with clock.following_waits():
        patches.CLOCK.record(patches.Wait("wait", "Bake and watch health", 15.0, "arn:aws:states:x"))
        patches.CLOCK.record(patches.Wait("retry", "Shift", 2.0, "arn:aws:states:x"))  # retries take no time
        assert clock.now() == START + timedelta(seconds=15)
    patches.CLOCK.record(patches.Wait("wait", "Bake and watch health", 15.0, "arn:aws:states:x"))
    assert clock.now() == START + timedelta(seconds=15)


def test_metric_data_older_than_cloudwatch_keeps_is_dropped(aws: dict[str, Any], world: Surroundings) -> None:
    set_weighted_pair(aws, world, blue=100, green=0)
    clock = clock_for(world, clients=10, rate=1.0)
    clock.step(180)
    backend = cloudwatch_backends[ACCOUNT][REGION]

    def alb_data() -> list[Any]:  # the clock's Route 53 health-check metrics share the us-east-1 backend
        return [d for d in backend.metric_data if d.namespace == traffic.NAMESPACE]

    assert any(d.timestamp == START.replace(tzinfo=None) for d in alb_data())
    assert clock.traffic is not None
    clock.traffic.prune(START.timestamp() + traffic.RETENTION_SECONDS + 30)
    assert not any(d.timestamp == START.replace(tzinfo=None) for d in alb_data())
    assert any(d.timestamp == (START + timedelta(minutes=1)).replace(tzinfo=None) for d in alb_data())


def test_a_long_running_emulator_gets_traffic_on_a_compressed_clock() -> None:
    """Server mode, as a person runs it: a moto server on 127.0.0.1, the ticker in the
    background, and any client reading the ALB metrics and the alarms over HTTP."""
    from weightshift_emulator.server import start_emulator

    with start_emulator() as emulator:
        aws = emulator.clients()
        world = build_surroundings(aws)
        set_weighted_pair(aws, world, blue=50, green=50)
        clock = simclock.for_surroundings(world, rate=20.0, clients=100)
        assert clock.traffic is not None
        clock.traffic.set_quality("green", traffic.BAD)
        clock.start(scale=1200.0)
        try:
            deadline = time.monotonic() + 30
            while state(aws, world.green_alarm) != "ALARM" and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            clock.stop()
        assert state(aws, world.green_alarm) == "ALARM"
        requests, errors = CloudWatch(aws["cloudwatch"]).alb_counts(world.green_lb_arn, clock.now(), 600)
        assert requests > 0
        assert errors / requests > 0.3
