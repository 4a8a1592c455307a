"""Tasks "Record the original weights" and "Shift traffic"."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from weightshift import workflow
from weightshift.handlers._wiring import ports, task_input
from weightshift.observability import logger, metrics, stack_dimension, tracer, weight_shares


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stack_dimension()
    inp = task_input(event)
    if event.get("action") == "record":
        return workflow.record_original(inp, ports())
    result = workflow.shift(inp, ports())
    metrics.add_metric(name="StepShifted", unit=MetricUnit.Count, value=1)
    weight_shares(result.get("weights"))
    return result
