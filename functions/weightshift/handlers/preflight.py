"""Task "Check the plan and claim the route": validate, find the pair, take the route lock."""

from __future__ import annotations

from typing import Any

from weightshift import workflow
from weightshift.handlers._wiring import ports, task_input
from weightshift.observability import logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return workflow.preflight(task_input(event), ports())
