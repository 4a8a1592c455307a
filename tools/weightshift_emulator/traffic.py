"""Traffic that behaves like DNS clients, and ALBs that publish what it did to CloudWatch.

A population of clients resolves the weighted record, caches the answer for its TTL, and
sends requests at a steady rate to the load balancer it resolved. Each load balancer
answers them with the quality of what it runs, and publishes its metrics to moto's
CloudWatch once a simulated minute, as Elastic Load Balancing does. ``simclock.py`` moves
it through simulated time; the alarms evaluate from what it published (``alarms.py``).

What is modelled, and from where:

- **Answer selection** (Route 53 Developer Guide, "Weighted routing" and "How Amazon
  Route 53 chooses records when health checking is configured"): a record's share is its
  weight over the sum of the weights; if every weight is 0, the records are chosen with
  equal probability; a record with weight 0 is used only if every record with a
  non-zero weight is unhealthy; a record with no health check (and no Evaluate Target
  Health) is always healthy; "If no record is healthy, all records are healthy". Health:
  a record whose ``HealthCheckId`` the emulator marks unhealthy (``patches.UNHEALTHY_CHECKS``)
  is unhealthy; an alias with EvaluateTargetHealth to an ALB is healthy only if each of
  the ALB's target groups has a healthy target (a target group with no targets counts as
  unhealthy; ../shared/facts.md, from the Route 53 guide's "Evaluate target health").
- **Caching**: an alias record has no TTL of its own; Route 53 uses the target's, and for
  an ELB alias that is a fixed 60 s (Route 53 FAQ: "you must use alias records with a
  fixed TTL of 60 seconds" for ELB). A non-alias record is cached for its own TTL. Each
  client re-resolves when its cached answer expires; clients start with their expiries
  spread over one TTL, so after a weight change the split moves to the new weights over
  one TTL, not at once. "Clients may cache longer than the TTL" (facts.md): the
  ``overstay_fraction`` of the clients keep an answer ``overstay_seconds`` longer (off by
  default).
- **The load balancer** (ELB User Guide, "Health checks for your target groups" and
  "Troubleshoot your Application Load Balancers"): with no registered target it answers
  every request itself with HTTP 503; with registered targets but none healthy it "fails
  open" and routes to all of them; otherwise the targets answer, with the side's
  :class:`Quality` (5xx rate, response time).
- **Metrics** (ELB User Guide, "CloudWatch metrics for your Application Load Balancer"):
  namespace ``AWS/ApplicationELB``, dimension ``LoadBalancer=app/<name>/<id>`` (the last
  part of the ARN), and ``LoadBalancer`` + ``TargetGroup=targetgroup/<name>/<id>`` for the
  target metrics. "Elastic Load Balancing reports metrics to CloudWatch only when requests
  are flowing through the load balancer ... in 60-second intervals. If there are no
  requests ... or no data for a metric, the metric is not reported." Per metric:
  ``RequestCount`` (Count; counts requests for which a target was chosen, so not the
  load balancer's own 503s), ``HTTPCode_Target_2XX_Count`` / ``HTTPCode_Target_5XX_Count``
  (Count; "Reporting criteria: There is a nonzero value", so a side without errors has
  *no* 5xx data points, and an alarm on them with the default TreatMissingData goes to
  INSUFFICIENT_DATA, not OK), ``HTTPCode_ELB_5XX_Count`` / ``HTTPCode_ELB_503_Count``
  (LoadBalancer only, nonzero), ``TargetResponseTime`` (Seconds, nonzero; "The most
  useful statistics are Average and pNN.NN (percentiles)", so it is published as a
  distribution, below),
  ``RequestCountPerTarget`` (TargetGroup, Sum is the per-target average),
  ``HealthyHostCount`` / ``UnHealthyHostCount`` (TargetGroup, every minute). Counts are
  published as statistic sets whose Minimum, Maximum and Average are 1 ("Minimum,
  Maximum, and Average all return 1").
- **Response times** are sampled, not drawn per request: each tick answers ``count``
  requests with at most 16 lognormal latencies (mean: the side's :class:`Quality`), each
  sample weighted by an integer share of ``count`` (the shares sum to ``count``). A
  minute's samples are published as one ``Values``/``Counts`` datum per dimension set
  ("Each unique value is listed just once in this array, and the corresponding number in
  the Counts array specifies the number of times that value occurred"; "up to 150 unique
  values in each PutMetricData action that specifies a Values array", MetricDatum, CloudWatch
  API reference): more than 150 distinct samples are merged, in value order, into 150
  groups of about equal count, each the count-weighted mean of its samples. So SampleCount
  is the minute's request count and Sum its total latency, exactly, and CloudWatch can
  compute percentiles from it ("CloudWatch needs raw data points to calculate
  percentiles", which a statistic set with Minimum != Maximum is not). Each such datum
  goes in a PutMetricData action of its own, under the 150-value limit.
- **Latency of publication**: a minute's data points reach CloudWatch ``publish_delay``
  seconds after the minute ends (default 30 s). Not documented for ALB; the CloudWatch
  guide's own event example evaluated an alarm 4 s after a minute without that minute's
  data point, and an alarm event quoted in a public repository shows a minute's data
  point used 38 s after it ended. Set it to 0 only if you know better: it is the
  kinder direction.

Not modelled: Availability Zone dimensions, per-target metrics, connection and byte
counts, LCUs, HTTP 4xx, a response-time distribution finer than 16 samples a tick and 150
values a minute, sticky sessions, slow start, Route 53's
propagation delay after a change (the workflow waits for INSYNC, which moto reports at
once), and resolvers that share one cached answer among many clients.

The quality of a side comes, by default, from the image its ECS service runs: a tag
``bad`` or ending in ``-bad`` is :data:`BAD`, anything else :data:`HEALTHY`
(:func:`side_quality`, the one rule the ECS task simulation and the traffic share;
:data:`IMAGE_QUALITIES` adds images of your own). :meth:`Traffic.set_quality` overrides
one side, and :data:`QUALITY_SOURCES` lets another module (the ECS task lifecycle) say
what a load balancer's targets run.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.ecs.models import ecs_backends
from moto.elbv2.models import elbv2_backends
from moto.route53.exceptions import NoSuchHostedZone
from moto.route53.models import route53_backends

from weightshift_emulator import patches
from weightshift_emulator.world import ACCOUNT, REGION

NAMESPACE = "AWS/ApplicationELB"
LATENCY_SAMPLES_PER_TICK = 16
MAX_DISTINCT_VALUES = 150  # MetricDatum.Values: "up to 150 unique values in each PutMetricData action"
ELB_ALIAS_TTL = 60.0  # seconds; Route 53 FAQ: ELB alias records have a fixed TTL of 60 s
RETENTION_SECONDS = 15 * 86400  # "Data points with a period of 60 seconds (1-minute) are available for 15 days"


# ------------------------------------------------------------------ quality of a side
@dataclass(frozen=True)
class Quality:
    """How a side answers: the fraction of requests its targets answer with a 5xx, and
    their mean response time in seconds."""

    error_rate: float
    latency: float = 0.05

    @property
    def healthy(self) -> bool:
        return self.error_rate < UNHEALTHY_ERROR_RATE


UNHEALTHY_ERROR_RATE = 0.05  # ours: a side answering 5% or more 5xx is a bad release
HEALTHY = Quality(error_rate=0.001, latency=0.05)
BAD = Quality(error_rate=0.5, latency=0.4)
# Images (the full reference, or ":tag" for any repository) with a quality of their own.
IMAGE_QUALITIES: dict[str, Quality] = {}
# Asked first, in order, for the quality of a load balancer's targets (argument: the ALB
# ARN); None means "no opinion". The ECS task lifecycle can register one here.
QUALITY_SOURCES: list[Callable[[str], Quality | None]] = []


def image_tag(image: str) -> str:
    """The tag of an image reference (``repo/name:tag@sha256:...``; none means ``latest``)."""
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def side_quality(image: str) -> Quality:
    """The quality of a side whose targets run ``image``: :data:`IMAGE_QUALITIES` first,
    then the tag rule (``bad`` or ``*-bad`` is :data:`BAD`, else :data:`HEALTHY`)."""
    tag = image_tag(image)
    known = IMAGE_QUALITIES.get(image) or IMAGE_QUALITIES.get(f":{tag}")
    if known is not None:
        return known
    return BAD if tag == "bad" or tag.endswith("-bad") else HEALTHY


def image_health(image: str) -> bool:
    """Whether ``image`` is a good release: the ECS simulation's ``image_health`` hook, so
    its task health and this traffic's errors agree."""
    return side_quality(image).healthy


# ------------------------------------------------------------------ Route 53 answers
@dataclass(frozen=True)
class Answer:
    """One record of the weighted set, as a resolver sees it now."""

    side: str  # the SetIdentifier (the record name for a non-weighted record)
    load_balancer: str | None  # the ALB ARN the answer leads to
    weight: int | None
    ttl: float
    healthy: bool


def choose(answers: list[Answer], rng: random.Random) -> Answer | None:
    """Route 53's choice among a weighted set, for one query."""
    if not answers:
        return None
    pool = [a for a in answers if a.healthy] or answers  # none healthy: all count as healthy
    weighted = [a for a in pool if a.weight]
    if weighted:
        return rng.choices(weighted, weights=[float(a.weight or 0) for a in weighted])[0]
    return rng.choice(pool)  # every weight 0 (or a simple record): equal probability


def shares(answers: list[Answer]) -> dict[str, float]:
    """Each side's expected share of new resolutions (what :func:`choose` does on average)."""
    pool = [a for a in answers if a.healthy] or answers
    weighted = [a for a in pool if a.weight]
    if weighted:
        total = float(sum(a.weight or 0 for a in weighted))
        return {a.side: (a.weight or 0) / total for a in weighted}
    return {a.side: 1.0 / len(pool) for a in pool} if pool else {}


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _lb_dns(name: str) -> str:
    name = name.rstrip(".").lower()
    return name.removeprefix("dualstack.")


def distribution(samples: list[tuple[float, int]], limit: int = MAX_DISTINCT_VALUES) -> tuple[list[float], list[float]]:
    """``(value, count)`` samples as PutMetricData Values/Counts with at most ``limit``
    distinct values: in value order, merged into groups of about equal count, each the
    count-weighted mean of its samples (the total count and the sum are kept)."""
    merged: dict[float, int] = {}
    for value, n in samples:
        if n > 0:
            merged[value] = merged.get(value, 0) + n
    ordered = sorted(merged.items())
    if len(ordered) > limit:
        total = sum(n for _, n in ordered)
        groups: list[tuple[float, int]] = []
        acc_sum, acc_n, done, step = 0.0, 0, 0, total / limit
        for value, n in ordered:
            acc_sum += value * n
            acc_n += n
            if done + acc_n >= step * (len(groups) + 1):  # this group reaches its share of the count
                groups.append((acc_sum / acc_n, acc_n))
                done += acc_n
                acc_sum, acc_n = 0.0, 0
        if acc_n:
            groups.append((acc_sum / acc_n, acc_n))
        merged = {}
        for value, n in groups:
            merged[value] = merged.get(value, 0) + n
        ordered = sorted(merged.items())
    return [v for v, _ in ordered], [float(n) for _, n in ordered]


# ------------------------------------------------------------------ per-minute counts
@dataclass
class Minute:
    """What one load balancer did in one minute (one side's row of the history)."""

    start: datetime  # UTC, the data points' timestamp
    side: str
    load_balancer: str
    sent: int = 0  # requests clients sent to it
    requests: int = 0  # requests a target answered (RequestCount)
    target_2xx: int = 0
    target_5xx: int = 0
    elb_503: int = 0
    latency_sum: float = 0.0
    latency_min: float = math.inf
    latency_max: float = 0.0
    healthy_hosts: int = 0
    unhealthy_hosts: int = 0
    registered: int = 0
    target_group: str | None = None


@dataclass
class _Client:
    side: str | None = None
    load_balancer: str | None = None
    expires: float = 0.0
    credit: float = 0.0
    overstays: bool = False


@dataclass
class _Alb:
    arn: str
    dimension: str  # app/<name>/<id>
    target_group: str | None  # the target group ARN its traffic goes to
    registered: int
    healthy: int
    unhealthy: int


@dataclass
class Traffic:
    """Clients of one record (``record_name`` in hosted zone ``zone_id``), and the load
    balancers they reach. Moved through time by :meth:`advance` (``simclock.SimClock``)."""

    zone_id: str
    record_name: str
    rate: float = 20.0  # requests per second, all clients together
    clients: int = 200
    seed: int = 0
    publish_delay: float = 30.0
    overstay_fraction: float = 0.0
    overstay_seconds: float = 0.0
    record_type: str = "A"
    account: str = ACCOUNT
    region: str = REGION
    overrides: dict[str, Quality] = field(default_factory=dict)  # side -> quality
    history: deque[Minute] = field(default_factory=lambda: deque(maxlen=100_000))
    seconds: deque[tuple[float, dict[str, int]]] = field(default_factory=lambda: deque(maxlen=3 * 3600))
    _rng: random.Random = field(init=False, repr=False)
    _population: list[_Client] = field(default_factory=list, init=False, repr=False)
    _open: dict[tuple[float, str], Minute] = field(default_factory=dict, init=False, repr=False)
    # (minute start, ALB ARN) -> the minute's latency samples as (seconds, requests), until published
    _latencies: dict[tuple[float, str], list[tuple[float, int]]] = field(default_factory=dict, init=False, repr=False)
    _last_pruned: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - a simulation's reproducible randomness

    # ---------------------------------------------------------------- knobs
    def set_quality(self, side: str, quality: Quality | None) -> None:
        """Make ``side`` (a SetIdentifier) answer with ``quality``; ``None``: back to what it runs."""
        if quality is None:
            self.overrides.pop(side, None)
        else:
            self.overrides[side] = quality

    def set_rate(self, rate: float) -> None:
        """Requests per second, all clients together."""
        self.rate = float(rate)

    # ---------------------------------------------------------------- what resolvers see
    def answers(self) -> list[Answer]:
        """The weighted set as Route 53 holds it now, each record with its health."""
        try:
            zone = route53_backends[self.account]["global"].get_hosted_zone(self.zone_id)
        except NoSuchHostedZone:  # the zone was deleted: every query gets NXDOMAIN
            return []
        name = self.record_name.rstrip(".").lower() + "."
        rrsets = list(zone.rrsets)
        records = [r for r in rrsets if str(r.name).lower() == name and r.type == self.record_type]
        if not records and self.record_type == "A":
            records = [r for r in rrsets if str(r.name).lower() == name and r.type == "CNAME"]
        elb = elbv2_backends[self.account][self.region]
        by_dns = {_lb_dns(lb.dns_name): arn for arn, lb in list(elb.load_balancers.items())}
        found = []
        for record in records:
            alias = record.alias_target or {}
            if alias:
                lb = by_dns.get(_lb_dns(str(alias.get("DNSName", ""))))
                ttl = ELB_ALIAS_TTL
            else:
                values = record.records or []
                lb = by_dns.get(_lb_dns(str(values[0]))) if values else None
                ttl = float(record.ttl or 0)
            healthy = not (record.health_check_id and record.health_check_id in patches.UNHEALTHY_CHECKS)
            if healthy and alias and _bool(alias.get("EvaluateTargetHealth")):
                healthy = lb is not None and self._alb_healthy(lb)
            weight = int(record.weight) if record.weight is not None else None
            found.append(Answer(str(record.set_identifier or record.name), lb, weight, ttl, healthy))
        return found

    def _target_groups(self, lb_arn: str) -> list[Any]:
        elb = elbv2_backends[self.account][self.region]
        return [tg for tg in list(elb.target_groups.values()) if lb_arn in tg.load_balancer_arns]

    def _alb_healthy(self, lb_arn: str) -> bool:
        """Route 53's view of an ALB alias with EvaluateTargetHealth."""
        groups = self._target_groups(lb_arn)
        if not groups:
            return False
        return all(self._health(tg)[1] > 0 for tg in groups)

    def _health(self, tg: Any) -> tuple[int, int, int]:
        """(registered, healthy, unhealthy) targets of a target group, as DescribeTargetHealth says."""
        elb = elbv2_backends[self.account][self.region]
        states = [str(h.status) for h in elb.describe_target_health(tg.arn, [])]
        return len(states), states.count("healthy"), states.count("unhealthy")

    def _alb(self, lb_arn: str) -> _Alb:
        groups = self._target_groups(lb_arn)
        chosen, counts = None, (0, 0, 0)
        for tg in groups:
            health = self._health(tg)
            if chosen is None or (counts[0] == 0 and health[0] > 0):
                chosen, counts = tg, health
        return _Alb(
            lb_arn,
            lb_arn.split(":loadbalancer/", 1)[-1],
            chosen.arn if chosen is not None else None,
            *counts,
        )

    # ---------------------------------------------------------------- quality
    def quality(self, side: str, lb_arn: str | None) -> Quality:
        """The quality side ``side`` answers with now: an override, a registered source,
        or the image of the ECS service behind the load balancer."""
        if side in self.overrides:
            return self.overrides[side]
        if lb_arn is None:
            return HEALTHY
        for source in list(QUALITY_SOURCES):
            found = source(lb_arn)
            if found is not None:
                return found
        image = self.image_of(lb_arn)
        return side_quality(image) if image else HEALTHY

    def image_of(self, lb_arn: str) -> str | None:
        """The image the ECS service registered in the load balancer's target groups runs
        (its current task definition; the container its loadBalancers entry names)."""
        groups = {tg.arn for tg in self._target_groups(lb_arn)}
        ecs = ecs_backends[self.account][self.region]
        for service in list(ecs.services.values()):
            if getattr(service, "status", "ACTIVE") != "ACTIVE" or not service.task_definition:
                continue
            entry = next((e for e in service.load_balancers if e.get("targetGroupArn") in groups), None)
            if entry is None:
                continue
            task_definition = ecs.describe_task_definition(service.task_definition)
            containers = task_definition.container_definitions
            container = next((c for c in containers if c.get("name") == entry.get("containerName")), None)
            container = container or (containers[0] if containers else None)
            return str(container["image"]) if container else None
        return None

    # ---------------------------------------------------------------- time passes
    def advance(self, start: float, end: float) -> None:
        """Simulate the clients from ``start`` to ``end`` (epoch seconds, one tick), then
        publish every minute whose data is due by ``end``."""
        if end <= start:
            return
        answers = self.answers()
        if not self._population:
            self._populate(start, answers)
        sent: dict[str, int] = {}
        to_lb: dict[str, str] = {}
        per_client = self.rate / max(self.clients, 1)
        for client in self._population:
            if client.expires <= end:
                self._resolve(client, answers, end)
            if client.side is None:
                continue
            client.credit += per_client * (end - start)
            count = int(client.credit)
            if count:
                client.credit -= count
                sent[client.side] = sent.get(client.side, 0) + count
                if client.load_balancer:
                    to_lb[client.side] = client.load_balancer
        self.seconds.append((end, dict(sent)))
        minute_start = math.floor(start / 60) * 60  # a tick never spans two minutes (ticks divide 60 s)
        sides = {a.side: a.load_balancer for a in answers if a.load_balancer} | to_lb
        for side, lb_arn in sides.items():
            if lb_arn is None:
                continue
            self._serve(minute_start, side, lb_arn, sent.get(side, 0))
        self._publish_due(end)

    def _populate(self, start: float, answers: list[Answer]) -> None:
        """Clients in steady state: each holds an answer, the expiries spread over one TTL."""
        self._population = []
        for i in range(max(self.clients, 0)):
            client = _Client(overstays=i < round(self.clients * self.overstay_fraction))
            answer = choose(answers, self._rng)
            if answer is not None:
                client.side, client.load_balancer = answer.side, answer.load_balancer
                client.expires = start + self._rng.random() * answer.ttl
            client.credit = self._rng.random()
            self._population.append(client)

    def _resolve(self, client: _Client, answers: list[Answer], now: float) -> None:
        answer = choose(answers, self._rng)
        if answer is None:  # no such record: NXDOMAIN, retried a TTL later
            client.side, client.load_balancer, client.expires = None, None, now + ELB_ALIAS_TTL
            return
        client.side, client.load_balancer = answer.side, answer.load_balancer
        client.expires = now + answer.ttl + (self.overstay_seconds if client.overstays else 0.0)

    def _serve(self, minute_start: float, side: str, lb_arn: str, count: int) -> None:
        """The load balancer answers ``count`` requests in one tick."""
        alb = self._alb(lb_arn)
        row = self._open.get((minute_start, lb_arn))
        if row is None:
            row = self._open[(minute_start, lb_arn)] = Minute(
                datetime.fromtimestamp(minute_start, UTC), side, lb_arn, target_group=alb.target_group
            )
        row.registered, row.healthy_hosts, row.unhealthy_hosts = alb.registered, alb.healthy, alb.unhealthy
        row.target_group = alb.target_group
        if not count:
            return
        row.sent += count
        if alb.registered == 0:  # no target to choose: the load balancer answers 503 itself
            row.elb_503 += count
            return
        quality = self.quality(side, lb_arn)  # healthy targets, or all of them when it fails open
        errors = self._binomial(count, quality.error_rate)
        row.requests += count
        row.target_5xx += errors
        row.target_2xx += count - errors
        n = min(count, LATENCY_SAMPLES_PER_TICK)
        base, extra = divmod(count, n)  # integer weights that sum to count
        samples = [(self._latency(quality.latency), base + (1 if i < extra else 0)) for i in range(n)]
        self._latencies.setdefault((minute_start, lb_arn), []).extend(samples)
        row.latency_sum += math.fsum(v * c for v, c in samples)
        row.latency_min = min(row.latency_min, *(v for v, _ in samples))
        row.latency_max = max(row.latency_max, *(v for v, _ in samples))

    def _binomial(self, n: int, p: float) -> int:
        if p <= 0:
            return 0
        if p >= 1:
            return n
        if n <= 500:
            return sum(1 for _ in range(n) if self._rng.random() < p)
        drawn = round(self._rng.gauss(n * p, math.sqrt(n * p * (1 - p))))
        return max(0, min(n, drawn))

    def _latency(self, mean: float) -> float:
        sigma = 0.5
        return self._rng.lognormvariate(math.log(max(mean, 1e-6)) - sigma * sigma / 2, sigma)

    # ---------------------------------------------------------------- publishing
    def _publish_due(self, now: float) -> None:
        due = [key for key in self._open if key[0] + 60 + self.publish_delay <= now]
        for key in sorted(due):
            row = self._open.pop(key)
            self._publish(row, self._latencies.pop(key, []))
            self.history.append(row)
        if now - self._last_pruned >= 3600:
            self.prune(now)
            self._last_pruned = now

    def _publish(self, row: Minute, latencies: list[tuple[float, int]] | None = None) -> None:
        stamp = row.start.replace(tzinfo=None)  # moto keeps naive UTC
        lb = [{"Name": "LoadBalancer", "Value": row.load_balancer.split(":loadbalancer/", 1)[-1]}]
        tg = [{"Name": "TargetGroup", "Value": row.target_group.split(":", 5)[-1]}, *lb] if row.target_group else None
        data: list[dict[str, Any]] = []
        distributions: list[dict[str, Any]] = []  # one PutMetricData action each (150 values at most)

        def count(name: str, value: int, dims: list[dict[str, str]] | None, always: bool = False) -> None:
            if dims is None or (value == 0 and not always):
                return
            stats = {"SampleCount": float(max(value, 1)), "Sum": float(value), "Minimum": 1.0, "Maximum": 1.0}
            if value == 0:
                stats = {"SampleCount": 1.0, "Sum": 0.0, "Minimum": 0.0, "Maximum": 0.0}
            data.append(
                {"MetricName": name, "Dimensions": dims, "Timestamp": stamp, "Unit": "Count", "StatisticValues": stats}
            )

        if row.sent:  # requests flowed: the load balancer reports
            for dims in (lb, tg):
                count("RequestCount", row.requests, dims, always=True)
                count("HTTPCode_Target_2XX_Count", row.target_2xx, dims)
                count("HTTPCode_Target_5XX_Count", row.target_5xx, dims)
                if row.requests and dims is not None and latencies:
                    values, counts = distribution(latencies)
                    distributions.append(
                        {
                            "MetricName": "TargetResponseTime",
                            "Dimensions": dims,
                            "Timestamp": stamp,
                            "Unit": "Seconds",
                            "Values": values,
                            "Counts": counts,
                        }
                    )
            count("HTTPCode_ELB_5XX_Count", row.elb_503, lb)
            count("HTTPCode_ELB_503_Count", row.elb_503, lb)
            if tg is not None and row.registered:
                per_target = row.requests / row.registered
                data.append(
                    {
                        "MetricName": "RequestCountPerTarget",
                        "Dimensions": tg,
                        "Timestamp": stamp,
                        "Unit": "Count",
                        "Value": per_target,
                    }
                )
        if tg is not None:
            for name, value in (("HealthyHostCount", row.healthy_hosts), ("UnHealthyHostCount", row.unhealthy_hosts)):
                data.append(
                    {"MetricName": name, "Dimensions": tg, "Timestamp": stamp, "Unit": "Count", "Value": float(value)}
                )
        backend = cloudwatch_backends[self.account][self.region]
        for i in range(0, len(data), 20):
            backend.put_metric_data(NAMESPACE, data[i : i + 20])
        for datum in distributions:
            backend.put_metric_data(NAMESPACE, [datum])

    def prune(self, now: float) -> None:
        """Drop this namespace's data points older than CloudWatch keeps 1-minute data (15 days)."""
        backend = cloudwatch_backends[self.account][self.region]
        cutoff = datetime.fromtimestamp(now - RETENTION_SECONDS, UTC).replace(tzinfo=None)
        kept = [d for d in backend.metric_data if d.namespace != NAMESPACE or d.timestamp >= cutoff]
        if len(kept) != len(backend.metric_data):
            backend.metric_data = kept

    # ---------------------------------------------------------------- reading what happened
    def sent(self, since: datetime, until: datetime) -> dict[str, int]:
        """Requests clients sent to each side in (since, until] (from the per-second record)."""
        low, high = since.timestamp(), until.timestamp()
        totals: dict[str, int] = {}
        for t, counts in list(self.seconds):
            if low < t <= high:
                for side, n in counts.items():
                    totals[side] = totals.get(side, 0) + n
        return totals

    def share(self, side: str, since: datetime, until: datetime) -> float:
        """``side``'s fraction of the requests sent in (since, until]."""
        totals = self.sent(since, until)
        total = sum(totals.values())
        return totals.get(side, 0) / total if total else 0.0

    def minutes(self, side: str) -> list[Minute]:
        """The published minutes of one side, oldest first."""
        return [m for m in list(self.history) if m.side == side]

    def caching(self) -> dict[str, int]:
        """How many clients hold each side's answer now."""
        held: dict[str, int] = {}
        for client in self._population:
            if client.side is not None:
                held[client.side] = held.get(client.side, 0) + 1
        return held
