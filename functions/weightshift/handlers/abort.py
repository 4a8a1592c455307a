"""Execution status rule (ABORTED, TIMED_OUT, FAILED): fail back what a Catch could not."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from weightshift import clock, workflow
from weightshift.handlers._wiring import ports, route_config
from weightshift.observability import logger, metrics, stack_dimension, tracer, weight_shares


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stack_dimension()
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(detail, dict):
        logger.warning("not a Step Functions Execution Status Change event; ignored")
        return {"action": "none", "reason": "malformed event"}
    started = clock.now()
    result = workflow.on_execution_ended(detail, route_config(), ports(), started)
    logger.info(f"execution ended ({detail.get('status')}): {result['action']}", extra=result)
    if result["action"] == "promoted":
        metrics.add_metric(name="DeploymentPromoted", unit=MetricUnit.Count, value=1)
    if result["action"] == "failed-back":
        metrics.add_metric(name="DeploymentRolledBack", unit=MetricUnit.Count, value=1)
        latency = (clock.now() - started).total_seconds() * 1000
        metrics.add_metric(name="FailbackLatency", unit=MetricUnit.Milliseconds, value=latency)
        weight_shares(result.get("restoredWeights"))
    return result
