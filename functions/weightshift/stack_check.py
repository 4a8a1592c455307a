"""The stack's custom resource: check the configuration and own the record, at deploy time.

- **Create / Update**: read what the parameters name and run every rule of
  configuration.py; then make sure this stack owns the record (ownership.py): claim it
  when nobody does, fail when another stack does. Any problem is a FAILED answer that
  lists them all: ``sam deploy`` shows it, CloudFormation rolls the stack back, and
  nothing in DNS changed (the claim is written only when every check passed).
- **Update during a rollback** (UPDATE_ROLLBACK_IN_PROGRESS): CloudFormation is putting
  back the configuration that was deployed before; checking it again could only turn a
  clean rollback into UPDATE_ROLLBACK_FAILED, so it answers SUCCESS at once.
- **Delete** (a stack deleted, a create rolled back, or the old record after the record
  changed): release the claim if it still names this stack, and always answer SUCCESS;
  a delete must never fail on it. A claim that names another stack is left alone (the
  rollback of a second stack refused for that very claim deletes nothing).

The physical id names the zone and the record, so a change of either makes
CloudFormation delete the old resource after the update: that is what releases the
old record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weightshift import configuration
from weightshift.adapters.cloudwatch import CloudWatch
from weightshift.adapters.ecs_elb import EcsElb
from weightshift.adapters.route53 import Route53
from weightshift.custom_resource import Outcome, Request, properties
from weightshift.errors import InvalidPlan
from weightshift.models import normalize_record_name, route_key
from weightshift.observability import logger
from weightshift.ownership import not_owned_reason
from weightshift.ports import RecordStore
from weightshift.settings import load_parameters

ROLLING_BACK = ("UPDATE_ROLLBACK_IN_PROGRESS",)


@dataclass(frozen=True)
class CheckPorts:
    route53: Route53
    ecs_elb: EcsElb
    cloudwatch: CloudWatch
    cloudformation: Any  # adapters.cloudformation.CloudFormation
    deployments: RecordStore | None = None  # the route lock: no route change under a running canary


def physical_id(props: dict[str, Any]) -> str:
    record = normalize_record_name(str(props.get("RecordName", ""))).rstrip(".")
    return f"weightshift:{props.get('HostedZoneId', '')}:{record}"


def failed(problems: list[str], physical: str) -> Outcome:
    numbered = "; ".join(f"({i}) {p}" for i, p in enumerate(problems, start=1))
    reason = f"Weightshift configuration check failed, nothing in DNS was changed: {numbered}"
    return Outcome(False, reason, physical)


def on_request(request: Request, ports: CheckPorts) -> Outcome:
    props = properties(request)
    if request.request_type == "Delete":
        return _release(request, props, ports)
    physical = physical_id(props)
    if request.request_type == "Update":
        try:
            status = ports.cloudformation.stack_status(request.stack_id)
        except Exception:  # noqa: BLE001 (unknown status: check as for any update; a fit configuration still passes)
            logger.warning("could not read the stack's status; checking as for any update", exc_info=True)
            status = ""
        if status in ROLLING_BACK:
            return Outcome(True, f"stack is {status}: the previous configuration is put back unchecked", physical)
    busy = _route_busy(request, props, ports)
    if busy:
        return failed([busy], physical)
    try:
        config = load_parameters(props)
    except InvalidPlan as exc:
        return failed([str(exc)], physical)
    facts = configuration.read_facts(config, ports.route53, ports.ecs_elb, ports.cloudwatch)
    problems = configuration.problems(config, facts)
    owner = ports.route53.owner(config.hosted_zone_id, config.record_name) if facts.zone_name else None
    if owner is not None and owner.stack_id != request.stack_id:
        problems.append(not_owned_reason(config.record_name, owner))
    if problems:
        for problem in problems:
            logger.error("configuration problem", extra={"problem": problem})
        return failed(problems, physical)
    if owner is None and not ports.route53.claim(config.hosted_zone_id, config.record_name, request.stack_id):
        # Another stack claimed it between our read and our CREATE: Route 53 let exactly one win.
        winner = ports.route53.owner(config.hosted_zone_id, config.record_name)
        if winner is None or winner.stack_id != request.stack_id:
            return failed([not_owned_reason(config.record_name, winner)], physical)
    logger.info("configuration checked; record owned", extra={"record": config.record_name})
    return Outcome(True, "configuration checked; record owned by this stack", physical, {"Owner": request.stack_id})


def _route_busy(request: Request, props: dict[str, Any], ports: CheckPorts) -> str | None:
    """An update that moves the stack to another route while a canary holds the old one is
    refused: the canary's fail back (and the status rule) would look for its deployment on the
    new route and leave the old record at the canary's weights. Any other change fails a
    running canary back (its next task refuses the plan), which is safe."""
    old = getattr(request, "old_resource_properties", None)
    if request.request_type != "Update" or not isinstance(old, dict) or ports.deployments is None:
        return None
    old_zone, old_record = str(old.get("HostedZoneId", "")), str(old.get("RecordName", ""))
    moved = (old_zone, normalize_record_name(old_record)) != (
        str(props.get("HostedZoneId", "")),
        normalize_record_name(str(props.get("RecordName", ""))),
    )
    if not moved or not old_zone or not old_record:
        return None
    holder = ports.deployments.lock_holder(route_key(old_zone, old_record))
    if holder is None or not holder.deployment_id:
        return None
    return (
        f"HostedZoneId/RecordName: deployment {holder.deployment_id} is running on {old_record} "
        f"(execution {holder.execution_arn}); changing the route now would leave that record at the "
        "canary's weights. Wait for it to finish, or stop it (weightshift abort), then deploy again"
    )


def _release(request: Request, props: dict[str, Any], ports: CheckPorts) -> Outcome:
    physical = str(getattr(request, "physical_resource_id", "") or physical_id(props))
    zone, record = str(props.get("HostedZoneId", "")), str(props.get("RecordName", ""))
    try:
        owner = ports.route53.owner(zone, record) if zone and record else None
        # Read first, to leave another stack's claim (or none) alone without a failing DELETE;
        # the DELETE of the exact value still makes the release conditional on it.
        mine = owner is not None and owner.stack_id == request.stack_id
        released = mine and ports.route53.release(zone, record, request.stack_id)
    except Exception:  # noqa: BLE001 (a delete must not fail on the claim; the log says what to remove by hand)
        logger.exception("could not release the ownership record; delete it by hand if it names this stack")
        released = False
    logger.info("delete", extra={"record": record, "released": released})
    return Outcome(True, "ownership released" if released else "nothing of this stack's to release", physical)
