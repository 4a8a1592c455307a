"""ECS that behaves like ECS (issue 10, ``weightshift_emulator.ecs_sim``): a rolling deployment
started by ``UpdateService`` alone, its task events on the default bus, target registration,
health and draining, the service's steady state, and the clocks that drive it.

Most tests step the simulation by hand (deterministic, no wall time). The end-to-end tests
deploy the real template and only call ``ecs.update_service``: no event is faked.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from typer.testing import CliRunner
from weightshift_cli.main import app
from weightshift_emulator import cfn_patches, ecs_sim, lambda_async, patches, stack
from weightshift_emulator.server import start_emulator
from weightshift_emulator.world import (
    Surroundings,
    build_surroundings,
    clients,
    execution_history,
    set_weighted_pair,
    weights,
)

from tests.conftest import load_event, wait_for

DEPLOYMENT_ID = re.compile(r"^ecs-svc/\d{19}$")
NEW_IMAGE = "registry.example/shop:2.0"
READINESS = "Check the target is steady and healthy"  # the ASL's readiness Task state


# ------------------------------------------------------------------ fixtures
@pytest.fixture(autouse=True)
def _no_simulation_outlives_a_test() -> Iterator[None]:
    yield
    ecs_sim.reset()
    assert ecs_sim.ACTIVE is None


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws(config=patches.ENGINE_CONFIG):
        yield clients()


@pytest.fixture
def world(aws: dict[str, Any]) -> Surroundings:
    return build_surroundings(aws)


@pytest.fixture
def sim_factory() -> Iterator[Any]:
    """Start a simulation (after the world exists, so its services are adopted); always stopped."""
    started: list[ecs_sim.Simulation] = []

    def make(**overrides: Any) -> ecs_sim.Simulation:
        sim = ecs_sim.start(ecs_sim.Settings(**overrides))
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()
    ecs_sim.reset()


def queue_rule(aws: dict[str, Any], detail_type: str = "ECS Task State Change") -> str:
    """An EventBridge rule on the default bus with an SQS target: what the bus delivered."""
    url = aws["sqs"].create_queue(QueueName=f"seen-{abs(hash(detail_type))}")["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = f"ecs-{abs(hash(detail_type))}"
    aws["events"].put_rule(Name=name, EventPattern=json.dumps({"source": ["aws.ecs"], "detail-type": [detail_type]}))
    aws["events"].put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def drain(aws: dict[str, Any], url: str) -> list[dict[str, Any]]:
    out = []
    while True:
        messages = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return out
        for m in messages:
            out.append(json.loads(m["Body"]))
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def release(aws: dict[str, Any], world: Surroundings, color: str = "green", image: str = NEW_IMAGE, **kw: Any) -> str:
    """What `weightshift release` does to ECS: a new task definition revision, then UpdateService."""
    ecs = aws["ecs"]
    family = world.service(color)
    td = ecs.register_task_definition(
        family=family, containerDefinitions=[{"name": "web", "image": image, "memory": 512}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=world.cluster, service=family, taskDefinition=td, **kw)
    return str(td)


def service(aws: dict[str, Any], world: Surroundings, color: str = "green") -> dict[str, Any]:
    return dict(aws["ecs"].describe_services(cluster=world.cluster, services=[world.service(color)])["services"][0])


def target_states(aws: dict[str, Any], tg_arn: str) -> dict[str, tuple[str, str | None]]:
    found = aws["elbv2"].describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason")) for d in found}


def tasks(aws: dict[str, Any], world: Surroundings, color: str = "green", **filters: str) -> list[dict[str, Any]]:
    arns = aws["ecs"].list_tasks(cluster=world.cluster, serviceName=world.service(color), **filters)["taskArns"]
    return list(aws["ecs"].describe_tasks(cluster=world.cluster, tasks=arns)["tasks"]) if arns else []


def ip_of(detail: dict[str, Any]) -> str | None:
    for attachment in detail.get("attachments", []):
        for d in attachment["details"]:
            if d["name"] == "privateIPv4Address":
                return str(d["value"])
    return None


# ---------------------------------------------------------------- the events
def test_update_service_sends_real_format_task_events_in_order_with_duplicates(
    aws: dict[str, Any], world: Surroundings, sim_factory: Any
) -> None:
    url = queue_rule(aws)
    deployments_url = queue_rule(aws, "ECS Deployment State Change")
    sim = sim_factory(seed=7, delivery=ecs_sim.DeliveryKnobs(duplicate_rate=0.5))
    old = service(aws, world)["deployments"][0]["id"]
    td = release(aws, world)
    svc = service(aws, world)
    new = svc["deployments"][0]
    # UpdateService answers with the new PRIMARY deployment (what `weightshift release` reads), the old one ACTIVE.
    assert [(d["id"], d["status"], d["rolloutState"]) for d in svc["deployments"]] == [
        (new["id"], "PRIMARY", "IN_PROGRESS"),
        (old, "ACTIVE", "COMPLETED"),
    ]
    assert DEPLOYMENT_ID.match(new["id"]), new["id"]
    assert (new["runningCount"], new["desiredCount"], svc["taskDefinition"]) == (0, 2, td)

    sim.settle()
    delivered = drain(aws, url)
    assert list(sim.errors) == []

    # The real shape: every field of the sample event that applies to this launch type.
    sample = load_event("green-task-running.json")
    fargate_only = {"capacityProviderName", "platformVersion", "ephemeralStorage"}
    for event in sim.task_events():  # the envelope as put on the bus (moto's SQS target drops "account")
        assert set(event) == set(sample)
        assert (event["source"], event["account"], event["region"]) == ("aws.ecs", sample["account"], sample["region"])
    for event in delivered:
        assert (event["source"], event["detail-type"]) == ("aws.ecs", "ECS Task State Change")
        detail = event["detail"]
        assert event["resources"] == [detail["taskArn"]]
        if detail["lastStatus"] == "RUNNING" and detail["desiredStatus"] == "RUNNING":
            assert set(sample["detail"]) - fargate_only <= set(detail), set(sample["detail"]) - set(detail)
        assert detail["clusterArn"] == world.cluster_arn()
        assert detail["group"] == f"service:{world.green_service}"
        assert detail["taskArn"].startswith(f"{world.cluster_arn().replace(':cluster/', ':task/')}/")

    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in delivered:
        by_task[event["detail"]["taskArn"]].append(event["detail"])
    started = {arn: ds for arn, ds in by_task.items() if ds[0]["startedBy"] == new["id"]}
    stopped = {arn: ds for arn, ds in by_task.items() if ds[0]["startedBy"] == old}
    assert (len(started), len(stopped)) == (2, 2)

    # Each new task: PROVISIONING -> PENDING -> ACTIVATING -> RUNNING, one version each, in order
    # (duplicates repeat a version; the default knobs never reorder).
    for details in started.values():
        firsts = list(dict.fromkeys((d["version"], d["lastStatus"]) for d in details))
        assert firsts == [(1, "PROVISIONING"), (2, "PENDING"), (3, "ACTIVATING"), (4, "RUNNING")]
        running = next(d for d in details if d["lastStatus"] == "RUNNING")
        assert running["taskDefinitionArn"] == td
        assert running["containers"][0]["image"] == NEW_IMAGE
        assert running["connectivity"] == "CONNECTED"
        assert running["startedAt"] >= running["createdAt"]
        assert ip_of(running) in target_states(aws, world.green_tg_arn)  # registered in the side's target group
    # Each old task drains and stops, stopped by its own deployment's scale-in.
    for details in stopped.values():
        firsts = list(dict.fromkeys((d["lastStatus"], d["desiredStatus"]) for d in details))
        assert firsts == [
            ("RUNNING", "STOPPED"),
            ("DEACTIVATING", "STOPPED"),
            ("STOPPING", "STOPPED"),
            ("DEPROVISIONING", "STOPPED"),
            ("STOPPED", "STOPPED"),
        ]
        last = details[-1]
        assert (last["stopCode"], last["stoppedReason"]) == (
            "ServiceSchedulerInitiated",
            f"Scaling activity initiated by (deployment {old})",
        )
        assert ip_of(last) not in target_states(aws, world.green_tg_arn)  # deregistered
        firsts_seen = list(dict.fromkeys(d["version"] for d in details))  # a late duplicate may trail a newer one
        assert firsts_seen == sorted(firsts_seen) == list(range(5, 10))

    # Delivered at least once; some twice, as the same event (same id, same version).
    ids = Counter(e["id"] for e in delivered)
    assert set(ids) == {e["id"] for e in sim.task_events()}
    twice = [i for i, n in ids.items() if n == 2]
    assert twice, "the duplicate knob is on: some event must arrive twice"
    for event_id in twice:
        copies = [e for e in delivered if e["id"] == event_id]
        assert copies[0] == copies[1]

    deployment_events = [(e["detail"]["eventName"], e["detail"]["deploymentId"]) for e in drain(aws, deployments_url)]
    assert list(dict.fromkeys(deployment_events)) == [
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", new["id"]),
        ("SERVICE_DEPLOYMENT_COMPLETED", new["id"]),
    ]


def test_the_knobs_reorder_and_deduplicate_deliveries(
    aws: dict[str, Any], world: Surroundings, sim_factory: Any
) -> None:
    url = queue_rule(aws)
    knobs = ecs_sim.DeliveryKnobs(duplicate_rate=0.0, reorder_window=30.0)
    sim = sim_factory(seed=3, delivery=knobs, timings=ecs_sim.Timings(provisioning=2, pull=2, activating=2, jitter=0))
    release(aws, world)
    sim.settle()
    delivered = drain(aws, url)
    assert len(delivered) == len({e["id"] for e in delivered}) == len(sim.task_events())  # no duplicates
    inversions = 0
    for arn in {e["detail"]["taskArn"] for e in delivered}:
        versions = [e["detail"]["version"] for e in delivered if e["detail"]["taskArn"] == arn]
        inversions += sum(1 for a, b in itertools.pairwise(versions) if b < a)
    assert inversions > 0, "a 30 s reorder window over 2 s steps must swap some events"


# -------------------------------------------------- target health, steady state
def test_target_health_and_steady_state_follow_the_target_group_settings(
    aws: dict[str, Any], world: Surroundings, sim_factory: Any
) -> None:
    elb = aws["elbv2"]
    elb.modify_target_group(TargetGroupArn=world.green_tg_arn, HealthCheckIntervalSeconds=10, HealthyThresholdCount=3)
    elb.modify_target_group_attributes(
        TargetGroupArn=world.green_tg_arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "60"}]
    )
    timings = ecs_sim.Timings(provisioning=10, pull=20, activating=5, registration=10, jitter=0)
    sim = sim_factory(seed=1, timings=timings)
    old_ips = set(target_states(aws, world.green_tg_arn))
    assert target_states(aws, world.green_tg_arn) == {ip: ("healthy", None) for ip in old_ips}  # adopted, as they were
    release(aws, world)

    sim.advance(35.5)  # the new tasks are RUNNING; their targets still in their first health checks
    new_tasks = [t for t in tasks(aws, world) if t["startedBy"] != service(aws, world)["deployments"][1]["id"]]
    assert [t["lastStatus"] for t in new_tasks] == ["RUNNING", "RUNNING"]
    new_ips = {ip_of(t) for t in new_tasks}
    states = target_states(aws, world.green_tg_arn)
    assert {states[ip] for ip in new_ips} == {
        ("initial", "Elb.RegistrationInProgress")
    }  # registered at ACTIVATING (30 s)
    svc = service(aws, world)
    assert (svc["runningCount"], svc["desiredCount"], len(svc["deployments"])) == (4, 2, 2)
    sim.advance(5)  # registration (10 s) done: health checks every 10 s
    states = target_states(aws, world.green_tg_arn)
    assert {states[ip] for ip in new_ips} == {("initial", "Elb.InitialHealthChecking")}

    sim.advance(10)  # one passing check makes a new target healthy (HealthyThresholdCount is for recovering ones)
    states = target_states(aws, world.green_tg_arn)
    assert {states[ip][0] for ip in new_ips} == {"healthy"}
    assert {states[ip] for ip in old_ips} == {("draining", "Target.DeregistrationInProgress")}  # still listed
    draining = tasks(aws, world, desiredStatus="STOPPED")
    assert {t["lastStatus"] for t in draining} == {"DEACTIVATING"}
    assert len(tasks(aws, world)) == 2  # ListTasks lists desiredStatus RUNNING by default
    svc = service(aws, world)
    assert (svc["runningCount"], len(svc["deployments"]), svc["deployments"][0]["rolloutState"]) == (
        2,
        2,
        "IN_PROGRESS",
    )

    took = sim.run_until(lambda: service(aws, world)["deployments"][0]["rolloutState"] == "COMPLETED")
    assert 60 <= took <= 60 + 2 + 10 + 2  # the deregistration delay, SIGTERM, the ENI detach
    svc = service(aws, world)
    assert [(d["status"], d["runningCount"], d["desiredCount"]) for d in svc["deployments"]] == [("PRIMARY", 2, 2)]
    assert (svc["runningCount"], svc["pendingCount"]) == (2, 0)
    assert svc["events"][0]["message"] == f"(service {world.green_service}) has reached a steady state."
    assert set(target_states(aws, world.green_tg_arn)) == new_ips
    stopped = tasks(aws, world, desiredStatus="STOPPED")
    assert [t["lastStatus"] for t in stopped] == ["STOPPED", "STOPPED"]  # visible for an hour after
    assert sim.steady()


def test_a_bad_image_fails_its_health_checks_and_the_rollout_never_completes(
    aws: dict[str, Any], world: Surroundings, sim_factory: Any
) -> None:
    ecs_sim.BAD_IMAGES.add("registry.example/shop:bad")
    sim = sim_factory(seed=2)
    old_ips = set(target_states(aws, world.green_tg_arn))
    release(aws, world, image="registry.example/shop:bad")
    seen: set[tuple[str, str | None]] = set()
    for _ in range(90):  # 15 simulated minutes
        sim.advance(10)
        states = target_states(aws, world.green_tg_arn)
        assert {states[ip] for ip in old_ips} == {("healthy", None)}  # minimumHealthyPercent 100: the old tasks stay
        seen |= {state for ip, state in states.items() if ip not in old_ips}
    assert ("unhealthy", "Target.ResponseCodeMismatch") in seen
    assert "healthy" not in {state for state, _ in seen}
    svc = service(aws, world)
    primary, active = svc["deployments"]
    assert (primary["status"], primary["rolloutState"], active["status"]) == ("PRIMARY", "IN_PROGRESS", "ACTIVE")
    assert primary["failedTasks"] >= 2  # replaced after failing their checks
    reasons = {t.get("stoppedReason") for t in tasks(aws, world, desiredStatus="STOPPED")}
    assert f"Task failed ELB health checks in (target-group {world.green_tg_arn})" in reasons
    assert not sim.steady()


def test_the_circuit_breaker_fails_a_bad_deployment_and_rolls_back(
    aws: dict[str, Any], world: Surroundings, sim_factory: Any
) -> None:
    ecs_sim.IMAGE_HEALTH.append(lambda image: False if image.endswith(":bad") else None)
    sim = sim_factory(seed=4)
    before = service(aws, world)["taskDefinition"]
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    release(aws, world, image="registry.example/shop:bad", deploymentConfiguration=breaker)
    failed = service(aws, world)["deployments"][0]["id"]
    sim.run_until(lambda: service(aws, world)["deployments"][0]["id"] != failed, limit=3600, step=10)
    svc = service(aws, world)
    assert svc["taskDefinition"] == before
    assert svc["deployments"][0]["rolloutStateReason"].startswith("ECS deployment circuit breaker: rolling back")
    sim.settle()
    assert [(d["status"], d["taskDefinition"]) for d in service(aws, world)["deployments"]] == [("PRIMARY", before)]


def test_scaling_out_the_live_side_starts_tasks_of_its_current_deployment(
    aws: dict[str, Any], world: Surroundings, sim_factory: Any
) -> None:
    url = queue_rule(aws)
    sim = sim_factory(seed=5)
    deployment = service(aws, world, "blue")["deployments"][0]["id"]
    aws["ecs"].update_service(cluster=world.cluster, service=world.blue_service, desiredCount=3)
    svc = service(aws, world, "blue")
    assert [(d["id"], d["desiredCount"], d["runningCount"]) for d in svc["deployments"]] == [(deployment, 3, 2)]
    sim.settle()
    running = [e["detail"] for e in drain(aws, url) if e["detail"]["lastStatus"] == "RUNNING"]
    assert {d["startedBy"] for d in running} == {deployment}  # the scale-out case the trigger ignores
    assert service(aws, world, "blue")["runningCount"] == 3


# ---------------------------------------------------------------- the clocks
def test_the_ticker_advances_on_a_compressed_clock_and_stops_cleanly(
    aws: dict[str, Any], world: Surroundings, sim_factory: Any
) -> None:
    sim = sim_factory(seed=6)
    patches.CLOCK.scale = 0.0
    ticker = sim.start_ticker(scale=0.001)
    assert patches.CLOCK.scale == 0.001  # the engine's Wait states share the compressed clock
    release(aws, world)
    assert cfn_patches.wait_until(sim.steady, timeout=10), "1000x: ~400 simulated seconds in well under 10 s"
    assert patches.SIM_TIME.start == sim.epoch
    assert patches.SIM_TIME.elapsed == pytest.approx(sim.elapsed, abs=5)
    sim.stop_ticker()
    assert not ticker.alive
    assert patches.CLOCK.scale == 0.0  # restored
    frozen = sim.elapsed
    time.sleep(0.05)
    assert sim.elapsed == frozen
    names = [t.name for t in threading.enumerate()]
    assert "ecs-sim-ticker" not in names

    sim.stop()  # detached: moto answers alone again, and the functions get the wall clock back
    assert patches.SIM_TIME.start is None
    aws["ecs"].update_service(cluster=world.cluster, service=world.green_service, forceNewDeployment=True)
    assert len(service(aws, world)["deployments"]) == 1


def test_no_patch_outlives_the_simulation(aws: dict[str, Any], world: Surroundings) -> None:
    """Each moto internal the simulation wraps is checked (a moto upgrade that moves one fails
    here), and put back when the simulation stops: moto is then as ``patches`` left it."""
    import moto.ecs.models as ecs_models
    import moto.ecs.responses as ecs_responses
    import moto.elbv2.models as elbv2_models
    import moto.events.models as events_models

    from tests.component.test_emulator_patches import expect_params

    backend = ecs_models.EC2ContainerServiceBackend
    before = {
        "create": backend.create_service,
        "update": backend.update_service,
        "health": elbv2_models.FakeTargetGroup.health_for,
    }
    expect_params("update_service", backend.update_service, ["self", "service_properties"])
    expect_params("delete_service", backend.delete_service, ["self", "cluster_name", "service_name", "force"])
    expect_params("stop_task", backend.stop_task, ["self", "cluster_str", "task_str", "reason"])
    expect_params(
        "list_tasks",
        backend.list_tasks,
        ["self", "cluster_str", "container_instance", "family", "started_by", "service_name", "desiredStatus"],
    )
    expect_params("create_service", backend.create_service, ["self", "cluster_str", "service_name", "desired_count"])
    expect_params(
        "EC2ContainerServiceResponse.create_service", ecs_responses.EC2ContainerServiceResponse.create_service, ["self"]
    )
    expect_params("FakeTargetGroup.health_for", before["health"], ["self", "target", "ec2_backend"])
    expect_params("Rule.send_to_targets", events_models.Rule.send_to_targets, ["self", "original_event"])

    sim = ecs_sim.start()
    try:
        assert backend.update_service is not before["update"]
        moto_tasks = ecs_models.ecs_backends["123456789012"][
            "us-east-1"
        ].tasks  # DescribeTasks reads {cluster: {arn: task}}
        assert {cluster: len(by_arn) for cluster, by_arn in moto_tasks.items()} == {world.cluster: 4}  # adopted
    finally:
        sim.stop()
    assert (backend.create_service, backend.update_service, elbv2_models.FakeTargetGroup.health_for) == (
        before["create"],
        before["update"],
        before["health"],
    )
    release(aws, world)  # moto alone: no rollout
    svc = service(aws, world)
    assert (len(svc["deployments"]), svc["runningCount"]) == (1, 2)


# ------------------------------------------------------------------ end to end
PARAMETERS = {
    "Schedule": "5,25,50,100",
    "StepIntervalSeconds": "60",
    # The template's default. On the running clock every state's processing costs simulated
    # time too (250x the wall clock): fewer polls leave the deadline more room on a loaded machine.
    "HealthPollSeconds": "60",
    # The template's default. ECS needs ~1 health-check interval after registration, then the old
    # tasks' 300 s deregistration delay, before the service is steady: 120 s would time out.
    "ReadinessTimeoutSeconds": "600",
}


@pytest.fixture
def deployed(aws: dict[str, Any], world: Surroundings) -> Iterator[stack.Deployed]:
    cfn_patches.install()
    cfn_patches.reset()
    set_weighted_pair(aws, world, blue=100, green=0)
    yield stack.deploy(aws, world.parameters(**PARAMETERS))
    cfn_patches.reset()


def trigger_decisions(deployed: stack.Deployed) -> Counter[str]:
    return Counter(
        i.response["decision"]
        for i in lambda_async.INVOCATIONS
        if i.function == deployed.functions["TriggerFunction"] and i.ok
    )


def readiness_polls(aws: dict[str, Any], execution_arn: str) -> int:
    return sum(
        1
        for e in execution_history(aws["stepfunctions"], execution_arn)
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == READINESS
    )


def check_promoted(
    aws: dict[str, Any], world: Surroundings, deployed: stack.Deployed, sim: ecs_sim.Simulation, waited: bool = True
) -> None:
    sfn = aws["stepfunctions"]
    (execution,) = sfn.list_executions(stateMachineArn=deployed.state_machine_arn)["executions"]
    desc = wait_for(sfn, execution["executionArn"], timeout=60)
    assert desc["status"] == "SUCCEEDED", (desc, sim.errors, trigger_decisions(deployed))
    assert weights(aws, world) == {"blue": 0, "green": 100}
    decisions = trigger_decisions(deployed)
    assert decisions["started"] == 1, decisions
    assert set(decisions) <= {"started", "duplicate", "stale", "ignored"}, decisions
    assert sum(decisions.values()) >= 3  # two RUNNING tasks, at least once each, plus duplicates/being-stopped
    # The canary waited for ECS: the first RUNNING event came while the new targets were `initial` and
    # the old tasks had ~5 minutes of draining ahead. (On the ticker, wall time is simulated time: a
    # machine busy enough to take ~1.5 s from the event to the first readiness poll lets ECS finish.)
    assert readiness_polls(aws, execution["executionArn"]) > (1 if waited else 0)
    assert list(sim.errors) == []


@pytest.mark.e2e
def test_the_deployed_template_promotes_from_update_service_alone_on_the_ticker(
    aws: dict[str, Any], world: Surroundings, deployed: stack.Deployed, sim_factory: Any
) -> None:
    sim = sim_factory(seed=11)
    sim.start_ticker(scale=0.004)
    release(aws, world)
    assert cfn_patches.wait_until(
        lambda: aws["stepfunctions"].list_executions(stateMachineArn=deployed.state_machine_arn)["executions"],
        timeout=20,
    ), "no execution started"
    check_promoted(aws, world, deployed, sim, waited=False)
    sim.stop_ticker()


@pytest.mark.e2e
def test_the_deployed_template_promotes_with_ecs_time_following_the_workflow_waits(
    aws: dict[str, Any], world: Surroundings, deployed: stack.Deployed, sim_factory: Any
) -> None:
    """Deterministic: no wall time; each Wait state of the canary lets that much ECS time pass."""
    patches.CLOCK.scale = 0.0
    sim = sim_factory(seed=12)
    sim.follow_engine_waits()
    release(aws, world)
    sim.run_until(lambda: bool(trigger_decisions(deployed)["started"]), limit=120)
    check_promoted(aws, world, deployed, sim)


@pytest.mark.e2e
def test_weightshift_release_promotes_against_the_emulator_server_without_faked_events() -> None:
    """`weightshift release --image` over HTTP: UpdateService is all it does to ECS; the emulator's
    ECS rolls the deployment, its RUNNING events start the canary, the CLI follows it to the end."""
    quiet = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    saved = {k: patches.INVOKE_ENVIRONMENT.get(k) for k in quiet}
    patches.INVOKE_ENVIRONMENT.update(quiet)
    cfn_patches.install()
    cfn_patches.reset()
    # 125x the wall clock: every state's processing costs simulated time too, and at 250x a
    # loaded machine let a step's processing eat the deadline's slack (DeadlineExceeded at 100%).
    emulator = start_emulator(ecs_scale=0.008)
    try:
        aws = emulator.clients()
        world = build_surroundings(aws)  # its services' tasks are adopted by the running simulation
        set_weighted_pair(aws, world, blue=100, green=0)
        deployed = stack.deploy(aws, world.parameters(**PARAMETERS))
        before = service(aws, world)["taskDefinition"]
        result = CliRunner().invoke(
            app,
            ["--endpoint-url", emulator.endpoint_url, "--region", "us-east-1", "release", deployed.stack_name,
             "--image", NEW_IMAGE, "--interval", "0.05", "--wait-start", "30", "--json"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["release"]["side"] == "green"
        assert out["deployment"]["status"] == "SUCCEEDED"
        assert out["deployment"]["record"]["ecsDeployment"] == out["release"]["ecsDeployment"]
        assert DEPLOYMENT_ID.match(out["release"]["ecsDeployment"])
        assert weights(aws, world) == {"blue": 0, "green": 100}
        after = service(aws, world)
        assert after["taskDefinition"] == out["release"]["taskDefinition"] != before
        assert list(emulator.ecs.errors) == []
    finally:
        emulator.stop()
        cfn_patches.reset()
        for key, value in saved.items():
            if value is None:
                patches.INVOKE_ENVIRONMENT.pop(key, None)
            else:
                patches.INVOKE_ENVIRONMENT[key] = value
    assert ecs_sim.ACTIVE is None
    assert patches.SIM_TIME.start is None


def test_a_stopped_task_is_replaced_and_a_reset_world_starts_over(
    aws: dict[str, Any], world: Surroundings, sim_factory: Any
) -> None:
    """StopTask on a service task: it drains and stops (UserInitiated), and the scheduler starts
    a replacement of the same deployment. Then moto's reset (what /moto-api/reset does): the
    simulation forgets the old world and simulates the new one."""
    from moto.core.base_backend import BackendDict

    sim = sim_factory(seed=8)
    deployment = service(aws, world)["deployments"][0]["id"]
    victim = tasks(aws, world)[0]["taskArn"]
    aws["ecs"].stop_task(cluster=world.cluster, task=victim, reason="on-call: restart")
    sim.settle()
    (stopped,) = tasks(aws, world, desiredStatus="STOPPED")
    assert (stopped["taskArn"], stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]) == (
        victim,
        "STOPPED",
        "UserInitiated",
        "on-call: restart",
    )
    running = tasks(aws, world)
    assert len(running) == 2
    assert {t["startedBy"] for t in running} == {deployment}
    assert victim not in {t["taskArn"] for t in running}

    BackendDict.reset()
    fresh = build_surroundings(aws)  # created while the simulation runs: adopted as already running
    assert service(aws, fresh)["runningCount"] == 2
    release(aws, fresh)
    sim.settle()
    assert [d["rolloutState"] for d in service(aws, fresh)["deployments"]] == ["COMPLETED"]
    assert list(sim.errors) == []


def test_create_service_launches_its_first_deployment_through_the_lifecycle(
    aws: dict[str, Any], world: Surroundings, sim_factory: Any
) -> None:
    url = queue_rule(aws)
    sim = sim_factory(seed=9)
    created = aws["ecs"].create_service(
        cluster=world.cluster, serviceName="shop-worker", taskDefinition=world.task_definitions["blue"], desiredCount=1
    )["service"]
    (deployment,) = created["deployments"]
    assert DEPLOYMENT_ID.match(deployment["id"])
    assert (deployment["status"], deployment["rolloutState"], created["runningCount"]) == ("PRIMARY", "IN_PROGRESS", 0)
    took = sim.run_until(
        lambda: (
            aws["ecs"].describe_services(cluster=world.cluster, services=["shop-worker"])["services"][0]["deployments"][
                0
            ]["rolloutState"]
            == "COMPLETED"
        )
    )
    # No load balancer: a task counts as healthy 40 s after it is RUNNING.
    assert 40 <= took <= 40 + 1.2 * (10 + 20 + 5) + 1
    statuses = [e["detail"]["lastStatus"] for e in drain(aws, url) if e["detail"]["group"] == "service:shop-worker"]
    assert list(dict.fromkeys(statuses)) == ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"]
