"""Domain errors.

Lambda reports an exception's class name as the error name, so the state
machine routes on these names (``ErrorEquals: ["HealthGateFailed"]``). Never
rename one without changing ``statemachine/canary.asl.json``.
"""

from __future__ import annotations


class WeightshiftError(Exception):
    """Base class for every error Weightshift raises on purpose."""


class InvalidPlan(WeightshiftError):
    """The plan (or the configuration it came from) is wrong. Nothing was changed."""


class InvalidEvent(WeightshiftError):
    """An incoming event is malformed or foreign."""


class ConfigurationBroken(WeightshiftError):
    """Something the stack names no longer exists (an alarm, a Route 53 health check, an
    ECS service): found by preflight before any DNS change; the deployment is rejected."""


class RouteNotFound(WeightshiftError):
    """The hosted zone or the weighted record pair is missing or not a weighted pair."""


class RouteBusyTimeout(WeightshiftError):
    """Another deployment held the route for longer than RouteBusyTimeoutSeconds. Nothing changed."""


class DeploymentAlreadyRunning(WeightshiftError):
    """Another execution of the same deployment holds the route. Nothing changed."""


class TargetNotReady(WeightshiftError):
    """The target service did not become steady and healthy before the deadline."""


class HealthGateFailed(WeightshiftError):
    """A health signal says the target side is unhealthy."""


class SignalUnavailable(WeightshiftError):
    """A health signal could not be read. Retried, then treated as a failure (fail closed)."""


class ServiceNotFound(SignalUnavailable):
    """An ECS service the stack names does not exist (or is not ACTIVE) in its cluster."""


class DeadlineExceeded(WeightshiftError):
    """The deployment ran past the plan's timeout."""


class Route53Throttled(WeightshiftError):
    """Route 53 said Throttling. Retried with backoff and jitter."""


class PriorRequestNotComplete(WeightshiftError):
    """Route 53 is still applying an earlier change to this zone. Retried."""


class RouteLost(WeightshiftError):
    """This execution no longer holds the route, or is being failed back: it must not write DNS."""


class ExecutionFinished(WeightshiftError):
    """This execution's deployment was already finished for it (a Stop, then the status rule)."""


class FailbackInProgress(WeightshiftError):
    """Another actor is failing back the same ended execution right now. Retried."""


class WeightsChangedOutside(WeightshiftError):
    """The record pair no longer looks like what the workflow wrote."""
