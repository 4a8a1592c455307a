"""CloudFormation: the status of the stack a custom resource request came from."""

from __future__ import annotations

from typing import Any


class CloudFormation:
    def __init__(self, client: Any) -> None:
        self._cfn = client

    def stack_status(self, stack_id: str) -> str:
        return str(self._cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"])
