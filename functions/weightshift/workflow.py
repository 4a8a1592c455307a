"""What each Task state of the canary workflow does.

The state machine passes its whole state (the plan plus what earlier states
returned) and a little context. Each function here is idempotent, so that a
Retry, a redrive or a re-run with the same input does the right thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from weightshift import evidence, health, records
from weightshift.adapters.route53 import RecordPair
from weightshift.errors import (
    ConfigurationBroken,
    DeadlineExceeded,
    DeploymentAlreadyRunning,
    ExecutionFinished,
    FailbackInProgress,
    HealthGateFailed,
    InvalidPlan,
    RouteBusyTimeout,
    RouteLost,
    RouteNotFound,
    TargetNotReady,
)
from weightshift.models import Plan, SideSpec, Weights
from weightshift.observability import logger
from weightshift.ownership import not_owned_reason
from weightshift.plan import (
    ALIAS_TTL_SECONDS,
    READINESS_POLL_SECONDS,
    authorize,
    bake_polls,
    bake_wait_seconds,
    fit_to_ttl,
    observed_wait_polls,
    validate_plan,
)
from weightshift.ports import Dns, Executions, Metrics, Notifications, RecordStore, Services
from weightshift.records import DeploymentRecord, Status
from weightshift.settings import RouteConfig

# The states an execution enters only after its final bake passed with DNS at the
# target (statemachine/canary.asl.json). Having entered one means "promoted":
# nothing may move traffic back for it (design.md, invariant 9).
PROMOTED_STATES = frozenset({"Promote", "Promoted, record not updated"})


@dataclass
class WorkflowPorts:
    deployments: RecordStore
    route53: Dns
    ecs_elb: Services
    cloudwatch: Metrics
    notifier: Notifications
    sfn: Executions


@dataclass(frozen=True)
class TaskInput:
    state: dict[str, Any]
    execution_arn: str
    now: datetime
    config: RouteConfig

    @property
    def plan(self) -> Plan:
        """The execution input, checked against the stack's configuration (invariant 8)."""
        return authorize(load_plan(self.state), self.config)

    def part(self, name: str) -> dict[str, Any]:
        value = self.state.get(name)
        return value if isinstance(value, dict) else {}


def load_plan(state: dict[str, Any]) -> Plan:
    known = set(Plan.model_fields) | {f.alias for f in Plan.model_fields.values() if f.alias}
    # The state machine adds what each state returned beside the plan's fields.
    state = {k: v for k, v in state.items() if k in known or k not in WORKFLOW_KEYS}
    try:
        return Plan.model_validate(state)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'plan'}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidPlan(f"the execution input is not a valid Weightshift plan: {problems}") from exc


# What the states of statemachine/canary.asl.json add to the execution's state (ResultPath).
WORKFLOW_KEYS = frozenset(
    {
        "run",
        "readiness",
        "shift",
        "sync",
        "gate",
        "finish",
        "failure",
        "failback",
        "failbackError",
        "syncError",
        "rejectError",
        "promoteError",
    }
)


def _iso(now: datetime) -> str:
    return now.isoformat()


# ------------------------------------------------------------------ preflight
def preflight(inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any]:
    """Check everything that can be checked without touching DNS, then claim the route."""
    unplannable = inp.state.get("invalidConfiguration")
    if unplannable:  # the trigger could not plan this release from the stack's configuration
        raise ConfigurationBroken(
            f"the stack's configuration cannot plan deployment {inp.state.get('deploymentId')}: {unplannable}. "
            "Nothing in DNS was changed; fix the stack's parameters (sam deploy), then release again"
        )
    forged = sorted(set(inp.state) & (WORKFLOW_KEYS - {"run"}))
    if forged:
        raise InvalidPlan(f"the execution input carries {', '.join(forged)}, which only the workflow itself writes")
    plan = inp.plan
    validate_plan(plan, ALIAS_TTL_SECONDS)
    still_busy = _poll_in_line(plan, inp, ports)
    if still_busy is not None:
        return still_busy
    ports.route53.check_zone(plan.hosted_zone_id, plan.record_name)
    pair = _pair(plan, ports)
    ttl = pair.ttl_seconds if pair else ALIAS_TTL_SECONDS
    plan = fit_to_ttl(plan, ttl)
    validate_plan(plan, ttl)
    if pair is None:
        for side in (plan.target, plan.live):
            ports.ecs_elb.alias_target(side.load_balancer_arn)  # fails now if an ALB is missing

    route, now_iso = plan.route_key, _iso(inp.now)
    ports.deployments.claim(plan, plan.deployment_id, now_iso)  # a console re-run has no trigger claim
    if "run" not in inp.state:  # once, at the first call (after the claim, which records a rejection)
        check_configuration(plan, ports, inp.config.stack_id)
    busy = _acquire(plan, inp, ports)
    if busy is not None:
        return busy

    # Read again: taking the route over may have just failed back an ended holder.
    pair = _pair(plan, ports)
    weights = pair.weights if pair else None
    if weights is not None and weights.of(plan.target.color) > 0 and weights.of(plan.live.color) == 0:
        record = ports.deployments.get(route, plan.deployment_id)
        done = record is not None and (
            record.status == Status.SUCCEEDED
            or (record.status == Status.ALREADY_LIVE and record.execution_arn == inp.execution_arn)  # a retry
        )
        if not done:
            live = records.already_live(inp.execution_arn, f"{plan.target.color} already carries all traffic", now_iso)
            if not ports.deployments.apply(route, plan.deployment_id, live):
                _finished_for_us(plan, inp, ports)
        ports.deployments.release(route, inp.execution_arn)
        logger.info("target already live: nothing to do", extra={"weights": weights.dump()})
        return {"busy": False, "alreadyLive": True, "weights": weights.dump()}

    deadline = inp.now + timedelta(seconds=plan.timeout_seconds)
    if not ports.deployments.apply(
        route, plan.deployment_id, records.start(inp.execution_arn, now_iso, _iso(deadline))
    ):
        _finished_for_us(plan, inp, ports)
    ports.notifier.publish(
        "started",
        f"Weightshift: canary to {plan.target.color} started",
        {
            "deploymentId": plan.deployment_id,
            "target": plan.target.color,
            "schedule": plan.schedule,
            "steps": [s.target_weight for s in plan.steps],
        },
        email=False,
    )
    return {"busy": False, "alreadyLive": False, "deadline": _iso(deadline), "ttlSeconds": ttl}


def check_configuration(plan: Plan, ports: WorkflowPorts, stack_id: str | None) -> None:
    """What the stack names still exists: each configured alarm, each Route 53 health
    check, both ECS services. A name deleted or renamed since the deploy rejects the
    deployment here, with the parameter and the value, before any DNS change (the gate
    would find a missing alarm only after the first shift). And the record must still be
    this stack's (its ownership record names the stack): a claim removed by hand or taken
    by another stack is a failure with the reason, never a silent takeover. At an execution's first call:
    a deployment that waited in line is checked again by readiness (its service) and the
    gate (alarms, health checks), which fail closed."""
    problems = [
        f"alarm {name!r} (AlarmNames) does not exist"
        for name, state in ports.cloudwatch.alarm_states(plan.health.alarm_names).items()
        if state == "MISSING"
    ]
    sides = (plan.target, plan.live)
    for side in sides:
        prefix = side.color.capitalize()
        if side.health_check_id and not ports.route53.health_check_exists(side.health_check_id):
            problems.append(f"Route 53 health check {side.health_check_id!r} ({prefix}HealthCheckId) does not exist")
    missing = ports.ecs_elb.missing_services(plan.cluster_name, [s.service_name for s in sides])
    unowned = _not_owned(plan, ports, stack_id)
    if unowned:
        problems.append(unowned)
    problems += [
        f"ECS service {s.service_name!r} ({s.color.capitalize()}ServiceName) does not exist in cluster "
        f"{plan.cluster_name!r} (ClusterName)"
        for s in sides
        if s.service_name in missing
    ]
    if problems:
        raise ConfigurationBroken(
            "the stack's configuration no longer matches the account: "
            + "; ".join(problems)
            + ". Nothing in DNS was changed; fix the resource or update the stack's parameters, then re-run"
        )


def _not_owned(plan: Plan, ports: WorkflowPorts, stack_id: str | None) -> str | None:
    """Why this stack may not write the record (ownership.py), or None when it owns it."""
    owner = ports.route53.owner(plan.hosted_zone_id, plan.record_name)
    if owner is not None and stack_id and owner.stack_id == stack_id:
        return None
    return not_owned_reason(plan.record_name, owner)


def _still_owned(plan: Plan, inp: TaskInput, ports: WorkflowPorts) -> None:
    """Before a step moves traffic forward: the record is still this stack's. A claim
    removed or taken since preflight stops the canary here (the fail back then puts the
    recorded weights back, which is never a takeover)."""
    unowned = _not_owned(plan, ports, inp.config.stack_id)
    if unowned:
        raise ConfigurationBroken(f"{unowned}; this step changed nothing in DNS")


def _poll_in_line(plan: Plan, inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any] | None:
    """A poll while waiting in line (the state carries the last answer, ``run``): while
    another deployment's execution still runs and holds the route, answer "busy" again
    from two reads, with no Route 53 request (the account's 5 a second are shared with
    every canary's DNS changes) and no write. Anything else (the route free, its holder
    ended, this deployment's own execution) takes the whole path: every check, then the
    claim. A ``run`` forged into an input changes nothing: this only reads, and the
    checks still run before this deployment may take the route."""
    if "run" not in inp.state:
        return None
    holder = ports.deployments.lock_holder(plan.route_key)
    if holder is None or not holder.execution_arn or holder.deployment_id in ("", plan.deployment_id):
        return None
    if holder.execution_arn == inp.execution_arn or ports.sfn.status(holder.execution_arn)["status"] != "RUNNING":
        return None
    return _queued(plan, inp, holder.deployment_id, holder.execution_arn)


def _finished_for_us(plan: Plan, inp: TaskInput, ports: WorkflowPorts) -> None:
    """This preflight outlived its execution: it was stopped, and the status rule already
    finished the deployment for it. Give the route back and change nothing else."""
    ports.deployments.release(plan.route_key, inp.execution_arn)
    raise ExecutionFinished(
        f"deployment {plan.deployment_id} was already finished for execution {inp.execution_arn} "
        "(stopped, then failed back by the status rule); this late preflight changed nothing"
    )


@contextmanager
def _writing_dns(plan: Plan, inp: TaskInput, ports: WorkflowPorts) -> Iterator[None]:
    """Around this execution's own DNS write: only while it holds the route and nobody is
    failing it back (a Stop's status rule waits for the write to finish instead)."""
    route = plan.route_key
    if not ports.deployments.lease(route, inp.execution_arn, _iso(inp.now)):
        raise RouteLost(
            f"execution {inp.execution_arn} no longer holds route {plan.record_name}, or it is being failed "
            "back (stopped); no DNS change was made"
        )
    try:
        yield
    finally:
        try:
            ports.deployments.unlease(route, inp.execution_arn)
        except Exception:  # noqa: BLE001 - the lease then lapses after WRITE_LEASE_SECONDS
            logger.warning("could not end the DNS write lease; it lapses by itself", exc_info=True)


def _acquire(plan: Plan, inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any] | None:
    """Take the route for this execution. None when taken; a "busy" result while another
    deployment's execution runs (the state machine waits and asks again, until the
    stack's RouteBusyTimeoutSeconds). Nothing here writes DNS for this deployment."""
    route, now_iso = plan.route_key, _iso(inp.now)
    holder = ports.deployments.acquire(route, plan.deployment_id, inp.execution_arn, now_iso)
    if holder is None:
        return None
    holder_arn, held_by = holder.execution_arn, holder.deployment_id
    status = ports.sfn.status(holder_arn) if holder_arn else {"status": "MISSING"}
    if status["status"] == "RUNNING":
        if held_by == plan.deployment_id:
            raise DeploymentAlreadyRunning(
                f"deployment {plan.deployment_id} is already being shifted by execution {holder_arn}; "
                "this execution changed nothing. Stop that execution first, or re-run after it ends"
            )
        return _queued(plan, inp, held_by, holder_arn)
    # The holder ended (stopped, superseded, timed out, failed) without releasing the
    # route. Finish what it left: record its promotion if it had passed its final bake,
    # else fail it back to its recorded weights, before this deployment reads them.
    # First the fence: if the status rule's Lambda is failing it back right now, wait in
    # line rather than take the route from under that write. The status rule, if it
    # runs later, finds the record finished or the route no longer the holder's.
    if not _fence(route, holder_arn, inp.execution_arn, inp.now, ports):
        return _queued(plan, inp, held_by, holder_arn)
    held_record = ports.deployments.get(route, held_by)
    if held_record is not None and held_record.plan and not held_record.finished:
        held_plan = held_record.claimed_plan()
        ended = str(status["status"])
        if ports.sfn.entered_any(holder_arn, PROMOTED_STATES):
            finish_promotion(
                held_plan, holder_arn, ports, inp.now, note=f"recorded by {plan.deployment_id}", release=False
            )
        else:
            error = {"ABORTED": "Aborted", "TIMED_OUT": "TimedOut"}.get(ended, "ExecutionEnded")
            fail_back(
                held_plan,
                holder_arn,
                error,
                f"the execution ended {ended}; failed back by the next deployment {plan.deployment_id}",
                ports,
                inp.now,
                release=False,
                actor=inp.execution_arn,
            )
    if not ports.deployments.take_over(route, holder_arn, plan.deployment_id, inp.execution_arn, now_iso):
        return _queued(plan, inp, held_by, holder_arn)  # someone else took it first: ask again
    logger.warning("took over the route from an execution that ended", extra={"holder": holder_arn})
    return None


def _fence(
    route: str, holder_arn: str, actor: str, now: datetime, ports: WorkflowPorts, after_writes: bool = True
) -> bool:
    stale = now - timedelta(seconds=records.FAILBACK_FENCE_SECONDS)
    return ports.deployments.fence(route, holder_arn, actor, _iso(now), _iso(stale), after_writes=after_writes)


def _queued(plan: Plan, inp: TaskInput, held_by: str, holder_arn: str) -> dict[str, Any]:
    since = str(inp.part("run").get("queuedSince") or _iso(inp.now))
    try:
        waited = max(0, int((inp.now - datetime.fromisoformat(since)).total_seconds()))
    except ValueError:  # not our timestamp: start counting now
        since, waited = _iso(inp.now), 0
    if waited >= plan.route_busy_timeout_seconds:
        raise RouteBusyTimeout(
            f"route {plan.record_name} stayed held by deployment {held_by} ({holder_arn}) for {waited}s, "
            f"past this stack's RouteBusyTimeoutSeconds of {plan.route_busy_timeout_seconds}s; "
            "this deployment changed nothing. Re-run it (New execution, same input) once the route is free"
        )
    logger.info("route busy: queued", extra={"heldBy": held_by, "holder": holder_arn, "waitedSeconds": waited})
    return {"busy": True, "queuedSince": since, "heldBy": held_by, "holderExecution": holder_arn, "waited": waited}


# ------------------------------------------------------------------ readiness
def readiness(inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any]:
    """Is the target service steady (running == desired) with healthy targets behind its ALB?"""
    plan = inp.plan
    polls = int(inp.part("readiness").get("polls", 0)) + 1
    svc = ports.ecs_elb.service(plan.cluster_name, plan.target.service_name)
    groups = ports.ecs_elb.target_groups(plan.target.load_balancer_arn)
    problems = []
    if not svc.steady:
        problems.append(
            f"service {plan.target.service_name}: {svc.running} of {svc.desired} tasks running, "
            f"{svc.deployments} deployments"
        )
    problems.extend(health.target_groups_failures([(g.arn, g.healthy, g.total) for g in groups]))
    if not problems:
        return {"ready": True, "polls": polls}
    if (polls - 1) * READINESS_POLL_SECONDS >= plan.readiness_timeout_seconds:
        raise TargetNotReady(
            f"{plan.target.color} was not steady and healthy within {plan.readiness_timeout_seconds}s: "
            + "; ".join(problems)
        )
    return {"ready": False, "polls": polls, "problems": problems}


# ------------------------------------------------------------------ shifting
def record_original(inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any]:
    """Read (or create) the pair and record the weights to restore on failure."""
    plan = inp.plan
    route = plan.route_key
    pair = _pair(plan, ports)
    created = None
    if pair is None:
        _still_owned(plan, inp, ports)
        original = Weights.pair(plan.target.color, 0, 100)
        targets: dict[str, tuple[SideSpec, dict[str, str]]] = {
            side.color: (side, ports.ecs_elb.alias_target(side.load_balancer_arn)) for side in (plan.target, plan.live)
        }
        with _writing_dns(plan, inp, ports):
            created = ports.route53.create_pair(
                plan.hosted_zone_id,
                plan.record_name,
                targets,
                original,
                f"Weightshift {plan.deployment_id}: create the weighted pair",
            )
        pair = _pair(plan, ports)
    assert pair is not None
    now_iso = _iso(inp.now)
    original = _record_original(plan, pair.weights, inp.execution_arn, now_iso, ports)
    ports.deployments.apply(
        route,
        plan.deployment_id,
        records.weights_read(inp.execution_arn, pair.weights, pair.ttl_seconds, original, bool(created), now_iso),
    )
    return {
        "stepIndex": 0,
        "stepCount": len(plan.steps),
        "isLast": False,
        "originalWeights": original.dump(),
        "ttlSeconds": pair.ttl_seconds,
    }


def _record_original(plan: Plan, weights: Weights, execution_arn: str, now_iso: str, ports: WorkflowPorts) -> Weights:
    """Record the weights to restore, once per deployment; return what is recorded.

    The first execution to record wins, and no later one (a re-run, a redrive, a racing
    console execution) can overwrite it (invariant 5).
    """
    route = plan.route_key
    if ports.deployments.apply(route, plan.deployment_id, records.original_weights(weights, execution_arn, now_iso)):
        return weights
    kept = ports.deployments.get(route, plan.deployment_id)
    if kept is None or kept.original_weights is None:
        raise LookupError(f"deployment {plan.deployment_id} has no record on {route}")
    return kept.original_weights


def _pair(plan: Plan, ports: WorkflowPorts) -> RecordPair | None:
    """The pair with ``blue``/``green`` meaning the colors (not target/live)."""
    blue = plan.target if plan.target.color == "blue" else plan.live
    green = plan.target if plan.target.color == "green" else plan.live
    return ports.route53.find_pair(plan.hosted_zone_id, plan.record_name, blue.set_identifier, green.set_identifier)


def shift(inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any]:
    """Move to the next step: both weights in one batch, only ``Weight`` changed."""
    plan = inp.plan
    previous = inp.part("shift")
    index = int(previous.get("stepIndex", 0)) + 1
    if index > len(plan.steps):
        raise InvalidPlan(f"step {index} does not exist; the plan has {len(plan.steps)} steps")
    step = plan.steps[index - 1]
    weights = Weights.pair(plan.target.color, step.target_weight, step.live_weight)
    pair = _pair(plan, ports)
    if pair is None:
        raise RouteNotFound(f"the weighted pair for {plan.record_name} disappeared during the deployment")
    _still_owned(plan, inp, ports)
    with _writing_dns(plan, inp, ports):
        change_id = ports.route53.change_weights(
            pair,
            weights,
            plan.hosted_zone_id,
            f"Weightshift {plan.deployment_id}: step {index}/{len(plan.steps)} -> "
            f"{plan.target.color} {step.target_weight}",
        )
    ttl = int(previous.get("ttlSeconds", pair.ttl_seconds))
    now_iso = _iso(inp.now)
    ports.deployments.apply(
        plan.route_key, plan.deployment_id, records.step(inp.execution_arn, index, weights, change_id, now_iso)
    )
    ports.notifier.publish(
        "step",
        f"Weightshift: step {index}",
        {"deploymentId": plan.deployment_id, "step": index, "weights": weights.dump()},
        email=False,
    )
    logger.info(f"shifted to step {index}", extra={"step": index, "weights": weights.dump(), "changeId": change_id})
    return {
        "stepIndex": index,
        "stepCount": len(plan.steps),
        "isLast": index == len(plan.steps),
        "weights": weights.dump(),
        "changeId": change_id,
        "ttlSeconds": ttl,
        "originalWeights": previous.get("originalWeights"),
        "bakeSeconds": max(step.bake_seconds, ttl),
        "polls": bake_polls(step, ttl, plan.poll_seconds),
        "waitSeconds": bake_wait_seconds(step, ttl, plan.poll_seconds),  # each wait of the bake
        "shiftedAt": now_iso,  # evidence-based pace counts the target's requests from here
        "syncPolls": {"n": 0},  # counted by the state machine while it waits for INSYNC
    }


# ---------------------------------------------------------------------- gate
def gate(inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any]:
    """One health poll during a bake. Raises HealthGateFailed on a bad verdict."""
    plan = inp.plan
    step = inp.part("shift")
    previous = inp.part("gate")
    same_step = previous.get("stepIndex") == step.get("stepIndex")
    poll = int(previous.get("poll", 0)) + 1 if same_step else 1
    polls = int(step.get("polls", 1))
    deadline = inp.part("run").get("deadline")
    if deadline and inp.now > datetime.fromisoformat(deadline):
        raise DeadlineExceeded(
            f"the deployment ran past its {plan.timeout_seconds}s timeout at step {step.get('stepIndex')}"
        )

    signals = read_signals(plan, ports, inp.now)
    verdict = health.evaluate(
        signals,
        plan.health.min_requests,
        plan.health.max_error_rate_ratio,
        plan.health.max_latency_ratio,
        plan.health.latency_percentile,
    )
    observed = _observed(plan, step, signals)
    no_verdict = int(previous.get("noVerdictPolls", 0)) if same_step else 0
    no_verdict = no_verdict + 1 if verdict.error_rate_verdict == "no-verdict" else 0
    failures = list(verdict.failures)
    if health.no_traffic_exhausted(no_verdict, plan.health.max_no_verdict_polls):
        failures.append(f"no 5xx verdict for {no_verdict} polls in a row: the target gets too little traffic to judge")
    logger.info(
        "health verdict",
        extra={
            "step": step.get("stepIndex"),
            "poll": poll,
            "healthy": not failures,
            "failures": failures,
            "notes": verdict.notes,
            "observed": observed.dump() if observed else None,
        },
    )
    if failures:
        raise HealthGateFailed(f"step {step.get('stepIndex')} poll {poll}: " + "; ".join(failures))
    done, decided_by, proof = poll >= polls, "fixed", None
    if plan.health.pace == "Evidence":
        done, decided_by, proof = _paced_by_evidence(plan, inp, step, ports, poll >= polls)
    waited = int(previous.get("waitedForClients", 0)) if same_step else 0
    waited_data = int(previous.get("waitedForData", 0)) if same_step else 0
    lagging = _clients_lag(plan, observed)
    extra = waited + waited_data  # polls this bake already ran past its time
    if done and verdict.waiting:  # a check with noData "wait" has no data yet: no end without it
        if extra >= observed_wait_polls(polls):
            raise HealthGateFailed(
                f"step {step.get('stepIndex')} poll {poll}: still no data after the bake and {extra} more "
                "polls: " + "; ".join(verdict.waiting)
            )
        done, waited_data = False, waited_data + 1
    elif done and lagging and extra < observed_wait_polls(polls):  # the clients have not followed yet
        done, waited = False, waited + 1
    seen = observed.dump() if observed else None
    if done:
        clients = {"waitedPolls": waited, "lagged": lagging} if plan.health.min_observed_share > 0 else None
        index, now_iso = step.get("stepIndex"), _iso(inp.now)
        change = records.baked(inp.execution_arn, index, poll, verdict.notes, now_iso, seen, decided_by, proof, clients)
        ports.deployments.apply(plan.route_key, plan.deployment_id, change)
    elif seen is not None:  # the record shows the split at every poll (one field, no timeline growth)
        ports.deployments.apply(
            plan.route_key, plan.deployment_id, records.polled(inp.execution_arn, seen, _iso(inp.now))
        )
    return {
        "stepIndex": step.get("stepIndex"),
        "poll": poll,
        "polls": polls,
        "bakeDone": done,
        "healthy": True,
        "notes": verdict.notes,
        "noVerdictPolls": no_verdict,
        "observed": seen,
        "decidedBy": decided_by if done else None,
        "evidence": proof,
        "waitedForClients": waited,
        "waitedForData": waited_data,
        "waiting": verdict.waiting,
        "latency": verdict.latency_verdict,
    }


def _clients_lag(plan: Plan, observed: health.Observed | None) -> bool:
    """MinObservedShare is on and the target gets less than that fraction of its intended
    share of the requests (no requests at all: nothing to judge, no lag)."""
    if observed is None or observed.share is None or plan.health.min_observed_share <= 0:
        return False
    return observed.share < plan.health.min_observed_share * observed.intended_share


def _paced_by_evidence(
    plan: Plan, inp: TaskInput, step: dict[str, Any], ports: WorkflowPorts, at_max: bool
) -> tuple[bool, str, dict[str, Any] | None]:
    """(bake done, the rule that decided, the test's numbers): evidence.sprt on the target's
    requests since this step's shift. Worse: HealthGateFailed now. No worse: done once the
    TTL has passed since the shift. Inconclusive: done only at the step's full bake."""
    shifted = step.get("shiftedAt")
    if not shifted:  # a step shifted by a version without the timestamp: bake it in full
        return at_max, "fixed", None
    since = max(0, int((inp.now - datetime.fromisoformat(str(shifted))).total_seconds()))
    window = since + ALB_METRIC_DELAY_SECONDS
    t_req, t_err = ports.cloudwatch.alb_counts(plan.target.load_balancer_arn, inp.now, window)
    l_req, l_err = ports.cloudwatch.alb_counts(plan.live.load_balancer_arn, inp.now, window)
    proof = evidence.sprt(t_req, t_err, l_req, l_err, plan.health.max_error_rate_ratio)
    logger.info("evidence", extra={"step": step.get("stepIndex"), "sprt": proof.dump(), "sinceShift": since})
    if proof.decision == "worse":
        raise HealthGateFailed(f"step {step.get('stepIndex')}, evidence after {since}s: {proof.describe()}")
    ttl = int(step.get("ttlSeconds", ALIAS_TTL_SECONDS))
    if proof.decision == "no-worse" and since >= ttl:
        return True, "evidence", proof.dump()
    return at_max, "max-bake", proof.dump()


def _observed(plan: Plan, step: dict[str, Any], signals: health.Signals) -> health.Observed | None:
    """The observed split at this poll, from the request counts the 5xx comparison read."""
    weights = step.get("weights")
    if not isinstance(weights, dict):
        return None
    target, live = int(weights.get(plan.target.color, 0)), int(weights.get(plan.live.color, 0))
    t_req, l_req = signals.latest_split or (0.0, 0.0)
    return health.Observed(
        target_requests=t_req,
        live_requests=l_req,
        intended_share=target / (target + live) if target + live else 0.0,
        window_seconds=60,  # the newest minute with data
    )


# An ALB publishes each minute's metrics about a minute after it ends: a window of only the
# last poll would often find its newest minute not there yet (and no data at all with a
# 60 s poll on whole minutes). The window reaches one minute further back.
ALB_METRIC_DELAY_SECONDS = 60


def metric_window_seconds(plan: Plan) -> int:
    """How far back the gate reads the ALB metrics (the 5xx comparison, the observed split)."""
    return max(plan.poll_seconds, 60) + ALB_METRIC_DELAY_SECONDS


def watch(inp: TaskInput, task_token: str, ports: WorkflowPorts) -> dict[str, Any]:
    """Task "Bake and watch health" (``waitForTaskToken``): the bake is one waiting task
    that ends when its time is up (``States.Timeout``, then "Check health") or when the
    alarm listener fails it (``alarm.py``: a configured alarm went to ALARM).

    The token is stored before the alarms are read: an alarm that goes to ALARM after this
    read sends its event to a listener that finds the token; one that went before is seen
    here, and fails the task at once (HealthGateFailed)."""
    plan = inp.plan
    step = int(inp.part("shift").get("stepIndex", 0))
    alarms = plan.health.alarm_names
    if not ports.deployments.watch(plan.route_key, inp.execution_arn, task_token, step, _iso(inp.now), alarms):
        raise RouteLost(
            f"execution {inp.execution_arn} no longer holds route {plan.record_name}; its bake cannot be watched"
        )
    states = ports.cloudwatch.alarm_states(alarms)
    failures = health.alarm_failures(states)
    if failures:
        raise HealthGateFailed(f"step {step}, as the bake began: " + "; ".join(failures))
    logger.info("bake armed", extra={"step": step, "alarms": len(states)})
    return {"stepIndex": step, "watching": sorted(states)}


def _health_check_fraction(health_check_id: str, ports: WorkflowPorts, now: datetime) -> float:
    """The share of Route 53's checkers that find the target healthy. Read from CloudWatch
    (``AWS/Route53`` in us-east-1), not from Route 53: Route 53 allows 5 requests a second
    per account, shared with every other tool there, so a bake asks it nothing. Only when
    CloudWatch has no recent minute (a new or calculated check) is GetHealthCheckStatus asked."""
    fraction = ports.cloudwatch.health_check_fraction(health_check_id, now)
    return fraction if fraction is not None else ports.route53.health_check_healthy_fraction(health_check_id)


def read_signals(plan: Plan, ports: WorkflowPorts, now: datetime) -> health.Signals:
    alarms = ports.cloudwatch.alarm_states(plan.health.alarm_names)
    fraction = _health_check_fraction(plan.target.health_check_id, ports, now) if plan.target.health_check_id else None
    groups = [(g.arn, g.healthy, g.total) for g in ports.ecs_elb.target_groups(plan.target.load_balancer_arn)]
    window = metric_window_seconds(plan)
    target = ports.cloudwatch.alb_minutes(plan.target.load_balancer_arn, now, window)
    live = ports.cloudwatch.alb_minutes(plan.live.load_balancer_arn, now, window)
    # The split of the newest minute either side has data for (a side without requests in
    # that minute published none: zero), not of the whole window, which reaches back a minute.
    newest = max([*target, *live], default=None)
    percentile = plan.health.latency_percentile
    latency = (
        ports.cloudwatch.alb_latencies(
            (plan.target.load_balancer_arn, plan.live.load_balancer_arn), now, window, percentile
        )
        if percentile != "off"
        else None
    )
    checks = [
        health.CheckReading(
            name=check.name,
            value=ports.cloudwatch.check_value(check.metrics, now, window),
            threshold=check.threshold,
            comparison=check.comparison,
            no_data=check.no_data,
        )
        for check in plan.health.metric_checks
    ]
    return health.Signals(
        latency=latency,
        checks=checks,
        alarms=alarms,
        health_check_fraction=fraction,
        target_groups=groups,
        target_traffic=health.TrafficSample.of_minutes(target),
        live_traffic=health.TrafficSample.of_minutes(live),
        latest_split=(target.get(newest, (0.0, 0.0))[0], live.get(newest, (0.0, 0.0))[0]) if newest else None,
    )


# --------------------------------------------------------------------- finish
def promote(inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any]:
    """The final bake passed and DNS is at the target: record it, release, notify.

    From here on nothing moves traffic back (invariant 9). A failure here is retried
    by the state machine, then ends the execution in "Promoted, record not updated",
    and the status rule's Lambda finishes the bookkeeping; never a fail back.
    """
    return finish_promotion(inp.plan, inp.execution_arn, ports, inp.now)


def finish_promotion(
    plan: Plan, execution_arn: str, ports: WorkflowPorts, now: datetime, *, note: str = "", release: bool = True
) -> dict[str, Any]:
    """Mark the deployment SUCCEEDED, release the route if this execution holds it, notify.
    Idempotent: a retry, the status rule and a taking-over deployment may all call it.
    A taking-over deployment passes ``release=False``: its take_over replaces the lock
    in one conditional write, which a release in between would make fail."""
    route = plan.route_key
    record = ports.deployments.get(route, plan.deployment_id)
    started = record.started_at if record else None
    duration = int((now - datetime.fromisoformat(started)).total_seconds()) if started else None
    now_iso = _iso(now)
    already = record is not None and record.status == Status.SUCCEEDED
    if not already and not ports.deployments.apply(
        route, plan.deployment_id, records.promote(execution_arn, duration, note, now_iso)
    ):
        logger.warning(
            "promotion not recorded: the record finished or changed hands",
            extra={"record": record.as_dict() if record else {}},
        )
    promoted = ports.deployments.get(route, plan.deployment_id)
    timeline = promoted.timeline if promoted else []
    ports.notifier.publish(
        "promoted",
        f"Weightshift: {plan.target.color} promoted",
        {
            "deploymentId": plan.deployment_id,
            "target": plan.target.color,
            "durationSeconds": duration,
            "timeline": timeline,
            **({"note": note} if note else {}),
        },
    )
    # Released last: while this execution still holds the route, a retry (or the status
    # rule) knows the finish was interrupted and sends the notification again.
    if release:
        ports.deployments.release(route, execution_arn)
    return {"status": Status.SUCCEEDED.value, "durationSeconds": duration}


OUTCOME_NOTIFICATIONS = {Status.SUCCEEDED: "promoted", Status.ROLLED_BACK: "rolled-back", Status.REJECTED: "rejected"}


def finish_interrupted(plan: Plan, record: DeploymentRecord, execution_arn: str, ports: WorkflowPorts) -> None:
    """A finished record whose execution still holds the route: whoever finished it
    stopped between recording the outcome and releasing the route (a DynamoDB error, a
    timeout, a crash), maybe before the notification went out. Send it again (at least
    once: people may get it twice, never zero times), then release."""
    kind = OUTCOME_NOTIFICATIONS.get(record.status)
    if kind is not None:
        ports.notifier.publish(
            kind,
            f"Weightshift: {plan.target.color} {kind.replace('-', ' ')}",
            {
                "deploymentId": plan.deployment_id,
                "target": plan.target.color,
                "status": record.status.value,
                "error": record.error,
                "reason": record.reason,
                "restoredWeights": record.restored_weights.dump() if record.restored_weights else None,
                "note": "sent again: the finish was interrupted before the route was released",
            },
        )
    ports.deployments.release(plan.route_key, execution_arn)


def describe_failure(failure: dict[str, Any]) -> tuple[str, str]:
    """(error, readable cause) from a Catch's ``{Error, Cause}``."""
    error = str(failure.get("Error") or "Failed")
    cause = failure.get("Cause") or ""
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict):
            cause = parsed.get("errorMessage") or parsed.get("Message") or parsed.get("message") or cause
    except (TypeError, ValueError):
        pass
    return error, str(cause) or error


def fail_back(
    plan: Plan,
    execution_arn: str,
    error: str,
    cause: str,
    ports: WorkflowPorts,
    now: datetime,
    *,
    release: bool = True,
    actor: str | None = None,
    after_writes: bool = False,
) -> dict[str, Any]:
    """Restore the deployment's recorded original weights in one batch; record, notify, release.

    Shared by the workflow's Catch path, the status rule's Lambda (both act as the
    execution itself), and a next deployment taking over from an execution that ended
    without it (``actor`` is then that deployment's execution).
    Idempotent: restoring weights that are already restored changes nothing.
    It writes DNS only while ``execution_arn`` still holds the route and ``actor`` holds
    its fail-back fence: never for a deployment whose record has finished (promoted,
    rolled back, rejected), never for a route another execution holds or that is free,
    never alongside another actor's fail back of the same execution (FailbackInProgress).
    """
    route = plan.route_key
    record = ports.deployments.get(route, plan.deployment_id)
    holder = ports.deployments.lock_holder(route)
    holds = holder is not None and holder.execution_arn == execution_arn
    status = record.status if record else None
    if record is not None and record.finished:
        if release and holds:
            finish_interrupted(plan, record, execution_arn, ports)
        logger.warning("the deployment had already finished; DNS left alone", extra={"status": status})
        return _failback_result(error, f"{cause} (the deployment had already finished: {status}; DNS left alone)")
    restored = record.original_weights if record else None
    not_ours = ""
    if not holds:
        logger.warning(
            "the route is not this execution's; DNS left alone", extra={"holder": holder.as_dict() if holder else None}
        )
        restored = None
        not_ours = (
            f"DNS left alone: the route is now held by {holder.deployment_id} ({holder.execution_arn})"
            if holder is not None
            else "DNS left alone: this execution no longer holds the route"
        )
    elif not _fence(route, execution_arn, actor or execution_arn, now, ports, after_writes or actor is not None):
        assert holder is not None
        raise FailbackInProgress(
            f"{holder.failback_by} is failing back {execution_arn} right now; this attempt changed nothing"
        )
    change_id = None
    if restored is not None:
        pair = _pair(plan, ports)
        if pair is not None and pair.weights != restored:
            change_id = ports.route53.change_weights(
                pair, restored, plan.hosted_zone_id, f"Weightshift {plan.deployment_id}: fail back ({error})"
            )
    where = f"at step {record.step}" if record and record.step else "before the first step"
    outcome = not_ours or (
        f"weights restored to blue={restored.blue} green={restored.green}"
        if restored is not None
        else "no DNS change had been made"
    )
    reason = f"{error}: {cause} ({where}; {outcome})"
    now_iso = _iso(now)
    ports.deployments.apply(
        route, plan.deployment_id, records.roll_back(execution_arn, error, cause, reason, restored, now_iso)
    )
    ports.notifier.publish(
        "rolled-back",
        f"Weightshift: {plan.target.color} rolled back ({error})",
        {
            "deploymentId": plan.deployment_id,
            "target": plan.target.color,
            "error": error,
            "reason": reason,
            "restoredWeights": restored.dump() if restored is not None else None,
            # The split the clients really made at the last poll (health.Observed), if any.
            "observed": record.observed if record is not None else None,
        },
    )
    if release:  # last: see finish_promotion
        ports.deployments.release(route, execution_arn)
    logger.warning("failed back", extra={"error": error, "reason": reason, "changeId": change_id})
    return {
        **_failback_result(error, f"{cause} ({where}; {outcome})"),
        "changed": change_id is not None,
        "changeId": change_id,
        "restoredWeights": restored.dump() if restored is not None else None,
    }


def _failback_result(error: str, cause: str) -> dict[str, Any]:
    return {
        "changed": False,
        "changeId": None,
        "error": error,
        "cause": cause,
        "restoredWeights": None,
        "syncPolls": {"n": 0},
    }


def failback_task(inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any]:
    error, cause = describe_failure(inp.part("failure"))
    return fail_back(_plan_to_fail_back(inp, ports), inp.execution_arn, error, cause, ports, inp.now)


def _plan_to_fail_back(inp: TaskInput, ports: WorkflowPorts) -> Plan:
    """The input, checked against the stack; or, if the stack changed under a running
    canary (a ``sam deploy`` mid-way), the plan this deployment claimed on this stack's
    route, so that the fail back still restores it instead of failing for good."""
    try:
        return inp.plan
    except InvalidPlan:
        record = ports.deployments.get(inp.config.route_key, str(inp.state.get("deploymentId", "")))
        if record is None or not record.plan:
            raise
        logger.warning("the execution input no longer matches the stack; failing back with the claimed plan")
        return record.claimed_plan()


def reject(inp: TaskInput, ports: WorkflowPorts) -> dict[str, Any]:
    """Preflight refused the plan, or the route stayed busy: nothing in DNS was changed.
    Record why (only on a record this execution owns) and tell people."""
    error, cause = describe_failure(inp.part("failure"))
    try:
        plan = inp.plan
    except InvalidPlan as exc:  # not a plan this stack accepts: no record of ours to touch
        deployment_id = inp.state.get("deploymentId")
        if inp.state.get("invalidConfiguration") and isinstance(deployment_id, str):
            # A release the trigger could not plan: say so (an edited console input is not notified).
            ports.notifier.publish(
                "rejected",
                f"Weightshift: canary not started ({error})",
                {"deploymentId": deployment_id, "error": error, "reason": cause},
            )
        return {"error": error, "cause": f"{cause} ({exc})"}
    now_iso = _iso(inp.now)
    ports.deployments.apply(
        plan.route_key, plan.deployment_id, records.reject(inp.execution_arn, error, cause, now_iso)
    )
    ports.notifier.publish(
        "rejected",
        f"Weightshift: canary to {plan.target.color} not started ({error})",
        {"deploymentId": plan.deployment_id, "target": plan.target.color, "error": error, "reason": cause},
    )
    ports.deployments.release(plan.route_key, inp.execution_arn)  # last: see finish_promotion
    return {"error": error, "cause": f"{cause} (nothing in DNS was changed)"}


# ---------------------------------------------------------------------- abort
ABORT_STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")


def on_execution_ended(
    detail: dict[str, Any], config: RouteConfig, ports: WorkflowPorts, now: datetime
) -> dict[str, Any]:
    """An execution ended without finishing its deployment (a console Stop, a timeout,
    or a failure outside any Catch): finish it. If it had passed its final bake, record
    the promotion; otherwise fail back, unless its deployment already finished or the
    route belongs to another execution. The route and the deployment's plan come from
    this stack and its record, never from the execution's input (invariant 8)."""
    status = str(detail.get("status", ""))
    execution_arn = str(detail.get("executionArn", ""))
    if status not in ABORT_STATUSES:
        return {"action": "none", "reason": f"status {status} needs no fail-back"}
    try:
        deployment_id = str(json.loads(detail.get("input") or "{}")["deploymentId"])
    except (ValueError, KeyError, TypeError) as exc:
        return {"action": "none", "reason": f"input names no deployment: {exc!r}"}
    route = config.route_key
    record = ports.deployments.get(route, deployment_id)
    if record is None or not record.plan:
        return {"action": "none", "reason": f"no deployment {deployment_id} on this stack's route"}
    holder = ports.deployments.lock_holder(route)
    holds_lock = holder is not None and holder.execution_arn == execution_arn
    # The trigger names its execution in the claim and records the ARN only once
    # StartExecution returned: an execution that ended before that write (stopped, or
    # failed in an outage) is still this record's. Left alone, the trigger's retry would
    # mark the record STARTED for an execution that has already ended.
    started_by_trigger = (
        record.status == Status.CLAIMED
        and not record.execution_arn
        and bool(record.execution_name)
        and record.execution_name == detail.get("name")
    )
    if not holds_lock and record.execution_arn != execution_arn and not started_by_trigger:
        return {"action": "none", "reason": "this execution never held the route"}
    if record.finished:
        if holds_lock:
            finish_interrupted(record.claimed_plan(), record, execution_arn, ports)
        return {"action": "none", "reason": f"the deployment had already finished ({record.status})"}
    plan = record.claimed_plan()
    if ports.sfn.entered_any(execution_arn, PROMOTED_STATES):
        result = finish_promotion(plan, execution_arn, ports, now, note=f"execution ended {status} after promotion")
        return {"action": "promoted", **result}
    error = {"ABORTED": "Aborted", "TIMED_OUT": "TimedOut", "FAILED": "ExecutionFailed"}[status]
    cause = str(detail.get("cause") or detail.get("error") or "")
    cause = {
        "ABORTED": f"the execution was stopped{': ' + cause if cause else ' from the console'}",
        "TIMED_OUT": "the execution timed out",
        "FAILED": f"the execution failed outside the fail-back path{': ' + cause if cause else ''}",
    }[status]
    # The status rule acts as the execution (it may finish what the execution's own fail
    # back began), but a Lambda of the stopped execution may still be writing DNS: it
    # waits that write out (the lease) rather than fail back under it.
    result = fail_back(plan, execution_arn, error, cause, ports, now, after_writes=True)
    return {"action": "failed-back", **result}
