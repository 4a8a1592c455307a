"""The ConfigurationCheck custom resource's requests, against moto (issue 9, sections 1 and 2).

``stack_check.on_request`` with the real adapters on moto, and the protocol
(``custom_resource.run``) answering a real HTTP listener on 127.0.0.1. The whole
deploy, through CloudFormation and a rollback, is in tests/e2e/test_configuration_check.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from weightshift import custom_resource, stack_check
from weightshift.adapters.cloudwatch import CloudWatch
from weightshift.adapters.ecs_elb import EcsElb
from weightshift.adapters.route53 import Route53
from weightshift.ownership import owner_record_name
from weightshift_emulator.world import Surroundings

FIRST = "arn:aws:cloudformation:us-east-1:123456789012:stack/shop-canary/11111111-1111-4111-8111-111111111111"
SECOND = "arn:aws:cloudformation:eu-west-1:123456789012:stack/shop-canary-copy/22222222-2222-4222-8222-222222222222"


class Stacks:
    """CloudFormation as the check sees it: each stack's status."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}

    def stack_status(self, stack_id: str) -> str:
        return self.status.get(stack_id, "UPDATE_IN_PROGRESS")


def request(kind: str, stack_id: str, props: dict[str, Any], old: dict[str, Any] | None = None) -> Any:
    event: dict[str, Any] = {
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:check",
        "ResponseURL": "http://127.0.0.1:9/unused",
        "StackId": stack_id,
        "RequestId": f"req-{time.monotonic_ns()}",
        "LogicalResourceId": "ConfigurationCheck",
        "ResourceType": "Custom::ConfigurationCheck",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:check", **props},
    }
    if kind != "Create":
        event["PhysicalResourceId"] = stack_check.physical_id(old or props)
    if kind == "Update":
        event["OldResourceProperties"] = old or props
    return custom_resource.parse_request(event)


@pytest.fixture
def check(aws: dict[str, Any]) -> tuple[stack_check.CheckPorts, Stacks]:
    stacks = Stacks()
    ports = stack_check.CheckPorts(
        route53=Route53(aws["route53"]),
        ecs_elb=EcsElb(aws["ecs"], aws["elbv2"]),
        cloudwatch=CloudWatch(aws["cloudwatch"]),
        cloudformation=stacks,
    )
    return ports, stacks


def dns(aws: dict[str, Any], world: Surroundings) -> list[dict[str, Any]]:
    return list(aws["route53"].list_resource_record_sets(HostedZoneId=world.zone_id)["ResourceRecordSets"])


def txt_owner(aws: dict[str, Any], world: Surroundings) -> list[str]:
    return [
        r["ResourceRecords"][0]["Value"]
        for r in dns(aws, world)
        if r["Type"] == "TXT" and r["Name"] == owner_record_name(world.record_name)
    ]


def test_create_checks_then_claims_the_record_for_the_stack(
    aws: dict[str, Any], world: Surroundings, check: Any
) -> None:
    ports, _ = check
    outcome = stack_check.on_request(request("Create", FIRST, world.parameters()), ports)

    assert outcome.ok, outcome.reason
    assert outcome.physical_resource_id == f"weightshift:{world.zone_id}:{world.record_name}"
    assert txt_owner(aws, world) == [f'"heritage=weightshift,stack={FIRST}"']


def test_a_bad_configuration_fails_with_every_problem_and_changes_nothing_in_dns(
    aws: dict[str, Any], world: Surroundings, check: Any
) -> None:
    ports, _ = check
    before = dns(aws, world)
    bad = world.parameters(Schedule="50,10,100", AlarmNames=f"{world.green_alarm},typo-5xx")

    outcome = stack_check.on_request(request("Create", FIRST, bad), ports)

    assert not outcome.ok
    assert outcome.reason.startswith("Weightshift configuration check failed, nothing in DNS was changed: (1) ")
    assert "(1) Schedule '50,10,100': schedule must not decrease" in outcome.reason
    assert "(2) AlarmNames: alarm 'typo-5xx' does not exist" in outcome.reason
    assert dns(aws, world) == before


def test_a_second_stack_for_the_same_record_fails_and_its_rollback_releases_nothing(
    aws: dict[str, Any], world: Surroundings, check: Any
) -> None:
    ports, _ = check
    params = world.parameters()
    assert stack_check.on_request(request("Create", FIRST, params), ports).ok

    second = stack_check.on_request(request("Create", SECOND, params), ports)
    assert not second.ok
    assert (
        "shop.example.com is managed by stack shop-canary in account 123456789012, region us-east-1 "
        "(ownership record _weightshift.shop.example.com. TXT)" in second.reason
    )
    # CloudFormation rolls the second stack back: its Delete must not take the first's claim.
    assert stack_check.on_request(request("Delete", SECOND, params), ports).ok
    assert txt_owner(aws, world) == [f'"heritage=weightshift,stack={FIRST}"']

    # Deleting the first stack releases the record; then the second may deploy.
    assert stack_check.on_request(request("Delete", FIRST, params), ports).ok
    assert txt_owner(aws, world) == []
    assert stack_check.on_request(request("Create", SECOND, params), ports).ok
    assert txt_owner(aws, world) == [f'"heritage=weightshift,stack={SECOND}"']


def test_an_update_checks_again_but_a_rollback_puts_the_old_configuration_back_unchecked(
    aws: dict[str, Any], world: Surroundings, check: Any
) -> None:
    ports, stacks = check
    params = world.parameters()
    assert stack_check.on_request(request("Create", FIRST, params), ports).ok
    aws["cloudwatch"].delete_alarms(AlarmNames=[world.green_alarm])

    update = stack_check.on_request(request("Update", FIRST, world.parameters(Schedule="10,100"), params), ports)
    assert not update.ok
    assert f"AlarmNames: alarm '{world.green_alarm}' does not exist" in update.reason

    stacks.status[FIRST] = "UPDATE_ROLLBACK_IN_PROGRESS"
    rollback = stack_check.on_request(request("Update", FIRST, params, world.parameters(Schedule="10,100")), ports)
    assert rollback.ok, rollback.reason
    assert txt_owner(aws, world) == [f'"heritage=weightshift,stack={FIRST}"']


def test_a_claim_removed_by_hand_is_claimed_again_by_the_next_deploy(
    aws: dict[str, Any], world: Surroundings, check: Any
) -> None:
    ports, _ = check
    params = world.parameters()
    assert stack_check.on_request(request("Create", FIRST, params), ports).ok
    assert ports.route53.release(world.zone_id, world.record_name, FIRST)

    assert stack_check.on_request(request("Update", FIRST, world.parameters(Schedule="10,100"), params), ports).ok
    assert txt_owner(aws, world) == [f'"heritage=weightshift,stack={FIRST}"']


def test_a_delete_never_fails(world: Surroundings, check: Any) -> None:
    ports, _ = check
    gone = world.parameters(HostedZoneId="Z0000000000000NOSUCHZONE")
    outcome = stack_check.on_request(request("Delete", FIRST, gone), ports)
    assert outcome.ok


# ------------------------------------------------------------------ the protocol
class Listener:
    """A ResponseURL on 127.0.0.1 that keeps every body PUT to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/response?token=abc"


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.server.shutdown()


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def event(url: str) -> dict[str, Any]:
    return {
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:check",
        "ResponseURL": url,
        "StackId": FIRST,
        "RequestId": "req-1",
        "LogicalResourceId": "ConfigurationCheck",
        "ResourceType": "Custom::ConfigurationCheck",
        "ResourceProperties": {"RecordName": "shop.example.com"},
    }


def test_the_answer_is_put_once_with_the_requests_ids(listener: Listener) -> None:
    custom_resource.run(event(listener.url), Context(60_000), lambda r: custom_resource.Outcome(True, "fine", "p-1"))

    assert listener.bodies == [
        {
            "Status": "SUCCESS",
            "Reason": "fine",
            "PhysicalResourceId": "p-1",
            "StackId": FIRST,
            "RequestId": "req-1",
            "LogicalResourceId": "ConfigurationCheck",
            "Data": {},
        }
    ]


def test_an_exception_is_a_failed_answer_with_its_message(listener: Listener) -> None:
    def broken(request: Any) -> custom_resource.Outcome:
        raise RuntimeError("Route 53 said no")

    custom_resource.run(event(listener.url), Context(60_000), broken)

    (answer,) = listener.bodies
    assert (answer["Status"], answer["Reason"]) == ("FAILED", "RuntimeError: Route 53 said no")
    assert answer["PhysicalResourceId"] == "ConfigurationCheck"


def test_a_check_that_outlives_the_deadline_is_answered_failed_before_lambda_times_out(listener: Listener) -> None:
    done = threading.Event()

    def slow(request: Any) -> custom_resource.Outcome:
        done.wait(5)
        return custom_resource.Outcome(True, "too late", "p-1")

    started = time.monotonic()
    # 10.3 s left: the deadline answers 0.3 s in, 10 s before Lambda would stop the function.
    threading.Timer(1.0, done.set).start()
    custom_resource.run(event(listener.url), Context(10_300), slow)

    (answer,) = listener.bodies  # exactly one answer: the late SUCCESS is not sent
    assert answer["Status"] == "FAILED"
    assert "did not finish in time" in answer["Reason"]
    assert time.monotonic() - started < 5


def test_a_long_reason_is_cut_to_keep_the_body_under_4096_bytes(listener: Listener) -> None:
    custom_resource.run(
        event(listener.url), Context(60_000), lambda r: custom_resource.Outcome(False, "x" * 10_000, "p-1")
    )

    (answer,) = listener.bodies
    assert len(json.dumps(answer).encode()) <= custom_resource.MAX_BODY_BYTES
    assert answer["Reason"].endswith("(cut; every problem is in the function's log)")


def test_a_request_that_is_not_from_cloudformation_is_refused_without_an_answer(listener: Listener) -> None:
    with pytest.raises(Exception, match="validation error"):
        custom_resource.run({"RequestType": "Create"}, Context(60_000), lambda r: custom_resource.Outcome(True, "", ""))
    assert listener.bodies == []


def test_an_update_whose_stack_status_cannot_be_read_is_checked_as_any_update(
    aws: dict[str, Any], world: Surroundings, check: Any
) -> None:
    """DescribeStacks failing must not fail the update by itself: a configuration that fits
    still passes (so a rollback of one is never blocked by the read), a bad one still fails."""
    ports, stacks = check

    def broken(stack_id: str) -> str:
        raise RuntimeError("Throttling")

    stacks.stack_status = broken  # type: ignore[method-assign]
    params = world.parameters()
    assert stack_check.on_request(request("Create", FIRST, params), ports).ok
    assert stack_check.on_request(request("Update", FIRST, world.parameters(Schedule="10,100"), params), ports).ok
    bad = stack_check.on_request(request("Update", FIRST, world.parameters(Schedule="50,10,100"), params), ports)
    assert not bad.ok
