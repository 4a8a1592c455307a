"""Step Functions: start, stop and read executions."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from weightshift.adapters.aws import error_code


def execution_arn_for(state_machine_arn: str, name: str) -> str:
    """``arn:<p>:states:<r>:<a>:stateMachine:<sm>`` -> ``...:execution:<sm>:<name>``."""
    head, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{head}:execution:{machine}:{name}"


class StepFunctions:
    def __init__(self, client: Any) -> None:
        self._sfn = client

    def start(self, state_machine_arn: str, name: str, input_json: str) -> str:
        """Start idempotently: the same name and input give the same execution."""
        try:
            resp = self._sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=input_json)
            return str(resp["executionArn"])
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
            # The name is taken. It is ours if the input matches (it ran and closed already).
            arn = execution_arn_for(state_machine_arn, name)
            existing = json.loads(self._sfn.describe_execution(executionArn=arn).get("input") or "null")
            if existing == json.loads(input_json):
                return arn
            # The same deployment (the name is per deployment), before and after a fix of the
            # stack's configuration: its execution was rejected for the configuration, or started
            # before it broke. That execution is the deployment's; a late event of it starts
            # nothing more (and is no failure for the dead-letter queue).
            if isinstance(existing, dict) and "invalidConfiguration" in existing | json.loads(input_json):
                return arn
            raise

    def stop(self, execution_arn: str, error: str, cause: str) -> bool:
        """Stop a running execution. False if it had already ended."""
        try:
            self._sfn.stop_execution(executionArn=execution_arn, error=error[:256], cause=cause[:32768])
            return True
        except ClientError as exc:
            if error_code(exc) in ("ExecutionDoesNotExist", "ExecutionNotRunning", "InvalidArn"):
                return False
            raise

    def fail_task(self, task_token: str, error: str, cause: str) -> bool:
        """End a waiting task (a bake) with an error. False if that task is no longer
        waiting: it timed out, ended or its execution did (SendTaskFailure's TaskTimedOut,
        TaskDoesNotExist, InvalidToken)."""
        try:
            self._sfn.send_task_failure(taskToken=task_token, error=error[:256], cause=cause[:32768])
            return True
        except ClientError as exc:
            if error_code(exc) in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
                return False
            raise

    def status(self, execution_arn: str) -> dict[str, Any]:
        try:
            return dict(self._sfn.describe_execution(executionArn=execution_arn))
        except ClientError as exc:
            if error_code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
                return {"status": "MISSING"}
            raise

    def entered_any(self, execution_arn: str, state_names: frozenset[str]) -> bool:
        """Did the execution ever enter one of these states?

        Used to tell a promoted execution (it entered "Promote": the final bake passed and
        DNS is at the target) from one to fail back, from AWS's own history rather than
        from bookkeeping that may itself have failed. The states asked about are the last
        ones an execution can enter, so the newest page of history (reverse order) holds
        them: Promote's retries add about 3 events each, far under 100.
        """
        try:
            page = self._sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=100)
        except ClientError as exc:
            if error_code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
                return False
            raise
        return any(
            (event.get("stateEnteredEventDetails") or {}).get("name") in state_names for event in page.get("events", [])
        )
