"""Tasks "Promote", "Fail back to the original weights" and "Reject the deployment"."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from weightshift import workflow
from weightshift.handlers._wiring import ports, task_input
from weightshift.observability import logger, metrics, tracer

ACTIONS = {
    "promote": (workflow.promote, "DeploymentPromoted"),
    "failback": (workflow.failback_task, "DeploymentRolledBack"),
    "reject": (workflow.reject, "DeploymentRejected"),
}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action, metric = ACTIONS[str(event.get("action"))]
    result = action(task_input(event), ports())
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return result
