"""No lost event: a trigger or abort function that fails every attempt keeps its event, and
``weightshift replay`` hands it back, safely.

The real template is deployed into the emulator's moto server on 127.0.0.1 (the CLI needs an
endpoint). Faults are injected only in the harness: an ``INVOKE_HOOKS`` hook makes the deployed
handler raise (a function error), a ``lambda_async.ACCEPT_HOOKS`` hook makes Lambda refuse the
Invoke call (a delivery failure). Everything else is what AWS would do: real-format events through
``put_events``, a console Stop, Lambda's retries on the simulated clock, the on-failure record
or the EventBridge dead letter in the stack's queue, and the CLI reading them back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from typer.testing import CliRunner, Result
from weightshift.adapters.deployments import TERMINAL, Deployments
from weightshift.models import route_key
from weightshift_cli.main import app
from weightshift_emulator import cfn_patches, lambda_async, patches, stack
from weightshift_emulator.server import Emulator
from weightshift_emulator.world import Surroundings, set_weighted_pair, task_event, weights

from tests.conftest import wait_for
from tests.served import served_stack

pytestmark = pytest.mark.e2e

PARAMETERS = {"Schedule": "10,50,100", "StepIntervalSeconds": "60", "HealthPollSeconds": "30"}
QUIET_LAMBDAS = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR"}
RECORD_KEYS = {"version", "timestamp", "requestContext", "requestPayload", "responseContext", "responsePayload"}


@dataclass
class Env:
    emulator: Emulator
    aws: dict[str, Any]
    world: Surroundings
    stack: stack.Deployed
    before: set[str] = field(default_factory=set)  # executions of earlier tests

    def fn(self, logical_id: str) -> str:
        return self.stack.functions[logical_id]

    @property
    def queue_url(self) -> str:
        return self.stack.outputs["TriggerDeadLetterQueueUrl"]

    def queued(self) -> list[dict[str, Any]]:
        """The messages in the dead-letter queue (read, then made visible again)."""
        sqs = self.aws["sqs"]
        messages = sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
        ).get("Messages", [])
        for m in messages:
            sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(messages)

    def executions(self) -> list[dict[str, Any]]:
        """The executions this test started (the stack is shared by the module's tests)."""
        sfn = self.aws["stepfunctions"]
        listed = sfn.list_executions(stateMachineArn=self.stack.state_machine_arn)["executions"]
        return [e for e in listed if e["executionArn"] not in self.before]

    @property
    def table(self) -> Deployments:
        return Deployments(self.aws["dynamodb"], self.stack.table_name)

    def record(self, deployment_id: str) -> dict[str, Any]:
        record = self.table.get(route_key(self.world.zone_id, self.world.record_name), deployment_id)
        assert record is not None, deployment_id
        return record.as_dict()

    def invocations(self, logical_id: str) -> list[lambda_async.AsyncInvocation]:
        return [i for i in lambda_async.INVOCATIONS if i.function == self.fn(logical_id)]

    def replay(self, *args: str) -> tuple[Result, dict[str, Any]]:
        """`weightshift replay --json` against the emulator."""
        endpoint = ["--endpoint-url", self.emulator.endpoint_url, "--region", "us-east-1"]
        result = CliRunner().invoke(app, [*endpoint, "replay", "--json", *args], env={"COLUMNS": "200"})
        return result, json.loads(result.stdout)

    def put(self, event: dict[str, Any]) -> None:
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event.get("resources", []),
        }
        assert self.aws["events"].put_events(Entries=[entry])["FailedEntryCount"] == 0


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with served_stack(PARAMETERS, QUIET_LAMBDAS) as (emulator, aws, world, deployed):
        yield Env(emulator, aws, world, deployed)


@pytest.fixture(autouse=True)
def _clean(env: Env) -> Iterator[None]:
    cfn_patches.reset()
    env.before = set()
    env.before = {e["executionArn"] for e in env.executions()}
    yield
    patches.INVOKE_HOOKS.clear()
    lambda_async.ACCEPT_HOOKS.clear()
    for execution in env.executions():
        wait_for(env.aws["stepfunctions"], execution["executionArn"])
    route = route_key(env.world.zone_id, env.world.record_name)
    assert cfn_patches.wait_until(lambda: all(r.finished for r in env.table.list_route(route)))
    drain(env)
    cfn_patches.reset()


def drain(env: Env) -> None:
    """Empty the queue (PurgeQueue is allowed once a minute)."""
    sqs = env.aws["sqs"]
    while messages := sqs.receive_message(QueueUrl=env.queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            sqs.delete_message(QueueUrl=env.queue_url, ReceiptHandle=m["ReceiptHandle"])


def fail_always(function: str, message: str) -> Any:
    def hook(name: str, event: Any) -> None:
        if name == function:
            raise RuntimeError(message)

    return hook


def release_event(env: Env, deployment: str) -> dict[str, Any]:
    return task_event(env.world, "green", f"task{deployment[-6:]}", deployment)


def assert_record_of(message: dict[str, Any], function: str, event: dict[str, Any], error: str) -> dict[str, Any]:
    """The message is Lambda's on-failure invocation record for ``event``, after 3 attempts."""
    record = json.loads(message["Body"])
    assert set(record) == RECORD_KEYS
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{function}:$LATEST")
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == error
    payload = record["requestPayload"]
    assert (payload["source"], payload["detail-type"], payload["detail"]) == (
        event["source"],
        event["detail-type"],
        event["detail"],
    )
    return dict(record)


# ------------------------------------------------------------------ tests
def test_a_failing_trigger_keeps_its_event_and_replay_starts_exactly_one_canary(env: Env) -> None:
    set_weighted_pair(env.aws, env.world, blue=100, green=0)
    trigger = env.fn("TriggerFunction")
    patches.INVOKE_HOOKS.append(fail_always(trigger, "injected: DynamoDB is unavailable"))
    event = release_event(env, "ecs-svc/1111111111111111111")

    env.put(event)

    # EventBridge delivered once (Lambda accepted it); Lambda ran it 1 + 2 times, 1 and 2 minutes apart.
    assert [(d.ok, d.attempts) for d in cfn_patches.DELIVERIES if d.function == trigger] == [(True, 1)]
    (invocation,) = env.invocations("TriggerFunction")
    assert [a.at_seconds for a in invocation.attempts] == [0, 60, 180]
    assert invocation.condition == "RetriesExhausted"
    assert env.executions() == []
    # The event is not lost: the on-failure record, in AWS's format, is in the stack's queue ...
    (message,) = env.queued()
    assert_record_of(message, trigger, event, "injected: DynamoDB is unavailable")
    # ... which is the queue the DeadLetterAlarm watches and notifies the topic about.
    assert invocation.destination is not None
    assert env.stack.resources["TriggerDeadLetterQueue"] == env.queue_url
    alarm = env.stack.template["Resources"]["DeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["TriggerDeadLetterQueue", "QueueName"]}
    assert alarm["AlarmActions"] == [{"Ref": "NotificationTopic"}]

    # A dry run lists it and changes nothing.
    result, listed = env.replay("--dry-run")
    assert result.exit_code == 0, result.output
    assert [(e["outcome"], e["source"], e["function"]) for e in listed["events"]] == [
        ("listed", "lambda-destination", "trigger")
    ]
    assert "RetriesExhausted after 3 attempts" in listed["events"][0]["why"]
    assert len(env.queued()) == 1
    assert env.executions() == []

    # The cause is fixed; replay starts the canary, once, and empties the queue.
    patches.INVOKE_HOOKS.clear()
    result, replayed = env.replay()
    assert result.exit_code == 0, result.output
    assert (replayed["replayed"], replayed["failed"], replayed["skipped"]) == (1, 0, 0)
    assert replayed["events"][0]["result"].startswith("started ")
    (execution,) = env.executions()
    assert env.queued() == []

    # The same message again (a second copy, a replay run twice): still one canary.
    env.aws["sqs"].send_message(QueueUrl=env.queue_url, MessageBody=message["Body"])
    result, again = env.replay()
    assert result.exit_code == 0, result.output
    assert again["events"][0]["outcome"] == "replayed"
    assert again["events"][0]["result"].split()[0] in ("duplicate", "resumed")
    assert [e["executionArn"] for e in env.executions()] == [execution["executionArn"]]
    assert wait_for(env.aws["stepfunctions"], execution["executionArn"])["status"] == "SUCCEEDED"
    assert weights(env.aws, env.world) == {"blue": 0, "green": 100}


def test_a_failing_abort_function_after_a_stop_keeps_its_event_and_replay_fails_back_once(env: Env) -> None:
    set_weighted_pair(env.aws, env.world, blue=80, green=20)  # not 100/0: fail back restores what was there
    abort = env.fn("AbortFunction")
    at_step_2, stopped = threading.Event(), threading.Event()

    def hold_the_gate_at_step_2(function: str, event: Any) -> None:
        shift = event.get("state", {}).get("shift", {}) if isinstance(event, dict) else {}
        if function == env.fn("GateFunction") and shift.get("stepIndex") == 1 and not at_step_2.is_set():
            at_step_2.set()
            stopped.wait(10)  # the on-call engineer presses "Stop execution" now

    patches.INVOKE_HOOKS.append(hold_the_gate_at_step_2)
    patches.INVOKE_HOOKS.append(fail_always(abort, "injected: Route 53 is unavailable"))
    env.put(release_event(env, "ecs-svc/2222222222222222222"))
    (execution,) = env.executions()
    assert at_step_2.wait(20), "the canary never reached step 2"
    partial = weights(env.aws, env.world)
    assert partial != {"blue": 80, "green": 20}
    env.aws["stepfunctions"].stop_execution(executionArn=execution["executionArn"], cause="on-call: stop")
    stopped.set()
    assert wait_for(env.aws["stepfunctions"], execution["executionArn"])["status"] == "ABORTED"

    # The ABORTED event reached the abort function, which failed 3 times: traffic is still partial,
    # and the event is in the queue instead of lost.
    assert cfn_patches.wait_until(lambda: [i.finished for i in env.invocations("AbortFunction")] == [True])
    (invocation,) = env.invocations("AbortFunction")
    assert (len(invocation.attempts), invocation.condition) == (3, "RetriesExhausted")
    assert weights(env.aws, env.world) == partial
    (message,) = env.queued()
    record = json.loads(message["Body"])
    assert set(record) == RECORD_KEYS
    assert record["requestContext"]["functionArn"].endswith(f":function:{abort}:$LATEST")
    assert record["requestPayload"]["detail-type"] == "Step Functions Execution Status Change"
    assert record["requestPayload"]["detail"]["executionArn"] == execution["executionArn"]
    assert record["requestPayload"]["detail"]["status"] == "ABORTED"
    deployment_id = json.loads(record["requestPayload"]["detail"]["input"])["deploymentId"]
    assert env.record(deployment_id)["status"] not in TERMINAL

    # Fixed; replay fails back to the recorded original weights.
    patches.INVOKE_HOOKS.clear()
    result, replayed = env.replay()
    assert result.exit_code == 0, result.output
    assert [(e["outcome"], e["function"]) for e in replayed["events"]] == [("replayed", "abort")]
    assert replayed["events"][0]["result"].startswith("failed-back")
    assert weights(env.aws, env.world) == {"blue": 80, "green": 20}
    final = env.record(deployment_id)
    assert (final["status"], final["restoredWeights"]) == ("ROLLED_BACK", {"blue": 80, "green": 20})

    # Replaying the same event again fails back nothing a second time.
    set_weighted_pair(env.aws, env.world, blue=90, green=10)  # someone moved DNS since: leave it alone
    env.aws["sqs"].send_message(QueueUrl=env.queue_url, MessageBody=message["Body"])
    result, again = env.replay()
    assert result.exit_code == 0, result.output
    assert again["events"][0]["result"].startswith("none"), again
    assert weights(env.aws, env.world) == {"blue": 90, "green": 10}
    assert env.record(deployment_id)["timeline"] == final["timeline"]


def test_an_undeliverable_event_is_dead_lettered_by_eventbridge_and_replay_reads_that_format_too(env: Env) -> None:
    set_weighted_pair(env.aws, env.world, blue=100, green=0)
    trigger = env.fn("TriggerFunction")

    def throttled(function: str, event: Any) -> None:
        if function == trigger:
            raise lambda_async.InvokeRejected("TooManyRequestsException", "Rate Exceeded.")

    lambda_async.ACCEPT_HOOKS.append(throttled)
    event = release_event(env, "ecs-svc/3333333333333333333")
    env.put(event)

    # EventBridge retried per the template's RetryPolicy (185), then dead-lettered the event itself.
    (delivery,) = [d for d in cfn_patches.DELIVERIES if d.function == trigger]
    assert (delivery.ok, delivery.attempts, delivery.error_code) == (False, 186, "THROTTLING")
    assert env.invocations("TriggerFunction") == []
    (message,) = env.queued()
    body = json.loads(message["Body"])
    assert (body["source"], body["detail-type"], body["detail"]) == (
        event["source"],
        event["detail-type"],
        event["detail"],
    )
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "185"
    # And a message that is neither format: replay leaves it alone, and says so.
    env.aws["sqs"].send_message(QueueUrl=env.queue_url, MessageBody="not an event")

    lambda_async.ACCEPT_HOOKS.clear()
    result, replayed = env.replay()
    assert result.exit_code == 1, result.output  # one message stays in the queue
    outcomes = sorted((e["outcome"], e["source"]) for e in replayed["events"])
    assert outcomes == [("replayed", "eventbridge-dlq"), ("skipped", "unknown")]
    assert len(env.executions()) == 1
    (left,) = env.queued()
    assert left["Body"] == "not an event"


def test_replay_with_an_empty_queue(env: Env) -> None:
    result, replayed = env.replay()
    assert result.exit_code == 0, result.output
    assert (replayed["events"], replayed["replayed"]) == ([], 0)
    human = CliRunner().invoke(
        app, ["--endpoint-url", env.emulator.endpoint_url, "--region", "us-east-1", "replay"], env={"COLUMNS": "200"}
    )
    assert human.exit_code == 0
    assert "nothing to replay" in human.stdout


def test_an_alarm_event_the_listener_could_not_take_is_kept_and_replay_hands_it_to_the_listener(env: Env) -> None:
    """The alarm rule dead-letters like the others; replay sends a CloudWatch Alarm State
    Change to the alarm listener, which ends nothing when no bake is in progress."""
    listener = env.fn("AlarmFunction")

    def throttled(function: str, event: Any) -> None:
        if function == listener:
            raise lambda_async.InvokeRejected("TooManyRequestsException", "Rate Exceeded.")

    lambda_async.ACCEPT_HOOKS.append(throttled)
    env.aws["cloudwatch"].set_alarm_state(AlarmName=env.world.green_alarm, StateValue="ALARM", StateReason="test")
    (message,) = env.queued()
    assert json.loads(message["Body"])["detail-type"] == "CloudWatch Alarm State Change"

    lambda_async.ACCEPT_HOOKS.clear()
    result, replayed = env.replay()
    assert result.exit_code == 0, result.output
    (event,) = replayed["events"]
    assert (event["outcome"], event["function"]) == ("replayed", "alarm")
    assert "no-bake" in str(event["result"])  # the listener found no bake to end
    assert env.queued() == []
