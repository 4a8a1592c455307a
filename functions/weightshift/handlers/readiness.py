"""Task "Check the target is steady and healthy": ECS running == desired, healthy targets."""

from __future__ import annotations

from typing import Any

from weightshift import workflow
from weightshift.handlers._wiring import ports, task_input
from weightshift.observability import logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return workflow.readiness(task_input(event), ports())
