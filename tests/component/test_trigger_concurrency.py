"""Behaviour 1 under real concurrency: threads call the real trigger handler against a
local moto server (one request per server thread, as Lambda's concurrent invocations
hit DynamoDB), and exactly one execution and one deployment record come out.
"""

from __future__ import annotations

import copy
import random
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import moto.core.config as moto_config
import pytest
import requests
from moto.server import ThreadedMotoServer
from weightshift.adapters.aws import clear_clients
from weightshift.handlers import trigger as trigger_handler
from weightshift_emulator import install as installer
from weightshift_emulator import patches
from weightshift_emulator.world import build_surroundings, clients, task_event

from tests.component.test_trigger_harness import FAST, SAMPLE_DEPLOYMENT, bakes_held
from tests.conftest import wait_for

HOST = "127.0.0.1"
TASKS = 10
DELIVERIES = 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server on 127.0.0.1 in this process (so the emulator patches apply to it)."""
    port = _free_port()
    monkeypatch.setenv("MOTO_PORT", str(port))  # the engine calls other services at this port
    saved_config = copy.deepcopy(moto_config.default_user_config)
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    endpoint = f"http://{HOST}:{port}"
    try:
        resp = requests.post(f"{endpoint}/moto-api/config", json=patches.ENGINE_CONFIG, timeout=10)
        resp.raise_for_status()
        yield endpoint
    finally:
        try:
            requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        finally:
            server.stop()
            moto_config.default_user_config.clear()
            moto_config.default_user_config.update(saved_config)
            clear_clients()


def test_concurrent_deliveries_of_one_deployment_start_exactly_one_execution(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = clients(moto_server)
    world = build_surroundings(c)
    installed = installer.install(c, world.parameters(**FAST))
    # Set the environment once for the whole test: patches.environment() takes a global
    # lock, which would serialise the very calls this test wants to overlap.
    for key, value in {**installed.env("TriggerFunction"), "AWS_ENDPOINT_URL": moto_server}.items():
        monkeypatch.setenv(key, value)
    clear_clients()
    sfn = c["stepfunctions"]

    events = []
    for n in range(TASKS):
        task = f"{n:02d}9e4e6a8c4d2b9f1e3a7b5c6d8e90"
        events += [task_event(world, "green", task, SAMPLE_DEPLOYMENT, version=3)] * (DELIVERIES - 1)
        events.append(task_event(world, "green", task, SAMPLE_DEPLOYMENT, version=2))
    random.Random(7).shuffle(events)
    go = threading.Event()
    name = installed.functions["TriggerFunction"]

    def deliver(event: dict[str, Any]) -> dict[str, Any]:
        go.wait(10)
        context = patches.LambdaContext(name, f"arn:aws:lambda:us-east-1:123456789012:function:{name}")
        return dict(trigger_handler.handler(copy.deepcopy(event), context))

    # The canary is held at its first bake while the burst arrives (it lasts minutes in AWS).
    with bakes_held(), ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(deliver, e) for e in events]
        go.set()
        outcomes = [f.result(timeout=60) for f in futures]  # any exception fails the test

    counts = Counter(o["decision"] for o in outcomes)
    assert counts["started"] == 1, counts
    # A loser that finds the record still CLAIMED finishes the start itself ("resumed"):
    # same name and same input, so Step Functions returns the same execution.
    assert set(counts) <= {"started", "resumed", "duplicate", "stale"}, counts
    arns = {o["execution_arn"] for o in outcomes if o.get("execution_arn")}
    executions = sfn.list_executions(stateMachineArn=installed.state_machine_arn)["executions"]
    assert len(executions) == 1, executions
    assert arns == {executions[0]["executionArn"]}
    items = c["dynamodb"].scan(TableName=installed.table_name, ConsistentRead=True)["Items"]
    records = [i for i in items if i["sk"]["S"].startswith("DEPLOYMENT#")]
    assert len(records) == 1, records
    assert records[0]["ecsDeployment"]["S"] == SAMPLE_DEPLOYMENT
    assert records[0]["executionName"]["S"] == executions[0]["name"]
    assert wait_for(sfn, executions[0]["executionArn"])["status"] == "SUCCEEDED"
