"""Route 53 health checks that publish their CloudWatch metrics, on the simulated clock.

Every health check in moto's Route 53 backend publishes, once a simulated minute, to moto's
CloudWatch **in us-east-1** (whatever region the rest of the emulator uses), as Route 53 does.
``simclock.SimClock`` moves it through time, before the alarm evaluator, so an alarm on these
metrics sees a minute when it is published, as for the ALB metrics (``traffic.py``).

What is modelled, and from where:

- **Where**: namespace ``AWS/Route53``, dimension ``HealthCheckId``, region US East
  (N. Virginia) only: "Route 53 metrics are not available if you select any other region as
  the current region" (Route 53 Developer Guide, "Monitoring health checks using CloudWatch",
  monitoring-health-checks.html).
- **What**: ``HealthCheckStatus``, "the Route 53 assessment of endpoint health. 1 indicates
  healthy and 0 indicates unhealthy", for every health check; ``HealthCheckPercentageHealthy``,
  "the percentage of Route 53 health checkers that consider the selected endpoint to be
  healthy", "for health checks that monitor an endpoint only" (so not for CALCULATED,
  CLOUDWATCH_METRIC or RECOVERY_CONTROL checks), and "When a health check is disabled, this
  metric isn't available" (same page). A disabled check publishes nothing here (what Route 53
  publishes as its status is not documented: nothing is the direction that is not kinder, the
  gate falls back to GetHealthCheckStatus).
- **Values**: a check is healthy unless its id is in ``patches.UNHEALTHY_CHECKS``, where the
  patched GetHealthCheckStatus reports every checker failing: 100 % / 1 healthy, 0 % / 0
  unhealthy, so the metric and the API agree. The state is sampled every tick of the clock and
  a minute is published as a statistic set (SampleCount, Sum, Minimum, Maximum) of those
  samples, so a check unhealthy for part of a minute shows in that minute's Minimum and Average.
- **Cadence**: "metric data for Route 53 health checks is automatically sent to CloudWatch at
  one-minute intervals" (Route 53 Developer Guide, "Monitoring your resources with Amazon
  Route 53 health checks and Amazon CloudWatch", monitoring-cloudwatch.html); each data point
  is stamped with the start of its minute.
- **Latency of publication**: not documented for Route 53 (the guide says only that "several
  minutes might elapse between the time that a health check fails and the time that you
  receive the associated SNS notification", which includes the checkers' failure threshold
  and the alarm's evaluation, and that a new check's data can take "a few minutes" to appear).
  The same conservative ``publish_delay`` as the ALB metrics is used (``traffic.py``, 30 s
  after the minute ends: the CloudWatch guide's own alarm-event example evaluated 4 s after a
  minute without that minute, and a public alarm event used a minute 38 s after it ended).
  0 is the kinder direction.
- **Retention**: 1-minute data points are dropped after 15 days, as ``traffic.py`` does.

Not modelled: the latency metrics (ConnectionTime, SSLHandshakeTime, TimeToFirstByte),
ChildHealthCheckHealthyCount, inverted checks, the per-region checker split, a check's first
minutes before its checkers report (data starts with the first whole tick it exists).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.route53.models import route53_backends

from weightshift_emulator import patches
from weightshift_emulator.traffic import RETENTION_SECONDS
from weightshift_emulator.world import ACCOUNT

NAMESPACE = "AWS/Route53"
REGION = "us-east-1"  # Route 53 metrics exist in US East (N. Virginia) only
STATUS = "HealthCheckStatus"
PERCENTAGE = "HealthCheckPercentageHealthy"
# Health checks that monitor an endpoint; the others have no HealthCheckPercentageHealthy.
ENDPOINT_TYPES = frozenset({"HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"})


@dataclass
class _Samples:
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    def statistic_set(self) -> dict[str, float]:
        return {"SampleCount": float(self.count), "Sum": self.total, "Minimum": self.low, "Maximum": self.high}


@dataclass
class HealthCheckMetrics:
    """Publishes every Route 53 health check's minutes to CloudWatch in us-east-1. A
    ``simclock`` participant: :meth:`advance` samples each tick and publishes due minutes."""

    account: str = ACCOUNT
    publish_delay: float = 30.0
    # (minute start in epoch seconds, health check id, metric) -> samples of that minute
    _open: dict[tuple[float, str, str], _Samples] = field(default_factory=dict, init=False, repr=False)
    _last_pruned: float = field(default=0.0, init=False, repr=False)
    published: list[tuple[datetime, str, str, float, float]] = field(default_factory=list, init=False, repr=False)

    def backend(self) -> Any:
        return cloudwatch_backends[self.account][REGION]

    def advance(self, start: float, end: float) -> None:
        """Sample every health check for the tick (start, end], then publish the due minutes."""
        if end <= start:
            return
        minute = math.floor(start / 60) * 60  # a tick never spans two minutes (ticks divide 60 s)
        unhealthy = set(patches.UNHEALTHY_CHECKS)
        for check in list(route53_backends[self.account]["global"].health_checks.values()):
            if check.disabled:
                continue
            healthy = check.id not in unhealthy
            self._sample(minute, check.id, STATUS, 1.0 if healthy else 0.0)
            if str(check.type_ or "").upper() in ENDPOINT_TYPES:
                self._sample(minute, check.id, PERCENTAGE, 100.0 if healthy else 0.0)
        self._publish_due(end)

    def _sample(self, minute: float, check_id: str, metric: str, value: float) -> None:
        self._open.setdefault((minute, check_id, metric), _Samples()).add(value)

    def _publish_due(self, now: float) -> None:
        due = sorted(key for key in self._open if key[0] + 60 + self.publish_delay <= now)
        data: list[dict[str, Any]] = []
        for key in due:
            minute, check_id, metric = key
            samples = self._open.pop(key)
            stamp = datetime.fromtimestamp(minute, UTC).replace(tzinfo=None)  # moto keeps naive UTC
            data.append(
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "HealthCheckId", "Value": check_id}],
                    "Timestamp": stamp,
                    "Unit": "Percent" if metric == PERCENTAGE else "None",
                    "StatisticValues": samples.statistic_set(),
                }
            )
            self.published.append((stamp, check_id, metric, samples.low, samples.total / samples.count))
        backend = self.backend()
        for i in range(0, len(data), 20):
            backend.put_metric_data(NAMESPACE, data[i : i + 20])
        if len(self.published) > 100_000:
            del self.published[: len(self.published) - 100_000]
        if now - self._last_pruned >= 3600:
            self.prune(now)
            self._last_pruned = now

    def prune(self, now: float) -> None:
        """Drop this namespace's data points older than CloudWatch keeps 1-minute data (15 days)."""
        backend = self.backend()
        cutoff = datetime.fromtimestamp(now - RETENTION_SECONDS, UTC).replace(tzinfo=None)
        kept = [d for d in backend.metric_data if d.namespace != NAMESPACE or d.timestamp >= cutoff]
        if len(kept) != len(backend.metric_data):
            backend.metric_data = kept
