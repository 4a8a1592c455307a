"""What the commands do, without the presentation: plan previews, finding and following
deployments, stopping one, and the ecs-deploy step of a release.

The deployment record (one DynamoDB item per deployment, written by the workflow)
is the source of truth for progress and outcome; the CLI only reads it, and writes
nothing but a StopExecution and, for ``release``, the ECS task definition and service.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from weightshift.errors import InvalidPlan, WeightshiftError
from weightshift.models import Color, Plan, Weights
from weightshift.plan import (
    HISTORY_BUDGET,
    HISTORY_LIMIT,
    bake_polls,
    bake_wait_seconds,
    build_plan,
    deployment_id_for,
    estimate,
    fit_to_ttl,
    validate_plan,
    warnings_for,
)
from weightshift.records import TERMINAL, Status
from weightshift.settings import RouteConfig

from weightshift_cli.aws import Ports
from weightshift_cli.errors import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    NoDeploymentRunning,
    UsageProblem,
    WatchTimeout,
)

PROMOTED = frozenset({Status.SUCCEEDED, Status.ALREADY_LIVE})
# A release that did not go out: its side still runs its task definition.
NOT_RELEASED = frozenset({Status.ROLLED_BACK, Status.REJECTED})
# How long a record may stay unfinished after its execution ended (the abort rule's
# Lambda normally updates it within seconds) before `watch` calls it stuck.
ENDED_GRACE_SECONDS = 60.0
PRICE_PER_THOUSAND_TRANSITIONS = 0.025  # Standard workflows, us-east-1

Sleep = Callable[[float], None]
Clock = Callable[[], float]


# ------------------------------------------------------------------ records
def plan_of(record: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(record.get("plan") or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def step_count(record: dict[str, Any]) -> int | None:
    steps = plan_of(record).get("steps")
    return len(steps) if isinstance(steps, list) else None


def weights_of(record: dict[str, Any], key: str = "currentWeights") -> Weights | None:
    value = record.get(key)
    if isinstance(value, dict) and "blue" in value and "green" in value:
        return Weights(blue=int(value["blue"]), green=int(value["green"]))
    return None


def target_percent(record: dict[str, Any]) -> float:
    """The target side's share of traffic (0-100) according to the record."""
    weights = weights_of(record, "restoredWeights") or weights_of(record)
    color = record.get("targetColor")
    if weights is None or color not in ("blue", "green"):
        return 100.0 if record.get("status") in PROMOTED else 0.0
    total = weights.blue + weights.green
    return 100.0 * weights.of(color) / total if total else 0.0


def share(weights: Weights, color: Color) -> float:
    total = weights.blue + weights.green
    return 100.0 * weights.of(color) / total if total else 50.0  # Route 53: all zero is an even split


def for_output(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A record for --json: the plan as an object rather than a JSON string."""
    if record is None:
        return None
    out = dict(record)
    if "plan" in out:
        out["plan"] = plan_of(record) or out["plan"]
    return out


def stack_summary(ports: Ports) -> dict[str, Any]:
    """One line of ``status --all``: the stack, its record, the weights live now, the running
    deployment and the last one. A stack that cannot be read says why instead."""
    config = ports.stack.config
    row: dict[str, Any] = {"stack": ports.stack.name, "recordName": config.record_name, "status": ports.stack.status}
    try:
        pair = ports.pair()
        running, last = active_deployment(ports), last_finished(ports)
    except (ClientError, BotoCoreError, WeightshiftError) as exc:
        return {**row, "error": str(exc).splitlines()[0]}
    row["weights"] = pair.weights.dump() if pair else None
    row["running"] = _brief(running)
    row["last"] = _brief(last)
    return row


def _brief(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    keys = ("deploymentId", "targetColor", "status", "step", "error", "finishedAt", "updatedAt")
    return {k: record[k] for k in keys if record.get(k) is not None}


def stack_alarms(ports: Ports) -> dict[str, str]:
    """The state of each alarm the stack owns (their names start with the stack's name)."""
    found: dict[str, str] = {}
    paginator = ports.aws.client("cloudwatch").get_paginator("describe_alarms")
    for page in paginator.paginate(AlarmNamePrefix=f"{ports.stack.name}-", AlarmTypes=["MetricAlarm"]):
        for alarm in page.get("MetricAlarms", []):
            found[str(alarm["AlarmName"])] = str(alarm["StateValue"])
    return dict(sorted(found.items()))


def exit_code_for(record: dict[str, Any]) -> int:
    return EXIT_OK if record.get("status") in PROMOTED else EXIT_FAILED


def active_deployment(ports: Ports) -> dict[str, Any] | None:
    """The deployment running now: the route lock's holder, else the newest unfinished record."""
    table, route = ports.deployments, ports.stack.route
    holder = table.lock_holder(route)
    if holder is not None and holder.deployment_id:
        record = table.get(route, holder.deployment_id)
        if record is not None and not record.finished:
            return record.as_dict()
    unfinished = [r for r in table.list_route(route) if not r.finished]
    return unfinished[-1].as_dict() if unfinished else None


def last_finished(ports: Ports) -> dict[str, Any] | None:
    finished = [r.as_dict() for r in ports.deployments.list_route(ports.stack.route) if r.finished]
    return max(finished, key=lambda r: str(r.get("finishedAt") or r.get("updatedAt") or ""), default=None)


def wait_for_deployment(
    ports: Ports,
    wait_seconds: float,
    interval: float,
    deployment_id: str | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> dict[str, Any]:
    """The running deployment (or the one named ``deployment_id``), waiting up to ``wait_seconds``."""
    deadline = clock() + max(0.0, wait_seconds)
    while True:
        table = ports.deployments
        if deployment_id:
            found = table.get(ports.stack.route, deployment_id)
            record = found.as_dict() if found is not None else None
        else:
            record = active_deployment(ports)
        if record is not None:
            return record
        if clock() >= deadline:
            if deployment_id:
                raise WatchTimeout(
                    f"deployment {deployment_id} did not start within {wait_seconds:g}s "
                    f"(no record in {ports.stack.table_name}); are the new tasks RUNNING? "
                    "see the trigger's logs and dead-letter queue"
                )
            raise NoDeploymentRunning(ports.stack.name, wait_seconds)
        sleep(min(interval, max(0.0, deadline - clock())) or interval)


def follow(
    ports: Ports,
    record: dict[str, Any],
    interval: float,
    timeout: float | None,
    on_record: Callable[[dict[str, Any]], None],
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    ended_grace: float = ENDED_GRACE_SECONDS,
) -> dict[str, Any]:
    """Poll a deployment's record until it is terminal; return the final record.

    Raises WatchTimeout after ``timeout`` seconds (the deployment goes on), and a
    CliError if the execution ended but the record stays unfinished (the abort
    rule did not run).
    """
    route, deployment_id = ports.stack.route, str(record["deploymentId"])
    deadline = clock() + timeout if timeout else None
    ended_at: float | None = None
    while True:
        on_record(record)
        if record.get("status") in TERMINAL:
            return record
        arn = ports.stack.execution_arn(record)
        execution = ports.sfn.status(arn)["status"] if arn else "MISSING"
        if execution == "RUNNING":
            ended_at = None
        elif ended_at is None:
            ended_at = clock()
        elif clock() - ended_at > ended_grace:
            raise CliError(
                f"deployment {deployment_id}: its execution is {execution} but the record is still "
                f"{record.get('status')} after {ended_grace:g}s; check the abort function's logs "
                f"and the execution {arn}",
                EXIT_ERROR,
            )
        if deadline is not None and clock() >= deadline:
            raise WatchTimeout(
                f"deployment {deployment_id} is still {record.get('status')} after {timeout:g}s "
                f"(step {record.get('step', 0)}, {record.get('targetColor')} at {target_percent(record):.0f}%); "
                "it goes on: watch it again or abort it",
                {"deploymentId": deployment_id, "status": record.get("status"), "step": record.get("step")},
            )
        sleep(interval)
        fresh = ports.deployments.get(route, deployment_id)
        if fresh is None:
            raise CliError(f"deployment {deployment_id}: its record disappeared from {ports.stack.table_name}")
        record = fresh.as_dict()


# --------------------------------------------------------------------- abort
@dataclass
class Abort:
    record: dict[str, Any]  # the final record
    execution_arn: str | None
    stopped: bool  # False: the execution had already ended when we asked


def abort(
    ports: Ports,
    record: dict[str, Any],
    user: str,
    interval: float,
    timeout: float,
    on_record: Callable[[dict[str, Any]], None],
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> Abort:
    """StopExecution (error ``Aborted``), then wait for the abort path to fail back."""
    arn = ports.stack.execution_arn(record)
    if arn is None:
        raise CliError(f"deployment {record.get('deploymentId')} has no execution to stop yet; try again")
    stopped = ports.sfn.stop(arn, "Aborted", f"weightshift abort by {user}")
    try:
        final = follow(ports, record, interval, timeout, on_record, sleep, clock, ended_grace=timeout)
    except CliError as exc:  # a timeout, or the record stuck after the execution ended
        raise WatchTimeout(
            f"stopped {arn}, but deployment {record.get('deploymentId')} did not fail back within {timeout:g}s "
            f"({exc.message}); the traffic may not be restored: check `weightshift status` and the abort "
            "function's logs"
        ) from exc
    return Abort(record=final, execution_arn=arn, stopped=stopped)


# ---------------------------------------------------------------------- plan
@dataclass
class PlanStepView:
    index: int
    target_percent: int
    weights: Weights
    starts_at: int
    bake_seconds: int
    effective_bake_seconds: int
    polls: int
    wait_seconds: int  # each wait of the bake


@dataclass
class PlanView:
    plan: Plan
    ttl_seconds: int
    steps: list[PlanStepView]
    min_duration_seconds: int
    transitions: int
    usd: float
    history_events: int
    warnings: list[str]
    problem: str | None  # why preflight would reject it, if it would

    def dump(self) -> dict[str, Any]:
        return {
            "schedule": self.plan.schedule,
            "target": self.plan.target.color,
            "ttlSeconds": self.ttl_seconds,
            "stepIntervalSeconds": self.plan.step_interval_seconds,
            "pollSeconds": self.plan.poll_seconds,
            "readinessTimeoutSeconds": self.plan.readiness_timeout_seconds,
            "timeoutSeconds": self.plan.timeout_seconds,
            "steps": [
                {
                    "index": s.index,
                    "targetPercent": s.target_percent,
                    "weights": s.weights.dump(),
                    "startsAtSeconds": s.starts_at,
                    "bakeSeconds": s.bake_seconds,
                    "effectiveBakeSeconds": s.effective_bake_seconds,
                    "polls": s.polls,
                }
                for s in self.steps
            ],
            "minDurationSeconds": self.min_duration_seconds,
            "transitions": self.transitions,
            "usd": round(self.usd, 6),
            "pricePerThousandTransitions": PRICE_PER_THOUSAND_TRANSITIONS,
            "historyEvents": self.history_events,
            "historyBudget": HISTORY_BUDGET,
            "historyLimit": HISTORY_LIMIT,
            "warnings": self.warnings,
            "problem": self.problem,
        }


def preview(config: RouteConfig, target: Color, ttl_seconds: int) -> PlanView:
    """The plan the trigger would build for a deployment of ``target``, and what it costs.

    Raises UsageProblem (a one-line error, exit 2) for a schedule the trigger would refuse.
    """
    try:
        plan = fit_to_ttl(build_plan(config, target, "plan-preview", "plan-preview"), ttl_seconds)
    except InvalidPlan as exc:
        raise UsageProblem(f"the trigger would refuse this plan: {exc}") from exc
    problem = None
    try:
        validate_plan(plan, ttl_seconds)  # what preflight checks against the record's real TTL
    except InvalidPlan as exc:  # shown with the schedule, then reported as the error
        problem = str(exc)
    cost = estimate(plan, ttl_seconds)
    steps, offset = [], 0
    for step in plan.steps:
        polls = bake_polls(step, ttl_seconds, plan.poll_seconds)
        wait = bake_wait_seconds(step, ttl_seconds, plan.poll_seconds)
        effective = polls * wait
        steps.append(
            PlanStepView(
                index=step.index,
                target_percent=round(100 * step.target_weight / (step.target_weight + step.live_weight)),
                weights=Weights.pair(target, step.target_weight, step.live_weight),
                starts_at=offset,
                bake_seconds=step.bake_seconds,
                effective_bake_seconds=effective,
                polls=polls,
                wait_seconds=wait,
            )
        )
        offset += effective
    return PlanView(
        plan=plan,
        ttl_seconds=ttl_seconds,
        steps=steps,
        min_duration_seconds=cost.min_duration_seconds,
        transitions=cost.transitions,
        usd=cost.usd(PRICE_PER_THOUSAND_TRANSITIONS),
        history_events=cost.history_events,
        warnings=repeated_steps(plan.schedule, [s.target_percent for s in steps]) + warnings_for(plan, ttl_seconds),
        problem=problem,
    )


def repeated_steps(schedule: str, percents: list[int]) -> list[str]:
    """A step at the same percentage as the one before bakes the same weights again: allowed
    (it only lengthens that step), but more likely a typo than a wish."""
    return [
        f"step {i + 1} repeats step {i}'s {now}% (schedule {schedule}): the same weights bake twice; "
        "was another percentage meant?"
        for i, (before, now) in enumerate(pairwise(percents), start=1)
        if before == now
    ]


# ------------------------------------------------------------------- release
# The fields of DescribeTaskDefinition that RegisterTaskDefinition accepts back.
_REGISTER_FIELDS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
)


@dataclass
class Release:
    color: Color
    service: str
    weights: Weights | None
    container: str
    image: str
    previous_image: str
    old_task_definition: str
    task_definition: str
    ecs_deployment: str
    deployment_id: str  # the Weightshift deployment the trigger will start for it

    def dump(self) -> dict[str, Any]:
        return {
            "side": self.color,
            "service": self.service,
            "weights": self.weights.dump() if self.weights else None,
            "container": self.container,
            "image": self.image,
            "previousImage": self.previous_image,
            "previousTaskDefinition": self.old_task_definition,
            "taskDefinition": self.task_definition,
            "ecsDeployment": self.ecs_deployment,
            "deploymentId": self.deployment_id,
        }


def idle_side(weights: Weights | None, wanted: Color | None) -> Color:
    """The side that gets the release: the one with weight 0 (the idle one)."""
    if weights is None:
        if wanted is None:
            raise UsageProblem(
                "the weighted record pair does not exist yet, so no side is idle: pass --side blue|green "
                "(Weightshift creates the pair with the other side live)"
            )
        return wanted
    idle: list[Color] = [c for c in ("blue", "green") if weights.of(c) == 0]
    if wanted is not None:
        if weights.of(wanted) != 0:
            raise UsageProblem(
                f"{wanted} is not idle: it has weight {weights.of(wanted)} (blue={weights.blue} "
                f"green={weights.green}); release to the side with weight 0"
            )
        return wanted
    if len(idle) != 1:
        state = "both have weight 0" if idle else "both carry traffic"
        raise CliError(
            f"no idle side to release to: blue={weights.blue} green={weights.green} ({state}); "
            "is a canary running? see `weightshift status`"
        )
    return idle[0]


def _swap_image(definition: dict[str, Any], image: str, container: str | None) -> tuple[dict[str, Any], str, str]:
    containers = definition.get("containerDefinitions") or []
    names = [str(c.get("name")) for c in containers]
    if container is None:
        if len(containers) != 1:
            raise UsageProblem(
                f"task definition {definition.get('family')} has {len(containers)} containers "
                f"({', '.join(names)}): pass --container NAME"
            )
        container = names[0]
    if container not in names:
        raise UsageProblem(
            f"task definition {definition.get('family')} has no container {container!r} (it has {', '.join(names)})"
        )
    request = {k: definition[k] for k in _REGISTER_FIELDS if definition.get(k) not in (None, [], {})}
    request["containerDefinitions"] = [dict(c) for c in containers]
    previous = ""
    for c in request["containerDefinitions"]:
        if c.get("name") == container:
            previous = str(c.get("image", ""))
            c["image"] = image
    return request, container, previous


def release(ports: Ports, image: str, container: str | None, side: Color | None) -> Release:
    """Register a revision of the idle side's task definition with ``image`` and deploy it."""
    config = ports.stack.config
    pair = ports.pair()
    weights = pair.weights if pair else None
    color = idle_side(weights, side)
    service = config.side(color).service_name
    ecs = ports.aws.client("ecs")
    described = ecs.describe_services(cluster=config.cluster_name, services=[service])
    services = [s for s in described.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        reasons = "; ".join(f.get("reason", "") for f in described.get("failures", []))
        raise CliError(f"ECS service {service} not found in cluster {config.cluster_name} ({reasons or 'INACTIVE'})")
    old_arn = str(services[0]["taskDefinition"])
    found = ecs.describe_task_definition(taskDefinition=old_arn, include=["TAGS"])
    request, container_name, previous = _swap_image(found["taskDefinition"], image, container)
    if found.get("tags"):
        request["tags"] = found["tags"]
    new_arn = str(ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"])
    updated = ecs.update_service(
        cluster=config.cluster_name, service=service, taskDefinition=new_arn, forceNewDeployment=True
    )["service"]
    deployments = updated.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0] if deployments else None)
    if primary is None or not primary.get("id"):
        raise CliError(f"ECS did not report a new deployment for {service} after UpdateService")
    ecs_deployment = str(primary["id"])
    return Release(
        color=color,
        service=service,
        weights=weights,
        container=container_name,
        image=image,
        previous_image=previous,
        old_task_definition=old_arn,
        task_definition=new_arn,
        ecs_deployment=ecs_deployment,
        deployment_id=deployment_id_for(config, color, ecs_deployment),
    )


# ------------------------------------------------------- after a failed release
@dataclass
class IdleService:
    """The side of a release that did not go out: it still runs that release's task definition.

    Weightshift fails back the traffic, not ECS: the service keeps the new revision. Putting the
    previous one back is an ECS deployment of that side, and the trigger starts a canary for
    every ECS deployment of a side that does not carry all the traffic (it cannot tell a restore
    from a release), so the CLI does not do it: it says how.
    """

    side: Color
    cluster: str
    service: str
    task_definition: str  # what the service runs now: the failed release's
    previous_task_definition: str | None  # what it ran before, if known

    def dump(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "service": self.service,
            "taskDefinition": self.task_definition,
            "previousTaskDefinition": self.previous_task_definition,
        }


def short_task_definition(arn: str | None) -> str:
    """``family:revision`` of a task definition ARN."""
    return str(arn or "-").rsplit("/", 1)[-1]


def idle_after_release(ports: Ports, done: Release) -> IdleService:
    return IdleService(
        side=done.color,
        cluster=ports.stack.config.cluster_name,
        service=done.service,
        task_definition=done.task_definition,
        previous_task_definition=done.old_task_definition,
    )


def idle_after(ports: Ports, record: dict[str, Any] | None) -> IdleService | None:
    """For a deployment rolled back or rejected: its side, if that service still runs its task definition.

    None when the service has moved on (a newer release), or when ECS cannot be read: ``status``
    reports what it can, and an operator without ECS permissions still gets the rest.
    """
    if record is None or record.get("status") not in NOT_RELEASED or record.get("targetColor") not in ("blue", "green"):
        return None
    released = plan_of(record).get("taskDefinitionArn")
    color: Color = record["targetColor"]
    config = ports.stack.config
    service = config.side(color).service_name
    try:
        ecs = ports.aws.client("ecs")
        found = ecs.describe_services(cluster=config.cluster_name, services=[service]).get("services") or []
        current = str(found[0]["taskDefinition"]) if found else ""
        if not current or current != released:
            return None
        previous = _revision_before(ecs, current)
    except (ClientError, BotoCoreError):
        return None
    return IdleService(color, config.cluster_name, service, current, previous)


def _revision_before(ecs: Any, arn: str) -> str | None:
    """The newest active revision of the same family below ``arn``'s (what ran before, as a rule)."""
    family, _, revision = short_task_definition(arn).rpartition(":")
    if not revision.isdigit():
        return None
    older: list[tuple[int, str]] = []
    for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE"):
        for candidate in page.get("taskDefinitionArns", []):
            name, _, number = short_task_definition(candidate).rpartition(":")
            if name == family and number.isdigit() and int(number) < int(revision):
                older.append((int(number), str(candidate)))
    return max(older)[1] if older else None
