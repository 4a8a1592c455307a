"""The deployments table in memory, with the conditions of adapters/deployments.py."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from weightshift.models import Plan
from weightshift.records import (
    LOCK_SK,
    TERMINAL,
    Change,
    Claim,
    DeploymentRecord,
    LockHolder,
    claimed,
    deployment_key,
)

from tests.fakes.faults import Faults

TASK_VERSION_TTL_SECONDS = 7 * 24 * 3600


def _wire(value: Any) -> Any:
    """What a value reads back as after a round trip through DynamoDB (enums as strings)."""
    return json.loads(json.dumps(value))


@dataclass
class FakeRecordStore:
    """Items keyed by (pk, sk), as plain dicts in the table's camelCase format."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    writes: list[tuple[str, Any]] = field(default_factory=list)  # every write that took effect

    # ------------------------------------------------------------ task versions
    def note_task_version(self, task_arn: str, version: int, now: int) -> bool:
        self.faults.check("note_task_version", task_arn, version)
        key = (f"TASK#{task_arn}", "VERSION")
        seen = self.items.get(key)
        if seen is not None and not seen["version"] <= version:
            return False
        self.items[key] = {"pk": key[0], "sk": key[1], "version": version, "expiresAt": now + TASK_VERSION_TTL_SECONDS}
        return True

    # ------------------------------------------------------------------ records
    def claim(self, plan: Plan, execution_name: str, now_iso: str) -> Claim:
        self.faults.check("claim", plan.deployment_id)
        record = claimed(plan, execution_name, now_iso)
        key = (record.pk, record.sk)
        if key in self.items:
            return Claim(False, self.get(plan.route_key, plan.deployment_id))
        self.items[key] = _wire(record.as_dict())
        self.writes.append(("claim", plan.deployment_id))
        return Claim(True, record)

    def get(self, route: str, deployment_id: str) -> DeploymentRecord | None:
        self.faults.check("get", route, deployment_id)
        item = self.items.get(self._key(route, deployment_id))
        return DeploymentRecord.model_validate(copy.deepcopy(item)) if item is not None else None

    def list_route(self, route: str) -> list[DeploymentRecord]:
        self.faults.check("list_route", route)
        found = [
            DeploymentRecord.model_validate(copy.deepcopy(item))
            for (pk, sk), item in self.items.items()
            if pk == route and sk.startswith("DEPLOYMENT#")
        ]
        return sorted(found, key=lambda r: str(r.created_at or ""))

    def apply(self, route: str, deployment_id: str, change: Change) -> bool:
        self.faults.check("apply", route, deployment_id, change)
        item = self.items.get(self._key(route, deployment_id))
        guard = change.guard
        if (
            item is None
            or (guard.not_terminal and item.get("status") in TERMINAL)
            or (guard.status_is is not None and item.get("status") != guard.status_is)
            or (guard.owner is not None and "executionArn" in item and item["executionArn"] != guard.owner)
            or (guard.unset is not None and guard.unset in item)
            or (
                guard.not_finished_by is not None
                and item.get("executionArn") == guard.not_finished_by
                and item.get("status") in TERMINAL
            )
        ):
            return False
        item.update(_wire(change.fields))
        if change.event is not None:
            item["timeline"] = [*item.get("timeline", []), _wire(change.event)]
        self.writes.append(("apply", change))
        return True

    # ---------------------------------------------------------------- the lock
    def acquire(self, route: str, deployment_id: str, execution_arn: str, now_iso: str) -> LockHolder | None:
        self.faults.check("acquire", route, execution_arn)
        held = self.items.get((route, LOCK_SK))
        if held is not None and held["executionArn"] != execution_arn:
            return self.lock_holder(route) or LockHolder()
        self._lock(route, deployment_id, execution_arn, now_iso)
        return None

    def lock_holder(self, route: str) -> LockHolder | None:
        self.faults.check("lock_holder", route)
        held = self.items.get((route, LOCK_SK))
        return LockHolder.model_validate(held) if held is not None else None

    def fence(
        self, route: str, holder_arn: str, actor: str, now_iso: str, stale_before_iso: str, *, after_writes: bool = True
    ) -> bool:
        self.faults.check("fence", route, holder_arn, actor)
        held = self.items.get((route, LOCK_SK))
        if held is None or held["executionArn"] != holder_arn:
            return False
        by, at = held.get("failbackBy"), str(held.get("failbackAt", ""))
        if by is not None and by != actor and not at < stale_before_iso:
            return False
        if after_writes and "leaseAt" in held and not str(held["leaseAt"]) < stale_before_iso:
            return False
        held.update(failbackBy=actor, failbackAt=now_iso)
        self.writes.append(("fence", actor))
        return True

    def lease(self, route: str, execution_arn: str, now_iso: str) -> bool:
        self.faults.check("lease", route, execution_arn)
        held = self.items.get((route, LOCK_SK))
        if held is None or held["executionArn"] != execution_arn or "failbackBy" in held:
            return False
        held["leaseAt"] = now_iso
        return True

    def watch(
        self, route: str, execution_arn: str, task_token: str, step: int, now_iso: str, alarms: list[str]
    ) -> bool:
        self.faults.check("watch", route, execution_arn)
        held = self.items.get((route, LOCK_SK))
        if held is None or held["executionArn"] != execution_arn:
            return False
        held.update(bakeToken=task_token, bakeStep=step, bakeAt=now_iso, bakeAlarms=list(alarms))
        return True

    def unlease(self, route: str, execution_arn: str) -> None:
        self.faults.check("unlease", route, execution_arn)
        held = self.items.get((route, LOCK_SK))
        if held is not None and held["executionArn"] == execution_arn:
            held.pop("leaseAt", None)

    def take_over(
        self, route: str, old_execution_arn: str, deployment_id: str, execution_arn: str, now_iso: str
    ) -> bool:
        self.faults.check("take_over", route, old_execution_arn, execution_arn)
        held = self.items.get((route, LOCK_SK))
        if held is None or held["executionArn"] != old_execution_arn or held.get("failbackBy") != execution_arn:
            return False
        self._lock(route, deployment_id, execution_arn, now_iso)
        return True

    def release(self, route: str, execution_arn: str) -> None:
        self.faults.check("release", route, execution_arn)
        held = self.items.get((route, LOCK_SK))
        if held is not None and held["executionArn"] == execution_arn:
            del self.items[(route, LOCK_SK)]
            self.writes.append(("release", execution_arn))

    # ------------------------------------------------------------------ helpers
    def _lock(self, route: str, deployment_id: str, execution_arn: str, now_iso: str) -> None:
        self.items[(route, LOCK_SK)] = {
            "pk": route,
            "sk": LOCK_SK,
            "deploymentId": deployment_id,
            "executionArn": execution_arn,
            "acquiredAt": now_iso,
        }
        self.writes.append(("lock", execution_arn))

    @staticmethod
    def _key(route: str, deployment_id: str) -> tuple[str, str]:
        key = deployment_key(route, deployment_id)
        return key["pk"], key["sk"]
