"""CloudWatch alarms that change state from their metric data, as CloudWatch evaluates them.

moto stores alarms and metric data but never evaluates an alarm: an alarm stays in the
state it was created in (OK, where AWS says INSUFFICIENT_DATA) until a test calls
SetAlarmState. This module adds what CloudWatch does, on the emulator's simulated clock
(``simclock.py`` drives :meth:`AlarmEvaluator.evaluate` once a simulated minute):

- **Evaluation** (:func:`evaluate_points`): the rules of "Evaluating an alarm" and "How
  alarm state is evaluated when data is missing" in the CloudWatch User Guide
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html,
  source text in awsdocs/amazon-cloudwatch-user-guide, doc_source/AlarmThatSendsEmail.md):
  Period, EvaluationPeriods (N), DatapointsToAlarm (M, "M out of N", default N),
  ComparisonOperator, Threshold, Statistic, TreatMissingData (missing, the default;
  notBreaching; breaching; ignore). CloudWatch "attempts to retrieve a higher number of
  data points than specified by Evaluation Periods" (the *evaluation range*); when at least
  N of them exist the most recent N existing ones are evaluated and TreatMissingData is not
  used; otherwise missing ones are filled "only as few times as possible". Both tables of
  that page are reproduced exactly by ``tests/unit/test_alarm_evaluation.py``, including
  its one surprise: with ``missing``, ``X - - - -`` (3 of 3) goes to ALARM while
  ``- - - - X`` gives INSUFFICIENT_DATA ("because the oldest evaluated data point is
  breaching and there aren't any non-breaching data points").
- **Timing.** An alarm is evaluated every minute; its periods end at the minute of the
  evaluation: the guide's example evaluated at 17:04:40 a 300 s period starting 16:59:00
  (doc_source/cloudwatch-and-eventbridge.md). Data published late (``traffic.py``
  publishes a minute's ALB data ``publish_delay`` after it ends) is simply missing at
  that evaluation, and the missing-data rules above apply, as they do on AWS.
- **StateReason / StateReasonData**, worded as CloudWatch words them: "Threshold Crossed: 1
  out of the last 1 datapoints [99.5 (02/10/19 16:59:00)] was greater than the threshold
  (50.0) (minimum 1 datapoint for OK -> ALARM transition).", "... were not greater than
  ... (minimum 1 datapoint for ALARM -> OK transition).", "Insufficient Data: 1 datapoint
  was unknown." (the guide's event examples; the INSUFFICIENT_DATA wording and the
  ``evaluatedDatapoints`` field as real alarms write them, seen in alarm notifications
  quoted in public repositories).
- **The "CloudWatch Alarm State Change" event** (:func:`state_change_event`), put on the
  default event bus the moment an alarm changes state, with the documented shape:
  ``source: aws.cloudwatch``, ``resources: [alarm ARN]``, ``detail.alarmName``,
  ``detail.state`` and ``detail.previousState`` (value, reason, reasonData, timestamp),
  ``detail.configuration`` (description, metrics[] with metricStat). "CloudWatch sends
  events to Amazon EventBridge whenever a CloudWatch alarm ... changes alarm state":
  SetAlarmState included, so the patched SetAlarmState emits it too.

Patches to moto (:func:`install`, one test each in ``tests/component/test_traffic.py``):

- A new alarm starts in INSUFFICIENT_DATA with reason "Unchecked: Initial alarm creation"
  (AWS::CloudWatch::Alarm reference: "When this operation creates an alarm, the alarm
  state is immediately set to INSUFFICIENT_DATA"); moto starts it in OK. An update
  ("When you update an existing alarm, its state is left unchanged") keeps the state;
  moto resets it.
- SetAlarmState emits the state-change event. Its state "lasts only until the next alarm
  comparison occurs" (the guide): the evaluator, if running, overrides it at the next minute.
- GetMetricData rounds StartTime down to the whole minute ("Start time less than 15 days
  ago - Round down to the nearest whole minute", or to the 5/10/20/30 s division for those
  periods; GetMetricData API reference). moto does not, so a 60 s window that starts
  mid-minute missed the minute CloudWatch returns. The 15- and 63-day coarser roundings
  are not modelled. GetMetricData itself (metric math, percentiles) and PutMetricData's
  Values/Counts are :mod:`metric_data`'s, installed from here.

- **Percentile and metric-math alarms** are evaluated by the same rule: an
  ExtendedStatistic (``p99``) alarm, or a Metrics alarm whose one MetricStat has a
  percentile Stat, takes each period's percentile as :mod:`metric_data` computes it for
  GetMetricData (a period without usable raw values is a missing point); a metric-math
  alarm (Metrics with Expression queries, exactly one with ReturnData) takes the
  ReturnData expression's series over the evaluation range, evaluated by
  :mod:`metric_math` exactly as GetMetricData would with StartTime at the range's start
  (so FILL fills the newest minute that has no data yet, the alarm caveat the guide
  gives for FILL). The period is the ReturnData query's Period, else the smallest
  MetricStat Period. The state-change event lists every query, expression entries with
  ``expression`` (the guide's sample event, cloudwatch-and-eventbridge.md); the
  StateReasonData of a math alarm has no ``statistic``.

Not modelled (an alarm of these kinds is left in its state and listed in
:attr:`AlarmEvaluator.unsupported`, so a test can see it is not evaluated): a statistic
or an expression outside what :mod:`metric_data` / :mod:`metric_math` model (trimmed
means, FILL REPEAT, DIFF...), anomaly detection, Metrics Insights; composite alarms
are never touched (their state stays whatever SetAlarmState made it). Alarm actions (SNS)
and "CloudWatch Alarm Configuration Change" events are not sent. High-resolution alarms
(Period 10 or 30 s) are evaluated once a minute, not every period. The size of the
evaluation range is documented only by example (5 data points for 3 evaluation periods):
N + 2 is used for every N.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import moto.cloudwatch.models as cw_models
from moto.cloudwatch.exceptions import InvalidFormat, ValidationError
from moto.cloudwatch.models import cloudwatch_backends
from moto.events.models import events_backends

from weightshift_emulator import metric_data, metric_math, patches
from weightshift_emulator.world import ACCOUNT, REGION

LOG = logging.getLogger("weightshift_emulator")

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
INITIAL_REASON = "Unchecked: Initial alarm creation"
DETAIL_TYPE = "CloudWatch Alarm State Change"
SOURCE = "aws.cloudwatch"
# Extra periods CloudWatch retrieves beyond EvaluationPeriods (the guide's one example: 5 for 3).
EVALUATION_RANGE_EXTRA = 2

COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
STATISTICS = metric_data.BASIC_STATISTICS


# ------------------------------------------------------------------ the evaluation rule
@dataclass(frozen=True)
class Outcome:
    """An evaluation's result: the state (``None``: keep the current one, TreatMissingData
    ``ignore``), the evaluated periods (indexes into the range, oldest first, existing ones
    and the missing ones filled in), and which of them breach."""

    state: str | None
    evaluated: tuple[int, ...]
    breaching: tuple[int, ...]


def evaluate_points(
    points: Sequence[float | None],
    evaluation_periods: int,
    datapoints_to_alarm: int,
    breaches: Callable[[float], bool],
    treat_missing_data: str = "missing",
) -> Outcome:
    """The state an alarm's data gives. ``points`` is the evaluation range, oldest first,
    one value per period (``None``: no data in that period).

    As the guide states it: if at least N data points exist in the range, the most recent
    N existing ones are evaluated and TreatMissingData is not used. Otherwise every real
    data point in the range is evaluated, with the missing periods nearest now filled in,
    as few as needed to make N. Then: fewer than M breaching gives OK, else ALARM, with a
    missing point counted as TreatMissingData says. For ``missing`` and ``ignore`` the
    guide's tables also say: a non-breaching real point makes it OK; no real point at all
    gives INSUFFICIENT_DATA (``ignore``: the state is kept); only breaching real points,
    fewer than M, give ALARM when the oldest evaluated point is one of them, else
    INSUFFICIENT_DATA (``ignore``: kept in both cases)."""
    n, m = evaluation_periods, datapoints_to_alarm
    existing = [i for i, p in enumerate(points) if p is not None]
    if len(existing) >= n:
        evaluated = existing[-n:]
        breaching = tuple(i for i in evaluated if breaches(points[i]))  # type: ignore[arg-type]
        return Outcome(ALARM if len(breaching) >= m else OK, tuple(evaluated), breaching)
    missing = [i for i, p in enumerate(points) if p is None]
    fills = missing[len(missing) - (n - len(existing)) :] if n > len(existing) else []
    evaluated = sorted(existing + fills)
    real_breaching = tuple(i for i in existing if breaches(points[i]))  # type: ignore[arg-type]
    real_ok = len(existing) - len(real_breaching)
    if treat_missing_data == "breaching":
        breaching = tuple(sorted(real_breaching + tuple(fills)))
        return Outcome(ALARM if len(breaching) >= m else OK, tuple(evaluated), breaching)
    if treat_missing_data == "notBreaching":
        return Outcome(ALARM if len(real_breaching) >= m else OK, tuple(evaluated), real_breaching)
    keep = treat_missing_data == "ignore"
    if len(real_breaching) >= m:
        state: str | None = ALARM
    elif real_ok > 0:
        state = OK
    elif not existing:
        state = None if keep else INSUFFICIENT_DATA
    elif points[evaluated[0]] is not None:  # the oldest evaluated point is a breaching one
        state = None if keep else ALARM
    else:
        state = None if keep else INSUFFICIENT_DATA
    return Outcome(state, tuple(evaluated), real_breaching)


# ------------------------------------------------------------------ time formats
def _naive(when: datetime) -> datetime:
    """moto keeps metric and alarm timestamps as naive UTC."""
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def _cw_time(when: datetime) -> str:
    """CloudWatch's timestamp format in reasons and events: 2019-10-02T17:04:40.989+0000."""
    when = _naive(when)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def _reason_time(when: datetime) -> str:
    """A datapoint's time in a StateReason: (02/10/19 16:59:00)."""
    return _naive(when).strftime("%d/%m/%y %H:%M:%S")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def now_sim() -> datetime:
    """The emulator's current time (``patches.SIM_TIME``: simulated while a simulation runs)."""
    return patches.SIM_TIME.now()


# ------------------------------------------------------------------ events
@dataclass
class StateChange:
    """One state change of one alarm, and the event CloudWatch sent for it."""

    alarm: str
    previous: str
    state: str
    reason: str
    when: datetime
    event: dict[str, Any]


# Every "CloudWatch Alarm State Change" event the emulator put on the bus (as EventBridge
# delivers it), most recent last; bounded for a long-running emulator.
EVENTS: deque[dict[str, Any]] = deque(maxlen=10_000)
LISTENERS: list[Callable[[dict[str, Any]], None]] = []
_STATE_LOCK = threading.RLock()


def _configuration(alarm: Any) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if alarm.description:
        config["description"] = alarm.description
    metrics: list[dict[str, Any]] = []
    if alarm.metric_data_queries:
        for query in alarm.metric_data_queries:
            entry: dict[str, Any] = {"id": query.id}
            if query.expression:
                entry["expression"] = query.expression
            if query.label:
                entry["label"] = query.label
            stat = query.metric_stat
            if stat is not None:
                entry["metricStat"] = {
                    "metric": {
                        "dimensions": {d.name: d.value for d in stat.metric.dimensions},
                        "name": stat.metric.metric_name,
                        "namespace": stat.metric.namespace,
                    },
                    "period": int(stat.period),
                    "stat": stat.stat,
                }
            entry["returnData"] = query.return_data is None or str(query.return_data).lower() == "true"
            metrics.append(entry)
    elif alarm.metric_name:
        metrics.append(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn)),
                "metricStat": {
                    "metric": {
                        "dimensions": {d.name: d.value for d in alarm.dimensions},
                        "name": alarm.metric_name,
                        "namespace": alarm.namespace,
                    },
                    "period": int(alarm.period),
                    "stat": alarm.statistic or alarm.extended_statistic,
                },
                "returnData": True,
            }
        )
    if metrics:
        config["metrics"] = metrics
    if alarm.rule:
        config["alarmRule"] = alarm.rule
    return config


def _state_block(value: str, reason: str, reason_data: str | None, when: datetime) -> dict[str, Any]:
    block = {"value": value, "reason": reason, "timestamp": _cw_time(when)}
    if reason_data and reason_data != "{}":
        block["reasonData"] = reason_data
    return block


def state_change_event(
    alarm: Any, previous: dict[str, Any], region: str = REGION, account: str = ACCOUNT
) -> dict[str, Any]:
    """The "CloudWatch Alarm State Change" event for ``alarm``'s current state, as
    EventBridge delivers it (the CloudWatch User Guide's sample, cloudwatch-and-eventbridge.md)."""
    when = alarm.state_updated_timestamp
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": _naive(when).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [alarm.alarm_arn],
        "detail": {
            "alarmName": alarm.name,
            "configuration": _configuration(alarm),
            "previousState": _state_block(
                previous["value"], previous["reason"], previous.get("reasonData"), previous["timestamp"]
            ),
            "state": _state_block(alarm.state_value, alarm.state_reason, alarm.state_reason_data, when),
        },
    }


def emit(event: dict[str, Any]) -> None:
    """Put ``event`` on the default bus (so rules and their targets see it), and record it."""
    backend = events_backends[event["account"]][event["region"]]
    entry = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event["resources"],
        # moto carries an event's time as epoch seconds (its SQS delivery template needs a
        # number; cfn_patches turns it into ISO text for Lambda targets, as AWS delivers it).
        "Time": datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp(),
        "EventBusName": "default",
    }
    try:
        backend.put_events([entry])
    except Exception:  # a broken rule target must not stop the clock or the caller
        LOG.exception("could not put the state-change event of %s", event["detail"]["alarmName"])
    EVENTS.append(event)
    for listener in list(LISTENERS):
        listener(event)


def change_state(
    alarm: Any, state: str, reason: str, reason_data: str, when: datetime, region: str, account: str
) -> StateChange | None:
    """Set ``alarm``'s state as CloudWatch does (history, timestamp) and send the event;
    nothing if the state does not change."""
    with _STATE_LOCK:
        if alarm.state_value == state:
            return None
        previous = {
            "value": alarm.state_value,
            "reason": alarm.state_reason,
            "reasonData": alarm.state_reason_data,
            "timestamp": alarm.state_updated_timestamp,
        }
        alarm.update_state(reason, reason_data, state)
        alarm.state_updated_timestamp = _naive(when)
        event = state_change_event(alarm, previous, region, account)
    emit(event)
    return StateChange(alarm.name, previous["value"], state, reason, when, event)


# ------------------------------------------------------------------ the evaluator
@dataclass(frozen=True)
class _Target:
    """What an alarm watches: one metric, one statistic, one period."""

    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]
    statistic: str
    period: int
    unit: str | None


@dataclass(frozen=True)
class _MathTarget:
    """What a metric-math alarm watches: its queries (as GetMetricData takes them), the
    ReturnData query's Id, and the period."""

    queries: tuple[dict[str, Any], ...]
    returned: str
    period: int
    statistic: str | None = None


def _query(q: Any) -> dict[str, Any]:
    """A moto MetricDataQuery as a GetMetricData query."""
    out: dict[str, Any] = {"Id": q.id, "ReturnData": q.return_data is None or str(q.return_data).lower() == "true"}
    if q.expression:
        out["Expression"] = q.expression
        if q.period:
            out["Period"] = int(q.period)
    if q.metric_stat is not None:
        stat = q.metric_stat
        out["MetricStat"] = {
            "Metric": {
                "Namespace": stat.metric.namespace,
                "MetricName": stat.metric.metric_name,
                "Dimensions": [{"Name": d.name, "Value": d.value} for d in stat.metric.dimensions],
            },
            "Period": int(stat.period),
            "Stat": stat.stat,
        }
        if stat.unit:
            out["MetricStat"]["Unit"] = stat.unit
    return out


def _math_target(alarm: Any) -> _MathTarget | str:
    queries = tuple(_query(q) for q in alarm.metric_data_queries)
    returned = [q["Id"] for q in queries if q["ReturnData"]]
    if len(returned) != 1:
        return "metric math: exactly one query must have ReturnData true"
    try:
        metric_data.validate(queries)
        for q in queries:
            if "Expression" in q:
                metric_math.parse(q["Expression"])
    except (metric_math.MetricMathError, ValidationError) as exc:
        return f"metric math: {getattr(exc, 'message', None) or exc}"
    ret = next(q for q in queries if q["Id"] == returned[0])
    periods = [int(q["MetricStat"]["Period"]) for q in queries if "MetricStat" in q]
    period = int(ret.get("Period") or ret.get("MetricStat", {}).get("Period") or min(periods or [60]))
    return _MathTarget(queries, returned[0], period)


def _target(alarm: Any) -> _Target | _MathTarget | str:
    """The metric an alarm evaluates, or why it cannot be evaluated here."""
    if alarm.rule:
        return "composite alarm"
    if not alarm.metric_data_queries and not alarm.period:
        return "no period"
    if alarm.comparison_operator not in COMPARISONS:
        return f"comparison operator {alarm.comparison_operator}"
    if alarm.metric_data_queries:
        stats = [q for q in alarm.metric_data_queries if q.metric_stat is not None]
        if len(alarm.metric_data_queries) != 1 or len(stats) != 1:
            return _math_target(alarm)
        stat = stats[0].metric_stat
        if not metric_data.is_supported(stat.stat):
            return f"statistic {stat.stat}"
        return _Target(
            stat.metric.namespace,
            stat.metric.metric_name,
            frozenset((d.name, d.value) for d in stat.metric.dimensions),
            stat.stat,
            int(stat.period),
            stat.unit,
        )
    statistic = alarm.statistic or alarm.extended_statistic
    if not metric_data.is_supported(statistic):
        return f"statistic {statistic}"
    return _Target(
        alarm.namespace,
        alarm.metric_name,
        frozenset((d.name, d.value) for d in alarm.dimensions),
        statistic,
        int(alarm.period),
        alarm.unit,
    )


@dataclass
class _Acc:
    total: float = 0.0
    count: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, datum: Any) -> None:
        if isinstance(datum, cw_models.MetricAggregatedDatum):
            self.total += datum.sum
            self.count += datum.sample_count
            self.low = min(self.low, datum.min)
            self.high = max(self.high, datum.max)
        else:
            self.total += datum.value
            self.count += 1
            self.low = min(self.low, datum.value)
            self.high = max(self.high, datum.value)

    def statistic(self, name: str) -> float:
        return {
            "Sum": self.total,
            "SampleCount": self.count,
            "Average": self.total / self.count if self.count else 0.0,
            "Minimum": self.low,
            "Maximum": self.high,
        }[name]


def _matches(datum: Any, target: _Target) -> bool:
    if datum.namespace != target.namespace or datum.name != target.name:
        return False
    if target.unit and datum.unit != target.unit:
        return False
    # CloudWatch treats each combination of dimensions as its own metric: an exact match.
    return frozenset((d.name, d.value) for d in datum.dimensions) == target.dimensions


@dataclass
class AlarmEvaluator:
    """Evaluates every metric alarm of one account and region from its data."""

    account: str = ACCOUNT
    region: str = REGION
    changes: deque[StateChange] = field(default_factory=lambda: deque(maxlen=10_000))  # most recent last
    unsupported: dict[str, str] = field(default_factory=dict)  # alarm name -> why it is not evaluated
    last_evaluated: datetime | None = None

    def backend(self) -> Any:
        return cloudwatch_backends[self.account][self.region]

    def advance(self, start: float, end: float) -> None:
        """The clock moved from ``start`` to ``end`` (epoch seconds): evaluate at each whole
        minute in (start, end]."""
        minute = (int(start) // 60 + 1) * 60
        while minute <= end:
            self.evaluate(datetime.fromtimestamp(minute, UTC))
            minute += 60

    def evaluate(self, now: datetime) -> list[StateChange]:
        """Evaluate every metric alarm at ``now`` (periods end at the minute of ``now``)."""
        backend = self.backend()
        end = _naive(now).replace(second=0, microsecond=0)
        targets: list[tuple[Any, _Target | _MathTarget]] = []
        unsupported: dict[str, str] = {}
        for alarm in list(backend.alarms.values()):
            target = _target(alarm)
            if isinstance(target, str):
                if target != "composite alarm" and alarm.name not in self.unsupported:
                    LOG.warning("alarm %s is not evaluated by the emulator: %s", alarm.name, target)
                unsupported[alarm.name] = target
            else:
                targets.append((alarm, target))
        self.unsupported = unsupported
        if not targets:
            self.last_evaluated = end
            return []
        earliest = min(
            end - timedelta(seconds=t.period * (self._n(alarm) + EVALUATION_RANGE_EXTRA)) for alarm, t in targets
        )
        recent = [d for d in list(backend.metric_data) if earliest <= _naive(d.timestamp) < end]
        made: list[StateChange] = []
        for alarm, target in targets:
            change = self._evaluate_one(alarm, target, recent, end, now)
            if change is not None:
                made.append(change)
        self.changes.extend(made)
        self.last_evaluated = end
        return made

    @staticmethod
    def _n(alarm: Any) -> int:
        return int(alarm.evaluation_periods or 1)

    def _evaluate_one(
        self, alarm: Any, target: _Target | _MathTarget, recent: Sequence[Any], end: datetime, now: datetime
    ) -> StateChange | None:
        n = self._n(alarm)
        m = int(alarm.datapoints_to_alarm or n)
        period = timedelta(seconds=target.period)
        size = n + EVALUATION_RANGE_EXTRA
        starts = [end - period * (size - i) for i in range(size)]  # oldest first
        accs: list[_Acc | None] = [None] * size
        first = starts[0]
        if isinstance(target, _MathTarget):  # the ReturnData expression, as GetMetricData gives it
            try:
                series = metric_data.series_of(target.queries, recent, first, end)[target.returned]
            except ValidationError as exc:  # an expression that fails at run time: not evaluated, as unsupported
                self.unsupported[alarm.name] = f"metric math: {getattr(exc, 'message', None) or exc}"
                return None
            points: list[float | None] = [series.get(start) for start in starts]
        else:
            buckets: list[list[Any]] = [[] for _ in range(size)]
            for datum in recent:
                if not _matches(datum, target):
                    continue
                index = int((_naive(datum.timestamp) - first) / period)
                if 0 <= index < size:
                    buckets[index].append(datum)
                    acc = accs[index]
                    if acc is None:
                        acc = accs[index] = _Acc()
                    acc.add(datum)
            if metric_data.percentile_of(target.statistic) is not None and metric_data.negative(
                d for bucket in buckets for d in bucket
            ):
                points = [None] * size  # "not available for metrics when any of the metric values are negative"
            else:
                points = [metric_data.statistic(bucket, target.statistic) for bucket in buckets]
        threshold = float(alarm.threshold)
        words, compare = COMPARISONS[alarm.comparison_operator]
        treatment = str(alarm.treat_missing_data or "missing")
        outcome = evaluate_points(points, n, m, lambda v: compare(v, threshold), treatment)
        if outcome.state is None or outcome.state == alarm.state_value:
            return None
        m_of_n = alarm.datapoints_to_alarm is not None
        reason = _reason(outcome, points, starts, words, threshold, n, m, m_of_n, treatment)
        reason_data = _reason_data(outcome, points, accs, starts, target, threshold, now)
        return change_state(alarm, outcome.state, reason, reason_data, now, self.region, self.account)


def _value(value: float) -> str:
    return repr(float(value))


def _reason(
    outcome: Outcome,
    points: Sequence[float | None],
    starts: Sequence[datetime],
    words: str,
    threshold: float,
    n: int,
    m: int,
    m_of_n: bool,
    treatment: str,
) -> str:
    """The StateReason CloudWatch writes. Two forms seen from AWS: with DatapointsToAlarm
    set, "1 out of the last 1 datapoints [v (t)] was greater than the threshold (50.0)
    (minimum 1 datapoint for OK -> ALARM transition)" (the guide's event examples); without
    it, "1 datapoint [v (t)] was greater than the threshold (1.0)". Missing points filled
    by TreatMissingData add "and 2 missing datapoints were treated as [Breaching]", and
    with no real point at all: "no datapoints were received for 1 period and 1 missing
    datapoint was treated as [NonBreaching]" (alarm reasons quoted in public repositories)."""
    evaluated = len(outcome.evaluated)
    if outcome.state == INSUFFICIENT_DATA:
        return f"Insufficient Data: {_plural(evaluated, 'datapoint')} {'was' if evaluated == 1 else 'were'} unknown."
    alarming = outcome.state == ALARM
    real = [i for i in outcome.evaluated if points[i] is not None]
    fills = evaluated - len(real)
    shown = [i for i in real if (i in outcome.breaching) == alarming]
    filled = ""
    if fills and treatment in ("breaching", "notBreaching"):
        kind = "Breaching" if treatment == "breaching" else "NonBreaching"
        filled = f"{_plural(fills, 'missing datapoint')} {'was' if fills == 1 else 'were'} treated as [{kind}]"
        if not real:
            return f"Threshold Crossed: no datapoints were received for {_plural(fills, 'period')} and {filled}."
        filled = " and " + filled
    listed = ", ".join(f"{_value(points[i])} ({_reason_time(starts[i])})" for i in sorted(shown, reverse=True))  # type: ignore[arg-type]
    negation = "" if alarming else "not "
    if m_of_n:
        count = len(outcome.breaching) if alarming else len(shown)
        minimum, transition = (m, "OK -> ALARM") if alarming else (n - m + 1, "ALARM -> OK")
        return (
            f"Threshold Crossed: {count} out of the last {evaluated} datapoints [{listed}] "
            f"{'was' if count == 1 else 'were'} {negation}{words} the threshold ({_value(threshold)}){filled} "
            f"(minimum {_plural(minimum, 'datapoint')} for {transition} transition)."
        )
    return (
        f"Threshold Crossed: {_plural(len(shown), 'datapoint')} [{listed}] "
        f"{'was' if len(shown) == 1 else 'were'} {negation}{words} the threshold ({_value(threshold)}){filled}."
    )


def _reason_data(
    outcome: Outcome,
    points: Sequence[float | None],
    accs: Sequence[_Acc | None],
    starts: Sequence[datetime],
    target: _Target | _MathTarget,
    threshold: float,
    now: datetime,
) -> str:
    evaluated = []
    for i in sorted(outcome.evaluated, reverse=True):
        entry: dict[str, Any] = {"timestamp": _cw_time(starts[i])}
        acc = accs[i]
        if acc is not None:
            entry["sampleCount"] = float(acc.count)
            entry["value"] = points[i]
        evaluated.append(entry)
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _cw_time(now),
        "startDate": _cw_time(starts[outcome.evaluated[0]]) if outcome.evaluated else _cw_time(now),
    }
    if target.statistic is not None:
        data["statistic"] = target.statistic
    data |= {
        "period": target.period,
        "recentDatapoints": [points[i] for i in outcome.evaluated if points[i] is not None],
        "threshold": threshold,
        "evaluatedDatapoints": evaluated,
    }
    return json.dumps(data, separators=(",", ":"))


# ------------------------------------------------------------------ patches
def _put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    previous = self.alarms.get(name)
    alarm = _ORIGINAL["put_metric_alarm"](self, name, *args, **kwargs)
    if previous is not None:  # an update leaves the state as it was
        alarm.state_value = previous.state_value
        alarm.state_reason = previous.state_reason
        alarm.state_reason_data = previous.state_reason_data
        alarm.state_updated_timestamp = previous.state_updated_timestamp
        alarm.history = previous.history
    else:
        alarm.state_value = INSUFFICIENT_DATA
        alarm.state_reason = INITIAL_REASON
        alarm.state_updated_timestamp = _naive(now_sim())
    return alarm


def _set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
    alarm = self.alarms.get(alarm_name)
    if alarm is None or state_value == alarm.state_value or state_value not in (OK, ALARM, INSUFFICIENT_DATA):
        _ORIGINAL["set_alarm_state"](self, alarm_name, reason, reason_data, state_value)  # moto's own errors
        if alarm is not None and alarm.state_value == state_value:
            alarm.state_updated_timestamp = _naive(now_sim())
        return
    try:
        if reason_data is not None:
            json.loads(reason_data)
    except ValueError:
        raise InvalidFormat("Unknown") from None
    change_state(alarm, state_value, reason, reason_data or "{}", now_sim(), self.region_name, self.account_id)


def _rounded_start(start: datetime, queries: list[dict[str, Any]]) -> datetime:
    periods = [int(q["MetricStat"]["Period"]) for q in queries if "MetricStat" in q] + [
        int(q["Period"]) for q in queries if "MetricStat" not in q and q.get("Period")
    ]
    step = min(periods) if periods else 60
    if step >= 60:
        return start.replace(second=0, microsecond=0)
    if step in (5, 10, 20, 30):
        return start.replace(second=start.second - start.second % step, microsecond=0)
    return start


def _get_metric_data(self: Any, queries: list[dict[str, Any]], start_time: datetime, *args: Any, **kwargs: Any) -> Any:
    """moto's GetMetricData replaced by :func:`metric_data.get_metric_data` (metric math,
    percentiles), after the StartTime rounding."""
    return metric_data.get_metric_data(self, queries, _rounded_start(start_time, queries), *args, **kwargs)


_ORIGINAL: dict[str, Any] = {}
_INSTALL_LOCK = threading.Lock()


def install() -> None:
    """Apply the CloudWatch patches once per process. Safe to call again."""
    with _INSTALL_LOCK:
        if _ORIGINAL:
            return
        backend = cw_models.CloudWatchBackend
        _ORIGINAL["put_metric_alarm"] = backend.put_metric_alarm
        _ORIGINAL["set_alarm_state"] = backend.set_alarm_state
        _ORIGINAL["get_metric_data"] = backend.get_metric_data
        backend.put_metric_alarm = _put_metric_alarm
        backend.set_alarm_state = _set_alarm_state
        backend.get_metric_data = _get_metric_data
        metric_data.install()


def reset() -> None:
    """Forget recorded events and listeners between tests."""
    EVENTS.clear()
    LISTENERS.clear()
