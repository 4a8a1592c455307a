"""CloudWatch: the user's alarms and the ALBs' request and 5xx counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from weightshift.adapters.aws import error_code
from weightshift.errors import SignalUnavailable
from weightshift.health import TrafficSample


class CloudWatch:
    def __init__(self, client: Any) -> None:
        self._cw = client

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
        dimension = load_balancer_arn.split(":loadbalancer/", 1)[-1]
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
