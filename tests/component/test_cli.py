"""The ``weightshift`` CLI against the emulator: the real template deployed into a moto server on
127.0.0.1, driven by real-format ECS events, read and operated only through the CLI.

One emulator and one stack for the module (a deploy costs a few seconds). Each test puts the
record pair in the state it needs and leaves no deployment running. Waits are scaled down
(``patches.CLOCK.scale``) just enough that a canary stays running while the CLI follows it.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner, Result
from weightshift.adapters.deployments import TERMINAL, Deployments
from weightshift.models import route_key
from weightshift.records import Change
from weightshift_cli import ops
from weightshift_cli.aws import Aws, AwsOptions, Ports, load_stack
from weightshift_cli.errors import CliError
from weightshift_cli.main import app
from weightshift_emulator import cfn_patches, lambda_async, patches, stack
from weightshift_emulator.server import Emulator
from weightshift_emulator.world import Surroundings, set_weighted_pair, task_event, weights

from tests.served import alarm_at_step_2, served_stack

# 3 steps of 2 polls each (a 60 s bake at 30 s polls): short canaries, real shape.
PARAMETERS = {"Schedule": "10,50,100", "StepIntervalSeconds": "60", "HealthPollSeconds": "30"}
# Enough real time per 30 s poll that the CLI sees a canary running; a canary takes ~2-3 s.
SCALE = 0.01
# The deployed Lambdas run in this process: keep their logs and metrics out of the CLI's output.
QUIET_LAMBDAS = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
_IDS = itertools.count(int(time.time()) % 100_000 * 1000)


@dataclass
class Env:
    emulator: Emulator
    aws: dict[str, Any]
    world: Surroundings
    stack: stack.Deployed

    @property
    def table(self) -> Deployments:
        return Deployments(self.aws["dynamodb"], self.stack.table_name)

    @property
    def route(self) -> str:
        return route_key(self.world.zone_id, self.world.record_name)

    def records(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.table.list_route(self.route)]

    def cli(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        """Run the CLI against the emulator (wide output, so lines are not wrapped)."""
        endpoint = ["--endpoint-url", self.emulator.endpoint_url, "--region", "us-east-1"]
        return CliRunner().invoke(app, [*endpoint, *args], env={"COLUMNS": "200", **(env or {})})


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with served_stack(PARAMETERS, QUIET_LAMBDAS) as (emulator, aws, world, deployed):
        yield Env(emulator, aws, world, deployed)


@pytest.fixture(autouse=True)
def _settled(request: pytest.FixtureRequest) -> Iterator[None]:
    cfn_patches.reset()
    yield
    if "env" in request.fixturenames:
        settle(request.getfixturevalue("env"))
    cfn_patches.reset()


# ------------------------------------------------------------------ helpers
def settle(env: Env, timeout: float = 20) -> None:
    """Wait until no deployment is running (every record finished, the route lock free)."""
    patches.CLOCK.scale = 0
    assert cfn_patches.wait_until(
        lambda: all(r.get("status") in TERMINAL for r in env.records()) and env.table.lock_holder(env.route) is None,
        timeout=timeout,
    ), [(r["deploymentId"], r.get("status")) for r in env.records()]


def set_weights(env: Env, blue: int, green: int) -> None:
    """The weighted pair as the user has it: alias A records to the two ALBs."""
    set_weighted_pair(env.aws, env.world, blue=blue, green=green)


def new_deployment() -> str:
    return f"ecs-svc/{next(_IDS)}"


def tasks_running(env: Env, color: str, deployment: str, task_definition: str | None = None, tasks: int = 2) -> None:
    """What ECS emits when a deployment's tasks start: RUNNING task events (each twice) on the default bus."""
    events = [
        task_event(env.world, color, f"{deployment[-6:]}t{i}", deployment, task_definition=task_definition)
        for i in range(tasks)
    ]
    entries = [
        {"Source": e["source"], "DetailType": e["detail-type"], "Detail": json.dumps(e["detail"]), "Resources": []}
        for e in events + events
    ]
    assert env.aws["events"].put_events(Entries=entries)["FailedEntryCount"] == 0


class Later:
    """Do ``action`` on another thread after ``delay`` seconds (while the CLI blocks this one)."""

    def __init__(self, delay: float, action: Callable[[], None]) -> None:
        self.errors: list[BaseException] = []

        def run() -> None:
            time.sleep(delay)
            try:
                action()
            except BaseException as exc:  # noqa: BLE001 - reported by join()
                self.errors.append(exc)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert not self.errors, self.errors


def one_line_error(result: Result, code: int, *needles: str) -> str:
    """The failure contract: exit code, exactly one line on stderr, no traceback anywhere."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------- plan
def test_plan_offline_prints_steps_offsets_duration_and_cost() -> None:
    # No emulator, no credentials, an endpoint nobody listens on: plan makes no AWS call.
    no_aws = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    runner = CliRunner()
    result = runner.invoke(app, ["plan", "--schedule", "5,25,50,100", "--json"], env=no_aws)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert [s["targetPercent"] for s in plan["steps"]] == [5, 25, 50, 100]
    assert [s["weights"] for s in plan["steps"]][:2] == [{"blue": 95, "green": 5}, {"blue": 75, "green": 25}]
    assert [s["startsAtSeconds"] for s in plan["steps"]] == [0, 60, 120, 180]
    assert plan["minDurationSeconds"] == 240
    assert plan["transitions"] == 35  # the README's figure for this schedule at the default 60 s poll
    assert plan["usd"] == pytest.approx(0.000875)
    assert plan["historyEvents"] < plan["historyBudget"] < plan["historyLimit"]
    assert plan["warnings"] == []
    assert plan["problem"] is None

    human = runner.invoke(app, ["plan", "--schedule", "5,25,50,100"], env={**no_aws, "COLUMNS": "200"})
    assert human.exit_code == 0, human.output
    for text in ("blue 95 / green 5", "+3m 00s", "4m 00s (240s)", "35 expected", "$0.0009", "1 x 60s"):
        assert text in human.stdout, text


def test_plan_warns_about_steps_shorter_than_the_ttl_and_refuses_bad_plans() -> None:
    runner = CliRunner()
    short = runner.invoke(app, ["plan", "--schedule", "50,100", "--step-interval", "20", "--json"])
    assert short.exit_code == 0, short.output
    plan = json.loads(short.stdout)
    assert len(plan["warnings"]) == 2
    assert "less than the 60s TTL" in plan["warnings"][0]
    assert [s["effectiveBakeSeconds"] for s in plan["steps"]] == [60, 60]

    # A plan the trigger or preflight would refuse is bad input: exit 2, as for a bad option.
    one_line_error(runner.invoke(app, ["plan", "--schedule", "5,50,25"]), 2, "must not decrease")
    # Minute polls over a 1%-step linear schedule could pass the execution history limit.
    one_line_error(
        runner.invoke(app, ["plan", "--schedule", "Linear1PercentEvery1Minute", "--poll", "5"]), 2, "history events"
    )
    # A 300 s TTL lengthens every bake, and the timeout with it (as preflight does).
    slow = runner.invoke(app, ["plan", "--schedule", "5,25,50,100", "--ttl", "300", "--json"])
    assert slow.exit_code == 0, slow.output
    slow_plan = json.loads(slow.stdout)
    assert [s["effectiveBakeSeconds"] for s in slow_plan["steps"]] == [300, 300, 300, 300]
    assert slow_plan["minDurationSeconds"] == 1200


def test_plan_from_the_deployed_stack(env: Env) -> None:
    set_weights(env, blue=100, green=0)
    result = env.cli("plan", "--stack", "weightshift", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["stack"] == "weightshift"
    assert plan["schedule"] == "10,50,100"
    assert plan["pollSeconds"] == 30
    assert plan["target"] == "green"  # the idle side
    assert plan["ttlSeconds"] == 60  # an alias record to an ALB
    assert [s["polls"] for s in plan["steps"]] == [2, 2, 2]
    # Options override the stack's parameters ("what if I changed the schedule?").
    what_if = json.loads(env.cli("plan", "--stack", "weightshift", "--schedule", "AllAtOnce", "--json").stdout)
    assert [s["targetPercent"] for s in what_if["steps"]] == [100]
    one_line_error(env.cli("plan", "--stack", "nope"), 3, "no such stack: nope")


# ------------------------------------------------------------- watch, status
def test_watch_follows_a_good_canary_and_exits_0_then_status_and_history_show_it(env: Env) -> None:
    set_weights(env, blue=100, green=0)
    patches.CLOCK.scale = SCALE
    deployment = new_deployment()
    sender = Later(0.3, lambda: tasks_running(env, "green", deployment))
    result = env.cli("watch", "--wait-start", "15", "--interval", "0.05", "--timeout", "30")
    sender.join()
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "step 1/3: blue 90 / green 10" in out
    assert "step 3/3: blue 0 / green 100" in out
    assert "100% to target" in out
    assert "✔ green promoted" in out
    assert weights(env.aws, env.world) == {"blue": 0, "green": 100}

    status = env.cli("status", "--json")
    assert status.exit_code == 0, status.output
    state = json.loads(status.stdout)
    assert state["weights"] == {"blue": 0, "green": 100}
    assert state["running"] is None
    assert state["last"]["status"] == "SUCCEEDED"
    assert state["last"]["ecsDeployment"] == deployment
    assert state["last"]["plan"]["schedule"] == "10,50,100"  # the plan as an object, not a string

    human = env.cli("status")
    assert human.exit_code == 0
    assert "No deployment running." in human.stdout
    assert "SUCCEEDED" in human.stdout

    history = env.cli("history", "--json")
    assert history.exit_code == 0, history.output
    newest = json.loads(history.stdout)[0]
    assert (newest["ecsDeployment"], newest["status"], newest["step"]) == (deployment, "SUCCEEDED", 3)


def test_watch_exits_1_when_the_canary_fails_back_and_history_shows_the_reason(env: Env) -> None:
    set_weights(env, blue=100, green=0)
    patches.CLOCK.scale = SCALE
    alarm = env.world.green_alarm  # "shop-green-5xx"
    patches.INVOKE_HOOKS.append(alarm_at_step_2(env, alarm))
    deployment = new_deployment()
    try:
        sender = Later(0.3, lambda: tasks_running(env, "green", deployment))
        result = env.cli("watch", "--wait-start", "15", "--interval", "0.05", "--timeout", "30", "--json")
        sender.join()
    finally:
        env.aws["cloudwatch"].set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test over")
    assert result.exit_code == 1, result.output
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "ROLLED_BACK"
    assert outcome["promoted"] is False
    assert outcome["exitCode"] == 1
    assert alarm in outcome["record"]["reason"]
    assert outcome["record"]["restoredWeights"] == {"blue": 100, "green": 0}
    assert weights(env.aws, env.world) == {"blue": 100, "green": 0}

    history = env.cli("history", "--limit", "1")
    assert history.exit_code == 0
    assert "ROLLED_BACK" in history.stdout
    assert f"alarm {alarm} is in ALARM" in history.stdout
    status = json.loads(env.cli("status", "--json").stdout)
    assert status["last"]["status"] == "ROLLED_BACK"
    assert alarm in status["last"]["reason"]


def test_watch_without_a_running_deployment(env: Env) -> None:
    one_line_error(env.cli("watch"), 3, "no deployment running")
    waited = env.cli("watch", "--wait-start", "0.3", "--interval", "0.05")
    one_line_error(waited, 4, "no deployment running", "waited 0.3s")


# ---------------------------------------------------------------------- abort
def test_abort_stops_the_canary_and_reports_the_restored_weights(env: Env) -> None:
    set_weights(env, blue=80, green=20)  # not 100/0: the fail-back restores what was there
    patches.CLOCK.scale = 0.03
    deployment = new_deployment()
    tasks_running(env, "green", deployment)
    assert cfn_patches.wait_until(
        lambda: any(r.get("ecsDeployment") == deployment and r.get("step") == 2 for r in env.records()), timeout=20
    )
    running = json.loads(env.cli("status", "--json").stdout)["running"]
    assert running["ecsDeployment"] == deployment
    assert running["status"] == "IN_PROGRESS"

    result = env.cli("abort", "--interval", "0.05", "--timeout", "20")
    assert result.exit_code == 0, result.output  # the abort did what was asked: the traffic is back
    assert "Traffic restored to blue 80 / green 20" in result.stdout
    assert weights(env.aws, env.world) == {"blue": 80, "green": 20}
    (record,) = [r for r in env.records() if r.get("ecsDeployment") == deployment]
    assert record["status"] == "ROLLED_BACK"
    assert record["error"] == "Aborted"
    assert record["restoredWeights"] == {"blue": 80, "green": 20}
    execution = env.aws["stepfunctions"].describe_execution(executionArn=record["executionArn"])
    assert execution["status"] == "ABORTED"

    # `status` says what traffic does now and what the last deployment did, not the last step's weights.
    status = env.cli("status")
    assert status.exit_code == 0, status.output
    assert "live now: blue 80 (80%)" in status.stdout
    assert "last deployment: green, rolled back at step 2/3 (Aborted); weights restored to blue 80 / green 20" in (
        status.stdout
    )
    assert "to target)" not in status.stdout  # a finished deployment's weights are history

    one_line_error(env.cli("abort"), 3, "no deployment running")


def test_abort_that_never_sees_the_fail_back_times_out_clearly(env: Env) -> None:
    set_weights(env, blue=100, green=0)
    patches.CLOCK.scale = 0.03
    abort_function = env.stack.functions["AbortFunction"]

    def abort_lambda_down(function: str, event: Any) -> None:
        if function == abort_function:
            raise patches.LambdaServiceFault()

    patches.INVOKE_HOOKS.append(abort_lambda_down)
    deployment = new_deployment()
    tasks_running(env, "green", deployment)
    assert cfn_patches.wait_until(
        lambda: any(r.get("ecsDeployment") == deployment and r.get("step") == 1 for r in env.records()), timeout=20
    )
    result = env.cli("abort", "--interval", "0.05", "--timeout", "1")
    one_line_error(result, 4, "did not fail back within 1s")
    (record,) = [r for r in env.records() if r.get("ecsDeployment") == deployment]
    assert record["status"] == "IN_PROGRESS"  # nothing restored it: the abort rule's Lambda is down

    # `watch` does not follow such a record forever: once its execution has ended, it gives the
    # abort rule a grace period (a minute; here on a fake clock), then says what is wrong.
    aws = Aws(AwsOptions(endpoint_url=env.emulator.endpoint_url, region="us-east-1"))
    ports = Ports(aws, load_stack(aws, "weightshift"))
    ticks = itertools.count()
    with pytest.raises(CliError, match="execution is ABORTED but the record is still IN_PROGRESS"):
        ops.follow(ports, record, 0, None, lambda r: None, sleep=lambda s: None, clock=lambda: 30.0 * next(ticks))

    # Lambda retries the abort event twice (1 and 2 minutes later) and, with the function still
    # down, keeps it in the dead-letter queue. Let that finish before cleaning up, or a retry that
    # finds the function back would race the cleanup.
    patches.CLOCK.scale = 0

    def abort_events() -> list[lambda_async.AsyncInvocation]:
        return [i for i in lambda_async.INVOCATIONS if i.function == abort_function]

    assert cfn_patches.wait_until(lambda: [i.finished for i in abort_events()] == [True], timeout=20)
    assert [(len(i.attempts), i.condition) for i in abort_events()] == [(3, "RetriesExhausted")]

    # Clean up as an operator would: put the weights back and free the route.
    patches.INVOKE_HOOKS.clear()
    env.table.apply(env.route, record["deploymentId"], Change({"status": "ROLLED_BACK", "reason": "test cleanup"}))
    env.table.release(env.route, record["executionArn"])
    set_weights(env, blue=100, green=0)


# -------------------------------------------------------------------- release
def test_release_deploys_the_idle_side_and_watches_the_canary(env: Env) -> None:
    set_weights(env, blue=0, green=100)  # blue is idle
    patches.CLOCK.scale = SCALE
    ecs, world = env.aws["ecs"], env.world
    before = ecs.describe_services(cluster=world.cluster, services=[world.blue_service])["services"][0]

    def ecs_starts_the_new_tasks() -> None:
        # moto's UpdateService emits no task events; ECS would. Send them once the service has changed.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            svc = ecs.describe_services(cluster=world.cluster, services=[world.blue_service])["services"][0]
            if svc["taskDefinition"] != before["taskDefinition"]:
                tasks_running(env, "blue", svc["deployments"][0]["id"], task_definition=svc["taskDefinition"])
                return
            time.sleep(0.02)
        raise AssertionError("the service was never updated")

    sender = Later(0, ecs_starts_the_new_tasks)
    result = env.cli(
        "release", "--stack", "weightshift", "--image", "registry.example/shop:2.0", "--interval", "0.05",
        "--wait-start", "20", "--json",
    )  # fmt: skip
    sender.join()
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    release, deployment = out["release"], out["deployment"]
    assert release["side"] == "blue"
    assert release["service"] == world.blue_service
    assert release["previousImage"] == "public.ecr.aws/nginx/nginx:1.27-blue"
    assert deployment["status"] == "SUCCEEDED"
    assert deployment["deploymentId"] == release["deploymentId"]
    assert deployment["record"]["ecsDeployment"] == release["ecsDeployment"]

    after = ecs.describe_services(cluster=world.cluster, services=[world.blue_service])["services"][0]
    assert after["taskDefinition"] == release["taskDefinition"] != before["taskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=release["taskDefinition"])["taskDefinition"]
    assert definition["revision"] > int(before["taskDefinition"].rsplit(":", 1)[1])
    assert [c["image"] for c in definition["containerDefinitions"]] == ["registry.example/shop:2.0"]
    assert weights(env.aws, env.world) == {"blue": 100, "green": 0}


def test_a_failed_release_says_the_idle_service_keeps_its_task_definition_and_what_to_do(env: Env) -> None:
    set_weights(env, blue=100, green=0)  # green is idle
    patches.CLOCK.scale = SCALE
    ecs, world = env.aws["ecs"], env.world
    before = ecs.describe_services(cluster=world.cluster, services=[world.green_service])["services"][0]
    patches.INVOKE_HOOKS.append(alarm_at_step_2(env, world.green_alarm))

    def ecs_starts_the_new_tasks() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            svc = ecs.describe_services(cluster=world.cluster, services=[world.green_service])["services"][0]
            if svc["taskDefinition"] != before["taskDefinition"]:
                tasks_running(env, "green", svc["deployments"][0]["id"], task_definition=svc["taskDefinition"])
                return
            time.sleep(0.02)
        raise AssertionError("the service was never updated")

    try:
        sender = Later(0, ecs_starts_the_new_tasks)
        result = env.cli("release", "--image", "registry.example/shop:bad", "--interval", "0.05", "--wait-start", "20")
        sender.join()
    finally:
        env.aws["cloudwatch"].set_alarm_state(AlarmName=world.green_alarm, StateValue="OK", StateReason="test over")
    assert result.exit_code == 1, result.output
    now = ecs.describe_services(cluster=world.cluster, services=[world.green_service])["services"][0]
    bad, old = now["taskDefinition"], before["taskDefinition"]
    assert bad != old  # Weightshift failed back the traffic, not ECS
    out = " ".join(result.stdout.split())
    assert f"green ({world.green_service}) still runs {bad.rsplit('/', 1)[-1]}" in out
    assert f"--endpoint-url {env.emulator.endpoint_url} release --stack weightshift --image IMAGE" in out, out
    assert (
        f"ecs update-service --cluster {world.cluster} --service {world.green_service} --task-definition {old}" in out
    )
    assert "starts a canary toward it" in out

    # `status` says the same, until the side is released again.
    state = json.loads(env.cli("status", "--json").stdout)
    assert state["lastSummary"].startswith("last deployment: green, rolled back at step 2/3")
    idle = state["idleService"]
    assert (idle["side"], idle["service"], idle["taskDefinition"]) == ("green", world.green_service, bad)
    assert idle["previousTaskDefinition"] == old
    assert any(old in step["command"] for step in idle["advice"])
    human = env.cli("status")
    assert f"still runs {bad.rsplit('/', 1)[-1]}" in human.stdout
    patches.INVOKE_HOOKS.clear()


def test_release_refuses_when_no_side_is_idle_or_the_container_is_unknown(env: Env) -> None:
    ecs, world = env.aws["ecs"], env.world
    revisions = ecs.list_task_definitions(familyPrefix=f"{world.cluster}-green")["taskDefinitionArns"]
    set_weights(env, blue=50, green=50)
    # No idle side is the stack's state (a canary running?): an error, 3. A wrong --side or
    # --container is the command line's: bad usage, 2.
    one_line_error(env.cli("release", "--image", "x:1"), 3, "no idle side", "blue=50 green=50")
    set_weights(env, blue=100, green=0)
    one_line_error(env.cli("release", "-s", "weightshift", "--image", "x:1", "--side", "blue"), 2, "blue is not idle")
    one_line_error(env.cli("release", "--image", "x:1", "--container", "db"), 2, "no container 'db'")
    assert ecs.list_task_definitions(familyPrefix=f"{world.cluster}-green")["taskDefinitionArns"] == revisions


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "command",
    [
        ["status", "--stack", "nope"],
        ["history", "-s", "nope"],
        ["watch", "--stack", "nope"],
        ["abort", "--stack", "nope"],
        ["release", "--stack", "nope", "--image", "x:1"],
        ["replay", "--stack", "nope"],
        ["plan", "--stack", "nope"],
    ],
)
def test_no_such_stack(env: Env, command: list[str]) -> None:
    one_line_error(env.cli(*command), 3, "no such stack: nope")


def test_every_command_names_its_stack_the_same_way(env: Env) -> None:
    # --stack/-s, else $WEIGHTSHIFT_STACK, else "weightshift"; the old positional STACK still works.
    for command in ("status", "history", "watch", "abort", "replay"):
        one_line_error(env.cli(command, env={"WEIGHTSHIFT_STACK": "nope"}), 3, "no such stack: nope")
        one_line_error(env.cli(command, "nope"), 3, "no such stack: nope")  # the old spelling
        one_line_error(env.cli(command, "--stack", "a", "b"), 2, "two stacks")
    one_line_error(env.cli("release", "nope", "--image", "x:1"), 3, "no such stack: nope")
    one_line_error(env.cli("plan", env={"WEIGHTSHIFT_STACK": "nope"}), 3, "no such stack: nope")
    assert env.cli("status", "--stack", "weightshift", env={"WEIGHTSHIFT_STACK": "nope"}).exit_code == 0


def test_unreachable_endpoint() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["--endpoint-url", url, "status"], env={"AWS_MAX_ATTEMPTS": "1"})
    one_line_error(result, 3, "cannot reach", url)


def test_no_credentials_and_unknown_profile(env: Env) -> None:
    nothing = {
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_CONFIG_FILE": "/nonexistent/config",
        "BOTO_CONFIG": "/nonexistent/boto",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
        "AWS_WEB_IDENTITY_TOKEN_FILE": None,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    # Against AWS (no local endpoint), missing credentials are a one-line error...
    aws = CliRunner().invoke(app, ["--region", "us-east-1", "status"], env={**nothing, "AWS_ENDPOINT_URL": None})
    one_line_error(aws, 3, "no AWS credentials")
    one_line_error(env.cli("--profile", "nope", "history", env=nothing), 3, "profile 'nope' not found")
    # ...while the emulator on 127.0.0.1 needs none: dummy keys, as it checks no signature.
    assert env.cli("status", env=nothing).exit_code == 0
    only_the_variable = {**nothing, "AWS_ENDPOINT_URL": env.emulator.endpoint_url, "AWS_DEFAULT_REGION": None}
    local = CliRunner().invoke(app, ["status"], env={"COLUMNS": "200", **only_the_variable})
    assert local.exit_code == 0, local.output


def test_status_all_lists_every_weightshift_stack_of_the_region_and_nothing_else(env: Env) -> None:
    """Many pairs, one stack each: ``status --all`` finds them with one DescribeStacks, shows each
    one's live weights and deployments, and leaves out stacks that are not Weightshift's."""
    set_weighted_pair(env.aws, env.world, blue=100, green=0)
    env.aws["cloudformation"].create_stack(
        StackName="not-weightshift",
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    result = env.cli("status", "--all", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [s["stack"] for s in document["stacks"]] == [env.stack.stack_name]
    (row,) = document["stacks"]
    assert row["recordName"] == env.world.record_name
    assert row["weights"] == weights(env.aws, env.world) == {"blue": 100, "green": 0}
    text = env.cli("status", "--all")
    assert text.exit_code == 0, text.output
    assert "Weightshift stacks in us-east-1" in text.stdout
    assert env.stack.stack_name in text.stdout
    assert "not-weightshift" not in text.stdout


def test_dashboard_gives_the_stacks_dashboard_and_its_alarms(env: Env) -> None:
    result = env.cli("dashboard", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["dashboardUrl"] == env.stack.outputs["DashboardUrl"]
    assert document["dashboardUrl"].endswith(f"#dashboards:name={env.stack.stack_name}-weightshift")
    for suffix in ("rolled-back", "deployment-stuck", "trigger-ignoring-events", "green-5xx-vs-blue"):
        assert f"{env.stack.stack_name}-{suffix}" in document["alarms"], document["alarms"]
    text = env.cli("dashboard")
    assert text.exit_code == 0
    assert "dashboard: https://" in text.stdout
    assert f"{env.stack.stack_name}-rolled-back" in text.stdout
