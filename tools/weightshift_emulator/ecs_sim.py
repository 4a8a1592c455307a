"""ECS that behaves like ECS (issue 10): rolling deployments, task lifecycles, task events,
target registration and draining, on a simulated clock.

moto's ECS never emits a task event, and its ``UpdateService`` rolls nothing: it swaps the
task definition and reports the service steady at once. Against that, ``weightshift release``
waits for a canary that never starts, unless a test fakes the events. This module makes the
emulator's ECS do what ECS does, over *simulated* time, and lets the rest of the emulator
(and the tests) drive that time.

**Using it.** ``start(...)`` (or ``start_emulator(ecs_scale=...)`` for the server) patches
moto and begins a :class:`Simulation` for moto's ECS backend of one account and region; it
adopts the services that already exist (their running tasks become simulated tasks,
registered healthy in their target groups: the steady world a user already has).
``sim.stop()`` takes the patches out again: with no simulation running, moto is exactly as
``patches`` left it, so the other tests see plain moto. Then time passes only when something
makes it pass:

- ``sim.advance(seconds)`` / ``sim.advance_to(t)`` / ``sim.run_until(predicate)`` /
  ``sim.settle()``: deterministic steps, for tests;
- ``sim.start_ticker(scale)``: a background thread; one simulated second takes ``scale``
  seconds of wall time (``scale=0.01``: 100x faster than real). ``couple_engine=True`` also
  sets ``patches.CLOCK.scale`` to the same value, so the Step Functions Wait states and
  ECS share one compressed clock. ``stop_ticker()`` (or ``sim.stop()``) ends it cleanly;
- ``sim.follow_engine_waits()``: no wall time at all. Each Wait state an execution asks
  for (``patches.CLOCK``) lets that much ECS time pass first (per execution: ECS time is at
  least the time the execution was first seen plus all its waits). Deterministic, and
  instant with ``CLOCK.scale = 0``.

Simulated time is also the functions' time: unless ``patches.SIM_TIME`` already runs (a
simulation owns it; ECS then *follows* it, see :meth:`Simulation.sync`), the simulation
begins ``SIM_TIME`` and moves it with every step, so a deployment's ``createdAt`` and the
trigger's "now" are read on one clock.

**Knobs** (:class:`Settings`): the lifecycle's durations and their jitter (:class:`Timings`),
EventBridge delivery (:class:`DeliveryKnobs`: latency, duplicates, out-of-order), the seed,
whether ``ECS Deployment State Change`` events are sent. A bad image: ``BAD_IMAGES.add(image)``
or a rule in ``IMAGE_HEALTH`` (:func:`image_health` is what every ELB health check of a
simulated task asks); its targets then fail their health checks.

**What is modelled, and the source of each rule** (``[n]`` refers to the list below):

- *Deployments.* ``CreateService``, and ``UpdateService`` with a new task definition or
  ``forceNewDeployment``, create a deployment: id ``ecs-svc/`` + 19 digits [1], ``PRIMARY``;
  the one before becomes ``ACTIVE`` [2]; ``rolloutState`` ``IN_PROGRESS`` until the service
  reaches a steady state, then ``COMPLETED`` [2][3]. An old deployment leaves ``deployments``
  once all its tasks have stopped. ``UpdateService`` with only a new ``desiredCount`` starts
  or stops tasks of the primary deployment (no new deployment).
- *Rolling update* [4]: at most ``floor(desired * maximumPercent / 100)`` tasks not being
  stopped; at least ``ceil(desired * minimumHealthyPercent / 100)`` healthy ones while old
  tasks are stopped (defaults 200 / 100 [4]). A task behind a load balancer counts as healthy
  once the load balancer reports it healthy; without one, 40 s after it is RUNNING [4].
- *Task lifecycle* [5]: PROVISIONING (the ENI is provisioned) -> PENDING -> ACTIVATING
  (target registration) -> RUNNING; stopping: RUNNING (desiredStatus STOPPED) -> DEACTIVATING
  (target deregistration: the target drains for the target group's
  ``deregistration_delay.timeout_seconds``, 300 s by default [6]) -> STOPPING (SIGTERM) ->
  DEPROVISIONING (ENI detached) -> STOPPED. ``lastStatus`` goes RUNNING -> DEACTIVATING ->
  STOPPED in DescribeTasks [7]; a task draining for 30 min stays DEACTIVATING for 30 min [8].
- *Task events* [9][10]: one ``ECS Task State Change`` per change of ``lastStatus`` or
  ``desiredStatus``, with ``detail.version`` one higher each time (duplicates share a
  version); the detail mirrors DescribeTasks (``group`` ``service:NAME``, ``startedBy`` the
  deployment id, ``containers``, ``attachments`` with the ENI's ``privateIPv4Address``,
  ``connectivity``, timestamps). Stopped by a deployment: ``stopCode``
  ``ServiceSchedulerInitiated``, ``stoppedReason`` "Scaling activity initiated by (deployment
  <id>)" (the sample events of this repository). ENI attachment status PRECREATED -> ATTACHED
  -> DETACHED -> DELETED (the values of the Attachment type [11]).
- *Deployment events* [3]: ``ECS Deployment State Change`` SERVICE_DEPLOYMENT_IN_PROGRESS,
  _COMPLETED (at steady state), _FAILED (circuit breaker).
- *Delivery* [12][10]: AWS services deliver to EventBridge at least once; duplicates carry
  the same ``detail.version``. Delivered to the default bus's rules through moto's events
  backend (``Rule.send_to_targets``, as moto's PutEvents does, so the deployed rules and the
  emulator's Lambda delivery in ``cfn_patches`` run), not through the PutEvents API: ECS is
  not a PutEvents caller, and ``faults.py``'s PutEvents faults and records are Weightshift's
  own notifications. A duplicate keeps the event's ``id``.
- *Target health* [13][14]: a task's IP is registered in each target group of the service
  (``ip`` targets) during ACTIVATING; it is ``initial`` (``Elb.RegistrationInProgress``, then
  ``Elb.InitialHealthChecking``) until its first health check, one interval after
  registration completes; "after your target is registered, it must pass one health check to
  be considered healthy" [13][14]; ``UnhealthyThresholdCount`` failures in a row make it
  ``unhealthy``, ``HealthyThresholdCount`` passes bring it back. Draining targets are
  ``draining`` (``Target.DeregistrationInProgress``) and still listed.
- *Unhealthy tasks* [15]: past ``healthCheckGracePeriodSeconds`` (default 0 [16]) the
  scheduler replaces a task whose target is unhealthy: it starts a replacement first when
  maximumPercent allows, then stops the unhealthy task ("Task failed ELB health checks in
  (target-group <arn>)") once the replacement's health is known, or at once when there is
  no room. Each such stop counts as a failed task of its deployment.
- *Circuit breaker* [17], when the service enables it: the deployment fails after
  ``min(200, max(3, 0.5 * desired))`` failed tasks; with rollback, a new deployment of the
  last completed task definition starts.
- ``ListTasks`` lists tasks whose desiredStatus is RUNNING unless asked otherwise, filters by
  ``serviceName`` [18]; stopped tasks stay visible for an hour [18].

Sources:
[1] ``"id": "ecs-svc/9223370605410261451"`` in DescribeServices output, aws/aws-cli#1334.
[2] DescribeServices ``Deployment``: status PRIMARY / ACTIVE / INACTIVE, rolloutState,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
[3] https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
[4] https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html and
    DeploymentConfiguration.minimumHealthyPercent in the API reference.
[5] https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
[6] Deregistration delay, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html
[7] aws/containers-roadmap#2012 ("lastStatus: RUNNING -> DEACTIVATING -> STOPPED").
[8] aws/containers-roadmap#2171 (tasks stay DEACTIVATING for the 30 min deregistration delay).
[9] https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
[10] https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html ("Each
    time a resource changes state, this version is incremented. Because events can be sent
    multiple times, this field allows you to identify duplicate events.")
[11] https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Attachment.html
[12] https://docs.aws.amazon.com/eventbridge/latest/ref/event-delivery-level.html
[13] https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
[14] https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-healthcheck.html
[15] https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html ("If a task is
    marked unhealthy, the service scheduler will first start a replacement task...")
[16] CreateService ``healthCheckGracePeriodSeconds`` ("the default value of 0 is used").
[17] https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html
[18] https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html

**Not modelled** (each is named, none makes the emulator kinder where Weightshift looks):
container health checks (``healthStatus`` stays UNKNOWN), capacity and placement (every
task is placed), EC2 container instances (tasks carry no ``containerInstanceArn``), ECS's
launch throttling of repeatedly failing tasks, Service Connect and service discovery,
CodeDeploy/external deployment controllers, task sets, and ``DeleteService`` beyond draining
the tasks. IPs come from the target group's VPC subnets; ENI ids are made up (no EC2 ENI).
Services created while a simulation runs (by the API or by CloudFormation) are simulated
from their first task; moto's ``MOTO_ECS_SERVICE_RUNNING`` (tasks a new service pretends to
run already, what ``world.build_surroundings`` sets) makes those tasks adopted instead.
"""

from __future__ import annotations

import copy
import heapq
import ipaddress
import itertools
import logging
import math
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import moto.ecs.models as ecs_models
import moto.ecs.responses as ecs_responses
import moto.elbv2.models as elbv2_models
from moto.ec2.models import ec2_backends
from moto.elbv2.models import elbv2_backends
from moto.events.models import events_backends

from weightshift_emulator import patches
from weightshift_emulator.world import ACCOUNT, REGION

LOG = logging.getLogger("weightshift_emulator")

TASK_STATE_CHANGE = "ECS Task State Change"
DEPLOYMENT_STATE_CHANGE = "ECS Deployment State Change"
PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")
DEFAULT_DEPLOYMENT_CONFIGURATION: dict[str, Any] = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}
SERVICE_EVENTS_KEPT = 100  # DescribeServices shows the most recent 100 service events
RECORDS_KEPT = 10_000


# ------------------------------------------------------------------ image health
BAD_IMAGES: set[str] = set()
# Rules asked in order; the first that answers (True/False, not None) decides.
IMAGE_HEALTH: list[Callable[[str], bool | None]] = []


def image_health(image: str) -> bool:
    """Does a container from ``image`` answer its load balancer's health checks? Healthy
    unless ``BAD_IMAGES`` lists it or an ``IMAGE_HEALTH`` rule says otherwise. Asked at every
    health check, so a rule may change its answer over time."""
    for rule in list(IMAGE_HEALTH):
        answer = rule(image)
        if answer is not None:
            return answer
    return image not in BAD_IMAGES


# ----------------------------------------------------------------------- knobs
@dataclass
class Timings:
    """Simulated seconds each step takes (each one jittered by +/- ``jitter``, seeded).

    The defaults are typical of Fargate, not documented figures: an emulator choice."""

    provisioning: float = 10.0  # PROVISIONING -> PENDING: the ENI is attached
    pull: float = 20.0  # PENDING -> ACTIVATING: the image is pulled
    activating: float = 5.0  # ACTIVATING -> RUNNING: containers start, targets registered
    registration: float = 10.0  # Elb.RegistrationInProgress before the health checks start
    stop: float = 2.0  # STOPPING -> DEPROVISIONING: the app exits on SIGTERM (stopTimeout caps it)
    deprovisioning: float = 10.0  # DEPROVISIONING -> STOPPED: the ENI is detached
    scheduler_reaction: float = 5.0  # the service scheduler acts on an unhealthy target this much later
    no_load_balancer_healthy_after: float = 40.0  # a RUNNING task without a load balancer counts as healthy
    stopped_retention: float = 3600.0  # STOPPED tasks stay visible to DescribeTasks/ListTasks
    jitter: float = 0.2


@dataclass
class DeliveryKnobs:
    """How the EventBridge delivery of ECS's events behaves (simulated seconds)."""

    latency: float = 0.5  # from the change to the delivery
    duplicate_rate: float = 0.2  # chance that an event is delivered a second time
    duplicate_delay: float = 5.0  # the duplicate comes up to this much later
    reorder_window: float = 0.0  # each delivery is up to this much late: closer events may swap


@dataclass
class Settings:
    seed: int = 0
    timings: Timings = field(default_factory=Timings)
    delivery: DeliveryKnobs = field(default_factory=DeliveryKnobs)
    deployment_events: bool = True  # send "ECS Deployment State Change" events too
    drive_functions_clock: bool = True  # move patches.SIM_TIME with the simulation (when it owns it)
    account: str = ACCOUNT
    region: str = REGION


# ---------------------------------------------------------------------- records
@dataclass(frozen=True)
class Delivered:
    """One delivery of an event to the default bus's rules."""

    at: float  # simulated seconds
    event: dict[str, Any]
    duplicate: bool


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


# ----------------------------------------------------------------------- model
class SimTask:
    """A task as DescribeTasks shows it (moto's serializer reads these snake_case attributes)
    and as its events describe it (:meth:`detail`)."""

    def __init__(self, **fields: Any) -> None:
        self.task_arn: str = fields["task_arn"]
        self.id: str = self.task_arn.rsplit("/", 1)[-1]
        self.cluster_arn: str = fields["cluster_arn"]
        self.cluster_name: str = fields["cluster_name"]
        self.service: str = fields["service"]
        self.group: str = f"service:{self.service}"
        self.started_by: str = fields["started_by"]
        self.task_definition_arn: str = fields["task_definition_arn"]
        self.launch_type: str = fields.get("launch_type") or "FARGATE"
        self.capacity_provider_name: str | None = "FARGATE" if self.launch_type == "FARGATE" else None
        self.platform_version: str | None = "1.4.0" if self.launch_type == "FARGATE" else None
        self.platform_family: str | None = "Linux" if self.launch_type == "FARGATE" else None
        self.cpu: str = str(fields.get("cpu") or "256")
        self.memory: str = str(fields.get("memory") or "512")
        self.availability_zone: str = fields["availability_zone"]
        self.container_instance_arn: str | None = None
        self.last_status: str = fields.get("last_status", "PROVISIONING")
        self.desired_status: str = "RUNNING"
        self.version: int = int(fields.get("version", 0))  # each event adds one (the first event is 1)
        self.connectivity: str | None = None
        self.health_status = "UNKNOWN"
        self.enable_execute_command = False
        self.tags: list[dict[str, str]] = []
        self.overrides: dict[str, Any] = {"containerOverrides": [{"name": c} for c, _ in fields["containers"]]}
        self.attributes = [{"name": "ecs.cpu-architecture", "value": "x86_64"}]
        self.ephemeral_storage = {"sizeInGiB": 20} if self.launch_type == "FARGATE" else None
        now: datetime = fields["now"]
        self.created_at: datetime = now
        self.connectivity_at: datetime | None = None
        self.pull_started_at: datetime | None = None
        self.pull_stopped_at: datetime | None = None
        self.started_at: datetime | None = None
        self.stopping_at: datetime | None = None
        self.execution_stopped_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self.updated_at: datetime = now
        self.stop_code: str | None = None
        self.stopped_reason: str | None = None
        self.ip: str = fields["ip"]
        self.subnet: str = fields["subnet"]
        self.eni: str = fields["eni"]
        self.mac: str = fields["mac"]
        self.attachment_id: str = fields["attachment_id"]
        self.attachment_status = "PRECREATED"
        self._containers: list[tuple[str, str]] = list(fields["containers"])  # (name, image)
        self._container_ids: list[str] = list(fields["container_ids"])
        self.exit_code: int | None = None
        # Simulation bookkeeping (not part of the API).
        self.created_elapsed: float = fields["elapsed"]  # simulated seconds
        self.gen = 0  # bumped when scheduled lifecycle steps no longer apply
        self.running_since: float | None = None  # simulated seconds
        self.unhealthy_since: float | None = None
        self.replacing_since: float | None = None  # the scheduler decided to replace it
        self.targets: list[tuple[str, str, int]] = []  # (target group ARN, ip, port)

    def advance(self) -> None:
        """moto's DescribeTasks calls this on its own tasks' state machine; time moves here only
        when the simulation lets it."""

    @property
    def images(self) -> list[str]:
        return [image for _, image in self._containers]

    @property
    def attachments(self) -> list[dict[str, Any]]:
        details = [{"name": "subnetId", "value": self.subnet}]
        if self.attachment_status != "PRECREATED":
            details += [
                {"name": "networkInterfaceId", "value": self.eni},
                {"name": "macAddress", "value": self.mac},
                {"name": "privateDnsName", "value": f"ip-{self.ip.replace('.', '-')}.ec2.internal"},
                {"name": "privateIPv4Address", "value": self.ip},
            ]
        return [{"id": self.attachment_id, "type": "eni", "status": self.attachment_status, "details": details}]

    @property
    def containers(self) -> list[dict[str, Any]]:
        status = {"PROVISIONING": "PENDING", "PENDING": "PENDING", "ACTIVATING": "PENDING"}.get(self.last_status)
        if status is None:
            status = "RUNNING" if self.execution_stopped_at is None else "STOPPED"
        out = []
        for (name, image), cid in zip(self._containers, self._container_ids, strict=True):
            container: dict[str, Any] = {
                "containerArn": f"{self.cluster_arn.replace(':cluster/', ':container/')}/{self.id}/{cid}",
                "taskArn": self.task_arn,
                "name": name,
                "image": image,
                "lastStatus": status,
                "networkInterfaces": []
                if self.attachment_status == "PRECREATED"
                else [{"attachmentId": self.attachment_id, "privateIpv4Address": self.ip}],
                "healthStatus": "UNKNOWN",
                "cpu": "0",
            }
            if status != "PENDING":
                container["runtimeId"] = f"{self.id}-{cid[:10]}"
            if self.exit_code is not None and status == "STOPPED":
                container["exitCode"] = self.exit_code
            out.append(container)
        return out

    def detail(self) -> dict[str, Any]:
        """The ``detail`` of this task's ``ECS Task State Change`` event, now."""
        detail: dict[str, Any] = {
            "attachments": self.attachments,
            "attributes": self.attributes,
            "availabilityZone": self.availability_zone,
            "clusterArn": self.cluster_arn,
            "containers": self.containers,
            "cpu": self.cpu,
            "createdAt": _iso(self.created_at),
            "desiredStatus": self.desired_status,
            "enableExecuteCommand": self.enable_execute_command,
            "group": self.group,
            "launchType": self.launch_type,
            "lastStatus": self.last_status,
            "memory": self.memory,
            "overrides": self.overrides,
            "startedBy": self.started_by,
            "taskArn": self.task_arn,
            "taskDefinitionArn": self.task_definition_arn,
            "updatedAt": _iso(self.updated_at),
            "version": self.version,
        }
        if self.launch_type == "FARGATE":
            detail.update(
                capacityProviderName=self.capacity_provider_name,
                platformVersion=self.platform_version,
                ephemeralStorage=self.ephemeral_storage,
            )
        optional = {
            "connectivity": self.connectivity,
            "connectivityAt": _iso(self.connectivity_at),
            "pullStartedAt": _iso(self.pull_started_at),
            "pullStoppedAt": _iso(self.pull_stopped_at),
            "startedAt": _iso(self.started_at),
            "stoppingAt": _iso(self.stopping_at),
            "executionStoppedAt": _iso(self.execution_stopped_at),
            "stoppedAt": _iso(self.stopped_at),
            "stopCode": self.stop_code,
            "stoppedReason": self.stopped_reason,
        }
        detail.update({k: v for k, v in optional.items() if v is not None})
        return detail


@dataclass
class SimDeployment:
    id: str
    task_definition_arn: str
    created_at: datetime
    status: str = "PRIMARY"  # PRIMARY | ACTIVE | INACTIVE
    rollout_state: str = "IN_PROGRESS"  # IN_PROGRESS | COMPLETED | FAILED
    rollout_state_reason: str = ""
    updated_at: datetime | None = None
    failed_tasks: int = 0
    launch_type: str | None = None
    platform_version: str | None = None
    network_configuration: dict[str, Any] | None = None


@dataclass
class Target:
    """A simulated task's registration in one target group, and its health-check history."""

    tg_arn: str
    ip: str
    port: int
    task: SimTask
    state: str = "initial"
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = "Target registration is in progress"
    passes: int = 0
    fails: int = 0
    gen: int = 0


@dataclass
class SimService:
    key: str  # moto's "<cluster>:<service>"
    name: str
    cluster_name: str
    cluster_arn: str
    arn: str
    deployments: list[SimDeployment] = field(default_factory=list)
    tasks: list[SimTask] = field(default_factory=list)
    subnet_rr: int = 0
    last_completed_td: str | None = None
    deleted: bool = False


@dataclass(order=True)
class _Action:
    due: float
    seq: int
    kind: str = field(compare=False)  # "step" | "deliver"
    run: Callable[[], None] | None = field(default=None, compare=False)
    service: str | None = field(default=None, compare=False)  # reconcile it after the step
    event: dict[str, Any] | None = field(default=None, compare=False)
    duplicate: bool = field(default=False, compare=False)


# -------------------------------------------------------------------- simulation
class Simulation:
    """ECS's service scheduler and task lifecycles for one moto ECS backend, on simulated time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)  # noqa: S311 - a simulation's dice, not a secret
        self._bind()
        # What ECS sent (each event once) and every delivery to the bus (duplicates included): the
        # most recent RECORDS_KEPT, so a server that runs for days does not grow without end.
        self.emitted: deque[dict[str, Any]] = deque(maxlen=RECORDS_KEPT)
        self.delivered: deque[Delivered] = deque(maxlen=RECORDS_KEPT)
        self.errors: deque[BaseException] = deque(maxlen=RECORDS_KEPT)  # failed deliveries or steps (logged too)
        self.elapsed = 0.0
        self._seq = itertools.count()
        self.lock = threading.RLock()  # the simulated state
        self._advancing = threading.Lock()  # one advance at a time
        self._ticker: Ticker | None = None
        self._followed: dict[str, list[float]] = {}
        self._follow_hook: Callable[[patches.Wait], None] | None = None
        self._follow_lock = threading.Lock()
        self._saved_scale: float | None = None
        self.stopped = False
        if patches.SIM_TIME.start is not None:  # a simulation owns the functions' clock: follow it
            self.owns_clock = False
            self.epoch = patches.SIM_TIME.start
            self.elapsed = patches.SIM_TIME.elapsed
        else:
            self.owns_clock = settings.drive_functions_clock
            self.epoch = datetime.now(UTC)
            if self.owns_clock:
                patches.SIM_TIME.begin(self.epoch)

    def _bind(self) -> None:
        """Take moto's backends as they are now, with no simulated state (a new world)."""
        account, region = self.settings.account, self.settings.region
        self.ecs: Any = ecs_models.ecs_backends[account][region]
        self.elb: Any = elbv2_backends[account][region]
        self.ec2: Any = ec2_backends[account][region]
        self.events: Any = events_backends[account][region]
        self.services: dict[str, SimService] = {}
        self.targets: dict[tuple[str, str], Target] = {}
        self.used_ips: set[str] = set()
        self._heap: list[_Action] = []

    def current(self) -> None:
        """moto's reset (``/moto-api/reset``, the end of a ``mock_aws``) replaces every backend:
        the world is gone, and so is what the simulation knew of it. Start over on the new one."""
        if ecs_models.ecs_backends[self.settings.account][self.settings.region] is not self.ecs:
            with self.lock:
                if ecs_models.ecs_backends[self.settings.account][self.settings.region] is not self.ecs:
                    self._bind()

    # ---------------------------------------------------------------- clock
    def now(self) -> datetime:
        return self.epoch + timedelta(seconds=self.elapsed)

    def _set_elapsed(self, elapsed: float) -> None:
        if elapsed > self.elapsed:
            self.elapsed = elapsed
            if self.owns_clock:
                patches.SIM_TIME.advance_to(elapsed)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass (deterministic: in this thread)."""
        self.advance_to(self.elapsed + seconds)

    def advance_to(self, target: float) -> None:
        """Run every scheduled step and delivery due by ``target`` (simulated seconds), in
        order, each at its own time; deliveries run outside the state lock (a delivered event
        runs the trigger, which calls ECS)."""
        self.current()
        with self._advancing:
            while not self.stopped:
                with self.lock:
                    if not self._heap or self._heap[0].due > target:
                        break
                    action = heapq.heappop(self._heap)
                    self._set_elapsed(action.due)
                    if action.kind == "step":
                        self._run_step(action)
                        continue
                if action.event is not None:
                    self._deliver(action.event, action.duplicate)
            with self.lock:
                if not self.stopped:
                    self._set_elapsed(target)

    def sync(self) -> None:
        """When following ``patches.SIM_TIME`` (owned by another simulation): catch up with it."""
        if not self.owns_clock and patches.SIM_TIME.start is not None:
            self.advance_to(patches.SIM_TIME.elapsed)

    def run_until(self, predicate: Callable[[], bool], limit: float = 3600.0, step: float = 1.0) -> float:
        """Advance ``step`` at a time until ``predicate()`` holds; the simulated seconds it took.
        Raises TimeoutError after ``limit`` simulated seconds."""
        start = self.elapsed
        while not predicate():
            if self.elapsed - start >= limit:
                raise TimeoutError(f"not true after {limit:g} simulated seconds")
            self.advance(step)
        return self.elapsed - start

    def settle(self, limit: float = 3600.0, step: float = 5.0) -> float:
        """Advance until every simulated service is steady and every event delivered."""
        return self.run_until(self.steady, limit, step)

    def steady(self) -> bool:
        with self.lock:
            if any(a.kind == "deliver" for a in self._heap):
                return False
            return all(self._steady(s) for s in self.services.values() if not s.deleted)

    def _schedule(self, delay: float, run: Callable[[], None], service: SimService | None) -> None:
        action = _Action(self.elapsed + max(0.0, delay), next(self._seq), "step", run, service.key if service else None)
        heapq.heappush(self._heap, action)

    def _run_step(self, action: _Action) -> None:
        try:
            if action.run is not None:
                action.run()
            service = self.services.get(action.service or "")
            if service is not None:
                self._reconcile(service)
                self._publish(service)
        except Exception as exc:
            LOG.exception("ECS simulation step failed")
            self.errors.append(exc)

    def _jitter(self, seconds: float) -> float:
        j = self.settings.timings.jitter
        return seconds * (1 + self.rng.uniform(-j, j)) if j > 0 else seconds

    # --------------------------------------------------------------- drivers
    def start_ticker(self, scale: float, interval: float = 0.01, couple_engine: bool = True) -> Ticker:
        """Advance on a compressed wall clock in a background thread: one simulated second
        per ``scale`` wall seconds. ``couple_engine``: Step Functions Wait states sleep the
        same ``scale`` (``patches.CLOCK.scale``; restored by :meth:`stop_ticker`)."""
        if self._ticker is not None:
            raise RuntimeError("the ticker already runs")
        if couple_engine:
            self._saved_scale = patches.CLOCK.scale
            patches.CLOCK.scale = scale
        self._ticker = Ticker(self, scale, interval)
        self._ticker.start()
        return self._ticker

    def stop_ticker(self, timeout: float = 10.0) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.stop(timeout)
        if self._saved_scale is not None:
            patches.CLOCK.scale, self._saved_scale = self._saved_scale, None

    def follow_engine_waits(self) -> None:
        """Let each Step Functions Wait state's time pass for ECS too (see the module docs)."""
        if self._follow_hook is not None:
            return

        def on_wait(wait: patches.Wait) -> None:
            if wait.kind != "wait" or not wait.execution.startswith("arn:"):
                return
            with self._follow_lock:
                seen = self._followed.setdefault(wait.execution, [self.elapsed, 0.0])
                seen[1] += wait.seconds
                target = seen[0] + seen[1]
            self.advance_to(target)

        self._follow_hook = on_wait
        patches.CLOCK.hooks.append(on_wait)

    def stop(self) -> None:
        """Stop the ticker and the engine hook, detach from moto (moto answers alone again),
        and give the functions back their clock. The simulated resources stay as they are."""
        global ACTIVE
        self.stop_ticker()
        if self._follow_hook is not None and self._follow_hook in patches.CLOCK.hooks:
            patches.CLOCK.hooks.remove(self._follow_hook)
        self._follow_hook = None
        with self._advancing, self.lock:
            self.stopped = True
        if ACTIVE is self:
            ACTIVE = None
            uninstall()
        if self.owns_clock and patches.SIM_TIME.start == self.epoch:
            patches.SIM_TIME.end()

    # ------------------------------------------------------------ inspection
    def service(self, name: str, cluster: str | None = None) -> SimService:
        with self.lock:
            for s in self.services.values():
                if s.name == name and (cluster is None or s.cluster_name == cluster):
                    return s
        raise KeyError(name)

    def tasks_of(self, service: str, deployment: str | None = None) -> list[SimTask]:
        with self.lock:
            s = self.service(service)
            return [t for t in s.tasks if deployment is None or t.started_by == deployment]

    def task_events(self, delivered: bool = False) -> list[dict[str, Any]]:
        """The task events ECS sent (or, ``delivered``, every delivery including duplicates)."""
        events = [d.event for d in self.delivered] if delivered else list(self.emitted)
        return [e for e in events if e["detail-type"] == TASK_STATE_CHANGE]

    # ---------------------------------------------------------- moto hooks
    def adopt_existing(self) -> None:
        """Every service that exists now: its running tasks (moto's counter) become simulated
        RUNNING tasks, registered healthy; no events (they were running before)."""
        with self.lock:
            for key, service in list(self.ecs.services.items()):
                if key not in self.services and service.status == "ACTIVE" and service.deployments:
                    self._adopt(service, int(service.running_count or 0), keep_id=True)
                    self._reconcile(self.services[key])
                    self._publish(self.services[key])

    def on_create_service(self, service: Any, params: dict[str, Any]) -> None:
        with self.lock:
            self._configure(service, params)
            # moto's MOTO_ECS_SERVICE_RUNNING says "these tasks already run": adopt them, as at start.
            self._adopt(service, int(service.running_count or 0), keep_id=False)
            sim = self.services[_key(service)]
            if service.running_count == 0:
                self._emit_deployment(sim, sim.deployments[0], "SERVICE_DEPLOYMENT_IN_PROGRESS")
            self._reconcile(sim)
            self._publish(sim)

    def ensure_known(self, service: Any) -> None:
        """A service the simulation has not seen (created before a moto reset was noticed, say)
        is adopted as it is, before a change to it."""
        with self.lock:
            if _key(service) not in self.services and service.status == "ACTIVE":
                self._adopt(service, int(service.running_count or 0), keep_id=True)

    def on_update_service(self, service: Any, params: dict[str, Any], new_deployment: bool) -> None:
        with self.lock:
            sim = self.services[_key(service)]
            self._configure(service, params)
            if new_deployment:
                td = self._td_arn(service.task_definition)
                for d in sim.deployments:
                    if d.status == "PRIMARY":
                        d.status, d.updated_at = "ACTIVE", self.now()
                deployment = self._new_deployment(service, td)
                sim.deployments.insert(0, deployment)
                self._emit_deployment(sim, deployment, "SERVICE_DEPLOYMENT_IN_PROGRESS")
            self._reconcile(sim)
            self._publish(sim)

    def on_delete_service(self, service: Any) -> None:
        with self.lock:
            sim = self.services.get(_key(service))
            if sim is None:
                return
            sim.deleted = True
            for task in self._live(sim):
                self._stop_task(sim, task, "ServiceSchedulerInitiated", "Service deleted")  # an emulator wording
            self._publish(sim)

    def on_stop_task(self, task: SimTask, reason: str) -> None:
        with self.lock:
            sim = self.services.get(f"{task.cluster_name}:{task.service}")
            if sim is not None and task.desired_status == "RUNNING":
                self._stop_task(sim, task, "UserInitiated", reason or "Task stopped by user")
                self._reconcile(sim)
                self._publish(sim)

    def target_health(self, tg_arn: str, target_id: str) -> Target | None:
        return self.targets.get((tg_arn, target_id))

    # ------------------------------------------------------- configuration
    def _configure(self, service: Any, params: dict[str, Any]) -> None:
        config = copy.deepcopy(DEFAULT_DEPLOYMENT_CONFIGURATION)
        given = params.get("deploymentConfiguration") or getattr(service, "deployment_configuration", None) or {}
        for k, v in dict(given).items():
            if isinstance(v, dict) and isinstance(config.get(k), dict):
                config[k].update(v)
            elif v is not None:
                config[k] = v
        service.deployment_configuration = config
        grace = params.get("healthCheckGracePeriodSeconds")
        if grace is None:
            grace = getattr(service, "health_check_grace_period_seconds", None)
        service.health_check_grace_period_seconds = int(grace or 0)
        if service.task_definition:
            service.task_definition = self._td_arn(service.task_definition)

    def _td_arn(self, task_definition: str) -> str:
        return str(self.ecs.describe_task_definition(task_definition).arn)

    def _new_deployment(self, service: Any, td_arn: str) -> SimDeployment:
        deployment_id = f"ecs-svc/{self.rng.randrange(10**18, 10**19)}"
        return SimDeployment(
            id=deployment_id,
            task_definition_arn=td_arn,
            created_at=self.now(),
            updated_at=self.now(),
            rollout_state_reason=f"ECS deployment {deployment_id} in progress.",
            launch_type=service.launch_type,
            platform_version=service.platform_version,
            network_configuration=service.network_configuration or None,
        )

    def _adopt(self, service: Any, running: int, keep_id: bool) -> None:
        key = _key(service)
        sim = SimService(
            key=key,
            name=service.name,
            cluster_name=service.cluster_name,
            cluster_arn=service.cluster_arn,
            arn=service.arn,
        )
        self.services[key] = sim
        self._configure(service, {})
        primary = next((d for d in service.deployments if d.get("status") == "PRIMARY"), None)
        td = self._td_arn(service.task_definition)
        deployment = self._new_deployment(service, td)
        if keep_id and primary is not None:
            deployment.id = str(primary["id"])
            deployment.created_at = _aware(primary.get("createdAt")) or self.now()
        sim.deployments = [deployment]
        if running >= int(service.desired_count or 0) and running > 0:
            deployment.rollout_state = "COMPLETED"
            deployment.rollout_state_reason = f"ECS deployment {deployment.id} completed."
            sim.last_completed_td = td
        # Already running: they take the target group's registered targets no task owns, in order.
        groups = self._target_groups(service)
        free: list[str] = []
        if groups:
            first = groups[0][0]
            registered = list(self._tg(first).targets.values())
            free = [str(t["Id"]) for t in registered if (first, str(t["Id"])) not in self.targets]
        for i in range(running):
            task = self._new_task(sim, service, deployment, ip=free[i] if i < len(free) else None)
            task.last_status, task.version = "RUNNING", 4
            task.connectivity, task.attachment_status = "CONNECTED", "ATTACHED"
            task.connectivity_at = task.pull_started_at = task.pull_stopped_at = task.started_at = self.now()
            task.running_since = self.elapsed - self.settings.timings.no_load_balancer_healthy_after
            for tg_arn, port in groups:
                self._register(sim, task, tg_arn, port, healthy=True)

    # ------------------------------------------------------------- scheduler
    def _live(self, sim: SimService, deployment: SimDeployment | None = None) -> list[SimTask]:
        """Tasks the scheduler has not decided to stop."""
        return [
            t
            for t in sim.tasks
            if t.desired_status == "RUNNING" and (deployment is None or t.started_by == deployment.id)
        ]

    def _healthy(self, sim: SimService, task: SimTask) -> bool:
        if task.last_status != "RUNNING" or task.desired_status != "RUNNING":
            return False
        if task.targets:
            return all(
                (t := self.targets.get((tg, ip))) is not None and t.state == "healthy" for tg, ip, _ in task.targets
            )
        if self._target_groups(self._moto(sim)):
            return False  # not registered yet
        since = task.running_since
        return since is not None and self.elapsed - since >= self.settings.timings.no_load_balancer_healthy_after

    def _primary(self, sim: SimService) -> SimDeployment | None:
        return next((d for d in sim.deployments if d.status == "PRIMARY"), None)

    def _reconcile(self, sim: SimService) -> None:
        service = self._moto(sim)
        if service is None or sim.deleted:
            return
        primary = self._primary(sim)
        if primary is None:
            return
        config = service.deployment_configuration
        desired = int(service.desired_count or 0)
        max_total = math.floor(desired * int(config["maximumPercent"]) / 100)
        min_healthy = math.ceil(desired * int(config["minimumHealthyPercent"]) / 100)
        grace = int(service.health_check_grace_period_seconds or 0)

        # Tasks that fail their ELB health checks past the grace period are replaced.
        for task in self._live(sim):
            failing = next(
                (
                    tg
                    for tg, ip, _ in task.targets
                    if (t := self.targets.get((tg, ip))) is not None and t.state == "unhealthy"
                ),
                None,
            )
            started = task.running_since
            if failing is None or started is None or self.elapsed - started < grace:
                task.unhealthy_since = task.replacing_since = None
                continue
            if task.unhealthy_since is None:
                task.unhealthy_since = self.elapsed
                self._schedule(self.settings.timings.scheduler_reaction, _nothing, sim)  # look again then
                self._service_event(
                    sim,
                    f"(service {sim.name}) (task {task.id}) (port {task.targets[0][2]}) is unhealthy in "
                    f"(target-group {failing}) due to (reason Health checks failed with these codes: [502]).",
                )
            if self.elapsed - task.unhealthy_since < self.settings.timings.scheduler_reaction:
                continue
            if task.replacing_since is None:
                task.replacing_since = self.elapsed
                self._start_tasks(sim, service, primary, desired, max_total)  # a replacement first, if there is room
            replacements = [t for t in sim.tasks if t is not task and t.created_elapsed >= task.replacing_since]
            settled = any(self._health_known(r) for r in replacements)
            room = max_total - len(self._live(sim))
            if settled or (room <= 0 and not replacements):
                self._stop_task(
                    sim, task, "ServiceSchedulerInitiated", f"Task failed ELB health checks in (target-group {failing})"
                )
                owner = next((d for d in sim.deployments if d.id == task.started_by), None)
                if owner is not None:
                    owner.failed_tasks += 1
                    self._circuit_breaker(sim, service, owner)
                primary = self._primary(sim) or primary

        # Start tasks of the primary deployment within maximumPercent; stop old deployments'
        # tasks (and a scale-in's extra ones) keeping minimumHealthyPercent healthy; then start
        # again, into the room the stops made.
        self._start_tasks(sim, service, primary, desired, max_total)
        healthy = sum(1 for t in self._live(sim) if self._healthy(sim, t))
        stoppable = healthy - min_healthy

        def order(task: SimTask) -> tuple[bool, float]:  # not yet healthy ones first, then the oldest
            return self._healthy(sim, task), task.created_elapsed

        old = sorted((t for t in self._live(sim) if t.started_by != primary.id), key=order)
        ours = sorted(self._live(sim, primary), key=order)
        excess = ours[: max(0, len(ours) - desired)]
        draining: list[SimTask] = []
        for task in [*old, *excess]:
            if self._healthy(sim, task):
                if stoppable <= 0:
                    continue
                stoppable -= 1
            reason = f"Scaling activity initiated by (deployment {task.started_by})"
            self._stop_task(sim, task, "ServiceSchedulerInitiated", reason)
            draining.append(task)
        if any(t.targets for t in draining):
            self._service_event(sim, f"(service {sim.name}) has begun draining connections on {len(draining)} tasks.")
        self._start_tasks(sim, service, primary, desired, max_total)

        # Old deployments leave once all their tasks have stopped.
        for d in list(sim.deployments):
            if d is not primary and all(t.last_status == "STOPPED" for t in sim.tasks if t.started_by == d.id):
                d.status = "INACTIVE"
                sim.deployments.remove(d)

        if primary.rollout_state == "IN_PROGRESS" and self._steady(sim):
            primary.rollout_state = "COMPLETED"
            primary.rollout_state_reason = f"ECS deployment {primary.id} completed."
            primary.updated_at = self.now()
            sim.last_completed_td = primary.task_definition_arn
            self._service_event(sim, f"(service {sim.name}) (deployment {primary.id}) deployment completed.")
            self._service_event(sim, f"(service {sim.name}) has reached a steady state.")
            self._emit_deployment(sim, primary, "SERVICE_DEPLOYMENT_COMPLETED")

    def _start_tasks(self, sim: SimService, service: Any, primary: SimDeployment, desired: int, max_total: int) -> None:
        if primary.rollout_state == "FAILED":
            return
        wanted = [t for t in self._live(sim, primary) if t.replacing_since is None]
        count = min(desired - len(wanted), max_total - len(self._live(sim)))
        if count > 0:
            started = [self._launch(sim, service, primary) for _ in range(count)]
            listed = " ".join(f"(task {t.id})" for t in started)
            self._service_event(sim, f"(service {sim.name}) has started {count} tasks: {listed}.")

    def _health_known(self, task: SimTask) -> bool:
        return bool(task.targets) and all(
            (t := self.targets.get((tg, ip))) is not None and t.state in ("healthy", "unhealthy")
            for tg, ip, _ in task.targets
        )

    def _steady(self, sim: SimService) -> bool:
        service = self._moto(sim)
        primary = self._primary(sim)
        if service is None or primary is None or len(sim.deployments) != 1:
            return False
        live = self._live(sim, primary)
        if any(t.desired_status == "STOPPED" and t.last_status != "STOPPED" for t in sim.tasks):
            return False
        return len(live) == int(service.desired_count or 0) and all(self._healthy(sim, t) for t in live)

    def _circuit_breaker(self, sim: SimService, service: Any, deployment: SimDeployment) -> None:
        breaker = service.deployment_configuration.get("deploymentCircuitBreaker") or {}
        if not breaker.get("enable") or deployment.status != "PRIMARY" or deployment.rollout_state != "IN_PROGRESS":
            return
        threshold = min(200, max(3, math.ceil(0.5 * int(service.desired_count or 0))))
        if deployment.failed_tasks < threshold:
            return
        deployment.rollout_state = "FAILED"
        deployment.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start."
        deployment.updated_at = self.now()
        self._emit_deployment(sim, deployment, "SERVICE_DEPLOYMENT_FAILED", event_type="ERROR")
        if breaker.get("rollback") and sim.last_completed_td:
            deployment.status = "ACTIVE"
            back = self._new_deployment(service, sim.last_completed_td)
            back.rollout_state_reason = f"ECS deployment circuit breaker: rolling back to deploymentId {deployment.id}."
            sim.deployments.insert(0, back)
            service.task_definition = sim.last_completed_td
            self._emit_deployment(sim, back, "SERVICE_DEPLOYMENT_IN_PROGRESS")

    # -------------------------------------------------------- task lifecycle
    def _launch(self, sim: SimService, service: Any, deployment: SimDeployment) -> SimTask:
        task = self._new_task(sim, service, deployment, ip=None)
        self._emit_task(task)
        t = self.settings.timings
        gen = task.gen

        def pending() -> None:
            if task.gen != gen:
                return
            task.last_status, task.connectivity, task.attachment_status = "PENDING", "CONNECTED", "ATTACHED"
            task.connectivity_at = task.pull_started_at = self.now()
            self._emit_task(task)
            self._schedule(self._jitter(t.pull), activating, sim)

        def activating() -> None:
            if task.gen != gen:
                return
            task.last_status, task.pull_stopped_at = "ACTIVATING", self.now()
            for tg_arn, port in self._target_groups(service):
                self._register(sim, task, tg_arn, port, healthy=False)
            if task.targets:
                by_group: dict[str, int] = {}
                for tg, _, _ in task.targets:
                    by_group[tg] = by_group.get(tg, 0) + 1
                for tg, n in by_group.items():
                    self._service_event(sim, f"(service {sim.name}) registered {n} targets in (target-group {tg})")
            self._emit_task(task)
            self._schedule(self._jitter(t.activating), running, sim)

        def running() -> None:
            if task.gen != gen:
                return
            task.last_status, task.started_at, task.running_since = "RUNNING", self.now(), self.elapsed
            self._emit_task(task)
            if not task.targets:  # no load balancer: the scheduler counts it healthy after a while
                self._schedule(t.no_load_balancer_healthy_after, _nothing, sim)

        self._schedule(self._jitter(t.provisioning), pending, sim)
        return task

    def _new_task(self, sim: SimService, service: Any, deployment: SimDeployment, ip: str | None) -> SimTask:
        td = self.ecs.describe_task_definition(deployment.task_definition_arn)
        containers = [(str(c.get("name")), str(c.get("image"))) for c in td.container_definitions]
        subnet, az, cidr = self._subnet(sim, service)
        ip = ip or self._allocate_ip(cidr)
        self.used_ips.add(ip)
        task_id = f"{self.rng.getrandbits(128):032x}"
        task = SimTask(
            task_arn=f"arn:aws:ecs:{self.settings.region}:{self.settings.account}:task/{sim.cluster_name}/{task_id}",
            cluster_arn=sim.cluster_arn,
            cluster_name=sim.cluster_name,
            service=sim.name,
            started_by=deployment.id,
            task_definition_arn=deployment.task_definition_arn,
            launch_type=service.launch_type,
            cpu=getattr(td, "cpu", None),
            memory=getattr(td, "memory", None),
            availability_zone=az,
            containers=containers,
            container_ids=[str(self._uuid()) for _ in containers],
            ip=ip,
            subnet=subnet,
            eni=f"eni-{self.rng.getrandbits(68):017x}",
            mac="0a:" + ":".join(f"{self.rng.randrange(256):02x}" for _ in range(5)),
            attachment_id=self._uuid(),
            now=self.now(),
            elapsed=self.elapsed,
        )
        sim.tasks.append(task)
        self._moto_tasks(sim.cluster_name, add=task)
        return task

    def _stop_task(self, sim: SimService, task: SimTask, stop_code: str, reason: str) -> None:
        """The scheduler (or a user) decides to stop ``task``: desiredStatus STOPPED, then drain,
        SIGTERM, ENI detach, STOPPED."""
        if task.desired_status == "STOPPED":
            return
        task.gen += 1
        gen = task.gen
        t = self.settings.timings
        task.desired_status, task.stop_code, task.stopped_reason = "STOPPED", stop_code, reason
        self._emit_task(task)
        was_running = task.last_status == "RUNNING"
        task.stopping_at = self.now()

        def stopping() -> None:
            if task.gen != gen:
                return
            task.last_status = "STOPPING"
            self._emit_task(task)
            self._schedule(self._jitter(t.stop), deprovisioning, sim)

        def deprovisioning() -> None:
            if task.gen != gen:
                return
            task.last_status, task.execution_stopped_at = "DEPROVISIONING", self.now()
            task.exit_code = 0 if was_running else None
            task.attachment_status = "DETACHED" if task.attachment_status != "PRECREATED" else "DELETED"
            self._emit_task(task)
            self._schedule(self._jitter(t.deprovisioning), stopped, sim)

        def stopped() -> None:
            if task.gen != gen:
                return
            task.last_status, task.stopped_at, task.attachment_status = "STOPPED", self.now(), "DELETED"
            task.connectivity = None
            self._emit_task(task)
            self._service_event(sim, f"(service {sim.name}) has stopped 1 running tasks: (task {task.id}).")
            self.used_ips.discard(task.ip)
            self._schedule(t.stopped_retention, purge, None)

        def purge() -> None:
            self._moto_tasks(task.cluster_name, remove=task)
            if task in sim.tasks:
                sim.tasks.remove(task)

        if task.targets:
            task.last_status = "DEACTIVATING"
            self._emit_task(task)
            delays = [self._deregister(sim, task, tg, ip, port) for tg, ip, port in task.targets]
            self._schedule(max(delays), stopping, sim)
        else:
            self._schedule(0.0, stopping, sim)

    # ------------------------------------------------------------- targets
    def _target_groups(self, service: Any) -> list[tuple[str, int]]:
        return [
            (str(lb["targetGroupArn"]), int(lb.get("containerPort") or 80))
            for lb in (getattr(service, "load_balancers", None) or [])
            if lb.get("targetGroupArn") and self._tg(str(lb["targetGroupArn"])) is not None
        ]

    def _tg(self, arn: str) -> Any:
        return self.elb.target_groups.get(arn)

    def _register(self, sim: SimService, task: SimTask, tg_arn: str, port: int, healthy: bool) -> None:
        tg = self._tg(tg_arn)
        if tg is None:
            return
        _swap(tg, "targets", add=(task.ip, {"Id": task.ip, "Port": port}))
        _swap(tg, "deregistered_targets", remove=task.ip)
        target = Target(tg_arn, task.ip, port, task)
        task.targets.append((tg_arn, task.ip, port))
        self.targets[(tg_arn, task.ip)] = target
        if healthy:
            target.state, target.reason, target.description, target.passes = "healthy", None, None, 1
        self._schedule(
            self._jitter(self.settings.timings.registration) if not healthy else 0.0,
            lambda: self._registered(sim, target),
            sim,
        )

    def _registered(self, sim: SimService, target: Target) -> None:
        if target.state == "initial":
            target.reason, target.description = "Elb.InitialHealthChecking", "Initial health checks in progress"
        gen = target.gen
        interval = float(getattr(self._tg(target.tg_arn), "health_check_interval_seconds", 30) or 30)
        self._schedule(interval, lambda: self._health_check(sim, target, gen), sim)

    def _health_check(self, sim: SimService, target: Target, gen: int) -> None:
        tg = self._tg(target.tg_arn)
        if target.gen != gen or tg is None or self.targets.get((target.tg_arn, target.ip)) is not target:
            return
        ok = all(image_health(image) for image in target.task.images)
        healthy_n = int(getattr(tg, "healthy_threshold_count", 5) or 5)
        unhealthy_n = int(getattr(tg, "unhealthy_threshold_count", 2) or 2)
        if ok:
            target.passes, target.fails = target.passes + 1, 0
            # A newly registered target needs one passing check; an unhealthy one HealthyThresholdCount.
            if target.state == "initial" or (target.state == "unhealthy" and target.passes >= healthy_n):
                target.state, target.reason, target.description = "healthy", None, None
        else:
            target.fails, target.passes = target.fails + 1, 0
            if target.state in ("initial", "healthy") and target.fails >= unhealthy_n:
                target.state = "unhealthy"
                target.reason = "Target.ResponseCodeMismatch"
                target.description = "Health checks failed with these codes: [502]"
        interval = float(getattr(tg, "health_check_interval_seconds", 30) or 30)
        self._schedule(interval, lambda: self._health_check(sim, target, gen), sim)

    def _deregister(self, sim: SimService, task: SimTask, tg_arn: str, ip: str, port: int) -> float:
        """Start draining; the simulated seconds until the deregistration completes."""
        target = self.targets.get((tg_arn, ip))
        tg = self._tg(tg_arn)
        if target is None or tg is None:
            return 0.0
        target.gen += 1
        target.state, target.reason = "draining", "Target.DeregistrationInProgress"
        target.description = "Target deregistration is in progress"
        delay = float(tg.attributes.get("deregistration_delay.timeout_seconds", 300))
        self._service_event(sim, f"(service {sim.name}) deregistered 1 targets in (target-group {tg_arn})")

        def done() -> None:
            if self.targets.get((tg_arn, ip)) is target:
                del self.targets[(tg_arn, ip)]
                gone = tg.targets.get(ip)
                if gone is not None:
                    _swap(tg, "targets", remove=ip)
                    _swap(tg, "deregistered_targets", add=(ip, gone))

        self._schedule(delay, done, sim)
        return delay

    # ------------------------------------------------------------- network
    def _subnet(self, sim: SimService, service: Any) -> tuple[str, str, str]:
        """(subnet id, AZ, CIDR) for the next task: the service's awsvpc subnets, else the
        subnets of its target group's VPC, round robin (ECS spreads tasks across AZs)."""
        wanted = ((service.network_configuration or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
        subnets = [s for s in self._all_subnets() if s.id in wanted]
        if not subnets:
            vpcs = {getattr(self._tg(arn), "vpc_id", None) for arn, _ in self._target_groups(service)}
            subnets = [s for s in self._all_subnets() if s.vpc_id in vpcs] or self._all_subnets()
        if not subnets:
            return "subnet-0000000000000000", f"{self.settings.region}a", "10.0.0.0/24"
        subnets.sort(key=lambda s: s.id)
        chosen = subnets[sim.subnet_rr % len(subnets)]
        sim.subnet_rr += 1
        return str(chosen.id), str(chosen.availability_zone), str(chosen.cidr_block)

    def _all_subnets(self) -> list[Any]:
        return [s for by_az in list(self.ec2.subnets.values()) for s in list(by_az.values())]

    def _allocate_ip(self, cidr: str) -> str:
        taken = (
            self.used_ips
            | {ip for _, ip in self.targets}
            | {str(t) for tg in list(self.elb.target_groups.values()) for t in list(tg.targets)}
        )
        hosts: Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address] = ipaddress.ip_network(cidr).hosts()
        for n, host in enumerate(hosts):
            if n >= 3 and str(host) not in taken:  # AWS reserves the first four addresses (.0 is not a host)
                return str(host)
        raise RuntimeError(f"no free IP in {cidr}")

    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:32]}"

    # -------------------------------------------------------------- events
    def _emit_task(self, task: SimTask) -> None:
        """One state change of ``task``: its version goes up by one, and ECS sends the event."""
        task.version += 1
        task.updated_at = self.now()
        self._emit(TASK_STATE_CHANGE, [task.task_arn], task.detail())

    def _emit(self, detail_type: str, resources: list[str], detail: dict[str, Any]) -> None:
        envelope = {
            "version": "0",
            "id": self._uuid(),
            "detail-type": detail_type,
            "source": "aws.ecs",
            "account": self.settings.account,
            "time": self.now().timestamp(),
            "region": self.settings.region,
            "resources": resources,
            "detail": copy.deepcopy(detail),
        }
        self.emitted.append(envelope)
        knobs = self.settings.delivery
        delays = [knobs.latency + self.rng.uniform(0, knobs.reorder_window)]
        if self.rng.random() < knobs.duplicate_rate:
            delays.append(knobs.latency + self.rng.uniform(0, knobs.duplicate_delay))
        for i, delay in enumerate(delays):
            action = _Action(self.elapsed + delay, next(self._seq), "deliver", event=envelope, duplicate=i > 0)
            heapq.heappush(self._heap, action)

    def _emit_deployment(self, sim: SimService, deployment: SimDeployment, name: str, event_type: str = "INFO") -> None:
        if not self.settings.deployment_events:
            return
        reason = deployment.rollout_state_reason or f"ECS deployment {deployment.id} in progress."
        detail = {
            "eventType": event_type,
            "eventName": name,
            "deploymentId": deployment.id,
            "updatedAt": _iso(self.now()),
            "reason": reason,
        }
        self._emit(DEPLOYMENT_STATE_CHANGE, [sim.arn], detail)

    def _deliver(self, envelope: dict[str, Any], duplicate: bool) -> None:
        """To every rule of the default bus, as moto's PutEvents does (each rule checks its
        pattern; cfn_patches delivers to Lambda targets)."""
        self.delivered.append(Delivered(self.elapsed, envelope, duplicate))
        try:
            bus = self.events.describe_event_bus("default")
        except Exception:  # noqa: BLE001 - no bus: nothing to deliver to
            return
        for rule in list(bus.rules.values()):
            message = copy.deepcopy(envelope)
            message["ingestion-time"] = time.time()
            try:
                rule.send_to_targets(message)
            except Exception as exc:
                LOG.exception("delivering %s to rule %s failed", envelope.get("detail-type"), rule.name)
                self.errors.append(exc)

    def _service_event(self, sim: SimService, message: str) -> None:
        service = self._moto(sim)
        if service is None:
            return
        entry = {"id": self._uuid(), "createdAt": self.now(), "message": message}
        service.events = [entry, *list(service.events or [])][:SERVICE_EVENTS_KEPT]

    # ----------------------------------------------------- moto's view of it
    def _moto_tasks(self, cluster: str, add: SimTask | None = None, remove: SimTask | None = None) -> None:
        """Add or remove a task where DescribeTasks/ListTasks look (``{cluster: {arn: task}}``),
        copy-on-write: a request iterating them in another thread sees the old or the new dict."""
        by_arn = dict(self.ecs.tasks.get(cluster, {}))
        if add is not None:
            by_arn[add.task_arn] = add
        if remove is not None:
            by_arn.pop(remove.task_arn, None)
        clusters = dict(self.ecs.tasks)
        clusters[cluster] = by_arn
        self.ecs.tasks = clusters

    def _moto(self, sim: SimService) -> Any:
        return self.ecs.services.get(sim.key)

    def _publish(self, sim: SimService) -> None:
        """Write the simulated state into moto's Service, which DescribeServices serializes
        (new list objects, so a concurrent read sees the old or the new state, whole)."""
        service = self._moto(sim)
        if service is None:
            return
        deployments = []
        for d in sim.deployments:
            tasks = [t for t in sim.tasks if t.started_by == d.id]
            running = sum(1 for t in tasks if t.last_status == "RUNNING")
            pending = sum(1 for t in tasks if t.last_status in PENDING_STATES)
            desired = (
                int(service.desired_count or 0)
                if d.status == "PRIMARY"
                else sum(1 for t in tasks if t.desired_status == "RUNNING")
            )
            deployments.append(
                {
                    "id": d.id,
                    "status": d.status,
                    "taskDefinition": d.task_definition_arn,
                    "desiredCount": desired,
                    "pendingCount": pending,
                    "runningCount": running,
                    "failedTasks": d.failed_tasks,
                    "createdAt": d.created_at,
                    "updatedAt": d.updated_at or d.created_at,
                    "launchType": d.launch_type,
                    "platformVersion": d.platform_version,
                    "platformFamily": "Linux" if d.launch_type == "FARGATE" else None,
                    "networkConfiguration": d.network_configuration,
                    "rolloutState": d.rollout_state,
                    "rolloutStateReason": d.rollout_state_reason,
                }
            )
        service.deployments = deployments
        service.running_count = sum(1 for t in sim.tasks if t.last_status == "RUNNING")
        service.pending_count = sum(1 for t in sim.tasks if t.last_status in PENDING_STATES)


class Ticker:
    """Advances a :class:`Simulation` from a background thread on a compressed wall clock."""

    def __init__(self, sim: Simulation, scale: float, interval: float = 0.01) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0 (wall seconds per simulated second)")
        self.sim = sim
        self.scale = scale
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ecs-sim-ticker", daemon=True)
        self.ticks = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        wall0, sim0 = time.monotonic(), self.sim.elapsed
        while not self._stop.wait(self.interval):
            if self.sim.owns_clock or patches.SIM_TIME.start is None:
                target = sim0 + (time.monotonic() - wall0) / self.scale
            else:
                target = patches.SIM_TIME.elapsed  # following another simulation's clock
            try:
                self.sim.advance_to(target)
            except Exception as exc:
                LOG.exception("ECS simulation tick failed")
                self.sim.errors.append(exc)
            self.ticks += 1

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"the ECS ticker did not stop within {timeout:g}s")

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def _swap(owner: Any, attribute: str, add: tuple[str, Any] | None = None, remove: str | None = None) -> None:
    """Change one of moto's dicts copy-on-write (the ticker changes them while request threads
    iterate them: in place, that iteration would fail with "dictionary changed size")."""
    changed = OrderedDict(getattr(owner, attribute))
    if add is not None:
        changed[add[0]] = add[1]
    if remove is not None:
        changed.pop(remove, None)
    setattr(owner, attribute, changed)


def _nothing() -> None:
    """A step that only makes the scheduler look at its service again."""


def _key(service: Any) -> str:
    return f"{service.cluster_name}:{service.name}"


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ------------------------------------------------------------------ install
ACTIVE: Simulation | None = None
_ORIGINAL: dict[str, Any] = {}
_INSTALLED = False
_INSTALL_LOCK = threading.Lock()
_REQUEST = threading.local()  # CreateService's request parameters moto's backend call does not receive


def active_for(backend: Any) -> Simulation | None:
    """The running simulation, if it simulates this ECS backend (its account and region)."""
    sim = ACTIVE
    if sim is None or sim.stopped:
        return None
    if (backend.account_id, backend.region_name) != (sim.settings.account, sim.settings.region):
        return None
    sim.current()
    return sim if sim.ecs is backend else None


def _create_service_response(self: Any) -> Any:
    _REQUEST.params = {
        "deploymentConfiguration": self._get_param("deploymentConfiguration"),
        "healthCheckGracePeriodSeconds": self._get_param("healthCheckGracePeriodSeconds"),
    }
    try:
        return _ORIGINAL["EC2ContainerServiceResponse.create_service"](self)
    finally:
        _REQUEST.params = None


def _create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
    service = _ORIGINAL["EC2ContainerServiceBackend.create_service"](self, *args, **kwargs)
    sim = active_for(self)
    if sim is not None and service.deployment_controller.get("type", "ECS") == "ECS":
        sim.on_create_service(service, getattr(_REQUEST, "params", None) or {})
    return service


def _update_service(self: Any, service_properties: dict[str, Any]) -> Any:
    sim = active_for(self)
    if sim is None:
        return _ORIGINAL["EC2ContainerServiceBackend.update_service"](self, service_properties)
    props = dict(service_properties)
    name = str(props.get("service", "")).split("/")[-1]
    before = self._get_service(props.get("cluster", "default"), name)
    old_td = sim._td_arn(before.task_definition) if before.task_definition else None
    new_td = props.get("task_definition")
    force = bool(props.get("force_new_deployment"))
    params = {
        "deploymentConfiguration": props.get("deployment_configuration"),
        "healthCheckGracePeriodSeconds": props.get("health_check_grace_period_seconds"),
    }
    with sim.lock:
        sim.ensure_known(before)
        service = _ORIGINAL["EC2ContainerServiceBackend.update_service"](self, service_properties)
        changed = new_td is not None and sim._td_arn(str(new_td)) != old_td
        sim.on_update_service(service, params, new_deployment=changed or force)
    return service


def _delete_service(self: Any, cluster_name: str, service_name: str, force: bool) -> Any:
    service = _ORIGINAL["EC2ContainerServiceBackend.delete_service"](self, cluster_name, service_name, force)
    sim = active_for(self)
    if sim is not None:
        sim.on_delete_service(service)
    return service


def _stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
    sim = active_for(self)
    if sim is not None:
        task_id = task_str.split("/")[-1]
        for tasks in self.tasks.values():
            for arn, task in tasks.items():
                if arn.endswith(task_id) and isinstance(task, SimTask):
                    sim.on_stop_task(task, reason)
                    return task
    return _ORIGINAL["EC2ContainerServiceBackend.stop_task"](self, cluster_str, task_str, reason)


def _list_tasks(self: Any, *args: Any, **kwargs: Any) -> Any:
    tasks = _ORIGINAL["EC2ContainerServiceBackend.list_tasks"](self, *args, **kwargs)
    if active_for(self) is None:
        return tasks
    names = ("cluster_str", "container_instance", "family", "started_by", "service_name", "desiredStatus")
    given = dict(zip(names, args, strict=False)) | kwargs
    service_name = given.get("service_name")
    if service_name:
        group = f"service:{str(service_name).split('/')[-1]}"
        tasks = [t for t in tasks if getattr(t, "group", None) == group]
    if not given.get("desiredStatus"):  # ListTasks' default filter is desiredStatus RUNNING
        tasks = [t for t in tasks if getattr(t, "desired_status", "RUNNING") == "RUNNING"]
    return tasks


def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    sim = ACTIVE
    if sim is not None and not sim.stopped:
        sim.current()
    if sim is not None and not sim.stopped and sim.elb.target_groups.get(self.arn) is self:
        found = sim.target_health(self.arn, str(target["Id"]))
        if found is not None:
            return elbv2_models.FakeHealthStatus(
                found.ip, found.port, self.health_check_port, found.state, found.reason, found.description
            )
    return _ORIGINAL["FakeTargetGroup.health_for"](self, target, ec2_backend)


def _patched() -> list[tuple[Any, str, Callable[..., Any]]]:
    """(class, attribute, wrapper) of every moto internal this module patches."""
    backend = ecs_models.EC2ContainerServiceBackend
    return [
        (backend, "create_service", _create_service),
        (backend, "update_service", _update_service),
        (backend, "delete_service", _delete_service),
        (backend, "stop_task", _stop_task),
        (backend, "list_tasks", _list_tasks),
        (ecs_responses.EC2ContainerServiceResponse, "create_service", _create_service_response),
        (elbv2_models.FakeTargetGroup, "health_for", _health_for),
    ]


def install() -> None:
    """Patch moto (after ``patches.install``, whose target-health patch this one wraps). ``start``
    does it, and the simulation's ``stop`` takes the patches out again (:func:`uninstall`): with
    no simulation running, moto is exactly as ``patches`` left it. Safe to call again."""
    global _INSTALLED
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        patches.install()
        for owner, name, wrapper in _patched():
            _ORIGINAL[f"{owner.__name__}.{name}"] = owner.__dict__[name]
            setattr(owner, name, wrapper)
        _INSTALLED = True


def uninstall() -> None:
    """Put back what :func:`install` replaced (the originals stay known: a request already inside
    a wrapper finishes through them)."""
    global _INSTALLED
    with _INSTALL_LOCK:
        if not _INSTALLED:
            return
        for owner, name, _ in _patched():
            setattr(owner, name, _ORIGINAL[f"{owner.__name__}.{name}"])
        _INSTALLED = False


def start(settings: Settings | None = None, **overrides: Any) -> Simulation:
    """Begin simulating ECS for moto's backend of ``settings.account``/``region`` (the mock or
    server must be up). Adopts the services that exist. One simulation at a time."""
    global ACTIVE
    install()
    if ACTIVE is not None and not ACTIVE.stopped:
        raise RuntimeError("an ECS simulation already runs; stop it first")
    chosen = settings or Settings()
    for key, value in overrides.items():
        setattr(chosen, key, value)
    sim = Simulation(chosen)
    ACTIVE = sim
    sim.adopt_existing()
    return sim


def stop() -> None:
    """Stop the running simulation, if any."""
    if ACTIVE is not None:
        ACTIVE.stop()


def reset() -> None:
    """Stop any simulation and forget image-health rules (between tests)."""
    stop()
    BAD_IMAGES.clear()
    IMAGE_HEALTH.clear()
