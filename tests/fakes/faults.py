"""Fault injection for the fakes: fail the next N calls of an operation with an error."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


def client_error(code: str, operation: str = "Operation") -> ClientError:
    """The error boto3 raises for an AWS error code (what the real adapters let through)."""
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)


@dataclass
class _Fault:
    operation: str
    error: Exception
    times: int
    when: Callable[..., bool] | None


@dataclass
class Faults:
    """Planned faults of one fake, and a count of every call made to it."""

    planned: list[_Fault] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    raised: Counter[str] = field(default_factory=Counter)

    def fail(
        self, operation: str, error: Exception, *, times: int = 1, when: Callable[..., bool] | None = None
    ) -> None:
        """The next ``times`` calls of ``operation`` (for which ``when(*args)`` holds) raise ``error``."""
        self.planned.append(_Fault(operation, error, times, when))

    def check(self, operation: str, *args: Any) -> None:
        self.calls[operation] += 1
        for fault in self.planned:
            if fault.operation == operation and fault.times > 0 and (fault.when is None or fault.when(*args)):
                fault.times -= 1
                self.raised[operation] += 1
                raise fault.error

    def clear(self) -> None:
        self.planned.clear()
