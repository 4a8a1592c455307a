"""Building and checking the plan. Pure functions: no AWS, no clock, no env.

The cost model here (events and state transitions per state) mirrors
``statemachine/canary.asl.json``; a workflow test compares it with a real
execution history, so the two cannot drift apart silently.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

from weightshift.errors import InvalidPlan
from weightshift.models import Color, HealthSettings, MetricCheck, Plan, PlanStep, SideSpec, alb_dimension
from weightshift.schedule import parse_schedule
from weightshift.settings import PLACEHOLDER_RE, RouteConfig

MAX_WEIGHT = 255
HISTORY_LIMIT = 25_000
# Leave room for retries and the fail-back path below the hard limit.
HISTORY_BUDGET = 20_000
# A hard ceiling for a whole deployment; the state machine's own TimeoutSeconds.
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
ALIAS_TTL_SECONDS = 60  # an alias to an ALB carries the ELB's 60 s TTL
DNS_SYNC_POLL_SECONDS = 15  # statemachine/canary.asl.json: "Pause for DNS sync"
DNS_SYNC_MAX_POLLS = 24  # 6 minutes for INSYNC (then DnsSyncTimeout); Route 53 usually needs < 60 s
STATE_MACHINE_SLACK_SECONDS = 900
ROUTE_BUSY_POLL_SECONDS = 30  # statemachine/canary.asl.json: "Wait for the route"
# statemachine/canary.asl.json: "Wait for the target to settle". Its own period, not the
# health poll's: how soon a ready target starts its canary does not depend on HealthPollSeconds.
READINESS_POLL_SECONDS = 15
MIN_POLL_SECONDS = 5  # template.yaml: HealthPollSeconds MinValue
MAX_READINESS_SECONDS = 86400  # template.yaml: ReadinessTimeoutSeconds MaxValue

# History events each kind of state writes (entered + exited, plus the task's
# scheduled/started/succeeded events).
EVENTS_TASK = 5
EVENTS_WAIT = 2
EVENTS_CHOICE = 2
EVENTS_PASS = 2
EVENTS_RETRY = 3  # one more scheduled/started/failed triple
# The bake: a waitForTaskToken task (entered, scheduled, started, submitted, timed out or
# failed, exited).
EVENTS_BAKE = 6


@dataclass(frozen=True)
class Cost:
    """Worst-case history events and expected state transitions of a plan."""

    history_events: int
    transitions: int
    min_duration_seconds: int

    def usd(self, price_per_thousand: float = 0.025) -> float:
        return self.transitions * price_per_thousand / 1000


def execution_name(color: Color, ecs_deployment: str, route: str) -> str:
    """A deterministic, sanitised execution name: <= 80 chars, no ``/`` or ``:``.

    The same ECS deployment on the same route always gives the same name, which
    makes StartExecution idempotent. A short hash keeps names unique across
    routes and after sanitising or truncation.
    """
    digest = hashlib.sha256(f"{route}|{ecs_deployment}".encode()).hexdigest()[:12]
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", ecs_deployment).strip("-") or "deployment"
    head = f"{color}-"
    room = 80 - len(head) - len(digest) - 1
    return f"{head}{readable[:room]}-{digest}"


def ecs_deployment_of(started_by: str | None, task_definition_arn: str) -> str:
    """The ECS deployment a task belongs to: ``startedBy`` or the task definition."""
    if started_by and started_by.strip():
        return started_by.strip()
    return task_definition_arn


def deployment_id_for(config: RouteConfig, target: Color, ecs_deployment: str) -> str:
    """The id (and execution name) the trigger gives a deployment of ``target`` on this route."""
    return execution_name(target, ecs_deployment, f"{config.hosted_zone_id}#{config.record_name}")


def fit_to_ttl(plan: Plan, ttl_seconds: int) -> Plan:
    """The plan's timeout was sized for an alias's 60 s TTL; a longer record TTL
    lengthens every bake, so the timeout grows with it."""
    needed = estimate(plan, ttl_seconds).min_duration_seconds + STATE_MACHINE_SLACK_SECONDS
    return plan.model_copy(update={"timeout_seconds": needed}) if needed > plan.timeout_seconds else plan


def build_steps(schedule: str, step_interval_seconds: int) -> list[PlanStep]:
    return [
        PlanStep(index=i, target_weight=s.percent, live_weight=100 - s.percent, bake_seconds=s.bake_seconds)
        for i, s in enumerate(parse_schedule(schedule, step_interval_seconds), start=1)
    ]


def build_plan(config: RouteConfig, target: Color, ecs_deployment: str, task_definition_arn: str) -> Plan:
    """The complete, self-contained workflow input for one deployment."""
    live: Color = "blue" if target == "green" else "green"
    steps = build_steps(config.schedule, config.step_interval_seconds)
    target_side: SideSpec = config.side(target)
    draft = Plan(
        deployment_id=deployment_id_for(config, target, ecs_deployment),
        ecs_deployment=ecs_deployment,
        task_definition_arn=task_definition_arn,
        cluster_name=config.cluster_name,
        hosted_zone_id=config.hosted_zone_id,
        record_name=config.record_name,
        target=target_side,
        live=config.side(live),
        schedule=config.schedule,
        steps=steps,
        step_interval_seconds=config.step_interval_seconds,
        poll_seconds=config.poll_seconds,
        readiness_timeout_seconds=config.readiness_timeout_seconds,
        route_busy_timeout_seconds=config.route_busy_timeout_seconds,
        timeout_seconds=1,
        health=HealthSettings(
            alarm_names=config.watched_alarms(target),
            min_requests=config.min_requests,
            max_error_rate_ratio=config.max_error_rate_ratio,
            max_no_verdict_polls=config.max_polls_without_traffic,
            pace=config.pace,
            min_observed_share=config.min_observed_share,
            latency_percentile=config.latency_percentile,
            max_latency_ratio=config.max_latency_ratio,
            metric_checks=[
                resolve_check(c, config.cluster_name, target_side, config.side(live)) for c in config.metric_checks
            ],
        ),
    )
    timeout = estimate(draft, ALIAS_TTL_SECONDS).min_duration_seconds + STATE_MACHINE_SLACK_SECONDS
    plan = draft.model_copy(update={"timeout_seconds": timeout})
    validate_plan(plan, ALIAS_TTL_SECONDS)
    return plan


def resolve_check(check: MetricCheck, cluster: str, target: SideSpec, live: SideSpec) -> MetricCheck:
    """A custom check with its placeholders ({target}, {liveLoadBalancer}, ...) filled in for
    this deployment's sides: the plan carries exactly the queries the gate will run."""
    values = {
        "target": target.color,
        "live": live.color,
        "targetService": target.service_name,
        "liveService": live.service_name,
        "targetLoadBalancer": alb_dimension(target.load_balancer_arn),
        "liveLoadBalancer": alb_dimension(live.load_balancer_arn),
        "cluster": cluster,
    }

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return PLACEHOLDER_RE.sub(lambda m: values.get(m[1], m[0]), value)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return check.model_copy(update={"metrics": fill(check.metrics)})


def extends_bakes(plan: Plan) -> bool:
    """A bake may run past its time: waiting for the clients (MinObservedShare) or for a
    custom check's data (noData: wait)."""
    return plan.health.min_observed_share > 0 or any(c.no_data == "wait" for c in plan.health.metric_checks)


def bake_polls(step: PlanStep, ttl_seconds: int, poll_seconds: int) -> int:
    """Health polls in a step's bake: the bake lasts max(step bake, TTL)."""
    return max(1, math.ceil(max(step.bake_seconds, ttl_seconds) / poll_seconds))


# MinObservedShare: a bake waits for the clients at most one more bake of its step, and at
# least this many polls (an ALB minute arrives about a minute after it ends, and clients
# keep their answer for the TTL: two polls can pass before a step's traffic shows at all).
OBSERVED_WAIT_MIN_POLLS = 3


def observed_wait_polls(polls: int) -> int:
    """How many more polls a bake may wait for the clients to follow its weights."""
    return max(polls, OBSERVED_WAIT_MIN_POLLS)


def bake_wait_seconds(step: PlanStep, ttl_seconds: int, poll_seconds: int) -> int:
    """Each wait of a step's bake: the bake split evenly into its polls, so a bake shorter
    than the poll interval is not stretched to it (a 60 s bake with a 300 s safety poll
    is one 60 s wait), and the polls together last the bake, give or take a second each."""
    return math.ceil(max(step.bake_seconds, ttl_seconds) / bake_polls(step, ttl_seconds, poll_seconds))


def estimate(plan: Plan, ttl_seconds: int) -> Cost:
    """Worst-case history events, happy-path transitions and minimum duration."""
    readiness_polls = (
        math.ceil(plan.readiness_timeout_seconds / READINESS_POLL_SECONDS) if plan.readiness_timeout_seconds else 0
    )
    busy_polls = math.ceil(plan.route_busy_timeout_seconds / ROUTE_BUSY_POLL_SECONDS)
    # Start: acquire the route, preflight, "route free? already live?" choice, readiness check + choice.
    events = 4 * EVENTS_TASK + 2 * EVENTS_CHOICE + EVENTS_PASS
    transitions = 1 + 1 + 1 + 2  # acquire, preflight, choice, readiness task + choice
    events += busy_polls * (EVENTS_TASK + EVENTS_CHOICE + EVENTS_WAIT)  # queued behind another deployment
    events += readiness_polls * (EVENTS_WAIT + EVENTS_TASK + EVENTS_CHOICE)
    duration = 0
    for step in plan.steps:
        polls = bake_polls(step, ttl_seconds, plan.poll_seconds)
        if extends_bakes(plan):  # the longest it may wait for the clients or a check's data
            polls += observed_wait_polls(polls)
        # shift, get change, in-sync choice, bake loop, next-step choice
        events += EVENTS_TASK + EVENTS_TASK + EVENTS_CHOICE + EVENTS_CHOICE
        events += DNS_SYNC_MAX_POLLS * (EVENTS_WAIT + EVENTS_PASS + EVENTS_TASK + EVENTS_CHOICE)
        events += polls * (EVENTS_BAKE + EVENTS_TASK + EVENTS_CHOICE + 2 * EVENTS_RETRY)
        transitions += 3 + polls * 3 + 1
        duration += polls * bake_wait_seconds(step, ttl_seconds, plan.poll_seconds)
    # Promote (task) and succeed, or fail back (task + sync wait) and fail.
    events += (
        2 * EVENTS_TASK
        + DNS_SYNC_MAX_POLLS * (EVENTS_WAIT + EVENTS_PASS + EVENTS_TASK + EVENTS_CHOICE)
        + 2 * EVENTS_PASS
        + 3
    )
    transitions += 2
    return Cost(history_events=events, transitions=transitions, min_duration_seconds=duration)


def validate_plan(plan: Plan, ttl_seconds: int) -> None:
    """Reject a plan that could hurt: raise InvalidPlan with a message a person can act on."""
    if plan.target.color == plan.live.color:
        raise InvalidPlan(f"target and live side are both {plan.target.color}")
    if plan.target.set_identifier == plan.live.set_identifier:
        raise InvalidPlan(f"both sides use SetIdentifier {plan.target.set_identifier!r}")
    if not plan.steps:
        raise InvalidPlan("the plan has no steps")
    previous_share = -1.0
    for step in plan.steps:
        for name, weight in (("target", step.target_weight), ("live", step.live_weight)):
            if not 0 <= weight <= MAX_WEIGHT:
                raise InvalidPlan(f"step {step.index}: {name} weight {weight} is outside 0-{MAX_WEIGHT}")
        total = step.target_weight + step.live_weight
        if total == 0:
            raise InvalidPlan(f"step {step.index}: both weights are 0, which Route 53 treats as an even split")
        share = step.target_weight / total
        if share < previous_share:
            raise InvalidPlan(f"step {step.index}: the target's share goes down ({share:.0%} < {previous_share:.0%})")
        previous_share = share
    last = plan.steps[-1]
    if last.live_weight != 0 or last.target_weight == 0:
        raise InvalidPlan(
            f"the last step must send 100% to the target, it sends target={last.target_weight} live={last.live_weight}"
        )
    if [s.index for s in plan.steps] != list(range(1, len(plan.steps) + 1)):
        raise InvalidPlan("step indexes must be 1, 2, 3, ... in order")
    cost = estimate(plan, ttl_seconds)
    if cost.history_events > HISTORY_BUDGET:
        raise InvalidPlan(
            f"the plan could write {cost.history_events} history events, over the budget of "
            f"{HISTORY_BUDGET} (Step Functions fails an execution at {HISTORY_LIMIT}); "
            "use fewer steps or a longer health poll interval"
        )
    if plan.timeout_seconds > MAX_TIMEOUT_SECONDS:
        raise InvalidPlan(f"timeout {plan.timeout_seconds}s is over the {MAX_TIMEOUT_SECONDS}s ceiling")
    if plan.timeout_seconds < cost.min_duration_seconds:
        raise InvalidPlan(
            f"timeout {plan.timeout_seconds}s is shorter than the schedule's {cost.min_duration_seconds}s of bake"
        )


def warnings_for(plan: Plan, ttl_seconds: int) -> list[str]:
    """Things worth telling a person about a valid plan."""
    notes = []
    for step in plan.steps:
        if step.bake_seconds < ttl_seconds:
            notes.append(
                f"step {step.index} bakes {step.bake_seconds}s, less than the {ttl_seconds}s TTL; "
                f"it will bake {ttl_seconds}s so that clients see the new weights"
            )
    cost = estimate(plan, ttl_seconds)
    if cost.history_events > HISTORY_BUDGET * 0.8:
        notes.append(f"worst-case history of {cost.history_events} events is near the {HISTORY_LIMIT} limit")
    return notes


# What an execution input may choose; everything else belongs to the stack (design.md, invariant 8).
RELEASE_FIELDS = (
    "target.color, ecsDeployment, taskDefinitionArn, schedule, stepIntervalSeconds (at least the stack's), "
    "pollSeconds (at most the stack's), readinessTimeoutSeconds and timeoutSeconds"
)


def authorize(plan: Plan, config: RouteConfig) -> Plan:
    """The stack decides; an input only asks (design.md, invariant 8).

    An execution input (the trigger's, or one typed into "New execution") may choose
    the release: the target side, the ECS deployment and task definition, the schedule
    and its timings within the stack's bounds. The route, the two sides, the cluster,
    the deployment id and every health gate must be exactly what this stack's
    configuration gives, or the plan is refused with the field, the value and what
    the stack expects. Raises InvalidPlan; returns the plan unchanged when it passes.
    """
    if plan.step_interval_seconds < config.step_interval_seconds:
        raise InvalidPlan(
            f"stepIntervalSeconds: the input says {plan.step_interval_seconds}, below this stack's "
            f"StepIntervalSeconds of {config.step_interval_seconds} (an input may bake longer, never shorter)"
        )
    if not MIN_POLL_SECONDS <= plan.poll_seconds <= config.poll_seconds:
        raise InvalidPlan(
            f"pollSeconds: the input says {plan.poll_seconds}; this stack allows {MIN_POLL_SECONDS} to "
            f"{config.poll_seconds} (HealthPollSeconds: an input may poll more often, never less)"
        )
    if plan.readiness_timeout_seconds > MAX_READINESS_SECONDS:
        raise InvalidPlan(
            f"readinessTimeoutSeconds: the input says {plan.readiness_timeout_seconds}, over {MAX_READINESS_SECONDS}"
        )
    validate_plan(plan, ALIAS_TTL_SECONDS)
    asked = config.model_copy(
        update={
            "schedule": plan.schedule,
            "step_interval_seconds": plan.step_interval_seconds,
            "poll_seconds": plan.poll_seconds,
            "readiness_timeout_seconds": plan.readiness_timeout_seconds,
        }
    )
    expected = build_plan(asked, plan.target.color, plan.ecs_deployment, plan.task_definition_arn)
    ignored = {"timeoutSeconds"}  # bounded by validate_plan: at least the bake, at most the ceiling
    mismatch = _first_difference(plan.dump(), expected.dump(), ignored)
    if mismatch is not None:
        path, got, want = mismatch
        raise InvalidPlan(
            f"{path}: the input says {got!r}, this stack's configuration says {want!r}. "
            f"An execution input chooses only the release ({RELEASE_FIELDS}); "
            "the route, the two sides and the health gates come from the stack"
        )
    return plan


def _first_difference(
    got: object, want: object, ignored: set[str], path: str = ""
) -> tuple[str, object, object] | None:
    if isinstance(got, dict) and isinstance(want, dict):
        for key in sorted(set(got) | set(want)):
            if not path and key in ignored:
                continue
            found = _first_difference(got.get(key), want.get(key), ignored, f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            found = _first_difference(g, w, ignored, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return None if got == want else (path or "plan", got, want)
