"""Alarm listener Lambda: CloudWatch Alarm State Change (from the EventBridge rule) -> end the bake."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, ValidationError

from weightshift import alarm_watch
from weightshift.adapters.aws import client
from weightshift.adapters.deployments import Deployments
from weightshift.adapters.stepfunctions import StepFunctions
from weightshift.handlers._wiring import route_config
from weightshift.observability import logger, metrics, stack_dimension, tracer
from weightshift.settings import load_resources


class _AlarmState(BaseModel):
    model_config = ConfigDict(extra="ignore")
    value: str
    reason: str = ""
    timestamp: str = ""


class _AlarmDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    alarmName: str  # noqa: N815 - the event's own field name
    state: _AlarmState


class AlarmStateChange(EventBridgeModel):
    detail: _AlarmDetail


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    stack_dimension()
    try:
        parsed = parse(event=event, model=AlarmStateChange)
    except ValidationError as exc:
        # Not an alarm state change: nothing to act on, and retrying it would not help.
        logger.error("not a CloudWatch Alarm State Change event; ignored", extra={"errors": exc.errors()[:5]})
        metrics.add_metric(name="AlarmEventIgnored", unit=MetricUnit.Count, value=1)
        return {"decision": "malformed", "detail": "not a CloudWatch Alarm State Change event"}
    detail = parsed.detail
    change = alarm_watch.AlarmChange(detail.alarmName, detail.state.value, detail.state.reason, detail.state.timestamp)
    resources = load_resources(os.environ)
    outcome = alarm_watch.on_alarm(
        change,
        route_config(),
        Deployments(client("dynamodb"), resources.table_name),
        StepFunctions(client("stepfunctions")),
    )
    logger.info(f"alarm {change.alarm_name} -> {change.state}: {outcome.decision}", extra=outcome.log_fields())
    if outcome.decision == "bake-failed":
        metrics.add_metric(name="BakeEndedByAlarm", unit=MetricUnit.Count, value=1)
    return outcome.log_fields()
