"""Shared fixtures: dummy credentials, the emulator patches, moto with the engine on."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Weightshift",
        "POWERTOOLS_SERVICE_NAME": "weightshift",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from moto import mock_aws
from weightshift.adapters.aws import clear_clients
from weightshift_emulator import patches
from weightshift_emulator.world import Surroundings, build_surroundings, clients

EVENTS = Path(__file__).resolve().parents[1] / "events"
logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
logging.getLogger("moto").setLevel(logging.CRITICAL)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(autouse=True)
def _patched() -> Iterator[None]:
    patches.install()
    patches.reset()
    clear_clients()
    yield
    patches.reset()
    clear_clients()


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto in-process, Step Functions engine on, Lambda in-process."""
    with mock_aws(config=patches.ENGINE_CONFIG):
        yield clients()


@pytest.fixture
def cfn_patched() -> Iterator[None]:
    """The emulator's CloudFormation/EventBridge/status-event patches, with fresh delivery records."""
    from weightshift_emulator import cfn_patches

    cfn_patches.install()
    cfn_patches.reset()
    yield
    cfn_patches.reset()


@pytest.fixture
def world(aws: dict[str, Any]) -> Surroundings:
    return build_surroundings(aws)


def wait_for(sfn: Any, execution_arn: str, timeout: float = 60) -> dict[str, Any]:
    """Wait until an execution reaches a terminal status; return its description."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] != "RUNNING":
            return dict(desc)
        time.sleep(0.02)
    raise AssertionError(f"{execution_arn} still RUNNING after {timeout}s")
