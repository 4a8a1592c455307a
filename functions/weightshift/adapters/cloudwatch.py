"""CloudWatch: the user's alarms and the ALBs' request and 5xx counts."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from weightshift import clock
from weightshift.adapters.aws import error_code
from weightshift.errors import SignalUnavailable
from weightshift.health import TrafficSample
from weightshift.models import alb_dimension

# Route 53 publishes its health-check metrics to CloudWatch in US East (N. Virginia) only:
# "Change the current region to US East (N. Virginia). Route 53 metrics are not available if
# you select any other region" (Route 53 Developer Guide, "Monitoring health checks using
# CloudWatch", monitoring-health-checks.html).
ROUTE53_METRICS_REGION = "us-east-1"
# How far back health_check_fraction looks for the newest minute. Route 53 sends health-check
# data "to CloudWatch at one-minute intervals" (Route 53 Developer Guide, "Monitoring your
# resources with Amazon Route 53 health checks and Amazon CloudWatch"); the delay before a
# minute can be read is not documented (ALB minutes are seen about 30-40 s after they end, see
# tools/weightshift_emulator/traffic.py). GetMetricData rounds StartTime down to the minute, so
# the window holds the minutes that began in the last three whole minutes: at a 30-40 s delay
# the two or three newest published ones, and still one if a publication is up to two minutes
# late; the newest point read then ended at most three minutes ago. Anything older is staler
# than GetHealthCheckStatus's answer by more than Route 53's own reaction time (default
# FailureThreshold x RequestInterval, 3 x 30 s): return None and let the caller ask Route 53.
HEALTH_CHECK_WINDOW_SECONDS = 180


class CloudWatch:
    def __init__(self, client: Any, route53_metrics: Any | None = None) -> None:
        """``client``: CloudWatch in the function's region (alarms, ALB metrics).
        ``route53_metrics``: CloudWatch in us-east-1, where Route 53 health-check metrics are;
        when omitted, ``client`` serves if it is itself in us-east-1."""
        self._cw = client
        if route53_metrics is None and getattr(getattr(client, "meta", None), "region_name", None) == (
            ROUTE53_METRICS_REGION
        ):
            route53_metrics = client
        self._r53_cw = route53_metrics

    def alarm_states(self, names: list[str]) -> dict[str, str]:
        """State of each named alarm; a name that does not exist is reported as MISSING."""
        if not names:
            return {}
        states: dict[str, str] = {}
        try:
            for start in range(0, len(names), 100):
                chunk = names[start : start + 100]
                resp = self._cw.describe_alarms(AlarmNames=chunk, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
                for alarm in resp.get("MetricAlarms", []) + resp.get("CompositeAlarms", []):
                    states[alarm["AlarmName"]] = alarm["StateValue"]
        except ClientError as exc:
            raise SignalUnavailable(f"CloudWatch DescribeAlarms: {error_code(exc)}") from exc
        return {name: states.get(name, "MISSING") for name in names}

    def alb_counts(self, load_balancer_arn: str, now: datetime, window_seconds: int) -> tuple[float, float]:
        """(requests, target 5xx) of an ALB over the last window."""
        total = TrafficSample.of_minutes(self.alb_minutes(load_balancer_arn, now, window_seconds))
        return total.requests, total.errors

    def alb_minutes(
        self, load_balancer_arn: str, now: datetime, window_seconds: int
    ) -> dict[datetime, tuple[float, float]]:
        """(requests, target 5xx) of an ALB per minute of the last window that has data."""
        dimension = alb_dimension(load_balancer_arn)
        start = now - timedelta(seconds=window_seconds)
        queries = [
            {
                "Id": ident,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApplicationELB",
                        "MetricName": metric,
                        "Dimensions": [{"Name": "LoadBalancer", "Value": dimension}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for ident, metric in (("requests", "RequestCount"), ("errors", "HTTPCode_Target_5XX_Count"))
        ]
        try:
            resp = self._cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=now)
        except ClientError as exc:
            raise SignalUnavailable(f"CloudWatch GetMetricData: {error_code(exc)}") from exc
        series = {
            r["Id"]: dict(zip(r.get("Timestamps", []), r.get("Values", []), strict=False))
            for r in resp.get("MetricDataResults", [])
        }
        requests, errors = series.get("requests", {}), series.get("errors", {})
        return {minute: (float(count), float(errors.get(minute, 0.0))) for minute, count in requests.items()}

    def alb_latencies(
        self, load_balancer_arns: tuple[str, str], now: datetime, window_seconds: int, percentile: str
    ) -> tuple[float | None, float | None]:
        """Each ALB's TargetResponseTime percentile (seconds) over the whole minutes of the
        window, as one data point (a percentile of one-minute percentiles would not be one).
        None for a side without data: an ALB reports the metric only when requests flow."""
        end = now.replace(second=0, microsecond=0)
        period = max(60, math.ceil(window_seconds / 60) * 60)
        queries = [
            {
                "Id": f"side{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApplicationELB",
                        "MetricName": "TargetResponseTime",
                        "Dimensions": [{"Name": "LoadBalancer", "Value": alb_dimension(arn)}],
                    },
                    "Period": period,
                    "Stat": percentile,
                },
                "ReturnData": True,
            }
            for i, arn in enumerate(load_balancer_arns)
        ]
        values = self._newest(queries, end - timedelta(seconds=period), end)
        return values.get("side0"), values.get("side1")

    def check_value(self, queries: list[dict[str, Any]], now: datetime, window_seconds: int) -> float | None:
        """The newest value of a custom check's returned query in the window; None: no data."""
        returned = [q["Id"] for q in queries if q.get("ReturnData", True) is not False]
        shaped = _with_period(queries)
        return self._newest(shaped, now - timedelta(seconds=window_seconds), now).get(returned[0])

    def query_error(self, queries: list[dict[str, Any]]) -> str | None:
        """CloudWatch's error for these queries (run once over the last 10 minutes), or None."""
        shaped = _with_period(queries)
        end = clock.now().replace(second=0, microsecond=0)
        try:
            self._cw.get_metric_data(MetricDataQueries=shaped, StartTime=end - timedelta(minutes=10), EndTime=end)
        except ClientError as exc:
            return f"{error_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}"
        return None

    def _newest(
        self, queries: list[dict[str, Any]], start: datetime, end: datetime, client: Any = None, where: str = ""
    ) -> dict[str, float]:
        """The newest value of each returned query that has one. A query CloudWatch could not
        answer (StatusCode InternalError) is an unavailable signal, never "no data"."""
        try:
            resp = (client or self._cw).get_metric_data(
                MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampDescending"
            )
        except ClientError as exc:
            raise SignalUnavailable(f"CloudWatch GetMetricData{where}: {error_code(exc)}: {exc}") from exc
        newest: dict[str, float] = {}
        for result in resp.get("MetricDataResults", []):
            if result.get("StatusCode") == "InternalError":
                raise SignalUnavailable(f"CloudWatch GetMetricData{where}: InternalError for query {result['Id']}")
            points = sorted(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
            if points:
                newest[result["Id"]] = float(points[-1][1])
        return newest

    def health_check_fraction(self, health_check_id: str, now: datetime) -> float | None:
        """The fraction (0..1) of Route 53 health checkers reporting ``health_check_id`` healthy,
        from the newest minute of ``HealthCheckPercentageHealthy`` in the last
        :data:`HEALTH_CHECK_WINDOW_SECONDS`; None when that window has no data point (the
        caller then asks Route 53's GetHealthCheckStatus).

        The metric: namespace ``AWS/Route53``, dimension ``HealthCheckId``, "the percentage of
        Route 53 health checkers that consider the selected endpoint to be healthy", for health
        checks that monitor an endpoint only, and not available while the check is disabled
        (Route 53 Developer Guide, "Monitoring health checks using CloudWatch"). The AWS CDK's
        generated ``Route53Metrics`` reads it with Average; public alarms on it use Average and
        Minimum. Minimum is read here, so a minute in which the checkers' share dipped counts at
        its worst (a canary gate errs towards unhealthy)."""
        if self._r53_cw is None:
            raise SignalUnavailable(
                f"no CloudWatch client in {ROUTE53_METRICS_REGION}, where Route 53 publishes health-check metrics"
            )
        query = {
            "Id": "healthy",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Route53",
                    "MetricName": "HealthCheckPercentageHealthy",
                    "Dimensions": [{"Name": "HealthCheckId", "Value": health_check_id}],
                },
                "Period": 60,
                "Stat": "Minimum",
            },
            "ReturnData": True,
        }
        start = now - timedelta(seconds=HEALTH_CHECK_WINDOW_SECONDS)
        percent = self._newest([query], start, now, client=self._r53_cw, where=f" ({ROUTE53_METRICS_REGION})")
        if "healthy" not in percent:
            return None
        return min(max(percent["healthy"] / 100.0, 0.0), 1.0)


def _with_period(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A custom check's queries as GetMetricData takes them: a MetricStat without a Period gets 60 s."""
    return [{**q, "MetricStat": {"Period": 60, **q["MetricStat"]}} if "MetricStat" in q else q for q in queries]
