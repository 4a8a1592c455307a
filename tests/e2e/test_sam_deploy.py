"""End to end through the real SAM CLI: ``sam deploy --config-env local`` against the emulator server.

The emulator runs in this process (the Lambda handlers, the clock and the health-check patch live
here); ``sam deploy`` is a subprocess pointed at it with ``AWS_ENDPOINT_URL`` and dummy
credentials, and does what it does against AWS: zips the CodeUri, uploads it and the template to
the artifact bucket, creates a change set from the template URL (the emulator's CloudFormation
runs the SAM transform, ``cfn_transform.py``), waits for it, prints it, executes it, streams the
stack events and prints the outputs. The surroundings are built with ``LOCAL_SEED``, so
samconfig.toml's ``[local]`` parameters are theirs, and the deploy-time ConfigurationCheck passes
against them.

Why ``template.yaml`` and not ``sam build``'s output: ``sam build`` runs the functions' Makefile,
which ``pip install``s the arm64/Python 3.13 wheels (the network; 15 s cold, 8 s warm) and makes
45 MB per function that ``sam deploy`` then zips eight times (25 s instead of 10 s). The
emulator never runs the uploaded code anyway (the handlers run in-process from the checkout,
``patches.py``), so what the built artifact would add here is the build itself, which
``make deploy-local`` runs. The template and its CodeUri are copied without ``__pycache__``:
``sam deploy`` zips the directory as it is and names the object by its checksum, and the
bytecode the in-process handlers write into the checkout would make the redeploy look changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from weightshift_emulator import stack
from weightshift_emulator.deploy_local import refusal
from weightshift_emulator.server import Emulator, start_emulator
from weightshift_emulator.world import LOCAL_SEED, ROOT, build_surroundings, weights

from tests.e2e.test_deployed_template import FUNCTIONS, green_release, put_events

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("cfn_patched")]

SAM = Path(sys.executable).with_name("sam")
LOCAL = tomllib.loads((ROOT / "samconfig.toml").read_text())["local"]
STACK = LOCAL["global"]["parameters"]["stack_name"]


def _workdir(tmp_path: Path) -> Path:
    """The template, its CodeUri and DefinitionUri, and samconfig.toml, without caches."""
    for name in ("template.yaml", "samconfig.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for directory in ("functions", "statemachine"):
        shutil.copytree(ROOT / directory, tmp_path / directory, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return tmp_path


def sam_deploy(emulator: Emulator, workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The real ``sam deploy --config-env local``, talking only to the emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ENDPOINT_URL": emulator.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": emulator.region,
            "SAM_CLI_TELEMETRY": "0",
        }
    )
    command = [
        str(SAM),
        "deploy",
        "--config-env",
        "local",
        "--template-file",
        "template.yaml",
        "--no-progressbar",
        *extra,
    ]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=180, check=False)


def test_the_local_config_env_fits_the_seeded_surroundings(aws: dict[str, Any]) -> None:
    """samconfig.toml's [local] parameters are the ids build_surroundings(seed=LOCAL_SEED) makes."""
    world = build_surroundings(aws, seed=LOCAL_SEED)
    deploy = LOCAL["deploy"]["parameters"]
    overrides = dict(str(item).split("=", 1) for item in deploy["parameter_overrides"])
    # ReadinessTimeoutSeconds: room for ECS to drain the old tasks (300 s) in the emulator's rolling deployments.
    # HealthPollSeconds: the template's default (the tests' world polls every 15 s).
    expected = world.parameters(ReadinessTimeoutSeconds="600", HealthPollSeconds="300")
    assert overrides == expected, "re-run build_surroundings(seed=LOCAL_SEED) and update samconfig.toml"
    assert (deploy["resolve_s3"], deploy["confirm_changeset"], deploy["fail_on_empty_changeset"]) == (
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("environ", "refused"),
    [
        ({}, "AWS_ENDPOINT_URL is not set"),
        ({"AWS_ENDPOINT_URL": "https://cloudformation.us-east-1.amazonaws.com"}, "deploys only into a local emulator"),
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_S3": "https://s3.amazonaws.com"},
            "AWS_ENDPOINT_URL_S3=https://s3.amazonaws.com would send those calls outside the emulator",
        ),
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
            "would send every call to AWS",
        ),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_S3": "http://localhost:5000"}, None),
    ],
)
def test_make_deploy_local_refuses_any_endpoint_but_a_local_emulator(
    environ: dict[str, str], refused: str | None
) -> None:
    why = refusal(environ)
    assert (why is None) if refused is None else (why is not None and refused in why), why


def test_sam_deploy_creates_the_stack_a_redeploy_is_a_no_op_and_a_release_promotes(tmp_path: Path) -> None:
    assert SAM.exists(), f"the SAM CLI is a dev dependency ({SAM}): pip install -e '.[tools,dev]'"
    emulator = start_emulator()
    try:
        aws = emulator.clients()
        world = build_surroundings(aws, seed=LOCAL_SEED)
        aws["s3"].create_bucket(Bucket=LOCAL["deploy"]["parameters"]["s3_bucket"])
        workdir = _workdir(tmp_path)

        started = time.monotonic()
        first = sam_deploy(emulator, workdir)
        created_in = time.monotonic() - started
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"Successfully created/updated stack - {STACK} in us-east-1" in first.stdout
        assert "+ Add                    TriggerFunction" in first.stdout  # the change set, as SAM prints it
        assert "CREATE_COMPLETE          AWS::CloudFormation::S" in first.stdout  # the streamed events

        deployed = stack.describe(aws, STACK)
        assert deployed.status == "CREATE_COMPLETE"
        assert set(deployed.functions) == FUNCTIONS
        assert set(deployed.rules) == {
            "TriggerFunctionEcsTaskRunning",
            "AbortFunctionExecutionEnded",
            "AlarmFunctionAlarmWentOff",
            "AlarmFunctionStackAlarmWentOff",
        }
        assert {"StateMachineArn", "DeploymentsTableName", "TriggerFunctionName", "RecordName"} <= set(deployed.outputs)
        machine = aws["stepfunctions"].describe_state_machine(stateMachineArn=deployed.state_machine_arn)
        assert "${" not in machine["definition"]
        variables = aws["lambda"].get_function_configuration(FunctionName=deployed.trigger_function)["Environment"][
            "Variables"
        ]
        assert variables["HOSTED_ZONE_ID"] == world.zone_id
        assert variables["STEP_INTERVAL_SECONDS"] == "60"
        original = aws["cloudformation"].get_template(StackName=STACK, TemplateStage="Original")["TemplateBody"]
        assert "Transform: AWS::Serverless-2016-10-31" in original

        started = time.monotonic()
        again = sam_deploy(emulator, workdir)
        no_op_in = time.monotonic() - started
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"No changes to deploy. Stack {STACK} is up to date" in again.stdout
        assert aws["cloudformation"].describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        print(f"sam deploy: create {created_in:.1f} s, no-op redeploy {no_op_in:.1f} s")

        put_events(aws, green_release(world, "ecs-svc/5555555555555555555", tasks=2))
        sfn = aws["stepfunctions"]
        (execution,) = sfn.list_executions(stateMachineArn=deployed.state_machine_arn)["executions"]
        deadline = time.monotonic() + 30
        while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
            assert time.monotonic() < deadline, "still RUNNING"
            time.sleep(0.05)
        assert sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "SUCCEEDED"
        assert weights(aws, world) == {"blue": 0, "green": 100}
    finally:
        emulator.stop()


def test_sam_deploy_without_the_iam_capability_fails_as_on_aws(tmp_path: Path) -> None:
    """The transform's roles need CAPABILITY_IAM: the change set fails, SAM's waiter says why."""
    emulator = start_emulator()
    try:
        aws = emulator.clients()
        aws["s3"].create_bucket(Bucket=LOCAL["deploy"]["parameters"]["s3_bucket"])
        failed = sam_deploy(emulator, _workdir(tmp_path), "--capabilities", "CAPABILITY_AUTO_EXPAND")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "Status: FAILED. Reason: Requires capabilities : [CAPABILITY_IAM]" in failed.stderr, failed.stderr
        assert aws["cloudformation"].describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == (
            "REVIEW_IN_PROGRESS"
        )
    finally:
        emulator.stop()
