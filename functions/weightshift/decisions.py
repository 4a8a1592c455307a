"""Which ECS events start a canary. Pure functions: no AWS, no clock, no env."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from weightshift.models import Color, EcsDeployment, EcsTaskEvent, Weights
from weightshift.plan import ecs_deployment_of
from weightshift.settings import RouteConfig, StackScope

ECS_SOURCE = "aws.ecs"
TASK_STATE_CHANGE = "ECS Task State Change"


@dataclass(frozen=True)
class Ignore:
    """The event starts nothing. ``reason`` is a short stable code (a metric dimension)."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Candidate:
    """A RUNNING task of one of our services: maybe a new deployment."""

    target: Color
    ecs_deployment: str
    task_arn: str
    task_definition_arn: str
    version: int

    @property
    def live(self) -> Color:
        return "blue" if self.target == "green" else "green"


def out_of_scope(event: EcsTaskEvent, scope: StackScope | None) -> Ignore | None:
    """An event from another account, region or cluster than the stack's is not ours.

    The rule's pattern already filters on the cluster ARN; this holds without it (a
    pattern edited by hand, a cross-account bus, an event replayed into the wrong
    stack). The whole ARN is compared, so a same-named cluster in another partition,
    region or account does not match, nor does a bare cluster name.
    """
    if scope is None:
        return Ignore("no-stack-scope", "the stack's cluster ARN is not configured (CLUSTER_ARN): nothing is in scope")
    if event.account != scope.account:
        return Ignore("foreign-account", f"event from account {event.account}, the stack's is {scope.account}")
    if event.region != scope.region:
        return Ignore("foreign-region", f"event from region {event.region}, the stack's is {scope.region}")
    if event.detail.clusterArn != scope.cluster_arn:
        return Ignore("foreign-cluster", f"cluster {event.detail.clusterArn} is not the stack's {scope.cluster_arn}")
    return None


def classify(event: EcsTaskEvent, config: RouteConfig) -> Candidate | Ignore:
    """Is this event a RUNNING task of the blue or green service of our cluster?"""
    detail = event.detail
    if event.source != ECS_SOURCE or event.detail_type != TASK_STATE_CHANGE:
        return Ignore("foreign-event", f"source={event.source!r} detail-type={event.detail_type!r}")
    foreign = out_of_scope(event, config.scope)
    if foreign is not None:
        return foreign
    color = config.color_of_group(detail.group)
    if color is None:
        return Ignore("foreign-service", f"group {detail.group!r} is neither blue nor green service")
    if detail.lastStatus != "RUNNING":
        return Ignore("not-running", f"lastStatus is {detail.lastStatus}")
    if detail.desiredStatus not in (None, "RUNNING"):
        return Ignore("being-stopped", f"desiredStatus is {detail.desiredStatus}")
    return Candidate(
        target=color,
        ecs_deployment=ecs_deployment_of(detail.startedBy, detail.taskDefinitionArn),
        task_arn=detail.taskArn,
        task_definition_arn=detail.taskDefinitionArn,
        version=detail.version,
    )


def against_traffic(candidate: Candidate, weights: Weights | None) -> Ignore | None:
    """A task of the side that already carries all the traffic is a scale-out or a
    replacement, not a release: it starts nothing."""
    if weights is None:
        return None
    target, live = weights.of(candidate.target), weights.of(candidate.live)
    if target > 0 and live == 0:
        return Ignore(
            "already-live",
            f"{candidate.target} already carries all traffic ({candidate.target}={target}, {candidate.live}={live})",
        )
    return None


@dataclass(frozen=True)
class InFlight:
    """The deployment that holds the route now."""

    deployment_id: str
    execution_arn: str
    target: Color | None
    created_at: str = ""  # when its claim was written (ISO 8601)


def supersedes(candidate_deployment_id: str, candidate: Candidate, holder: InFlight | None) -> bool:
    """The rule for a new deployment while a canary is in flight on the route:

    - a new deployment of the canary's *target* service supersedes it: the
      running canary is stopped, which fails it back to the original weights,
      and the new one starts from preflight (as Argo Rollouts and Flagger do);
    - a deployment of the other service waits: its execution queues on the
      route lock and runs when the current canary ends.
    """
    if holder is None or holder.deployment_id == candidate_deployment_id:
        return False
    return holder.target == candidate.target


# A deployment that finished rolling out this long ago is not being released now.
SETTLED_AFTER = timedelta(minutes=15)


def settled_deployment(candidate: Candidate, deployments: tuple[EcsDeployment, ...], now: datetime) -> Ignore | None:
    """A task of the idle side's *old*, long-finished deployment is a replacement
    (ECS restarting an unhealthy task), not a release: a canary would shift
    traffic back to old code. Only a positive match ignores the event; anything
    unknown (no such deployment, no rollout state) lets it through."""
    for deployment in deployments:
        if deployment.id != candidate.ecs_deployment:
            continue
        settled = (
            deployment.status == "PRIMARY"
            and deployment.rollout_state == "COMPLETED"
            and deployment.created_at is not None
            and now - deployment.created_at > SETTLED_AFTER
        )
        if settled:
            return Ignore(
                "task-replacement",
                f"{candidate.ecs_deployment} of the {candidate.target} service (created "
                f"{deployment.created_at:%Y-%m-%d %H:%M} UTC) has finished rolling out; "
                "a new task of it replaces one, it is not a release",
            )
    return None
