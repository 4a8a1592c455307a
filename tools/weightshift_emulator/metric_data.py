"""CloudWatch GetMetricData with metric math and percentiles, and PutMetricData distributions.

moto 5.2.5's GetMetricData evaluates an Expression only when it is exactly another query's
Id (``moto/cloudwatch/metric_data_expression_parser.py``), answers a ``SELECT`` with the
sum of every metric, knows no percentile (a ``p99`` query gives ``None`` values), and
matches a query with dimensions on name and dimensions only (not namespace).
:func:`get_metric_data` replaces it (``alarms.py`` installs it, after rounding StartTime):

- Each MetricStat query: one value per period from StartTime (period starts ``< EndTime``)
  that has data of exactly that namespace, name and dimension set (and Unit, if given).
  Stat: SampleCount, Sum, Average, Minimum, Maximum, or a percentile ``pNN.NN``
  ("You can specify the percentile with up to two decimal places (for example, p95.45)",
  CloudWatch concepts, doc_source/cloudwatch_concepts.md). Other statistics (trimmed mean
  and friends) are a ValidationError here, never silently wrong data.
- Percentiles (GetMetricStatistics API reference, and cloudwatch_concepts.md): "CloudWatch
  needs raw data points to calculate percentiles. If you publish data using a statistic
  set instead, you can only retrieve percentile statistics for this data when one of the
  following conditions is true: The SampleCount of the statistic set is 1. The Min and the
  Max of the statistic set are equal." A period holding any other statistic set has no
  percentile data point. "Percentile statistics are not available for metrics when any of
  the metric values are negative numbers": a negative value anywhere in the queried range
  leaves the query without percentile data. The percentile is the nearest-rank one over
  the values weighted by their counts (the smallest value with at least p% of the samples
  at or below it); CloudWatch does not document its estimator, so exact agreement with
  AWS in the last digit is not claimed.
- Expression queries: evaluated by :mod:`metric_math` over the results of the other
  queries, ReturnData false ones included, in dependency order; only ReturnData queries
  are returned, in request order; Label defaults to the Id (metrics keep moto's
  "<MetricName> <Stat>"); Timestamps in ScanBy order (default TimestampDescending, set
  by moto's response layer). An expression outside what :mod:`metric_math` models, an
  unknown Id, a cycle, a scalar result, or a Metrics Insights ``SELECT`` is a
  ValidationError (HTTP 400): the emulator answers with an error where it cannot answer
  as AWS does. The message is ours; the duplicate-Id message is the one AWS returns
  ("The values for parameter id in MetricDataQueries are not unique.").

PutMetricData with ``Values``/``Counts``: "Each unique value is listed just once in this
array, and the corresponding number in the Counts array specifies the number of times that
value occurred during the period. You can include up to 150 unique values in each
PutMetricData action that specifies a Values array" (MetricDatum, CloudWatch API
reference). moto expands every count into a separate data point (a 1,200-request minute
became 1,200 objects) and truncates fractional counts; here one :class:`DistributionDatum`
keeps the values and counts (Sum, SampleCount, Minimum, Maximum follow from them, so
moto's own statistics and the alarm evaluator read it as a statistic set), and an action
with more than 150 values is refused.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import moto.cloudwatch.models as cw_models
from moto.cloudwatch.exceptions import InvalidParameterValue, ValidationError

from weightshift_emulator import metric_math

BASIC_STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
MAX_VALUES_PER_ACTION = 150
_PERCENTILE = re.compile(r"^p(\d{1,3}(?:\.\d{1,2})?)$")
_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")


class DistributionDatum(cw_models.MetricAggregatedDatum):  # type: ignore[misc]
    """One PutMetricData datum given as Values/Counts, kept as published."""

    def __init__(
        self,
        namespace: str,
        name: str,
        values: Sequence[float],
        counts: Sequence[float],
        dimensions: list[dict[str, str]],
        timestamp: datetime | None,
        unit: Any = None,
    ) -> None:
        pairs = [(float(v), float(c)) for v, c in zip(values, counts, strict=True) if float(c) > 0]
        super().__init__(
            namespace,
            name,
            min_stat=min((v for v, _ in pairs), default=0.0),
            max_stat=max((v for v, _ in pairs), default=0.0),
            sample_count=math.fsum(c for _, c in pairs),
            sum_stat=math.fsum(v * c for v, c in pairs),
            dimensions=dimensions,
            timestamp=timestamp,
            unit=unit,
        )
        self.values = [v for v, _ in pairs]
        self.counts = [c for _, c in pairs]


# ------------------------------------------------------------------ statistics
def percentile_of(stat: str) -> float | None:
    """The percentile a statistic names (``p99.9`` -> 99.9), or None if it is not one."""
    m = _PERCENTILE.match(stat or "")
    if m is None:
        return None
    p = float(m.group(1))
    return p if 0.0 <= p <= 100.0 else None


def is_supported(stat: str) -> bool:
    return stat in BASIC_STATISTICS or percentile_of(stat) is not None


def _samples(datum: Any) -> list[tuple[float, float]] | None:
    """A datum's raw values with their counts; None for a statistic set without them."""
    if isinstance(datum, DistributionDatum):
        return list(zip(datum.values, datum.counts, strict=True))
    if isinstance(datum, cw_models.MetricAggregatedDatum):
        if datum.sample_count == 1:
            return [(datum.sum, 1.0)]
        if datum.min == datum.max:
            return [(datum.min, float(datum.sample_count))]
        return None  # "CloudWatch needs raw data points to calculate percentiles"
    return [(float(datum.value), 1.0)]


def negative(datums: Iterable[Any]) -> bool:
    """Whether any of the data has a negative value (no percentiles for such a metric)."""
    for d in datums:
        low = d.min if isinstance(d, cw_models.MetricAggregatedDatum) else d.value
        if low < 0:
            return True
    return False


def statistic(datums: Sequence[Any], stat: str) -> float | None:
    """One period's ``stat`` over ``datums`` (None: no data point for that period)."""
    if not datums:
        return None
    p = percentile_of(stat)
    if p is None:
        count = total = 0.0
        low, high = math.inf, -math.inf
        for d in datums:
            if isinstance(d, cw_models.MetricAggregatedDatum):
                count += d.sample_count
                total += d.sum
                low, high = min(low, d.min), max(high, d.max)
            else:
                count += 1
                total += d.value
                low, high = min(low, d.value), max(high, d.value)
        return {
            "SampleCount": count,
            "Sum": total,
            "Average": total / count if count else None,
            "Minimum": low,
            "Maximum": high,
        }[stat]
    pairs: list[tuple[float, float]] = []
    for d in datums:
        found = _samples(d)
        if found is None:
            return None
        pairs.extend(found)
    pairs.sort()
    total = math.fsum(c for _, c in pairs)
    if total <= 0:
        return None
    rank = p / 100.0 * total
    seen = 0.0
    for value, count in pairs:
        seen += count
        if seen >= rank - 1e-9 * total:
            return value
    return pairs[-1][0]


# ------------------------------------------------------------------ GetMetricData
def _key(namespace: str, name: str, dimensions: Iterable[Any]) -> tuple[str, str, frozenset[tuple[str, str]]]:
    return namespace, name, frozenset(dimensions)


def _naive(when: datetime) -> datetime:
    """moto keeps metric timestamps as naive UTC; a request's times may carry a zone."""
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def _truthy(value: Any) -> bool:
    return value is None or value is True or str(value).lower() == "true"


def validate(queries: Sequence[dict[str, Any]]) -> None:
    """The request checks GetMetricData makes before it reads any data."""
    ids = [q.get("Id") for q in queries]
    if len(set(ids)) != len(ids):
        raise ValidationError("The values for parameter id in MetricDataQueries are not unique.")
    for n, q in enumerate(queries, start=1):
        if not _ID.match(str(q.get("Id") or "")):
            raise ValidationError(
                f"The value {q.get('Id')} for parameter MetricDataQueries.member.{n}.Id is invalid: "
                "it must start with a lowercase letter and contain only letters, numbers and underscores."
            )
        if "MetricStat" in q and "Expression" in q:
            raise ValidationError(
                "The parameters MetricDataQuery Expression and MetricStat are mutually exclusive "
                "and you have specified both."
            )
        if "MetricStat" in q and not is_supported(str(q["MetricStat"].get("Stat"))):
            raise ValidationError(
                f"The value {q['MetricStat'].get('Stat')} for parameter MetricDataQueries.member.{n}.MetricStat.Stat "
                "is not supported by the emulator (SampleCount, Sum, Average, Minimum, Maximum, pNN.NN)."
            )


def grid(start: datetime, end: datetime, period: int) -> list[datetime]:
    step = timedelta(seconds=period)
    starts, t = [], start
    while t < end:
        starts.append(t)
        t += step
    return starts


def series_of(
    queries: Sequence[dict[str, Any]], datums: Iterable[Any], start: datetime, end: datetime
) -> dict[str, metric_math.Series]:
    """Every query's series (Id -> {period start: value}), expressions evaluated.
    ValidationError for a bad or unsupported query."""
    validate(queries)
    start, end = _naive(start), _naive(end)
    metric_queries = [q for q in queries if "MetricStat" in q]
    by_key: dict[Any, list[Any]] = defaultdict(list)
    for d in datums:
        if start <= _naive(d.timestamp) < end:
            by_key[_key(d.namespace, d.name, ((x.name, x.value) for x in d.dimensions))].append(d)
    results: dict[str, metric_math.Series] = {}
    periods: dict[str, int] = {}
    for q in metric_queries:
        ms = q["MetricStat"]
        metric = ms["Metric"]
        period = int(ms["Period"])
        periods[q["Id"]] = period
        dims = ((x["Name"], x["Value"]) for x in metric.get("Dimensions", []))
        found = by_key.get(_key(metric["Namespace"], metric["MetricName"], dims))
        found = [d for d in found or [] if not ms.get("Unit") or d.unit == ms["Unit"]]
        stat = str(ms["Stat"])
        points: metric_math.Series = {}
        if found and not (percentile_of(stat) is not None and negative(found)):
            buckets: dict[int, list[Any]] = defaultdict(list)
            for d in found:
                buckets[int((_naive(d.timestamp) - start).total_seconds()) // period].append(d)
            for index, bucket in sorted(buckets.items()):
                value = statistic(bucket, stat)
                if value is not None:
                    points[start + timedelta(seconds=index * period)] = float(value)
        results[q["Id"]] = points
    expressions = {q["Id"]: str(q["Expression"]) for q in queries if "Expression" in q}
    if expressions:
        own = [int(q["Period"]) for q in queries if "Expression" in q and q.get("Period")]
        step = min([*periods.values(), *own] or [60])
        try:
            results.update(metric_math.evaluate_all(expressions, results, periods, grid(start, end, step)))
        except metric_math.MetricMathError as exc:
            raise ValidationError(f"Error in metric math expression: {exc}") from None
    return results


def get_metric_data(
    backend: Any,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampDescending",
) -> list[dict[str, Any]]:
    """GetMetricData over ``backend``'s data, in the shape moto's response layer serialises."""
    start = start_time.replace(microsecond=0)
    end = end_time.replace(microsecond=0)
    if start > end:
        raise ValidationError("The parameter EndTime must be greater than StartTime.")
    if start == end:
        raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
    results = series_of(queries, backend.get_all_metrics(), start, end)
    out = []
    for q in queries:
        if not _truthy(q.get("ReturnData", True)):
            continue
        points = sorted(results[q["Id"]].items(), reverse=scan_by != "TimestampAscending")
        if "MetricStat" in q:
            label = q.get("Label") or f"{q['MetricStat']['Metric']['MetricName']} {q['MetricStat']['Stat']}"
        else:
            label = q.get("Label") or q["Id"]
        out.append(
            {
                "id": q["Id"],
                "label": label,
                "values": [v for _, v in points],
                "timestamps": [t for t, _ in points],
                "status_code": "Complete",
            }
        )
    return out


# ------------------------------------------------------------------ PutMetricData
def _put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    for i, metric in enumerate(metric_data):
        self._validate_parameters_put_metric_data(metric, i + 1)
    distinct = sum(len(m["Values"]) for m in metric_data if m.get("Values"))
    if distinct > MAX_VALUES_PER_ACTION:
        raise InvalidParameterValue(
            f"The Values arrays of one PutMetricData action hold {distinct} values; "
            f"the limit is {MAX_VALUES_PER_ACTION} (CloudWatch API reference, MetricDatum.Values)."
        )
    rest = [m for m in metric_data if not m.get("Values")]
    for m in metric_data:
        if m.get("Values"):
            values = [float(v) for v in m["Values"]]
            counts = [float(c) for c in (m.get("Counts") or [1.0] * len(values))]
            self.metric_data.append(
                DistributionDatum(
                    namespace,
                    m["MetricName"],
                    values,
                    counts,
                    m.get("Dimensions", []),
                    m.get("Timestamp"),
                    m.get("Unit"),
                )
            )
    if rest:
        _ORIGINAL["put_metric_data"](self, namespace, rest)


_ORIGINAL: dict[str, Any] = {}


def install() -> None:
    """Store Values/Counts as distributions (``alarms.install`` calls this once)."""
    if _ORIGINAL:
        return
    backend = cw_models.CloudWatchBackend
    _ORIGINAL["put_metric_data"] = backend.put_metric_data
    backend.put_metric_data = _put_metric_data
