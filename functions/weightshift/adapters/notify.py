"""Notifications: SNS for people, EventBridge events for machines."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from weightshift.observability import logger

EVENT_SOURCE = "weightshift"


class Notifier:
    def __init__(self, sns: Any, events: Any, topic_arn: str, bus_name: str = "default") -> None:
        self._sns = sns
        self._events = events
        self._topic = topic_arn
        self._bus = bus_name

    def publish(self, kind: str, subject: str, detail: dict[str, Any], *, email: bool = True) -> None:
        """Best effort: a notification failure is logged, never fails a deployment step."""
        body = json.dumps({"event": kind, **detail}, default=str, sort_keys=True)
        try:
            resp = self._events.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": f"Weightshift Deployment {kind.replace('-', ' ').title()}",
                        "Detail": body,
                        "EventBusName": self._bus,
                    }
                ]
            )
            # PutEvents answers HTTP 200 even when it refuses an entry: the refusal is in
            # FailedEntryCount and the entry's ErrorCode (EventBridge API reference, PutEvents).
            if resp.get("FailedEntryCount"):
                refused: dict[str, Any] = next((e for e in resp.get("Entries", []) if e.get("ErrorCode")), {})
                logger.warning(
                    "could not put the EventBridge event",
                    extra={"kind": kind, "error": f"{refused.get('ErrorCode')}: {refused.get('ErrorMessage')}"},
                )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("could not put the EventBridge event", extra={"kind": kind, "error": str(exc)})
        if email and self._topic:
            try:
                self._sns.publish(TopicArn=self._topic, Subject=subject[:100], Message=body)
            except (ClientError, BotoCoreError) as exc:
                logger.warning("could not publish to SNS", extra={"kind": kind, "error": str(exc)})
