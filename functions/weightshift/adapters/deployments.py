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

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from weightshift.adapters.aws import error_code
from weightshift.models import Plan

# Lifecycle of a deployment record.
CLAIMED = "CLAIMED"  # the trigger won the conditional write; the execution may not exist yet
STARTED = "STARTED"  # StartExecution returned
IN_PROGRESS = "IN_PROGRESS"  # preflight passed, weights recorded
SUCCEEDED = "SUCCEEDED"
ROLLED_BACK = "ROLLED_BACK"
REJECTED = "REJECTED"  # preflight refused it; DNS untouched
ALREADY_LIVE = "ALREADY_LIVE"
SUPERSEDED = "SUPERSEDED"  # a newer deployment of the same service claimed the route first; never started
TERMINAL = frozenset({SUCCEEDED, ROLLED_BACK, REJECTED, ALREADY_LIVE, SUPERSEDED})

TASK_VERSION_TTL_SECONDS = 7 * 24 * 3600
LOCK_SK = "LOCK"


def deployment_key(route: str, deployment_id: str) -> dict[str, str]:
    return {"pk": route, "sk": f"DEPLOYMENT#{deployment_id}"}


@dataclass(frozen=True)
class Claim:
    won: bool
    record: dict[str, Any]


class Deployments:
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

    # ------------------------------------------------------------------ claims
    def claim(self, plan: Plan, execution_name: str, now_iso: str) -> Claim:
        """Claim the deployment. Exactly one caller wins; losers get the existing record."""
        item = {
            **_key(deployment_key(plan.route_key, plan.deployment_id)),
            "status": {"S": CLAIMED},
            "deploymentId": {"S": plan.deployment_id},
            "ecsDeployment": {"S": plan.ecs_deployment},
            "targetColor": {"S": plan.target.color},
            "executionName": {"S": execution_name},
            "plan": {"S": json.dumps(plan.dump(), sort_keys=True)},
            "createdAt": {"S": now_iso},
            "updatedAt": {"S": now_iso},
        }
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
            return Claim(True, _plain(item))
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        existing = self.get(plan.route_key, plan.deployment_id)
        return Claim(False, existing or {})

    def mark_started(self, route: str, deployment_id: str, execution_arn: str, now_iso: str) -> None:
        """CLAIMED -> STARTED. A no-op if the workflow already moved the record on."""
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=_key(deployment_key(route, deployment_id)),
                UpdateExpression="SET executionArn = :arn, updatedAt = :now, #s = :started",
                ConditionExpression="#s = :claimed",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":arn": {"S": execution_arn},
                    ":now": {"S": now_iso},
                    ":started": {"S": STARTED},
                    ":claimed": {"S": CLAIMED},
                },
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def get(self, route: str, deployment_id: str) -> dict[str, Any] | None:
        resp = self._ddb.get_item(
            TableName=self._table, Key=_key(deployment_key(route, deployment_id)), ConsistentRead=True
        )
        return _plain(resp["Item"]) if "Item" in resp else None

    def list_route(self, route: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :d)",
            "ExpressionAttributeValues": {":pk": {"S": route}, ":d": {"S": "DEPLOYMENT#"}},
            "ConsistentRead": True,
        }
        while True:
            page = self._ddb.query(**kwargs)
            items.extend(_plain(i) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(items, key=lambda r: str(r.get("createdAt", "")))

    # ---------------------------------------------------------------- the lock
    def acquire(self, route: str, deployment_id: str, execution_arn: str, now_iso: str) -> dict[str, Any] | None:
        """Take the route's lock for one execution. Returns None on success, else the holder.

        The lock belongs to an execution, not to a deployment: a second execution of the
        same deployment (a console "New execution" while the first runs) is another writer
        and is refused like any other (design.md, invariant 4).
        """
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": route},
                    "sk": {"S": LOCK_SK},
                    "deploymentId": {"S": deployment_id},
                    "executionArn": {"S": execution_arn},
                    "acquiredAt": {"S": now_iso},
                },
                ConditionExpression="attribute_not_exists(pk) OR executionArn = :e",
                ExpressionAttributeValues={":e": {"S": execution_arn}},
            )
            return None
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        return self.lock_holder(route) or {}

    def lock_holder(self, route: str) -> dict[str, Any] | None:
        resp = self._ddb.get_item(
            TableName=self._table, Key={"pk": {"S": route}, "sk": {"S": LOCK_SK}}, ConsistentRead=True
        )
        return _plain(resp["Item"]) if "Item" in resp else None

    def take_over(
        self, route: str, old_execution_arn: str, deployment_id: str, execution_arn: str, now_iso: str
    ) -> bool:
        """Replace a dead holder's lock, only if it is still that holder's."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": route},
                    "sk": {"S": LOCK_SK},
                    "deploymentId": {"S": deployment_id},
                    "executionArn": {"S": execution_arn},
                    "acquiredAt": {"S": now_iso},
                },
                ConditionExpression="executionArn = :old",
                ExpressionAttributeValues={":old": {"S": old_execution_arn}},
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

    def record_original(
        self, route: str, deployment_id: str, weights: dict[str, int], execution_arn: str, now_iso: str
    ) -> dict[str, int]:
        """Record the weights to restore, once per deployment; return what is recorded.

        A conditional write: the first execution to record wins, and no later one (a
        re-run, a redrive, a racing console execution) can overwrite it (invariant 5).
        """
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=_key(deployment_key(route, deployment_id)),
                UpdateExpression="SET originalWeights = :w, originalExecution = :e, originalAt = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(originalWeights)",
                ExpressionAttributeValues={":w": _attr(weights), ":e": {"S": execution_arn}, ":now": {"S": now_iso}},
            )
            return weights
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        kept = (self.get(route, deployment_id) or {}).get("originalWeights")
        if not isinstance(kept, dict):
            raise LookupError(f"deployment {deployment_id} has no record on {route}")
        return {str(k): int(v) for k, v in kept.items()}

    # --------------------------------------------------------------- progress
    def update(
        self,
        route: str,
        deployment_id: str,
        fields: dict[str, Any],
        *,
        if_not_terminal: bool = False,
        owner: str | None = None,
        append_timeline: dict[str, Any] | None = None,
    ) -> bool:
        """Set fields on a record. With ``if_not_terminal``, only while it has not finished;
        with ``owner``, only while that execution owns the record (or no execution does yet)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets = []
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            values[f":v{i}"] = _attr(value)
            sets.append(f"#f{i} = :v{i}")
        if append_timeline is not None:
            names["#tl"] = "timeline"
            values[":tl"] = {"L": [_attr(append_timeline)]}
            values[":empty"] = {"L": []}
            sets.append("#tl = list_append(if_not_exists(#tl, :empty), :tl)")
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(deployment_key(route, deployment_id)),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        condition = "attribute_exists(pk)"
        if if_not_terminal:
            names["#st"] = "status"
            for i, status in enumerate(sorted(TERMINAL)):
                values[f":t{i}"] = {"S": status}
            condition += " AND NOT #st IN (" + ", ".join(f":t{i}" for i in range(len(TERMINAL))) + ")"
        if owner is not None:
            names["#owner"] = "executionArn"
            values[":owner"] = {"S": owner}
            condition += " AND (attribute_not_exists(#owner) OR #owner = :owner)"
        kwargs["ConditionExpression"] = condition
        try:
            self._ddb.update_item(**kwargs)
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise


def _key(key: dict[str, str]) -> dict[str, Any]:
    return {k: {"S": v} for k, v in key.items()}


_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def _attr(value: Any) -> dict[str, Any]:
    """A DynamoDB attribute value (boto3's serializer, with floats as Decimal)."""
    return dict(_SERIALIZER.serialize(_decimals(value)))


def _decimals(value: Any) -> Any:
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
