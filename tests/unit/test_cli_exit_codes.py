"""The CLI keeps the README's promises (issue 12 §1), command by command: every command x
{success, rejected, bad usage, error, timeout} x {text, --json} ends with the exit code of
``errors.EXIT_CODES`` (the README's table), every error is one line on stderr, and with --json
stdout is always exactly one JSON document, errors and timeouts included.

The outcomes come from in-memory fakes of what each command reads (no AWS, no emulator): this
pins the CLI's contract; tests/component/test_cli.py shows the real paths reach those outcomes.
An outcome a command cannot have is a cell of the table that says "never" and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from botocore.exceptions import EndpointConnectionError
from typer.testing import CliRunner, Result
from weightshift.models import Weights
from weightshift_cli import main, ops, replay
from weightshift_cli.aws import AwsOptions
from weightshift_cli.errors import EXIT_CODES, NEVER, OUTCOMES, NoDeploymentRunning, WatchTimeout, exit_code_table

from tests.unit.helpers import make_config

README = Path(__file__).resolve().parents[2] / "README.md"
CONFIG = make_config(schedule="10,50,100")
TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-green"


@dataclass
class FakePorts:
    """What the commands read through Ports, in memory."""

    weights: Weights | None = field(default_factory=lambda: Weights(blue=100, green=0))
    records: list[dict[str, Any]] = field(default_factory=list)
    aws: Any = field(default_factory=lambda: SimpleNamespace(region="us-east-1", options=AwsOptions()))
    stack: Any = field(
        default_factory=lambda: SimpleNamespace(
            name="weightshift",
            config=CONFIG,
            state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:weightshift-canary",
            table_name="weightshift-deployments",
            route=f"{CONFIG.hosted_zone_id}#{CONFIG.record_name}",
            outputs={},
        )
    )

    def pair(self) -> Any:
        return SimpleNamespace(weights=self.weights, ttl_seconds=60) if self.weights else None

    @property
    def deployments(self) -> Any:
        return SimpleNamespace(list_route=lambda route: [SimpleNamespace(as_dict=lambda r=r: r) for r in self.records])


def record(status: str, **extra: Any) -> dict[str, Any]:
    plan = {"schedule": "10,50,100", "steps": [{}, {}, {}], "taskDefinitionArn": f"{TD}:8"}
    return {
        "deploymentId": "green-ecs-svc-1",
        "targetColor": "green",
        "status": status,
        "step": 2,
        "plan": json.dumps(plan),
        "ecsDeployment": "ecs-svc/1",
        **extra,
    }


RUNNING = record("IN_PROGRESS", currentWeights={"blue": 50, "green": 50})
PROMOTED = record("SUCCEEDED", step=3, currentWeights={"blue": 0, "green": 100})
ROLLED_BACK = record(
    "ROLLED_BACK", error="HealthGateFailed", reason="alarm in ALARM", restoredWeights={"blue": 100, "green": 0}
)
RELEASE = ops.Release(
    color="green",
    service="shop-green",
    weights=Weights(blue=100, green=0),
    container="web",
    image="shop:2",
    previous_image="shop:1",
    old_task_definition=f"{TD}:7",
    task_definition=f"{TD}:8",
    ecs_deployment="ecs-svc/1",
    deployment_id="green-ecs-svc-1",
)


# ------------------------------------------------------------------ scenarios
Setup = Callable[[pytest.MonkeyPatch], list[str]]


def _ports(mp: pytest.MonkeyPatch, ports: FakePorts | None = None) -> FakePorts:
    fake = ports or FakePorts()
    mp.setattr(main, "_ports", lambda ctx, stack: fake)
    return fake


def _unreachable(mp: pytest.MonkeyPatch) -> None:
    def down(ctx: Any, stack: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    mp.setattr(main, "_ports", down)


def _deployment_ends(mp: pytest.MonkeyPatch, final: dict[str, Any]) -> None:
    def follow(ports: Any, rec: Any, interval: Any, timeout: Any, on_record: Callable[[Any], None]) -> Any:
        on_record(final)
        return final

    mp.setattr(ops, "wait_for_deployment", lambda *a, **k: RUNNING)
    mp.setattr(ops, "follow", follow)


def _abort_ends(mp: pytest.MonkeyPatch, final: dict[str, Any], weights: Weights) -> None:
    _ports(mp, FakePorts(weights=weights))
    mp.setattr(ops, "active_deployment", lambda ports: RUNNING)
    mp.setattr(ops, "idle_after", lambda ports, rec: None)
    mp.setattr(ops, "abort", lambda *a, **k: ops.Abort(record=final, execution_arn="arn:exec", stopped=True))


def _timeout(*args: Any, **kwargs: Any) -> Any:
    raise WatchTimeout("deployment green-ecs-svc-1 is still IN_PROGRESS after 1s", {"deploymentId": "green-ecs-svc-1"})


class FakeReplay:
    outcomes: ClassVar[list[replay.Outcome]] = []

    def __init__(self, ports: Any, dry_run: bool = False, limit: int | None = None) -> None:
        self.events: list[replay.FailedEvent] = []

    def waiting(self) -> int:
        return len(self.outcomes)

    def run(self, on_event: Callable[[replay.FailedEvent], None]) -> list[replay.FailedEvent]:
        for i, outcome in enumerate(self.outcomes):
            failed = replay.FailedEvent(f"m{i}", "h", "lambda-destination", {}, "trigger", "RetriesExhausted", outcome)
            self.events.append(failed)
            on_event(failed)
        return self.events


def _replay(mp: pytest.MonkeyPatch, outcomes: list[replay.Outcome]) -> None:
    _ports(mp)
    mp.setattr(FakeReplay, "outcomes", outcomes)
    mp.setattr(replay, "Replay", FakeReplay)


def plan_success(mp: pytest.MonkeyPatch) -> list[str]:
    return ["plan", "--schedule", "5,25,50,100"]


def plan_usage(mp: pytest.MonkeyPatch) -> list[str]:
    return ["plan", "--schedule", "5,50,25"]  # the trigger would refuse it


def plan_error(mp: pytest.MonkeyPatch) -> list[str]:
    _unreachable(mp)
    return ["plan", "--stack", "weightshift"]


def status_success(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)
    mp.setattr(ops, "active_deployment", lambda ports: None)
    mp.setattr(ops, "last_finished", lambda ports: ROLLED_BACK)  # a failed last deployment is still a report
    mp.setattr(ops, "idle_after", lambda ports, rec: ops.idle_after_release(ports, RELEASE))
    return ["status"]


def dashboard_success(mp: pytest.MonkeyPatch) -> list[str]:
    fake = _ports(mp)
    fake.stack.outputs = {"DashboardUrl": "https://us-east-1.console.aws.amazon.com/cloudwatch/home#dashboards:name=x"}
    mp.setattr(ops, "stack_alarms", lambda ports: {"weightshift-rolled-back": "OK"})
    return ["dashboard"]


def dashboard_error(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)  # a stack without the output: deployed before the dashboard existed
    return ["dashboard"]


def history_success(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp, FakePorts(records=[PROMOTED, ROLLED_BACK]))
    return ["history"]


def watch_success(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)
    _deployment_ends(mp, PROMOTED)
    return ["watch", "--interval", "0.01"]


def watch_rejected(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)
    _deployment_ends(mp, ROLLED_BACK)
    return ["watch", "--interval", "0.01"]


def watch_error(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)

    def nothing(ports: Any, wait: float, *args: Any, **kwargs: Any) -> Any:
        raise NoDeploymentRunning("weightshift")

    mp.setattr(ops, "wait_for_deployment", nothing)
    return ["watch"]


def watch_timeout(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)
    mp.setattr(ops, "wait_for_deployment", lambda *a, **k: RUNNING)
    mp.setattr(ops, "follow", _timeout)
    return ["watch", "--timeout", "1"]


def abort_success(mp: pytest.MonkeyPatch) -> list[str]:
    _abort_ends(
        mp,
        record("ROLLED_BACK", error="Aborted", restoredWeights={"blue": 100, "green": 0}),
        Weights(blue=100, green=0),
    )
    return ["abort"]


def abort_rejected(mp: pytest.MonkeyPatch) -> list[str]:
    _abort_ends(mp, PROMOTED, Weights(blue=0, green=100))  # promoted before the stop took effect
    return ["abort"]


def abort_error(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)
    mp.setattr(ops, "active_deployment", lambda ports: None)
    return ["abort"]


def abort_timeout(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)
    mp.setattr(ops, "active_deployment", lambda ports: RUNNING)
    mp.setattr(ops, "abort", _timeout)
    return ["abort", "--timeout", "1"]


def release_success(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)
    mp.setattr(ops, "release", lambda *a: RELEASE)
    _deployment_ends(mp, PROMOTED)
    return ["release", "--image", "shop:2", "--interval", "0.01"]


def release_rejected(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)
    mp.setattr(ops, "release", lambda *a: RELEASE)
    _deployment_ends(mp, ROLLED_BACK)
    return ["release", "--image", "shop:bad", "--interval", "0.01"]


def release_usage(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)  # blue 100 / green 0: the real ops.release refuses --side blue before any ECS call
    return ["release", "--image", "shop:2", "--side", "blue"]


def release_error(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp, FakePorts(weights=Weights(blue=50, green=50)))  # no idle side: a canary running?
    return ["release", "--image", "shop:2"]


def release_timeout(mp: pytest.MonkeyPatch) -> list[str]:
    _ports(mp)
    mp.setattr(ops, "release", lambda *a: RELEASE)
    mp.setattr(ops, "wait_for_deployment", _timeout)
    return ["release", "--image", "shop:2", "--wait-start", "1"]


def replay_success(mp: pytest.MonkeyPatch) -> list[str]:
    _replay(mp, ["replayed", "replayed"])
    return ["replay"]


def replay_rejected(mp: pytest.MonkeyPatch) -> list[str]:
    _replay(mp, ["replayed", "failed"])
    return ["replay"]


def bad_option(command: str) -> Setup:
    return lambda mp: [command, "--no-such-option"]


def unreachable(command: str, *args: str) -> Setup:
    def setup(mp: pytest.MonkeyPatch) -> list[str]:
        _unreachable(mp)
        return [command, *args]

    return setup


SCENARIOS: dict[tuple[str, str], Setup] = {
    ("plan", "success"): plan_success,
    ("plan", "usage"): plan_usage,
    ("plan", "error"): plan_error,
    ("status", "success"): status_success,
    ("status", "usage"): bad_option("status"),
    ("status", "error"): unreachable("status"),
    ("dashboard", "success"): dashboard_success,
    ("dashboard", "usage"): bad_option("dashboard"),
    ("dashboard", "error"): dashboard_error,
    ("history", "success"): history_success,
    ("history", "usage"): bad_option("history"),
    ("history", "error"): unreachable("history"),
    ("watch", "success"): watch_success,
    ("watch", "rejected"): watch_rejected,
    ("watch", "usage"): bad_option("watch"),
    ("watch", "error"): watch_error,
    ("watch", "timeout"): watch_timeout,
    ("abort", "success"): abort_success,
    ("abort", "rejected"): abort_rejected,
    ("abort", "usage"): bad_option("abort"),
    ("abort", "error"): abort_error,
    ("abort", "timeout"): abort_timeout,
    ("release", "success"): release_success,
    ("release", "rejected"): release_rejected,
    ("release", "usage"): release_usage,
    ("release", "error"): release_error,
    ("release", "timeout"): release_timeout,
    ("replay", "success"): replay_success,
    ("replay", "rejected"): replay_rejected,
    ("replay", "usage"): bad_option("replay"),
    ("replay", "error"): unreachable("replay"),
}
CELLS = [(command, outcome) for command in EXIT_CODES for outcome in OUTCOMES]


def run(args: list[str], as_json: bool) -> Result:
    words = [*args, *(["--json"] if as_json else [])]
    return CliRunner().invoke(main.app, words, env={"COLUMNS": "200"}, prog_name="weightshift")


# ---------------------------------------------------------------------- the table
def test_the_table_covers_every_command() -> None:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in main.app.registered_commands}
    assert set(EXIT_CODES) == names
    for row in EXIT_CODES.values():
        assert row.code("success") == 0  # every command can succeed, and be called wrong
        assert row.code("usage") == 2


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(("command", "outcome"), CELLS, ids=[f"{c}-{o}" for c, o in CELLS])
def test_every_command_ends_with_the_tables_exit_code(
    monkeypatch: pytest.MonkeyPatch, command: str, outcome: str, as_json: bool
) -> None:
    code = EXIT_CODES[command].code(outcome)  # type: ignore[arg-type]
    if code is None:  # the table says this cannot happen, and why; so there is nothing to run
        assert EXIT_CODES[command].when(outcome).startswith(NEVER)  # type: ignore[arg-type]
        assert (command, outcome) not in SCENARIOS
        return
    result = run(SCENARIOS[command, outcome](monkeypatch), as_json)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.output
    failed = outcome in ("usage", "error", "timeout")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    if failed:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # one line, no panel
        assert len(errors) == 1
    elif outcome == "success":
        assert result.stderr == ""
    else:  # rejected: the outcome is in the output; `abort` also says on stderr that it came too late
        assert len(errors) <= 1, result.stderr
    if as_json:
        document = json.loads(result.stdout)  # exactly one document: nothing before or after it
        if failed:
            assert document["error"] == errors[0].removeprefix("error: ")
            assert document["exitCode"] == code
        elif isinstance(document, dict) and "exitCode" in document:
            assert document["exitCode"] == code
        if outcome == "rejected":
            assert document["exitCode"] == code  # a script reads the outcome from the document
    else:
        assert '"exitCode"' not in result.stdout  # no JSON without --json


def test_usage_errors_from_typer_are_one_line_with_a_json_object_too() -> None:
    for args in (["plan", "--bogus"], ["release"], ["watch", "--interval", "0"], ["history", "--limit", "x"]):
        result = run(args, as_json=False)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: ")
        assert f"(see `weightshift {args[0]} --help`)" in line, line
        assert "╭" not in result.output
        as_json = run(args, as_json=True)
        assert json.loads(as_json.stdout) == {"error": line.removeprefix("error: "), "exitCode": 2}


def test_a_json_error_keeps_what_a_script_needs() -> None:
    # A timeout names the deployment; a release that timed out says what it released.
    with pytest.MonkeyPatch.context() as mp:
        document = json.loads(run(release_timeout(mp), as_json=True).stdout)
    assert document["exitCode"] == 4
    assert document["deploymentId"] == "green-ecs-svc-1"
    assert document["release"]["taskDefinition"] == f"{TD}:8"


# ------------------------------------------------------------- what they print
def test_a_repeated_step_is_a_warning_on_stderr_and_in_the_json_and_still_exit_0() -> None:
    text = run(["plan", "--schedule", "5,5,100"], as_json=False)
    assert text.exit_code == 0, text.output
    (line,) = text.stderr.strip().splitlines()
    assert line.startswith("warning: step 2 repeats step 1's 5%")
    as_json = run(["plan", "--schedule", "5,5,100"], as_json=True)
    assert as_json.exit_code == 0
    assert as_json.stderr == ""
    assert any("step 2 repeats step 1's 5%" in w for w in json.loads(as_json.stdout)["warnings"])
    assert run(["plan", "--schedule", "5,25,100"], as_json=True).stderr == ""
    assert json.loads(run(["plan", "--schedule", "5,25,100"], as_json=True).stdout)["warnings"] == []


def test_status_says_what_traffic_does_now_and_what_the_last_deployment_did(monkeypatch: pytest.MonkeyPatch) -> None:
    args = status_success(monkeypatch)
    out = " ".join(run(args, as_json=False).stdout.split())
    assert "live now: blue 100 (100%)" in out
    assert (
        "last deployment: green, rolled back at step 2/3 (HealthGateFailed); weights restored to blue 100 / green 0"
        in out
    )
    assert "still runs shop-green:8" in out
    assert f"--task-definition {TD}:7" in out
    state = json.loads(run(args, as_json=True).stdout)
    assert state["idleService"]["previousTaskDefinition"] == f"{TD}:7"
    assert state["lastSummary"].startswith("last deployment: green, rolled back at step 2/3")


def test_a_failed_release_says_which_service_runs_what_and_the_exact_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    args = release_rejected(monkeypatch)
    out = " ".join(run(args, as_json=False).stdout.split())
    assert "green (shop-green) still runs shop-green:8" in out
    assert "weightshift release --stack weightshift --image IMAGE" in out
    assert (
        f"aws --region us-east-1 ecs update-service --cluster shop --service shop-green --task-definition {TD}:7" in out
    )
    document = json.loads(run(args, as_json=True).stdout)
    assert document["exitCode"] == 1
    assert document["idleService"]["taskDefinition"] == f"{TD}:8"
    assert len(document["idleService"]["advice"]) == 2


# ------------------------------------------------------------------- the README
def test_the_readme_has_the_exit_code_table() -> None:
    """The README shows ``errors.EXIT_CODES`` between ``<!-- exit-codes -->`` markers, row for row."""
    text = README.read_text()
    found = re.search(r"<!-- exit-codes -->\n(.*?)<!-- /exit-codes -->", text, re.S)
    assert found, "README.md has no <!-- exit-codes --> ... <!-- /exit-codes --> section"
    section = found.group(1)
    for row in exit_code_table():
        assert row in section, row
