"""End to end: the real template.yaml, deployed into the emulator, driven only by events.

``stack.deploy`` packages, SAM-transforms and creates the stack through moto's
CloudFormation, so the rules, functions, env vars, state machine (with its
substitutions) and table are the template's. The tests then only do what AWS
would: ``put_events`` of real-format ECS events, a CloudWatch alarm changing
state, a ``StopExecution`` from "the console". Nothing calls a handler directly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws
from weightshift.adapters.deployments import Deployments
from weightshift.models import route_key
from weightshift_emulator import cfn_patches, lambda_async, patches, stack
from weightshift_emulator.server import start_emulator
from weightshift_emulator.world import (
    Surroundings,
    build_surroundings,
    clients,
    set_weighted_pair,
    task_event,
    weights,
)

from tests.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("cfn_patched")]

PARAMETERS = {"Schedule": "5,25,50,100", "StepIntervalSeconds": "60", "HealthPollSeconds": "15"}
FUNCTIONS = {
    "TriggerFunction",
    "PreflightFunction",
    "ReadinessFunction",
    "ShiftFunction",
    "GateFunction",
    "FinishFunction",
    "AbortFunction",
    "AlarmFunction",
    "ConfigurationCheckFunction",
}


@dataclass
class Env:
    aws: dict[str, Any]
    world: Surroundings
    stack: stack.Deployed

    def fn(self, logical_id: str) -> str:
        return self.stack.functions[logical_id]

    def record(self, deployment_id: str) -> dict[str, Any]:
        table = Deployments(self.aws["dynamodb"], self.stack.table_name)
        record = table.get(route_key(self.world.zone_id, self.world.record_name), deployment_id)
        assert record is not None, f"no record for {deployment_id}"
        return record.as_dict()

    def executions(self) -> list[dict[str, Any]]:
        return list(
            self.aws["stepfunctions"].list_executions(stateMachineArn=self.stack.state_machine_arn)["executions"]
        )

    def deliveries(self, logical_id: str) -> list[cfn_patches.Delivery]:
        """EventBridge's deliveries to the function (each accepted or not by Lambda)."""
        return [d for d in cfn_patches.DELIVERIES if d.function == self.fn(logical_id)]

    def invocations(self, logical_id: str) -> list[lambda_async.AsyncInvocation]:
        """The events Lambda accepted for the function, with each run's result."""
        return [i for i in lambda_async.INVOCATIONS if i.function == self.fn(logical_id)]


@pytest.fixture
def env() -> Iterator[Env]:
    """moto in-process with the engine on; the surroundings; the template deployed with PARAMETERS."""
    with mock_aws(config=patches.ENGINE_CONFIG):
        aws = clients()
        world = build_surroundings(aws)
        deployed = stack.deploy(aws, world.parameters(**PARAMETERS))
        yield Env(aws, world, deployed)


def put_events(aws: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """Send events the way AWS services do: through the default bus, ten per call."""
    entries = [
        {
            "Source": e["source"],
            "DetailType": e["detail-type"],
            "Detail": json.dumps(e["detail"]),
            "Resources": e.get("resources", []),
        }
        for e in events
    ]
    for i in range(0, len(entries), 10):
        failed = aws["events"].put_events(Entries=entries[i : i + 10])["FailedEntryCount"]
        assert failed == 0


def green_release(world: Surroundings, deployment: str, tasks: int = 3) -> list[dict[str, Any]]:
    """A green deployment as ECS reports it: each task RUNNING, every event twice, plus noise
    the rule's pattern must filter out (a STOPPED task, a task of another cluster)."""
    running = [task_event(world, "green", f"task{i:02d}{deployment[-4:]}", deployment) for i in range(tasks)]
    stopped = task_event(world, "green", "oldtask0001", "ecs-svc/0000000000000000001", last_status="STOPPED")
    elsewhere = task_event(world, "green", "othertask01", deployment)
    elsewhere["detail"]["clusterArn"] = elsewhere["detail"]["clusterArn"].replace(":cluster/shop", ":cluster/other")
    return [*running, *running, stopped, elsewhere]


def started_deployment(env: Env) -> str:
    decisions = [i.response["decision"] for i in env.invocations("TriggerFunction")]
    assert decisions.count("started") == 1, decisions
    (started,) = [i for i in env.invocations("TriggerFunction") if i.response["decision"] == "started"]
    return str(started.response["deployment_id"])


# ------------------------------------------------------------------ tests
def test_the_dashboard_the_operational_alarms_and_the_log_group_deploy(env: Env) -> None:
    """Issue 12 §2: the stack's dashboard (its URL an output), its alarms for a rollback, a
    deployment past its deadline and a trigger ignoring events for configuration reasons
    (each notifying the topic), and one log group for every function, kept LogRetentionDays
    (default 30)."""
    deployed, aws = env.stack, env.aws
    name = f"{deployed.stack_name}-weightshift"
    assert deployed.outputs["DashboardUrl"].endswith(f"#dashboards:name={name}")
    body = json.loads(aws["cloudwatch"].get_dashboard(DashboardName=name)["DashboardBody"])
    titles = [w["properties"].get("title", "") for w in body["widgets"]]
    for wanted in ("DNS weights", "Deployments", "Health verdicts", "Fail-back latency", "Trigger decisions",
                   "Dead letters", "Alarms of this stack"):  # fmt: skip
        assert any(t.startswith(wanted) for t in titles), (wanted, titles)
    weights_widget = next(w for w in body["widgets"] if w["properties"].get("title", "").startswith("DNS weights"))
    assert [m[1] for m in weights_widget["properties"]["metrics"]] == ["BlueWeightShare", "GreenWeightShare"]
    assert all(m[5] == deployed.stack_name for m in weights_widget["properties"]["metrics"])
    topic = deployed.outputs["NotificationTopicArn"]
    for suffix in ("rolled-back", "deployment-stuck", "trigger-ignoring-events"):
        (alarm,) = aws["cloudwatch"].describe_alarms(AlarmNames=[f"{deployed.stack_name}-{suffix}"])["MetricAlarms"]
        assert alarm["AlarmActions"] == [topic], suffix
        assert alarm["StateValue"] == "INSUFFICIENT_DATA", suffix
    (group,) = aws["logs"].describe_log_groups(logGroupNamePrefix=f"/weightshift/{deployed.stack_name}")["logGroups"]
    assert group["retentionInDays"] == 30
    assert deployed.outputs["LogGroupName"] == group["logGroupName"]
    template = deployed.template["Resources"]
    for logical in FUNCTIONS:
        config = template[logical]["Properties"]["LoggingConfig"]
        assert config["LogFormat"] == "JSON", logical
        assert config["LogGroup"] == {"Ref": "FunctionLogGroup"}, logical


def test_the_log_retention_is_a_parameter() -> None:
    with mock_aws(config=patches.ENGINE_CONFIG):
        aws = clients()
        world = build_surroundings(aws)
        deployed = stack.deploy(aws, world.parameters(**PARAMETERS, LogRetentionDays="7"))
        (group,) = aws["logs"].describe_log_groups(logGroupNamePrefix=f"/weightshift/{deployed.stack_name}")[
            "logGroups"
        ]
        assert group["retentionInDays"] == 7


def test_the_stack_is_what_the_template_declares(env: Env) -> None:
    deployed, aws = env.stack, env.aws
    assert deployed.status == "CREATE_COMPLETE"
    assert set(deployed.functions) == FUNCTIONS
    # moto's CloudFormation cannot create these; nothing the canary path depends on.
    assert set(deployed.skipped.values()) <= {"AWS::SQS::QueuePolicy", "AWS::SNS::Subscription"}
    # The stack's own alarms exist (the emulator creates AWS::CloudWatch::Alarm), named by
    # CloudFormation, starting in INSUFFICIENT_DATA, notifying the stack's topic.
    own = aws["cloudwatch"].describe_alarms(AlarmNames=[deployed.outputs["DeadLetterAlarmName"]])["MetricAlarms"]
    assert [(a["StateValue"], a["MetricName"], a["AlarmActions"]) for a in own] == [
        ("INSUFFICIENT_DATA", "ApproximateNumberOfMessagesVisible", [deployed.outputs["NotificationTopicArn"]])
    ]
    assert deployed.outputs["DeadLetterAlarmName"].startswith(f"{deployed.stack_name}-DeadLetterAlarm-")
    names = {a["AlarmName"] for a in aws["cloudwatch"].describe_alarms()["MetricAlarms"]}
    assert any(n.startswith(f"{deployed.stack_name}-InvalidConfigurationAlarm-") for n in names), names
    template = stack.load_template()
    for logical_id, name in deployed.functions.items():
        config = aws["lambda"].get_function_configuration(FunctionName=name)
        assert config["Handler"] == template["Resources"][logical_id]["Properties"]["Handler"]
    variables = aws["lambda"].get_function_configuration(FunctionName=deployed.trigger_function)["Environment"][
        "Variables"
    ]
    assert variables["STATE_MACHINE_ARN"] == deployed.state_machine_arn
    assert variables["TABLE_NAME"] == deployed.table_name
    assert variables["SCHEDULE"] == "5,25,50,100"
    assert variables["STEP_INTERVAL_SECONDS"] == "60"  # a Number parameter, as text
    assert variables["ALARM_NAMES"] == "shop-blue-5xx,shop-green-5xx"
    definition = aws["stepfunctions"].describe_state_machine(stateMachineArn=deployed.state_machine_arn)["definition"]
    assert "${" not in definition
    assert '"$$.Execution.Id"' in definition
    for logical_id in ("PreflightFunction", "ShiftFunction", "GateFunction", "FinishFunction"):
        assert f":function:{deployed.functions[logical_id]}" in definition
    rules = {logical_id: aws["events"].describe_rule(Name=name) for logical_id, name in deployed.rules.items()}
    trigger_pattern = json.loads(rules["TriggerFunctionEcsTaskRunning"]["EventPattern"])
    assert trigger_pattern["detail"]["clusterArn"] == [env.world.cluster_arn()]
    abort_pattern = json.loads(rules["AbortFunctionExecutionEnded"]["EventPattern"])
    assert abort_pattern["detail"]["stateMachineArn"] == [deployed.state_machine_arn]
    alarm_pattern = json.loads(rules["AlarmFunctionAlarmWentOff"]["EventPattern"])
    assert alarm_pattern["detail"] == {"alarmName": ["shop-blue-5xx", "shop-green-5xx"], "state": {"value": ["ALARM"]}}
    # Both asynchronously invoked functions keep what they fail to handle in the stack's queue.
    queue_arn = aws["sqs"].get_queue_attributes(
        QueueUrl=deployed.outputs["TriggerDeadLetterQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    for logical_id, max_age in (("TriggerFunction", 3600), ("AbortFunction", 900)):
        config = aws["lambda"].get_function_event_invoke_config(FunctionName=deployed.functions[logical_id])
        assert config["MaximumRetryAttempts"] == 2
        assert config["MaximumEventAgeInSeconds"] == max_age
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
    assert deployed.outputs["AbortFunctionName"] == deployed.functions["AbortFunction"]


def test_redeploying_with_new_parameters_updates_the_stack_in_place(env: Env) -> None:
    changed = {**PARAMETERS, "Schedule": "Linear10PercentEvery1Minute", "StepIntervalSeconds": "90"}
    updated = stack.deploy(env.aws, env.world.parameters(**changed))
    assert updated.status == "UPDATE_COMPLETE"
    assert updated.functions == env.stack.functions
    assert updated.state_machine_arn == env.stack.state_machine_arn
    variables = env.aws["lambda"].get_function_configuration(FunctionName=updated.trigger_function)["Environment"][
        "Variables"
    ]
    assert (variables["SCHEDULE"], variables["STEP_INTERVAL_SECONDS"]) == ("Linear10PercentEvery1Minute", "90")
    assert len(env.aws["stepfunctions"].list_state_machines()["stateMachines"]) == 1


def test_scenario_2_alarm_at_a_middle_step_fails_back_to_the_original_weights(env: Env) -> None:
    aws, world = env.aws, env.world
    set_weighted_pair(aws, world, blue=100, green=0)

    def alarm_when_step_2_starts(function: str, event: Any) -> None:
        shift = event.get("state", {}).get("shift", {}) if isinstance(event, dict) else {}
        if function == env.fn("ShiftFunction") and event.get("action") != "record" and shift.get("stepIndex") == 1:
            aws["cloudwatch"].set_alarm_state(
                AlarmName="shop-green-5xx", StateValue="ALARM", StateReason="5xx above threshold (test)"
            )

    patches.INVOKE_HOOKS.append(alarm_when_step_2_starts)
    put_events(aws, green_release(world, "ecs-svc/7777777777777777777"))

    # The deployed rule passed the six RUNNING events (not the STOPPED one, nor the other cluster's)
    # and the deployed trigger started exactly one execution.
    assert len(env.deliveries("TriggerFunction")) == 6
    assert all(d.ok and d.attempts == 1 for d in env.deliveries("TriggerFunction"))
    deployment_id = started_deployment(env)
    assert {i.response["decision"] for i in env.invocations("TriggerFunction")} <= {"started", "duplicate"}
    (execution,) = env.executions()

    desc = wait_for(aws["stepfunctions"], execution["executionArn"])
    assert desc["status"] == "FAILED"
    assert desc["error"] == "HealthGateFailed"
    assert "shop-green-5xx" in desc["cause"]
    assert weights(aws, world) == {"blue": 100, "green": 0}

    record = env.record(deployment_id)
    assert record["status"] == "ROLLED_BACK"
    assert record["step"] == 2
    assert record["originalWeights"] == {"blue": 100, "green": 0}
    assert record["restoredWeights"] == {"blue": 100, "green": 0}
    assert "shop-green-5xx" in record["reason"]
    assert [t["weights"] for t in record["timeline"] if t["event"] == "step"] == [
        {"blue": 95, "green": 5},
        {"blue": 75, "green": 25},
    ]
    # The FAILED status-change event reached the deployed abort rule; the abort Lambda saw
    # that the workflow had already failed back and changed nothing.
    assert cfn_patches.wait_until(lambda: [i.finished for i in env.invocations("AbortFunction")] == [True], timeout=10)
    (abort,) = env.invocations("AbortFunction")
    assert abort.ok
    assert abort.response["action"] == "none", abort.response
    # Production-sized waits were asked for, and skipped: a 15 s poll, four per 60 s bake at
    # step 1; step 2's bake saw the alarm as it began (it fired during the shift), before any wait.
    bakes = [(w.state, w.seconds) for w in patches.CLOCK.for_execution(execution["executionArn"])]
    assert bakes == [("Bake and watch health", 15.0)] * 4
    assert "as the bake began" in desc["cause"]


def test_stop_execution_fails_back_through_the_deployed_abort_rule(env: Env) -> None:
    aws, world = env.aws, env.world
    set_weighted_pair(aws, world, blue=80, green=20)  # not 100/0: fail-back restores what was there
    at_step_2 = threading.Event()
    stopped = threading.Event()

    def hold_the_gate_at_step_2(function: str, event: Any) -> None:
        shift = event.get("state", {}).get("shift", {}) if isinstance(event, dict) else {}
        if function == env.fn("GateFunction") and shift.get("stepIndex") == 2 and not at_step_2.is_set():
            at_step_2.set()
            stopped.wait(10)  # the on-call engineer presses "Stop execution" now

    patches.INVOKE_HOOKS.append(hold_the_gate_at_step_2)
    put_events(aws, green_release(world, "ecs-svc/8888888888888888888", tasks=2))
    deployment_id = started_deployment(env)
    (execution,) = env.executions()
    assert at_step_2.wait(20), "the canary never reached step 2"
    assert weights(aws, world) == {"blue": 75, "green": 25}
    aws["stepfunctions"].stop_execution(executionArn=execution["executionArn"], cause="on-call: stop")
    stopped.set()

    assert wait_for(aws["stepfunctions"], execution["executionArn"])["status"] == "ABORTED"
    assert cfn_patches.wait_until(lambda: [i.finished for i in env.invocations("AbortFunction")] == [True], timeout=10)
    (abort,) = env.invocations("AbortFunction")
    assert abort.ok
    assert abort.response["action"] == "failed-back", abort.response
    assert weights(aws, world) == {"blue": 80, "green": 20}
    record = env.record(deployment_id)
    assert record["status"] == "ROLLED_BACK"
    assert record["error"] == "Aborted"
    assert record["restoredWeights"] == {"blue": 80, "green": 20}


def test_server_mode_deploys_and_promotes_over_http() -> None:
    """The same through a moto server on 127.0.0.1 (what `make demo` and the CLI use)."""
    emulator = start_emulator()
    try:
        aws = emulator.clients()
        world = build_surroundings(aws)
        deployed = stack.deploy(aws, world.parameters(**PARAMETERS))
        assert emulator.endpoint_url.startswith("http://127.0.0.1:")
        put_events(aws, green_release(world, "ecs-svc/9999999999999999999", tasks=2))
        executions = aws["stepfunctions"].list_executions(stateMachineArn=deployed.state_machine_arn)["executions"]
        assert len(executions) == 1
        deadline = time.monotonic() + 30
        sfn = aws["stepfunctions"]
        while sfn.describe_execution(executionArn=executions[0]["executionArn"])["status"] == "RUNNING":
            assert time.monotonic() < deadline, "still RUNNING"
            time.sleep(0.05)
        assert sfn.describe_execution(executionArn=executions[0]["executionArn"])["status"] == "SUCCEEDED"
        assert weights(aws, world) == {"blue": 0, "green": 100}
    finally:
        emulator.stop()
