"""The deployment record and the route lock: their shape, and every change to a record.

A record is one DynamoDB item per deployment (see adapters/deployments.py for the
table). Its shape is ``DeploymentRecord``; its changes are the functions below, each
returning a ``Change``: the fields to set, the timeline entry to append, and the
``Guard`` under which the store may apply it. A store applies a change as one
conditional write, so each rule of design.md (invariants 4, 5 and 9) is a guard here,
not a read-then-write in the workflow:

- ``owner``: only the execution that owns the record (or, before any does, anyone);
- ``not_terminal``: never on a finished deployment;
- ``status_is``: only from one status (CLAIMED -> STARTED);
- ``unset``: only while a field is absent (the original weights are written once).

Pure: no AWS, no clock. Tested in tests/unit/test_records.py; the store's and its
fake's guards agree (tests/component/test_record_store_contract.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from weightshift.models import Color, Plan, Weights


class Status(StrEnum):
    """Lifecycle of a deployment record."""

    CLAIMED = "CLAIMED"  # the trigger won the conditional write; the execution may not exist yet
    STARTED = "STARTED"  # StartExecution returned
    IN_PROGRESS = "IN_PROGRESS"  # preflight passed, the route is this execution's
    SUCCEEDED = "SUCCEEDED"
    ROLLED_BACK = "ROLLED_BACK"
    REJECTED = "REJECTED"  # preflight refused it; DNS untouched
    ALREADY_LIVE = "ALREADY_LIVE"
    SUPERSEDED = "SUPERSEDED"  # a newer deployment of the same service claimed the route first; never started


TERMINAL = frozenset({Status.SUCCEEDED, Status.ROLLED_BACK, Status.REJECTED, Status.ALREADY_LIVE, Status.SUPERSEDED})

LOCK_SK = "LOCK"

# A fail back of an ended execution may be started by two actors at once: the status
# rule's Lambda (acting as that execution) and the next deployment taking the route
# over. The lock item carries a fence (``failbackBy``/``failbackAt``): only its holder
# writes DNS for that execution, and the taker may replace the lock only after its own
# fail back. A fence older than this is an actor that died (the functions' Timeout is
# 60 s in template.yaml; tests/unit/test_records.py ties the two).
FAILBACK_FENCE_SECONDS = 120
# The same bound for a writer's lease (``leaseAt``): an execution's own DNS write (a shift,
# creating the pair) holds it from just before the change until just after, so that the
# status rule, acting on a Stop, never fails back under a write still in flight.
WRITE_LEASE_SECONDS = FAILBACK_FENCE_SECONDS


def deployment_key(route: str, deployment_id: str) -> dict[str, str]:
    return {"pk": route, "sk": f"DEPLOYMENT#{deployment_id}"}


class _Item(BaseModel):
    # ``extra="allow"``: a record written by another version of Weightshift still loads,
    # and keeps the fields this one does not know.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="allow")

    def as_dict(self) -> dict[str, Any]:
        """The item as the table holds it (camelCase, only the fields it has)."""
        return self.model_dump(by_alias=True, mode="json", exclude_unset=True)


class DeploymentRecord(_Item):
    """One deployment: status, plan, execution, weights, step, timeline, reason (invariant 6)."""

    pk: str
    sk: str
    status: Status
    deployment_id: str
    ecs_deployment: str | None = None
    target_color: Color | None = None
    execution_name: str | None = None
    plan: str | None = None  # the claimed plan, as JSON text: the execution's input, byte for byte
    created_at: str | None = None
    updated_at: str | None = None
    execution_arn: str | None = None  # the execution that owns the record
    started_at: str | None = None
    deadline: str | None = None
    step: int | None = None
    current_weights: Weights | None = None
    ttl_seconds: int | None = None
    original_weights: Weights | None = None  # written once per deployment (invariant 5)
    original_execution: str | None = None
    original_at: str | None = None
    finished_at: str | None = None
    duration_seconds: int | None = None
    error: str | None = None
    reason: str | None = None
    restored_weights: Weights | None = None
    observed: dict[str, Any] | None = None  # the last poll's observed split (health.Observed.dump)
    timeline: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def claimed_plan(self) -> Plan:
        """The plan the trigger (or a console run's preflight) claimed: written by us, trusted."""
        return Plan.model_validate(json.loads(str(self.plan)))


class LockHolder(_Item):
    """The route lock (``sk = LOCK``): which execution may write the route (invariant 4).
    Empty when the lock vanished between a refused write and the read of it."""

    deployment_id: str = ""
    execution_arn: str = ""
    acquired_at: str = ""
    failback_by: str = ""  # who is failing back this (ended) holder, if anyone
    failback_at: str = ""
    lease_at: str = ""  # set while the holder's own DNS write is in flight
    bake_token: str = ""  # the task token of the holder's bake in progress (the alarm listener ends it)
    bake_step: int = 0  # the step that bake belongs to
    bake_alarms: list[str] | None = None  # the alarms that bake watches (None: written before they were kept)


@dataclass(frozen=True)
class Claim:
    won: bool
    record: DeploymentRecord | None  # None only if the record vanished after a lost claim


def claimed(plan: Plan, execution_name: str, now_iso: str) -> DeploymentRecord:
    """The record the winning claim puts (only if no record exists)."""
    return DeploymentRecord(
        **deployment_key(plan.route_key, plan.deployment_id),
        status=Status.CLAIMED,
        deployment_id=plan.deployment_id,
        ecs_deployment=plan.ecs_deployment,
        target_color=plan.target.color,
        execution_name=execution_name,
        plan=json.dumps(plan.dump(), sort_keys=True),
        created_at=now_iso,
        updated_at=now_iso,
    )


# ------------------------------------------------------------------ changes
@dataclass(frozen=True)
class Guard:
    """When a change may be applied, besides "the record exists"."""

    owner: str | None = None
    not_terminal: bool = False
    status_is: Status | None = None
    unset: str | None = None
    # Not a record this execution already finished (or that was finished for it, by the
    # status rule after a Stop): a Lambda still running after its execution was stopped
    # must not start the record over. Another execution (a re-run) may.
    not_finished_by: str | None = None


@dataclass(frozen=True)
class Change:
    fields: dict[str, Any]
    guard: Guard = Guard()
    event: dict[str, Any] | None = None  # appended to the timeline


def _weights(weights: Weights | None) -> dict[str, int] | None:
    return weights.dump() if weights is not None else None


def mark_started(execution_arn: str, now_iso: str) -> Change:
    """CLAIMED -> STARTED once StartExecution returned; nothing if the workflow moved it on."""
    return Change(
        {"executionArn": execution_arn, "updatedAt": now_iso, "status": Status.STARTED},
        Guard(status_is=Status.CLAIMED),
    )


def supersede(by_deployment: str, now_iso: str) -> Change:
    """A late retry of an older deployment: it never starts."""
    return Change(
        {"status": Status.SUPERSEDED, "updatedAt": now_iso, "reason": f"superseded by {by_deployment}"},
        Guard(not_terminal=True),
    )


def already_live(execution_arn: str, reason: str, now_iso: str) -> Change:
    """Preflight found the target already carrying all traffic. Applied while this
    execution holds the route lock (the lock is the guard)."""
    return Change(
        {"status": Status.ALREADY_LIVE, "updatedAt": now_iso, "executionArn": execution_arn, "reason": reason},
        Guard(not_finished_by=execution_arn),
    )


def start(execution_arn: str, now_iso: str, deadline_iso: str) -> Change:
    """Preflight passed: the execution holding the route lock takes the record.
    A re-run after a fail back starts the record over (its original weights stay)."""
    return Change(
        {
            "status": Status.IN_PROGRESS,
            "executionArn": execution_arn,
            "startedAt": now_iso,
            "updatedAt": now_iso,
            "deadline": deadline_iso,
            "reason": "",
            "step": 0,
        },
        Guard(not_finished_by=execution_arn),
        event={"at": now_iso, "event": "started", "execution": execution_arn},
    )


def original_weights(weights: Weights, execution_arn: str, now_iso: str) -> Change:
    """The weights to restore on failure: once per deployment, never overwritten (invariant 5)."""
    return Change(
        {"originalWeights": weights.dump(), "originalExecution": execution_arn, "originalAt": now_iso},
        Guard(unset="originalWeights"),
    )


def weights_read(
    execution_arn: str, current: Weights, ttl_seconds: int, original: Weights, created_pair: bool, now_iso: str
) -> Change:
    return Change(
        {"currentWeights": current.dump(), "ttlSeconds": ttl_seconds, "updatedAt": now_iso},
        Guard(owner=execution_arn),
        {"at": now_iso, "event": "original-weights", "weights": original.dump(), "createdPair": created_pair},
    )


def step(execution_arn: str, index: int, weights: Weights, change_id: str, now_iso: str) -> Change:
    return Change(
        {"step": index, "currentWeights": weights.dump(), "updatedAt": now_iso},
        Guard(owner=execution_arn),
        {"at": now_iso, "event": "step", "step": index, "weights": weights.dump(), "changeId": change_id},
    )


def baked(
    execution_arn: str,
    step_index: int | None,
    polls: int,
    notes: list[str],
    now_iso: str,
    observed: dict[str, Any] | None = None,
    decided_by: str = "fixed",
    evidence: dict[str, Any] | None = None,
    clients: dict[str, Any] | None = None,
) -> Change:
    """A step's bake ended well: how (``decided_by``: "fixed" bake, the "evidence" of the
    sequential test, or its inconclusive "max-bake"), with the test's numbers."""
    fields: dict[str, Any] = {"updatedAt": now_iso}
    event: dict[str, Any] = {"at": now_iso, "event": "baked", "step": step_index, "polls": polls, "notes": notes}
    event["decidedBy"] = decided_by
    if evidence is not None:
        event["evidence"] = evidence
    if clients is not None:  # MinObservedShare: polls spent waiting for the clients, and if they still lagged
        event["clients"] = clients
    if observed is not None:
        fields["observed"] = {**observed, "at": now_iso}
        event["observed"] = observed
    return Change(fields, Guard(owner=execution_arn), event)


def polled(execution_arn: str, seen: dict[str, Any], now_iso: str) -> Change:
    """The split the clients made at this poll (``health.Observed``), beside the intended one."""
    return Change({"observed": {**seen, "at": now_iso}, "updatedAt": now_iso}, Guard(owner=execution_arn))


def promote(execution_arn: str, duration_seconds: int | None, note: str, now_iso: str) -> Change:
    """-> SUCCEEDED: only an unfinished record this execution owns."""
    return Change(
        {
            "status": Status.SUCCEEDED,
            "finishedAt": now_iso,
            "updatedAt": now_iso,
            "durationSeconds": duration_seconds,
            "executionArn": execution_arn,
            **({"reason": f"promoted; {note}"} if note else {}),
        },
        Guard(owner=execution_arn, not_terminal=True),
        {"at": now_iso, "event": "promoted", **({"note": note} if note else {})},
    )


def roll_back(
    execution_arn: str, error: str, cause: str, reason: str, restored: Weights | None, now_iso: str
) -> Change:
    """-> ROLLED_BACK: only an unfinished record this execution owns."""
    return Change(
        {
            "status": Status.ROLLED_BACK,
            "reason": reason,
            "error": error,
            "finishedAt": now_iso,
            "updatedAt": now_iso,
            "restoredWeights": _weights(restored),
            "executionArn": execution_arn,  # the owner already, or none yet (the guard): now named
        },
        Guard(owner=execution_arn, not_terminal=True),
        {"at": now_iso, "event": "rolled-back", "error": error, "cause": cause},
    )


def reject(execution_arn: str, error: str, cause: str, now_iso: str) -> Change:
    """-> REJECTED (DNS untouched): only an unfinished record this execution owns."""
    return Change(
        {
            "status": Status.REJECTED,
            "reason": f"{error}: {cause}",
            "error": error,
            "updatedAt": now_iso,
            "finishedAt": now_iso,
            "executionArn": execution_arn,
        },
        Guard(owner=execution_arn, not_terminal=True),
        {"at": now_iso, "event": "rejected", "error": error, "cause": cause},
    )
