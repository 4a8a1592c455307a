"""The deployments table: claims, route locks, task versions and records.

Items (one table, ``pk``/``sk``):
- ``ROUTE#<zone>#<name>`` / ``DEPLOYMENT#<deployment id>``: one deployment's
  record: status, plan, execution, weights, step, timeline, reason.
- ``ROUTE#<zone>#<name>`` / ``LOCK``: which deployment may write the route.
- ``TASK#<task arn>`` / ``VERSION``: the newest ``detail.version`` seen, to drop
  stale events. Expires after a week (TTL attribute ``expiresAt``).

Every check-and-set is a single conditional write: no read-then-write races.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from weightshift.adapters.aws import error_code
from weightshift.models import Plan
from weightshift.records import (
    LOCK_SK,
    TERMINAL,
    Change,
    Claim,
    DeploymentRecord,
    LockHolder,
    Status,
    claimed,
    deployment_key,
)

# The record's lifecycle (records.Status), by the names tests and tools import from here.
CLAIMED, STARTED, IN_PROGRESS = Status.CLAIMED, Status.STARTED, Status.IN_PROGRESS
SUCCEEDED, ROLLED_BACK, REJECTED = Status.SUCCEEDED, Status.ROLLED_BACK, Status.REJECTED
ALREADY_LIVE, SUPERSEDED = Status.ALREADY_LIVE, Status.SUPERSEDED
__all__ = [
    "ALREADY_LIVE",
    "CLAIMED",
    "IN_PROGRESS",
    "LOCK_SK",
    "REJECTED",
    "ROLLED_BACK",
    "STARTED",
    "SUCCEEDED",
    "SUPERSEDED",
    "TERMINAL",
    "Claim",
    "Deployments",
    "deployment_key",
]

TASK_VERSION_TTL_SECONDS = 7 * 24 * 3600


class Deployments:
    """The record store on DynamoDB: the only code that writes records and the lock."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._ddb = client
        self._table = table_name

    # ------------------------------------------------------------ task versions
    def note_task_version(self, task_arn: str, version: int, now: int) -> bool:
        """Record the task's event version. False if a newer one was already seen (stale)."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"TASK#{task_arn}"},
                    "sk": {"S": "VERSION"},
                    "version": {"N": str(version)},
                    "expiresAt": {"N": str(now + TASK_VERSION_TTL_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk) OR version <= :v",
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------------ records
    def claim(self, plan: Plan, execution_name: str, now_iso: str) -> Claim:
        """Claim the deployment. Exactly one caller wins; losers get the existing record."""
        record = claimed(plan, execution_name, now_iso)
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={k: _attr(v) for k, v in record.as_dict().items()},
                ConditionExpression="attribute_not_exists(pk)",
            )
            return Claim(True, record)
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        return Claim(False, self.get(plan.route_key, plan.deployment_id))

    def get(self, route: str, deployment_id: str) -> DeploymentRecord | None:
        resp = self._ddb.get_item(
            TableName=self._table, Key=_key(deployment_key(route, deployment_id)), ConsistentRead=True
        )
        return DeploymentRecord.model_validate(_plain(resp["Item"])) if "Item" in resp else None

    def list_route(self, route: str) -> list[DeploymentRecord]:
        items: list[DeploymentRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :d)",
            "ExpressionAttributeValues": {":pk": {"S": route}, ":d": {"S": "DEPLOYMENT#"}},
            "ConsistentRead": True,
        }
        while True:
            page = self._ddb.query(**kwargs)
            items.extend(DeploymentRecord.model_validate(_plain(i)) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(items, key=lambda r: str(r.created_at or ""))

    def apply(self, route: str, deployment_id: str, change: Change) -> bool:
        """Apply one of records.py's changes as one conditional write. False if its guard
        (or the record's existence) refused it; nothing was written then."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets = []
        for i, (name, value) in enumerate(change.fields.items()):
            names[f"#f{i}"] = name
            values[f":v{i}"] = _attr(value)
            sets.append(f"#f{i} = :v{i}")
        if change.event is not None:
            names["#tl"] = "timeline"
            values[":tl"] = {"L": [_attr(change.event)]}
            values[":empty"] = {"L": []}
            sets.append("#tl = list_append(if_not_exists(#tl, :empty), :tl)")
        guard = change.guard
        condition = "attribute_exists(pk)"
        if guard.not_terminal or guard.status_is is not None:
            names["#st"] = "status"
        if guard.not_terminal:
            for i, status in enumerate(sorted(TERMINAL)):
                values[f":t{i}"] = {"S": str(status)}
            condition += " AND NOT #st IN (" + ", ".join(f":t{i}" for i in range(len(TERMINAL))) + ")"
        if guard.status_is is not None:
            values[":from"] = {"S": str(guard.status_is)}
            condition += " AND #st = :from"
        if guard.owner is not None:
            names["#owner"] = "executionArn"
            values[":owner"] = {"S": guard.owner}
            condition += " AND (attribute_not_exists(#owner) OR #owner = :owner)"
        if guard.unset is not None:
            names["#unset"] = guard.unset
            condition += " AND attribute_not_exists(#unset)"
        if guard.not_finished_by is not None:
            names["#st"], names["#by"] = "status", "executionArn"
            values[":by"] = {"S": guard.not_finished_by}
            for i, status in enumerate(sorted(TERMINAL)):
                values[f":d{i}"] = {"S": str(status)}
            done = ", ".join(f":d{i}" for i in range(len(TERMINAL)))
            condition += f" AND NOT (#by = :by AND #st IN ({done}))"
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=_key(deployment_key(route, deployment_id)),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    # ---------------------------------------------------------------- the lock
    def acquire(self, route: str, deployment_id: str, execution_arn: str, now_iso: str) -> LockHolder | None:
        """Take the route's lock for one execution. Returns None on success, else the holder.

        The lock belongs to an execution, not to a deployment: a second execution of the
        same deployment (a console "New execution" while the first runs) is another writer
        and is refused like any other (design.md, invariant 4).
        """
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=_lock_item(route, deployment_id, execution_arn, now_iso),
                ConditionExpression="attribute_not_exists(pk) OR executionArn = :e",
                ExpressionAttributeValues={":e": {"S": execution_arn}},
            )
            return None
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        return self.lock_holder(route) or LockHolder()

    def lock_holder(self, route: str) -> LockHolder | None:
        resp = self._ddb.get_item(
            TableName=self._table, Key={"pk": {"S": route}, "sk": {"S": LOCK_SK}}, ConsistentRead=True
        )
        return LockHolder.model_validate(_plain(resp["Item"])) if "Item" in resp else None

    def fence(
        self, route: str, holder_arn: str, actor: str, now_iso: str, stale_before_iso: str, *, after_writes: bool = True
    ) -> bool:
        """Become the one actor failing back ``holder_arn``, while it still holds the route.

        True if ``actor`` holds the fence now (it was free, already ``actor``'s, or stale).
        Only the fence holder writes DNS for that execution (records.FAILBACK_FENCE_SECONDS).
        With ``after_writes``, it also waits out the execution's own DNS write in flight
        (its lease, records.WRITE_LEASE_SECONDS): the execution's own Catch path, which
        runs after its writes, does not need to.
        """
        condition = (
            "executionArn = :holder AND (attribute_not_exists(failbackBy) OR failbackBy = :who OR failbackAt < :stale)"
        )
        if after_writes:
            condition += " AND (attribute_not_exists(leaseAt) OR leaseAt < :stale)"
        return self._lock_update(
            route,
            "SET failbackBy = :who, failbackAt = :now",
            condition,
            {":holder": holder_arn, ":who": actor, ":now": now_iso, ":stale": stale_before_iso},
        )

    def lease(self, route: str, execution_arn: str, now_iso: str) -> bool:
        """Before an execution's own DNS write: only while it holds the route and no one
        is failing it back. False means: do not write."""
        return self._lock_update(
            route,
            "SET leaseAt = :now",
            "executionArn = :e AND attribute_not_exists(failbackBy)",
            {":e": execution_arn, ":now": now_iso},
        )

    def watch(
        self, route: str, execution_arn: str, task_token: str, step: int, now_iso: str, alarms: list[str]
    ) -> bool:
        """Leave the holder's bake token where the alarm listener finds it. False: this
        execution no longer holds the route."""
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": route}, "sk": {"S": LOCK_SK}},
                UpdateExpression="SET bakeToken = :t, bakeStep = :s, bakeAt = :now, bakeAlarms = :a",
                ConditionExpression="executionArn = :e",
                ExpressionAttributeValues={
                    ":a": _attr(list(alarms)),
                    ":t": {"S": task_token},
                    ":s": {"N": str(step)},
                    ":now": {"S": now_iso},
                    ":e": {"S": execution_arn},
                },
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    def unlease(self, route: str, execution_arn: str) -> None:
        """After that write (idempotent)."""
        self._lock_update(route, "REMOVE leaseAt", "executionArn = :e", {":e": execution_arn})

    def _lock_update(self, route: str, update: str, condition: str, values: dict[str, str]) -> bool:
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": route}, "sk": {"S": LOCK_SK}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues={k: {"S": v} for k, v in values.items()},
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    def take_over(
        self, route: str, old_execution_arn: str, deployment_id: str, execution_arn: str, now_iso: str
    ) -> bool:
        """Replace an ended holder's lock, only if it is still that holder's and the taker
        holds its fail-back fence (so no other fail back of it is in flight)."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=_lock_item(route, deployment_id, execution_arn, now_iso),
                ConditionExpression="executionArn = :old AND failbackBy = :me",
                ExpressionAttributeValues={":old": {"S": old_execution_arn}, ":me": {"S": execution_arn}},
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    def release(self, route: str, execution_arn: str) -> None:
        """Release the lock if this execution holds it (idempotent)."""
        try:
            self._ddb.delete_item(
                TableName=self._table,
                Key={"pk": {"S": route}, "sk": {"S": LOCK_SK}},
                ConditionExpression="executionArn = :e",
                ExpressionAttributeValues={":e": {"S": execution_arn}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise


def _lock_item(route: str, deployment_id: str, execution_arn: str, now_iso: str) -> dict[str, Any]:
    return {
        "pk": {"S": route},
        "sk": {"S": LOCK_SK},
        "deploymentId": {"S": deployment_id},
        "executionArn": {"S": execution_arn},
        "acquiredAt": {"S": now_iso},
    }


def _key(key: dict[str, str]) -> dict[str, Any]:
    return {k: {"S": v} for k, v in key.items()}


_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def _attr(value: Any) -> dict[str, Any]:
    """A DynamoDB attribute value (boto3's serializer, with floats as Decimal)."""
    return dict(_SERIALIZER.serialize(_decimals(value)))


def _decimals(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    return value


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _numbers(_DESERIALIZER.deserialize(v)) for k, v in item.items()}


def _numbers(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, set):
        return sorted(_numbers(v) for v in value)
    return value
