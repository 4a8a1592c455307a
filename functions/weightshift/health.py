"""The health gate's rules. Pure: signals in, verdict out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Route 53 calls an endpoint healthy when more than 18% of its checkers do.
ROUTE53_HEALTHY_FRACTION = 0.18
# Below this target 5xx rate the comparison never fails (1 error in 60 requests
# is noise, not a regression).
MIN_FAILING_ERROR_RATE = 0.01


@dataclass(frozen=True)
class TrafficSample:
    requests: float
    errors: float

    @property
    def rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @classmethod
    def of_minutes(cls, minutes: Mapping[Any, tuple[float, float]]) -> TrafficSample:
        """The sum of per-minute (requests, errors)."""
        return cls(sum(r for r, _ in minutes.values()), sum(e for _, e in minutes.values()))


@dataclass(frozen=True)
class Signals:
    alarms: dict[str, str] = field(default_factory=dict)
    health_check_fraction: float | None = None  # None: no Route 53 health check configured
    target_groups: list[tuple[str, int, int]] = field(default_factory=list)  # (arn, healthy, total)
    target_traffic: TrafficSample | None = None
    live_traffic: TrafficSample | None = None
    # (target, live) requests of the newest minute with data: the observed split
    latest_split: tuple[float, float] | None = None
    # (target, live) TargetResponseTime percentile in seconds over the window; None: check off
    latency: tuple[float | None, float | None] | None = None
    checks: list[CheckReading] = field(default_factory=list)


@dataclass(frozen=True)
class CheckReading:
    """A custom check (models.MetricCheck) and the newest value its query returned."""

    name: str
    value: float | None  # None: no data point in the window
    threshold: float
    comparison: str
    no_data: str  # "fail" | "pass" | "wait"


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    failures: list[str]
    notes: list[str]
    error_rate_verdict: str  # "pass" | "fail" | "no-verdict" | "off"
    latency_verdict: str = "off"  # "pass" | "fail" | "no-verdict" | "off"
    waiting: list[str] = field(default_factory=list)  # custom checks with noData "wait" and no data


def target_groups_failures(groups: list[tuple[str, int, int]]) -> list[str]:
    """An ALB serves only if each target group has a healthy target; one with no targets counts as unhealthy."""
    if not groups:
        return ["the target load balancer has no target groups"]
    failures = []
    for arn, healthy, total in groups:
        name = arn.split(":")[-1]
        if total == 0:
            failures.append(f"target group {name} has no registered targets")
        elif healthy == 0:
            failures.append(f"target group {name} has no healthy targets (0 of {total})")
    return failures


def error_rate_check(
    target: TrafficSample | None, live: TrafficSample | None, min_requests: int, max_ratio: float
) -> tuple[str, str]:
    """Compare the target's 5xx rate with the live side's, with a minimum-request guard."""
    if target is None:
        return "off", ""
    if target.requests <= 0 or target.requests < min_requests:  # no traffic is never a pass
        return "no-verdict", f"5xx comparison: {target.requests:.0f} target requests, fewer than {min_requests}"
    baseline = live.rate if live and live.requests >= min_requests else 0.0
    limit = max(baseline * max_ratio, MIN_FAILING_ERROR_RATE)
    if target.rate > limit:
        return "fail", (
            f"target 5xx rate {target.rate:.1%} over {target.requests:.0f} requests exceeds "
            f"{limit:.1%} (live side {baseline:.1%} x {max_ratio})"
        )
    return "pass", f"target 5xx rate {target.rate:.1%} within {limit:.1%}"


# Below this gap a latency difference never fails, whatever the ratio (5 ms against 12 ms
# is not a regression anyone would roll back for).
MIN_FAILING_LATENCY_GAP = 0.05  # seconds


def latency_check(
    latency: tuple[float | None, float | None] | None,
    requests: tuple[float, float],
    min_requests: int,
    max_ratio: float,
    percentile: str,
) -> tuple[str, str]:
    """Compare the target's TargetResponseTime percentile with the live side's, with the
    5xx comparison's minimum-request guard, on both sides: a percentile of a handful of
    requests is not one (the p99 of 5 requests is their slowest, of 5,000 it is not), so
    without MinRequests on each side there is no verdict. Fails when the target's is over
    both ``max_ratio`` times the live side's and the live side's plus MIN_FAILING_LATENCY_GAP."""
    if latency is None:
        return "off", ""
    target, live = latency
    for side, count in zip(("target", "live side"), requests, strict=True):
        if count < min_requests:
            return "no-verdict", f"latency: {count:.0f} {side} requests, fewer than {min_requests}"
    if target is None or live is None:
        side = "target" if target is None else "live side"
        return "no-verdict", f"latency: no {percentile} TargetResponseTime for the {side} in the window"
    limit = max(live * max_ratio, live + MIN_FAILING_LATENCY_GAP)
    if target > limit:
        return "fail", (
            f"target {percentile} response time {target * 1000:.0f} ms exceeds {limit * 1000:.0f} ms "
            f"(live side {live * 1000:.0f} ms x {max_ratio})"
        )
    return "pass", f"target {percentile} response time {target * 1000:.0f} ms within {limit * 1000:.0f} ms"


COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanThreshold": (">", lambda v, t: v > t),
    "GreaterThanOrEqualToThreshold": (">=", lambda v, t: v >= t),
    "LessThanThreshold": ("<", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("<=", lambda v, t: v <= t),
}


def metric_check_results(readings: list[CheckReading]) -> tuple[list[str], list[str], list[str]]:
    """(failures, notes, waiting) of the custom checks. No data is never silently a pass:
    each check says what it means (fail, pass with a note, or wait)."""
    failures: list[str] = []
    notes: list[str] = []
    waiting: list[str] = []
    for r in readings:
        if r.value is None:
            message = f"check {r.name}: no data (noData: {r.no_data})"
            {"fail": failures, "pass": notes, "wait": waiting}[r.no_data].append(message)
            continue
        symbol, breaches = COMPARISONS[r.comparison]
        if breaches(r.value, r.threshold):
            failures.append(f"check {r.name}: {r.value:g} {symbol} {r.threshold:g}")
        else:
            notes.append(f"check {r.name}: {r.value:g} passes (fails when {symbol} {r.threshold:g})")
    return failures, notes, waiting


def alarm_failures(alarms: dict[str, str]) -> list[str]:
    """A configured alarm in ALARM, or one that no longer exists, fails the gate."""
    failures: list[str] = []
    for name, state in sorted(alarms.items()):
        if state == "ALARM":
            failures.append(f"alarm {name} is in ALARM")
        elif state == "MISSING":
            failures.append(f"alarm {name} does not exist")
    return failures


def evaluate(
    signals: Signals,
    min_requests: int = 50,
    max_ratio: float = 2.0,
    max_latency_ratio: float = 2.0,
    percentile: str = "p99",
) -> Verdict:
    failures = alarm_failures(signals.alarms)
    notes: list[str] = []
    if signals.health_check_fraction is not None and signals.health_check_fraction <= ROUTE53_HEALTHY_FRACTION:
        failures.append(
            f"Route 53 health check is unhealthy ({signals.health_check_fraction:.0%} of checkers report healthy)"
        )
    failures.extend(target_groups_failures(signals.target_groups))
    rate_verdict, message = error_rate_check(signals.target_traffic, signals.live_traffic, min_requests, max_ratio)
    requests = tuple(t.requests if t else 0.0 for t in (signals.target_traffic, signals.live_traffic))
    latency_verdict, latency_message = latency_check(
        signals.latency, (requests[0], requests[1]), min_requests, max_latency_ratio, percentile
    )
    for verdict, text in ((rate_verdict, message), (latency_verdict, latency_message)):
        if verdict == "fail":
            failures.append(text)
        elif text:
            notes.append(text)
    check_failures, check_notes, waiting = metric_check_results(signals.checks)
    failures.extend(check_failures)
    notes.extend(check_notes)
    return Verdict(
        healthy=not failures,
        failures=failures,
        notes=notes,
        error_rate_verdict=rate_verdict,
        latency_verdict=latency_verdict,
        waiting=waiting,
    )


@dataclass(frozen=True)
class Observed:
    """The split the clients really made: each side's ALB requests over the poll window,
    beside the split the weights ask for. DNS weights are an intention; resolvers and
    clients cache answers for the TTL (or longer), so the observed share lags a step and
    drifts around the intended one."""

    target_requests: float
    live_requests: float
    intended_share: float  # the target's weight / both weights
    window_seconds: int

    @property
    def share(self) -> float | None:
        """The target's share of the requests; None without any request on either side."""
        total = self.target_requests + self.live_requests
        return self.target_requests / total if total > 0 else None

    def dump(self) -> dict[str, float | int | None]:
        share = self.share
        return {
            "targetShare": round(share, 4) if share is not None else None,
            "intendedShare": round(self.intended_share, 4),
            "targetRequests": int(self.target_requests),
            "liveRequests": int(self.live_requests),
            "windowSeconds": self.window_seconds,
        }

    def describe(self) -> str:
        share = self.share
        seen = f"{share:.0%}" if share is not None else "no requests"
        return (
            f"observed {seen} of {int(self.target_requests + self.live_requests)} requests to the target "
            f"(intended {self.intended_share:.0%}, last {self.window_seconds}s)"
        )


def no_traffic_exhausted(consecutive_no_verdict: int, limit: int) -> bool:
    """With no traffic there is no verdict. That is not a pass forever: after
    ``limit`` polls in a row without one (0 disables the rule) the gate fails."""
    return limit > 0 and consecutive_no_verdict >= limit
