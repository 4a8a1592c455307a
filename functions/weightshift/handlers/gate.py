"""Tasks "Bake and watch health" (``action: watch``, with the bake's task token) and
"Check health" (one health poll, at the end of each wait of a bake)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from weightshift import workflow
from weightshift.errors import DeadlineExceeded, HealthGateFailed, InvalidEvent
from weightshift.handlers._wiring import ports, task_input
from weightshift.observability import logger, metrics, stack_dimension, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stack_dimension()
    if event.get("action") == "watch":
        token = event.get("taskToken")
        if not isinstance(token, str) or not token:
            raise InvalidEvent("a watch task needs the bake's task token ($$.Task.Token)")
        return workflow.watch(task_input(event), token, ports())
    try:
        result = workflow.gate(task_input(event), ports())
    except DeadlineExceeded:
        metrics.add_metric(name="DeploymentPastDeadline", unit=MetricUnit.Count, value=1)
        raise
    except HealthGateFailed:
        metrics.add_metric(name="HealthPollFailed", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="HealthPollPassed", unit=MetricUnit.Count, value=1)
    return result
