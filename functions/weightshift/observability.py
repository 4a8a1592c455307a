"""Powertools Logger, Tracer and Metrics, shared by every function.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE (set in the template's Globals).

The Tracer is not made at import everywhere (issue 12, cold start). Making a Powertools
Tracer imports the X-Ray SDK, whose import builds its global recorder (outside Lambda
that recorder also makes two botocore X-Ray clients for centralised sampling: about
200 ms in every test process, emulator and CLI start), and patches modules for tracing.
So:

- inside a Lambda execution environment (LAMBDA_TASK_ROOT, which the X-Ray SDK and
  Powertools also go by) it is made at import, in the INIT phase, as before: there it
  costs about 25 ms, INIT is billed like the invocation since August 2025, and work
  moved out of INIT would only land in the first invocation, with no more CPU than
  the function's memory buys (INIT has been observed to get more), and outside the
  reach of SnapStart or provisioned concurrency;
- anywhere else (tests, the emulator, the CLI, benchmarks) it is made on the first
  traced invocation, so importing a handler costs no X-Ray SDK at all.

Either way every trace has the ``## handler`` subsegment with the ColdStart and
Service annotations, and a subsegment for every AWS call.

Only botocore is patched: the functions reach AWS through botocore clients and call
nothing else over the network, and ``patch_all`` would also import and patch
requests, httplib, sqlite3 and others that are present in the package (or in a dev
venv) but never used.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])

PATCHED_MODULES = ("botocore",)


class LazyTracer:
    """A Powertools Tracer made on first use. ``capture_lambda_handler`` works as the
    Tracer's; anything else (``put_annotation``, ``capture_method``...) makes the
    Tracer and is passed to it."""

    def __init__(self, service: str, patch_modules: tuple[str, ...] = PATCHED_MODULES) -> None:
        self._service = service
        self._patch_modules = patch_modules
        self._tracer: Tracer | None = None

    def make(self) -> Tracer:
        """The Tracer, made now if it is not yet."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer  # deferred on purpose: the module docstring says why

            self._tracer = Tracer(service=self._service, patch_modules=list(self._patch_modules))
        return self._tracer

    @property
    def made(self) -> bool:
        """Whether the Tracer exists yet (and so the X-Ray SDK is imported and botocore patched)."""
        return self._tracer is not None

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        traced: Callable[..., Any] | None = None

        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = self.make().capture_lambda_handler(handler)
            return traced(event, context)

        return cast(Handler, wrapper)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # never make the Tracer for a lookup of this object's own state
            raise AttributeError(name)
        return getattr(self.make(), name)


logger = Logger(service="weightshift")
tracer = LazyTracer(service="weightshift")
if os.environ.get("LAMBDA_TASK_ROOT"):  # in Lambda: made now, during INIT (module docstring)
    tracer.make()
metrics = Metrics(namespace="Weightshift", service="weightshift")


def stack_dimension() -> None:
    """Every metric of this invocation carries the stack's name (the template's STACK_NAME):
    two stacks in one account never mix, and the stack's alarms and dashboard read its own."""
    metrics.add_dimension(name="stack", value=os.environ.get("STACK_NAME") or "unknown")


def weight_shares(weights: Mapping[str, Any] | None) -> None:
    """Each side's share of the pair (%) after a weight change: the dashboard's weights over time."""
    if not weights:
        return
    blue, green = int(weights.get("blue", 0)), int(weights.get("green", 0))
    if blue + green <= 0:
        return
    metrics.add_metric(name="BlueWeightShare", unit=MetricUnit.Percent, value=100 * blue / (blue + green))
    metrics.add_metric(name="GreenWeightShare", unit=MetricUnit.Percent, value=100 * green / (blue + green))
