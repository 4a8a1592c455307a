"""The deploy-time configuration check: what the stack's parameters name must exist and fit.

``sam deploy`` runs it through a custom resource (handlers/configuration_check.py), on
create and on every update, so a schedule the workflow cannot plan, a zone or record
that does not fit, a load balancer that is not an ALB, a cluster or service that does
not exist or is not attached to its side, or an alarm or health check with a typo fails
the deploy, instead of being found at the first release (or never). Each problem names
the parameter, the value and what was expected.

:func:`read_facts` does the reading (through the adapters); every rule is a pure
function of the :class:`Facts`, unit-tested without AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from weightshift.adapters.route53 import ALIAS_TTL_SECONDS, PAIR_RECORD_TYPES
from weightshift.errors import InvalidPlan
from weightshift.models import Color, normalize_record_name
from weightshift.plan import build_plan, resolve_check, validate_plan
from weightshift.schedule import parse_schedule
from weightshift.settings import RouteConfig

SCHEDULE_EXPECTED = (
    "a preset (AllAtOnce, Canary<N>Percent<M>Minutes, Linear<N>PercentEvery<M>Minutes) or a "
    "non-decreasing list of percentages from 1 to 100 that ends at 100, such as 5,25,50,100"
)
COLORS: tuple[Color, Color] = ("blue", "green")


@dataclass(frozen=True)
class Facts:
    """What the account says about the names in the stack's parameters."""

    zone_name: str | None  # None: no such hosted zone
    records: list[dict[str, Any]] = field(default_factory=list)  # every record at RecordName
    load_balancers: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # ARN -> description
    cluster_exists: bool = True
    service_target_groups: dict[str, list[str]] = field(default_factory=dict)  # missing services absent
    target_group_load_balancers: dict[str, list[str]] = field(default_factory=dict)
    alarm_states: dict[str, str] = field(default_factory=dict)  # name -> state, or MISSING
    health_checks: dict[str, bool] = field(default_factory=dict)  # id -> exists
    # MetricChecks: the error CloudWatch gave for a check's queries (resolved as for a green
    # target), by check name; absent when CloudWatch ran them.
    metric_check_errors: dict[str, str] = field(default_factory=dict)


def _param(color: Color, name: str) -> str:
    return f"{color.capitalize()}{name}"


def _lb_arn(config: RouteConfig, color: Color) -> str:
    return config.blue_load_balancer_arn if color == "blue" else config.green_load_balancer_arn


def _set_id(config: RouteConfig, color: Color) -> str:
    return config.blue_set_identifier if color == "blue" else config.green_set_identifier


def _service(config: RouteConfig, color: Color) -> str:
    return config.blue_service_name if color == "blue" else config.green_service_name


def ttl_of(records: list[dict[str, Any]]) -> int:
    """The TTL clients cache the pair for: an alias carries the ALB's 60 s."""
    ttls = [int(r["TTL"]) if "TTL" in r else ALIAS_TTL_SECONDS for r in records if r["Type"] in PAIR_RECORD_TYPES]
    return max(ttls, default=ALIAS_TTL_SECONDS)


def schedule_problems(config: RouteConfig, ttl_seconds: int) -> list[str]:
    """The schedule must parse, plan within Step Functions' limits, and bake at least the TTL."""
    try:
        steps = parse_schedule(config.schedule, config.step_interval_seconds)
    except InvalidPlan as exc:
        return [f"Schedule {config.schedule!r}: {exc}; expected {SCHEDULE_EXPECTED}"]
    problems = []
    if config.blue_set_identifier == config.green_set_identifier:
        problems.append(
            f"BlueSetIdentifier and GreenSetIdentifier are both {config.blue_set_identifier!r}; "
            "expected two different SetIdentifiers, one per side of the weighted pair"
        )
        return problems
    try:
        validate_plan(build_plan(config, "green", "configuration-check", "configuration-check"), ttl_seconds)
    except InvalidPlan as exc:
        problems.append(
            f"Schedule {config.schedule!r} with HealthPollSeconds={config.poll_seconds}, "
            f"ReadinessTimeoutSeconds={config.readiness_timeout_seconds} and "
            f"RouteBusyTimeoutSeconds={config.route_busy_timeout_seconds} cannot run as one execution: {exc}"
        )
    short = sorted({s.bake_seconds for s in steps if s.bake_seconds < ttl_seconds})
    if short:
        from_interval = any(
            s.bake_seconds < ttl_seconds and s.bake_seconds == config.step_interval_seconds for s in steps
        )
        where = (
            f"StepIntervalSeconds={config.step_interval_seconds}" if from_interval else f"Schedule {config.schedule!r}"
        )
        problems.append(
            f"{where}: a bake of {short[0]} s is shorter than the {ttl_seconds} s TTL of the records at "
            f"{config.record_name}, so clients could not have moved before the next step; expected "
            f"bakes of at least {ttl_seconds} s (raise it, or lower the records' TTL)"
        )
    return problems


def route_problems(config: RouteConfig, facts: Facts) -> list[str]:
    """The zone must exist and hold the name; what is at the name must be our pair (or nothing)."""
    if facts.zone_name is None:
        return [
            f"HostedZoneId {config.hosted_zone_id!r}: no such hosted zone in this account; "
            f"expected the id of the public hosted zone that holds {config.record_name}"
        ]
    name = normalize_record_name(config.record_name)
    if name != facts.zone_name and not name.endswith("." + facts.zone_name):
        return [
            f"RecordName {config.record_name!r} is not inside hosted zone {facts.zone_name.rstrip('.')} "
            f"(HostedZoneId {config.hosted_zone_id!r}); expected a name ending in .{facts.zone_name.rstrip('.')}"
        ]
    pair = [r for r in facts.records if r["Type"] in PAIR_RECORD_TYPES]
    if not pair:
        return []  # Weightshift creates the weighted pair at the first release
    ids = {c: _set_id(config, c) for c in COLORS}
    by_id = {r.get("SetIdentifier"): r for r in pair}
    others = [r for r in pair if r.get("SetIdentifier") not in ids.values() or "Weight" not in r]
    if others:
        found = ", ".join(f"{r['Type']} {r.get('SetIdentifier', '(no SetIdentifier)')}" for r in others)
        return [
            f"RecordName {config.record_name!r} already has records that are not the weighted pair "
            f"{ids['blue']!r}/{ids['green']!r} (BlueSetIdentifier/GreenSetIdentifier): {found}; expected "
            "exactly two weighted records with those SetIdentifiers, or none (Weightshift then creates them)"
        ]
    problems = []
    for color in COLORS:
        if ids[color] not in by_id:
            problems.append(
                f"{_param(color, 'SetIdentifier')} {ids[color]!r}: {config.record_name} has no weighted record "
                "with this SetIdentifier, only the other side's; expected both records of the pair, or none"
            )
    if problems:
        return problems
    if len({r["Type"] for r in pair}) > 1:
        return [f"RecordName {config.record_name!r}: the pair mixes record types; expected two records of one type"]
    for color in COLORS:
        lb = facts.load_balancers.get(_lb_arn(config, color))
        if lb is None:
            continue  # reported by load_balancer_problems
        target = _points_at(by_id[ids[color]])
        if target != _dns(str(lb.get("DNSName", ""))):
            problems.append(
                f"{_param(color, 'SetIdentifier')} {ids[color]!r}: the record at {config.record_name} points at "
                f"{target or 'nothing'}, not at {_param(color, 'LoadBalancerArn')}'s DNS name "
                f"{_dns(str(lb.get('DNSName', '')))}; expected the {color} record to alias the {color} load balancer"
            )
    return problems


def _dns(name: str) -> str:
    """A DNS name as Route 53 and ELB may spell it: lower case, no trailing dot, no "dualstack."."""
    name = name.strip().lower().rstrip(".")
    return name.removeprefix("dualstack.")


def _points_at(record: dict[str, Any]) -> str:
    if "AliasTarget" in record:
        return _dns(str(record["AliasTarget"].get("DNSName", "")))
    values = [str(v.get("Value", "")) for v in record.get("ResourceRecords", [])]
    return _dns(values[0]) if len(values) == 1 and record["Type"] == "CNAME" else ""


def load_balancer_problems(config: RouteConfig, facts: Facts) -> list[str]:
    problems = []
    if config.blue_load_balancer_arn == config.green_load_balancer_arn:
        problems.append(
            f"BlueLoadBalancerArn and GreenLoadBalancerArn are the same load balancer "
            f"({config.blue_load_balancer_arn}); expected one Application Load Balancer per side"
        )
    for color in COLORS:
        arn = _lb_arn(config, color)
        lb = facts.load_balancers.get(arn)
        if lb is None:
            problems.append(
                f"{_param(color, 'LoadBalancerArn')} {arn!r}: no such load balancer in this account and region; "
                f"expected the ARN of the {color} service's Application Load Balancer"
            )
        elif lb.get("Type") != "application":
            problems.append(
                f"{_param(color, 'LoadBalancerArn')} {arn!r} is a {lb.get('Type')} load balancer; "
                "expected an Application Load Balancer (Weightshift reads ALB target health and 5xx metrics)"
            )
    return problems


def service_problems(config: RouteConfig, facts: Facts) -> list[str]:
    if not facts.cluster_exists:
        return [
            f"ClusterName {config.cluster_name!r}: no such ECS cluster in this account and region; "
            "expected the cluster that runs both services"
        ]
    problems = []
    if config.blue_service_name == config.green_service_name:
        problems.append(
            f"BlueServiceName and GreenServiceName are both {config.blue_service_name!r}; "
            "expected two services, one per side"
        )
    for color in COLORS:
        service = _service(config, color)
        param = _param(color, "ServiceName")
        groups = facts.service_target_groups.get(service)
        if groups is None:
            problems.append(
                f"{param} {service!r}: no such ECS service in cluster {config.cluster_name!r} (ClusterName)"
            )
            continue
        lbs = {lb for tg in groups for lb in facts.target_group_load_balancers.get(tg, [])}
        if _lb_arn(config, color) not in lbs:
            where = ", ".join(sorted(lbs)) if lbs else "no load balancer"
            problems.append(
                f"{param} {service!r} registers its tasks with {where}, not with "
                f"{_param(color, 'LoadBalancerArn')} {_lb_arn(config, color)}; expected the {color} service "
                f"attached (through a target group) to the {color} load balancer"
            )
    return problems


def health_problems(config: RouteConfig, facts: Facts) -> list[str]:
    problems = [
        f"AlarmNames: alarm {name!r} does not exist in this account and region; expected the name of a "
        "CloudWatch metric or composite alarm"
        for name in config.alarm_names
        if facts.alarm_states.get(name) == "MISSING"
    ]
    for color in COLORS:
        check = config.blue_health_check_id if color == "blue" else config.green_health_check_id
        if check and not facts.health_checks.get(check, False):
            problems.append(
                f"{_param(color, 'HealthCheckId')} {check!r}: no such Route 53 health check; "
                "expected the id of an existing health check, or empty"
            )
    problems.extend(
        f"MetricChecks: check {name!r}: CloudWatch refused its queries: {error}"
        for name, error in sorted(facts.metric_check_errors.items())
    )
    return problems


def problems(config: RouteConfig, facts: Facts) -> list[str]:
    """Every problem with the configuration, in parameter order; empty when it is fine."""
    return [
        *route_problems(config, facts),
        *load_balancer_problems(config, facts),
        *service_problems(config, facts),
        *schedule_problems(config, ttl_of(facts.records)),
        *health_problems(config, facts),
    ]


class _Dns(Protocol):
    def zone_name(self, hosted_zone_id: str) -> str | None: ...

    def records_named(self, hosted_zone_id: str, record_name: str) -> list[dict[str, Any]]: ...

    def health_check_exists(self, health_check_id: str) -> bool: ...


class _Services(Protocol):
    def load_balancer(self, load_balancer_arn: str) -> dict[str, Any] | None: ...

    def cluster_exists(self, cluster: str) -> bool: ...

    def service_target_groups(self, cluster: str, services: list[str]) -> dict[str, list[str]]: ...

    def load_balancers_of(self, target_group_arns: list[str]) -> dict[str, list[str]]: ...


class _Alarms(Protocol):
    def alarm_states(self, names: list[str]) -> dict[str, str]: ...

    def query_error(self, queries: list[dict[str, Any]]) -> str | None: ...


def read_facts(config: RouteConfig, dns: _Dns, services: _Services, alarms: _Alarms) -> Facts:
    """Read what the rules need: about a dozen read-only calls, none of them a write."""
    zone = dns.zone_name(config.hosted_zone_id)
    records: list[dict[str, Any]] = []
    if zone is not None:
        records = dns.records_named(config.hosted_zone_id, config.record_name)
    arns = dict.fromkeys((config.blue_load_balancer_arn, config.green_load_balancer_arn))
    cluster = services.cluster_exists(config.cluster_name)
    groups = (
        services.service_target_groups(config.cluster_name, [config.blue_service_name, config.green_service_name])
        if cluster
        else {}
    )
    checks = [c for c in (config.blue_health_check_id, config.green_health_check_id) if c]
    return Facts(
        zone_name=zone,
        records=records,
        load_balancers={arn: services.load_balancer(arn) for arn in arns},
        cluster_exists=cluster,
        service_target_groups=groups,
        target_group_load_balancers=services.load_balancers_of(sorted({g for gs in groups.values() for g in gs})),
        alarm_states=alarms.alarm_states(config.alarm_names),
        health_checks={c: dns.health_check_exists(c) for c in checks},
        metric_check_errors=_metric_check_errors(config, alarms),
    )


def _metric_check_errors(config: RouteConfig, alarms: _Alarms) -> dict[str, str]:
    """Run each custom check's queries once (filled in as for a green target): a query
    CloudWatch refuses (a bad expression, a bad statistic) fails the deploy, not a release."""
    errors: dict[str, str] = {}
    for check in config.metric_checks:
        resolved = resolve_check(check, config.cluster_name, config.side("green"), config.side("blue"))
        error = alarms.query_error(resolved.metrics)
        if error:
            errors[check.name] = error
    return errors
