"""The trigger's one use case: an ECS task event in, at most one execution out.

Order matters for the invariants:
1. classify the event (pure) and drop stale versions (conditional write);
2. read the live weights and drop events of the side that already has all traffic;
3. claim the deployment with one conditional write (exactly one caller wins);
4. start the execution with a deterministic name and the claimed plan as input.
A crash between 3 and 4 leaves the record CLAIMED, so EventBridge's retry
finishes the start with the same name and input (idempotent): no lost trigger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from weightshift import records
from weightshift.decisions import (
    Candidate,
    Ignore,
    InFlight,
    against_traffic,
    classify,
    settled_deployment,
    supersedes,
)
from weightshift.errors import InvalidPlan, RouteNotFound, SignalUnavailable
from weightshift.models import EcsTaskEvent, Plan
from weightshift.plan import build_plan, deployment_id_for
from weightshift.ports import Dns, Executions, RecordStore, Services
from weightshift.records import DeploymentRecord, Status
from weightshift.settings import Resources, RouteConfig


@dataclass(frozen=True)
class Outcome:
    """One decision about one event: what the log line and the metric say."""

    decision: str  # started | resumed | duplicate | ignored | stale | rejected
    reason: str
    deployment_id: str | None = None
    execution_arn: str | None = None
    detail: str = ""

    def log_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class TriggerPorts:
    deployments: RecordStore
    route53: Dns
    sfn: Executions
    ecs: Services | None = None


def parse_event(raw: Any) -> EcsTaskEvent | Ignore:
    """Parse with Powertools' Parser; any shape problem becomes an Ignore with the reason."""
    from aws_lambda_powertools.utilities.parser import parse

    if not isinstance(raw, dict):
        return Ignore("malformed", f"event is a {type(raw).__name__}, not an object")
    try:
        return parse(event=raw, model=EcsTaskEvent)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not an event we can use"
        first = str(exc).splitlines()
        return Ignore("malformed", " ".join(first[:3])[:500])


def handle(raw: Any, config: RouteConfig, resources: Resources, ports: TriggerPorts, now: datetime) -> Outcome:
    parsed = parse_event(raw)
    if isinstance(parsed, Ignore):
        return Outcome("ignored", parsed.reason, detail=parsed.detail)
    candidate = classify(parsed, config)
    if isinstance(candidate, Ignore):
        return Outcome("ignored", candidate.reason, detail=candidate.detail)

    try:
        plan = build_plan(config, candidate.target, candidate.ecs_deployment, candidate.task_definition_arn)
    except InvalidPlan as exc:
        return _unplannable(candidate, config, resources, ports, str(exc))

    if not ports.deployments.note_task_version(candidate.task_arn, candidate.version, int(now.timestamp())):
        return Outcome(
            "stale", "older-version", plan.deployment_id, detail=f"{candidate.task_arn} version {candidate.version}"
        )

    # Most deliveries are duplicates (every task, at least once each): answer them
    # from the record alone, so a burst of events does not spend the account's
    # Route 53 request rate (5/s, shared with the canary's own changes).
    existing = ports.deployments.get(plan.route_key, plan.deployment_id)
    if existing is not None and existing.status != Status.CLAIMED:
        return _duplicate(plan, existing)
    if existing is None:
        weights_note = _traffic_check(candidate, config, ports)
        if isinstance(weights_note, Ignore):
            return Outcome("ignored", weights_note.reason, plan.deployment_id, detail=weights_note.detail)
        replacement = _replacement_check(candidate, config, ports, now)
        if replacement is not None:
            return Outcome("ignored", replacement.reason, plan.deployment_id, detail=replacement.detail)

    return _claim_and_start(plan, candidate, resources, ports, now)


def _unplannable(
    candidate: Candidate, config: RouteConfig, resources: Resources, ports: TriggerPorts, reason: str
) -> Outcome:
    """The stack's configuration cannot plan this release (a schedule edited out of shape,
    say): never an ignored event. Start the deployment's execution anyway, named as
    always (every duplicate event starts the same one: same name, same input), with an
    input that only says why; preflight rejects it with that reason before any DNS change,
    and the rejection is notified. The console shows a failed execution, not silence.
    Only for a release: an event of the side that already carries all traffic (a scale-out)
    is ignored, as with any configuration."""
    deployment_id = deployment_id_for(config, candidate.target, candidate.ecs_deployment)
    scale_out = _traffic_check(candidate, config, ports)
    if isinstance(scale_out, Ignore):
        return Outcome("ignored", scale_out.reason, deployment_id, detail=scale_out.detail)
    body = {
        "deploymentId": deployment_id,
        "ecsDeployment": candidate.ecs_deployment,
        "invalidConfiguration": reason,
    }
    arn = ports.sfn.start(resources.state_machine_arn, deployment_id, json.dumps(body, sort_keys=True))
    return Outcome("rejected", "invalid-configuration", deployment_id, arn, detail=reason)


def _traffic_check(candidate: Candidate, config: RouteConfig, ports: TriggerPorts) -> Ignore | None:
    try:
        pair = ports.route53.find_pair(
            config.hosted_zone_id, config.record_name, config.blue_set_identifier, config.green_set_identifier
        )
    except RouteNotFound:
        # Let the workflow's preflight reject it: a visible, failed execution with the reason.
        return None
    return against_traffic(candidate, pair.weights if pair else None)


def _duplicate(plan: Plan, record: DeploymentRecord | None) -> Outcome:
    return Outcome(
        "duplicate",
        "already-started",
        plan.deployment_id,
        record.execution_arn if record else None,
        detail=f"record status {record.status if record else None}",
    )


def _replacement_check(candidate: Candidate, config: RouteConfig, ports: TriggerPorts, now: datetime) -> Ignore | None:
    """Only for a deployment never claimed: a claimed one is a duplicate or a retry."""
    if ports.ecs is None:
        return None
    service = config.blue_service_name if candidate.target == "blue" else config.green_service_name
    try:
        state = ports.ecs.service(config.cluster_name, service)
    except SignalUnavailable:
        return None  # unknown: let preflight judge the target
    return settled_deployment(candidate, state.deployment_list, now)


def _claim_and_start(
    plan: Plan, candidate: Candidate, resources: Resources, ports: TriggerPorts, now: datetime
) -> Outcome:
    now_iso = now.isoformat()
    claim = ports.deployments.claim(plan, plan.deployment_id, now_iso)
    record = claim.record  # None only if a lost claim found the record gone
    if record is None or (not claim.won and record.status != Status.CLAIMED):
        return _duplicate(plan, record)
    decision = "started" if claim.won else "resumed"
    holder = _in_flight(plan, ports)
    superseded = None
    if holder is not None and supersedes(plan.deployment_id, candidate, holder):
        if holder.created_at > str(record.created_at or ""):
            # A late retry of an older deployment: the newer canary stays; this one never starts.
            ports.deployments.apply(
                plan.route_key, plan.deployment_id, records.supersede(holder.deployment_id, now_iso)
            )
            return Outcome("ignored", "superseded-by-newer", plan.deployment_id, detail=holder.deployment_id)
        ports.sfn.stop(
            holder.execution_arn,
            "Superseded",
            f"a newer deployment {plan.ecs_deployment} of the {candidate.target} service started "
            f"({plan.deployment_id}); traffic goes back to the original weights and the new canary starts over",
        )
        superseded = holder.deployment_id
    # Always start with the claimed plan text, so a retry's input is identical.
    input_json = record.plan or json.dumps(plan.dump(), sort_keys=True)
    arn = ports.sfn.start(resources.state_machine_arn, plan.deployment_id, input_json)
    ports.deployments.apply(plan.route_key, plan.deployment_id, records.mark_started(arn, now_iso))
    return Outcome(
        decision,
        "new-deployment" if claim.won else "claimed-not-started",
        plan.deployment_id,
        arn,
        detail=f"superseded {superseded}" if superseded else "",
    )


def _in_flight(plan: Plan, ports: TriggerPorts) -> InFlight | None:
    holder = ports.deployments.lock_holder(plan.route_key)
    if holder is None:
        return None
    record = ports.deployments.get(plan.route_key, holder.deployment_id)
    return InFlight(
        deployment_id=holder.deployment_id,
        execution_arn=holder.execution_arn,
        target=record.target_color if record else None,
        created_at=str(record.created_at or "") if record else "",
    )
