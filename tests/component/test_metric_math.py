"""Metric math, percentiles and metric-math alarms in the emulator, against the CloudWatch
User Guide's own examples ("Metric math syntax and functions", "Using IF expressions":
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html) and
the GetMetricStatistics API reference's rule for percentiles of statistic sets. Sources for
each modelled behaviour are beside the code (``metric_math.py``, ``metric_data.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from weightshift.models import alb_dimension
from weightshift_emulator import alarms, simclock, traffic
from weightshift_emulator.metric_math import Context, MetricMathError, evaluate, evaluate_all, parse
from weightshift_emulator.world import Surroundings, set_weighted_pair

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
T = [datetime(2026, 1, 1, 0, i) for i in range(5)]
NS = "Test/Math"


def ts(*values: float | None) -> dict[datetime, float]:
    """A series over T from the guide's notation (None is the guide's "-")."""
    return {T[i]: float(v) for i, v in enumerate(values) if v is not None}


def listed(series: dict[datetime, float], n: int = 4) -> list[float | None]:
    return [series.get(T[i]) for i in range(n)]


def run(expression: str, **series: dict[datetime, float]) -> dict[datetime, float]:
    return evaluate(expression, Context(series, tuple(series), {k: 60 for k in series}, T[:4]))


# ------------------------------------------------------------------ the guide's tables
GUIDE = {"metric1": ts(30, 20, 0, 0), "metric2": ts(20, None, 20, None)}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("(metric1 < metric2)", [0, 0, 1, 0]),
        ("(metric1 >= 30)", [1, 0, 0, 0]),
        ("(metric1 > 15 AND metric2 > 15)", [1, 0, 0, 0]),
        ("metric1 > 15 && metric2 > 15", [1, 0, 0, 0]),
        ("metric1 > 25 || metric2 > 15", [1, 0, 1, 0]),
    ],
)
def test_comparison_and_logical_operators_as_the_guides_table(expression: str, expected: list[float]) -> None:
    assert listed(run(expression, **GUIDE)) == expected


IFS = {"metric1": ts(1, 1, 0, 0, None), "metric2": ts(30, None, 0, 0, 30), "metric3": ts(0, 0, 20, None, 20)}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("IF(metric1, metric2, metric3)", [30, 0, 20, None, None]),
        ("IF(metric1, 5, metric3)", [5, 5, 20, None, None]),
        ("IF(metric1, metric2, 5)", [30, 0, 5, 5, None]),
        ("IF(metric1, metric2)", [30, 0, None, None, None]),  # no falseValue: false points are dropped
        ("IF(1, metric2, metric3)", [30, None, 0, 0, 30]),
        ("IF(0, metric2)", [None] * 5),  # "an empty time series"
    ],
)
def test_if_as_the_guides_tables(expression: str, expected: list[float | None]) -> None:
    assert listed(run(expression, **IFS), 5) == expected


def test_missing_values_are_0_and_a_division_by_zero_drops_the_point() -> None:
    m1, m2 = ts(10, 20, None, 8), ts(2, None, 3, 0)
    assert listed(run("m1 + m2", m1=m1, m2=m2)) == [12, 20, 3, 8]  # union of timestamps, missing as 0
    assert listed(run("m1 / m2", m1=m1, m2=m2)) == [5, None, 0, None]  # 20/0 and 8/0 dropped
    assert listed(run("-m1 * 2 ^ 2 + 1", m1=m1)) == [-39, -79, None, -31]
    assert listed(run("m1 - AVG(m1)", m1=m1)) == pytest.approx([-8 / 3, 22 / 3, None, -14 / 3])
    assert listed(run("ABS(m1 - MAX(m1))", m1=m1)) == [10, 0, None, 12]
    assert listed(run("m1 / SUM(m1) * 38", m1=m1)) == [10, 20, None, 8]


def test_fill_fills_the_request_grid_and_time_series_is_non_sparse() -> None:
    m1 = ts(1, None, None, 4)
    assert listed(run("FILL(m1, 0)", m1=m1)) == [1, 0, 0, 4]
    assert listed(run("TIME_SERIES(7)", m1=m1)) == [7, 7, 7, 7]
    assert listed(run("m1 / PERIOD(m1)", m1=ts(60, None, 120, None))) == [1, None, 2, None]


def test_arrays_and_metrics() -> None:
    series = {"errors_a": ts(1, 2, None, 4), "errors_b": ts(1, None, 3, 4), "req": ts(10, 10, 10, 10)}
    assert listed(run("SUM([errors_a, errors_b])", **series)) == [2, 2, 3, 8]
    assert listed(run('SUM(METRICS("errors"))', **series)) == [2, 2, 3, 8]
    assert listed(run("AVG(METRICS())", **series)) == [4, 4, 13 / 3, 6]
    assert listed(run("SUM(FILL(METRICS(), 0) * 10)", **series)) == [120, 120, 130, 180]


def test_the_stack_alarms_expression() -> None:
    """target 5xx rate above 1% and above twice the live side's (live only when it has 50 requests)."""
    expression = (
        "IF(t_req >= 50 AND FILL(t_err,0)/t_req > IF(l_req >= 50, FILL(l_err,0)/l_req*2, 0) "
        "AND FILL(t_err,0)/t_req > 0.01, 1, 0)"
    )
    series = {
        "t_req": ts(100, 100, 40, 100, None),
        "t_err": ts(5, None, 10, 3, None),
        "l_req": ts(100, 100, 100, 10, None),
        "l_err": ts(1, None, 0, 9, None),
    }
    got = run(expression, **series)
    # 5% > 2% and > 1%; 0% errors; too few target requests; live below 50 requests: no comparison;
    # the newest minute has no data yet: no point at all.
    assert listed(got, 5) == [1, 0, 0, 1, None]


@pytest.mark.parametrize(
    "expression",
    [
        "m1 +* 2",
        "NOT(m1 > 1)",
        "!m1",
        "DIFF(m1)",
        "FILL(m1, REPEAT)",
        "FILL(m1, LINEAR)",
        "M1 + 1",
        "fill(m1, 0)",
        "1e3 * m1",
        "(m1 + 1",
        "",
        'SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2")',
    ],
)
def test_what_is_not_modelled_is_an_error_not_data(expression: str) -> None:
    with pytest.raises(MetricMathError):
        run(expression, m1=ts(1, 2, 3, 4))


def test_a_final_scalar_an_unknown_id_and_a_cycle_are_errors() -> None:
    with pytest.raises(MetricMathError, match="time series"):
        run("AVG(m1)", m1=ts(1))
    with pytest.raises(MetricMathError, match="unknown Id"):
        evaluate_all({"e1": "m2 * 2"}, {"m1": ts(1)}, {"m1": 60}, T)
    with pytest.raises(MetricMathError, match="cycle"):
        evaluate_all({"e1": "e2 + 1", "e2": "e1 + 1"}, {"m1": ts(1)}, {"m1": 60}, T)
    assert parse("m1*2") == parse("m1 * 2")


# ------------------------------------------------------------------ GetMetricData through boto3
def put(aws: dict[str, Any], name: str, minute: int, **datum: Any) -> None:
    aws["cloudwatch"].put_metric_data(
        Namespace=NS,
        MetricData=[{"MetricName": name, "Timestamp": START + timedelta(minutes=minute), **datum}],
    )


def stat(qid: str, name: str, statistic: str = "Sum", **extra: Any) -> dict[str, Any]:
    metric = {"Namespace": NS, "MetricName": name}
    return {"Id": qid, "MetricStat": {"Metric": metric, "Period": 60, "Stat": statistic}, **extra}


def get(aws: dict[str, Any], queries: list[dict[str, Any]], minutes: int = 4, **kw: Any) -> dict[str, Any]:
    resp = aws["cloudwatch"].get_metric_data(
        MetricDataQueries=queries, StartTime=START, EndTime=START + timedelta(minutes=minutes), **kw
    )
    return {r["Id"]: r for r in resp["MetricDataResults"]}


def test_get_metric_data_evaluates_expressions_over_hidden_queries(aws: dict[str, Any]) -> None:
    for minute, (req, err) in enumerate([(100, 5), (200, 0), (50, None)]):
        put(aws, "Requests", minute, Value=float(req))
        if err is not None:
            put(aws, "Errors", minute, Value=float(err))
    queries = [
        stat("req", "Requests", ReturnData=False),
        stat("err", "Errors", ReturnData=False),
        {"Id": "rate", "Expression": "FILL(err, 0) / req * 100", "Label": "error %"},
        {"Id": "twice", "Expression": "rate * 2"},
    ]
    got = get(aws, queries)
    assert set(got) == {"rate", "twice"}  # only the ReturnData queries
    rate = got["rate"]
    assert rate["Label"] == "error %"
    assert rate["StatusCode"] == "Complete"
    assert rate["Values"] == [0.0, 0.0, 5.0]  # newest first: the default ScanBy is TimestampDescending
    assert [t.replace(tzinfo=UTC) for t in rate["Timestamps"]] == [START + timedelta(minutes=m) for m in (2, 1, 0)]
    assert got["twice"]["Label"] == "twice"
    assert got["twice"]["Values"] == [0.0, 0.0, 10.0]
    ascending = get(aws, queries, ScanBy="TimestampAscending")["rate"]
    assert ascending["Values"] == [5.0, 0.0, 0.0]


def test_an_unsupported_or_bad_expression_is_a_validation_error(aws: dict[str, Any]) -> None:
    put(aws, "Requests", 0, Value=1.0)
    for expression in ("DIFF(req)", "req +* 2", "AVG(req)", "nope * 2"):
        with pytest.raises(ClientError) as caught:
            get(aws, [stat("req", "Requests", ReturnData=False), {"Id": "e1", "Expression": expression}])
        assert caught.value.response["Error"]["Code"] == "ValidationError", expression
    with pytest.raises(ClientError, match="not unique"):
        get(aws, [stat("req", "Requests"), stat("req", "Requests")])


def test_percentiles_from_values_and_counts(aws: dict[str, Any]) -> None:
    put(aws, "Latency", 0, Values=[0.1, 0.2, 0.3, 5.0], Counts=[50, 40, 9, 1], Unit="Seconds")
    put(aws, "Latency", 1, StatisticValues={"SampleCount": 10, "Sum": 10, "Minimum": 0.5, "Maximum": 2.0})
    put(aws, "Latency", 2, StatisticValues={"SampleCount": 4, "Sum": 2, "Minimum": 0.5, "Maximum": 0.5})
    put(aws, "Latency", 3, Value=0.7)
    got = get(
        aws,
        [stat(f"p{p.replace('.', '')}", "Latency", f"p{p}") for p in ("50", "90", "99", "99.9")]
        + [
            stat("n", "Latency", "SampleCount"),
            stat("avg", "Latency", "Average"),
        ],
        ScanBy="TimestampAscending",
    )
    minutes = lambda r: [round((t.replace(tzinfo=UTC) - START).total_seconds() / 60) for t in r["Timestamps"]]  # noqa: E731
    # Minute 1 is a statistic set with Minimum != Maximum: no percentile for it.
    assert minutes(got["p50"]) == [0, 2, 3]
    assert got["p50"]["Values"] == [0.1, 0.5, 0.7]
    assert got["p90"]["Values"] == [0.2, 0.5, 0.7]
    assert got["p99"]["Values"] == [0.3, 0.5, 0.7]
    assert got["p999"]["Values"] == [5.0, 0.5, 0.7]
    assert got["n"]["Values"] == [100.0, 10.0, 4.0, 1.0]  # the counts are samples, as published
    assert got["avg"]["Values"][0] == pytest.approx((5 + 8 + 2.7 + 5) / 100)


def test_no_percentiles_for_a_metric_with_a_negative_value(aws: dict[str, Any]) -> None:
    put(aws, "Delta", 0, Values=[1.0, 2.0])
    put(aws, "Delta", 1, Value=-1.0)
    got = get(aws, [stat("p", "Delta", "p50"), stat("s", "Delta", "Sum")])
    assert got["p"]["Values"] == []
    assert got["s"]["Values"] == [-1.0, 3.0]


def test_a_values_array_of_more_than_150_values_is_refused(aws: dict[str, Any]) -> None:
    with pytest.raises(ClientError, match="150"):
        put(aws, "Latency", 0, Values=[float(i) for i in range(151)])


def test_get_metric_statistics_still_reads_a_distribution(aws: dict[str, Any]) -> None:
    put(aws, "Latency", 0, Values=[0.1, 0.3], Counts=[3, 1])
    (point,) = aws["cloudwatch"].get_metric_statistics(
        Namespace=NS,
        MetricName="Latency",
        StartTime=START,
        EndTime=START + timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount", "Sum", "Maximum"],
    )["Datapoints"]
    assert (point["SampleCount"], point["Sum"], point["Maximum"]) == (4.0, pytest.approx(0.6), 0.3)


# ------------------------------------------------------------------ ALB data: percentiles and a math alarm
def lb_dimension(arn: str) -> list[dict[str, str]]:
    return [{"Name": "LoadBalancer", "Value": alb_dimension(arn)}]


def alb_stat(qid: str, arn: str, name: str, statistic: str = "Sum") -> dict[str, Any]:
    metric = {"Namespace": "AWS/ApplicationELB", "MetricName": name, "Dimensions": lb_dimension(arn)}
    return {"Id": qid, "MetricStat": {"Metric": metric, "Period": 60, "Stat": statistic}, "ReturnData": False}


def green_serving_badly(aws: dict[str, Any], world: Surroundings) -> simclock.SimClock:
    """The pair split 50/50, 500 clients on a clock at 100x, and green serving badly
    (traffic.BAD: errors, and a mean response time of 0.4 s)."""
    set_weighted_pair(aws, world, blue=50, green=50)
    clock = simclock.for_surroundings(world, start=START, rate=100.0, clients=500)
    assert clock.traffic is not None
    clock.traffic.set_quality("green", traffic.BAD)
    return clock


def test_target_response_time_percentiles_from_the_traffic(aws: dict[str, Any], world: Surroundings) -> None:
    clock = green_serving_badly(aws, world)
    clock.step(60 * 4)
    queries = [
        {**alb_stat(f"q{p}", world.green_lb_arn, "TargetResponseTime", f"p{p}"), "ReturnData": True}
        for p in ("50", "90", "99")
    ] + [
        {**alb_stat("n", world.green_lb_arn, "TargetResponseTime", "SampleCount"), "ReturnData": True},
        {**alb_stat("req", world.green_lb_arn, "RequestCount"), "ReturnData": True},
    ]
    resp = aws["cloudwatch"].get_metric_data(
        MetricDataQueries=queries, StartTime=START, EndTime=clock.now(), ScanBy="TimestampAscending"
    )
    got = {r["Id"]: r["Values"] for r in resp["MetricDataResults"]}
    assert len(got["q50"]) == 3
    for p50, p90, p99 in zip(got["q50"], got["q90"], got["q99"], strict=True):
        assert 0.2 < p50 < p90 < p99 < 3.0
    assert got["n"] == got["req"]  # SampleCount is the request count
    first = clock.traffic.minutes("green")[0]
    total = aws["cloudwatch"].get_metric_data(
        MetricDataQueries=[{**alb_stat("s", world.green_lb_arn, "TargetResponseTime"), "ReturnData": True}],
        StartTime=START,
        EndTime=START + timedelta(minutes=1),
    )["MetricDataResults"][0]["Values"]
    assert total == [pytest.approx(first.latency_sum)]  # Sum is the minute's total latency


def test_a_metric_math_alarm_on_two_albs_goes_to_alarm_and_back(aws: dict[str, Any], world: Surroundings) -> None:
    expression = (
        "IF(t_req >= 50 AND FILL(t_err,0)/t_req > IF(l_req >= 50, FILL(l_err,0)/l_req*2, 0) "
        "AND FILL(t_err,0)/t_req > 0.01, 1, 0)"
    )
    aws["cloudwatch"].put_metric_alarm(
        AlarmName="green-worse-than-blue",
        Metrics=[
            alb_stat("t_req", world.green_lb_arn, "RequestCount"),
            alb_stat("t_err", world.green_lb_arn, "HTTPCode_Target_5XX_Count"),
            alb_stat("l_req", world.blue_lb_arn, "RequestCount"),
            alb_stat("l_err", world.blue_lb_arn, "HTTPCode_Target_5XX_Count"),
            {"Id": "worse", "Expression": expression, "Label": "green worse", "ReturnData": True},
        ],
        EvaluationPeriods=2,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    clock = green_serving_badly(aws, world)
    assert clock.traffic is not None
    assert clock.alarms is not None
    clock.traffic.set_quality("blue", traffic.Quality(error_rate=0.0))
    clock.step(60 * 4)
    assert clock.alarms.unsupported == {}
    described = aws["cloudwatch"].describe_alarms(AlarmNames=["green-worse-than-blue"])["MetricAlarms"][0]
    assert described["StateValue"] == "ALARM"
    # The first evaluation with data saw one real point (the newest minute is not published
    # yet): the guide's "X -" case, ALARM because the oldest evaluated point breaches.
    assert described["StateReason"].startswith("Threshold Crossed: 1 datapoint [1.0 (")
    assert "statistic" not in json.loads(described["StateReasonData"])
    (change,) = [c for c in clock.alarms.changes if c.alarm == "green-worse-than-blue"]
    metrics = change.event["detail"]["configuration"]["metrics"]
    assert {"id": "worse", "expression": expression, "label": "green worse", "returnData": True} in metrics
    assert any(m["id"] == "t_req" and m["metricStat"]["stat"] == "Sum" and not m["returnData"] for m in metrics)
    clock.traffic.set_quality("green", traffic.Quality(error_rate=0.0))
    clock.step(60 * 4)
    assert (
        aws["cloudwatch"].describe_alarms(AlarmNames=["green-worse-than-blue"])["MetricAlarms"][0]["StateValue"] == "OK"
    )
    assert [(c.previous, c.state) for c in clock.alarms.changes if c.alarm == "green-worse-than-blue"] == [
        ("INSUFFICIENT_DATA", "ALARM"),
        ("ALARM", "OK"),
    ]
    assert alarms.EVENTS


def test_a_percentile_alarm_is_evaluated(aws: dict[str, Any], world: Surroundings) -> None:
    aws["cloudwatch"].put_metric_alarm(
        AlarmName="green-p99",
        Namespace="AWS/ApplicationELB",
        MetricName="TargetResponseTime",
        Dimensions=lb_dimension(world.green_lb_arn),
        ExtendedStatistic="p99",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0.3,
        ComparisonOperator="GreaterThanThreshold",
    )
    clock = green_serving_badly(aws, world)
    assert clock.traffic is not None
    assert clock.alarms is not None
    clock.step(60 * 3)
    assert clock.alarms.unsupported == {}
    described = aws["cloudwatch"].describe_alarms(AlarmNames=["green-p99"])["MetricAlarms"][0]
    assert described["StateValue"] == "ALARM"
    assert json.loads(described["StateReasonData"])["statistic"] == "p99"
