"""Tasks "Promote", "Fail back to the original weights" and "Reject the deployment"."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from weightshift import workflow
from weightshift.handlers._wiring import ports, task_input
from weightshift.observability import logger, metrics, stack_dimension, tracer, weight_shares

ACTIONS = {
    "promote": (workflow.promote, "DeploymentPromoted"),
    "failback": (workflow.failback_task, "DeploymentRolledBack"),
    "reject": (workflow.reject, "DeploymentRejected"),
}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stack_dimension()
    action, metric = ACTIONS[str(event.get("action"))]
    inp = task_input(event)
    result = action(inp, ports())
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    if (
        metric == "DeploymentPromoted"
    ):  # the target carries all the traffic now (read raw: a metric never fails a finish)
        target = inp.state.get("target")
        color = target.get("color") if isinstance(target, dict) else None
        if color in ("blue", "green"):
            weight_shares({str(color): 1, "green" if color == "blue" else "blue": 0})
    else:
        weight_shares(result.get("restoredWeights"))
    return result
