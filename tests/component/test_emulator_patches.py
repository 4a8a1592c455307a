"""One test per moto internal the emulator patches (patches.py, cfn_patches.py, stack.py).

moto and aws-sam-translator are pinned exactly. If an upgrade moves, renames or
reshapes one of these internals, the test for it fails with a message naming the
internal and "moto upgrade?", instead of the demo or the e2e test failing in an
obscure way. Where it is cheap, the test also checks the behaviour we rely on.

Handlers used here are stdlib callables, so no test module has to be importable
as a Lambda handler: ``os.getenv(event, context)`` returns an env var of the
function, ``builtins.print`` succeeds, ``json.dumps(event, context)`` raises
TypeError (a function error).
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import time
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError
from weightshift_emulator import cfn_patches, faults, lambda_async, patches, stack

from tests.conftest import wait_for

ROLE = "arn:aws:iam::123456789012:role/emulator-test"

pytestmark = pytest.mark.usefixtures("cfn_patched")


def internal(path: str, attr: str | None = None) -> Any:
    """Import a moto internal, or fail with a message that says what moved."""
    name = f"{path}.{attr}" if attr else path
    try:
        obj = importlib.import_module(path)
        return getattr(obj, attr) if attr else obj
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"moto internal {name} is gone ({exc}): moto upgrade? Update the emulator patch that uses it.")


def params_of(func: Any) -> list[str]:
    return list(inspect.signature(func).parameters)


def expect_params(name: str, func: Any, expected: list[str]) -> None:
    actual = params_of(func)
    assert actual[: len(expected)] == expected, (
        f"moto internal {name} now takes {actual}, the patch expects {expected}: moto upgrade?"
    )


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("placeholder.py", "")
    return buf.getvalue()


def ensure_role(aws: dict[str, Any]) -> None:
    if not any(r["RoleName"] == "emulator-test" for r in aws["iam"].list_roles()["Roles"]):
        aws["iam"].create_role(RoleName="emulator-test", AssumeRolePolicyDocument="{}")


def make_function(aws: dict[str, Any], name: str, handler: str, env: dict[str, str] | None = None) -> str:
    ensure_role(aws)
    return str(
        aws["lambda"].create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": _zip()},
            Environment={"Variables": env or {}},
        )["FunctionArn"]
    )


def run_machine(aws: dict[str, Any], definition: dict[str, Any], name: str = "m") -> dict[str, Any]:
    sfn = aws["stepfunctions"]
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="run-1", input="{}")["executionArn"]
    return wait_for(sfn, execution, timeout=20)


# =============================================================== patches.py
def test_wait_function_wait_interval(aws: dict[str, Any]) -> None:
    """WaitFunction._wait_interval: a Wait of one hour ends at once and is recorded."""
    cls = internal("moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function", "WaitFunction")
    assert "_wait_interval" in vars(cls), "moto internal WaitFunction._wait_interval is gone: moto upgrade?"
    expect_params("WaitFunction._wait_interval", patches._ORIGINAL["wait"], ["self", "env", "wait_seconds"])
    started = time.monotonic()
    desc = run_machine(aws, {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    assert desc["status"] == "SUCCEEDED"
    assert time.monotonic() - started < 10
    waits = patches.CLOCK.for_execution(desc["executionArn"])
    assert [(w.kind, w.state, w.seconds) for w in waits] == [("wait", "Sleep", 3600.0)], (
        "the Wait patch no longer sees the state name / execution id in env.states.context_object: moto upgrade?"
    )


def _token_task(aws: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A machine whose one task waits for its token (sent in an SQS message), 300 s at most."""
    queue = aws["sqs"].create_queue(QueueName="tokens")["QueueUrl"]
    definition = {
        "StartAt": "Wait for the token",
        "States": {
            "Wait for the token": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue, "MessageBody.$": "$$.Task.Token"},
                "TimeoutSeconds": 300,
                "End": True,
            }
        },
    }
    return definition, queue


def test_a_task_token_waits_on_the_clock_times_out_as_on_aws_and_is_closed_after(aws: dict[str, Any]) -> None:
    """StateTaskServiceCallback._eval_wait_for_task_token: the wait is recorded on the clock
    (300 s, not slept); unanswered it ends with States.Timeout; a SendTaskFailure with its token
    afterwards gets TaskTimedOut (moto alone accepted it)."""
    cls = internal(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback",
        "StateTaskServiceCallback",
    )
    assert "_eval_wait_for_task_token" in vars(cls), "moto internal _eval_wait_for_task_token is gone: moto upgrade?"
    expect_params(
        "StateTaskServiceCallback._eval_wait_for_task_token",
        patches._ORIGINAL["wait_for_token"],
        ["self", "env", "timeout_seconds", "callback_endpoint", "heartbeat_endpoint"],
    )
    definition, queue = _token_task(aws)
    desc = run_machine(aws, definition, name="token-timeout")
    assert (desc["status"], desc.get("error")) == ("FAILED", "States.Timeout")
    (wait,) = patches.CLOCK.for_execution(desc["executionArn"])
    assert (wait.state, wait.seconds, wait.lasted) == ("Wait for the token", 300.0, 300.0)
    token = aws["sqs"].receive_message(QueueUrl=queue)["Messages"][0]["Body"]
    with pytest.raises(ClientError) as late:
        aws["stepfunctions"].send_task_failure(taskToken=token, error="Late", cause="too late")
    assert late.value.response["Error"]["Code"] == "TaskTimedOut"


def test_send_task_failure_ends_the_wait_at_once_with_its_error_and_cause(aws: dict[str, Any]) -> None:
    """StepFunctionResponse.send_task_failure keeps ``cause`` (moto dropped it); the answered
    wait lasted no simulated time."""
    definition, queue = _token_task(aws)

    def answer(wait: patches.Wait) -> None:
        if wait.state == "Wait for the token":
            assert wait.ended is not None
            assert not wait.ended()
            token = aws["sqs"].receive_message(QueueUrl=queue)["Messages"][0]["Body"]
            aws["stepfunctions"].send_task_failure(taskToken=token, error="AlarmFired", cause="alarm x went to ALARM")
            assert wait.ended()

    patches.CLOCK.hooks.append(answer)
    desc = run_machine(aws, definition, name="token-answered")
    assert (desc["status"], desc.get("error"), desc.get("cause")) == ("FAILED", "AlarmFired", "alarm x went to ALARM")
    (wait,) = patches.CLOCK.for_execution(desc["executionArn"])
    assert wait.lasted == 0.0


def test_stop_execution_keeps_error_and_cause(aws: dict[str, Any]) -> None:
    """StepFunctionResponse.stop_execution, StateMachine.stop_execution and
    BaseExecutionWorkerCommunication.terminated: a stop right after the start works,
    and the ABORTED execution shows the request's error and cause, as in AWS."""
    expect_params("StepFunctionResponse.stop_execution", patches._ORIGINAL["stop_response"], ["self"])
    expect_params("StateMachine.stop_execution", patches._ORIGINAL["stop"], ["self", "execution_arn"])
    expect_params("BaseExecutionWorkerCommunication.terminated", patches._ORIGINAL["terminated"], ["self"])
    patches.CLOCK.scale = 1.0  # a real (interruptible) wait, so the stop lands mid-execution
    sfn = aws["stepfunctions"]
    machine = sfn.create_state_machine(
        name="stop-me",
        roleArn="arn:aws:iam::123456789012:role/x",
        definition=json.dumps({"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 30, "End": True}}}),
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="stop-me", input="{}")["executionArn"]

    sfn.stop_execution(executionArn=arn, error="Superseded", cause="a newer deployment started")

    desc = wait_for(sfn, arn, timeout=20)
    assert desc["status"] == "ABORTED"
    assert (desc.get("error"), desc.get("cause")) == ("Superseded", "a newer deployment started"), (
        "moto no longer carries StopExecution's error/cause through these internals: moto upgrade?"
    )


def test_environment_set_error_keeps_a_stopped_execution_aborted(aws: dict[str, Any]) -> None:
    """Environment.set_error: a Task whose Lambda fails after the execution was stopped
    (Step Functions does not stop a running task) leaves it ABORTED, as on AWS."""
    internal("moto.stepfunctions.parser.asl.eval.environment", "Environment")
    expect_params("Environment.set_error", patches._ORIGINAL["set_error"], ["self", "error"])
    sfn = aws["stepfunctions"]
    fn = make_function(aws, "fails-after-stop", "json.dumps")  # json.dumps(event, context) -> TypeError
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": fn,
                "Parameters": {"executionArn.$": "$$.Execution.Id"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "End": True,
            },
            "Failed": {"Type": "Fail", "Error": "CaughtAfterStop"},
        },
    }
    machine = sfn.create_state_machine(name="stop-mid-task", definition=json.dumps(definition), roleArn=ROLE)

    def stop_at_start(function_name: str, event: Any) -> None:
        if function_name == "fails-after-stop":
            sfn.stop_execution(executionArn=event["executionArn"], error="Stop", cause="pressed while it ran")

    patches.INVOKE_HOOKS.append(stop_at_start)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-1", input="{}")["executionArn"]

    desc = wait_for(sfn, arn, timeout=20)
    assert desc["status"] == "ABORTED", "a Task failing after the Stop ended the execution FAILED: moto upgrade?"
    assert (desc.get("error"), desc.get("cause")) == ("Stop", "pressed while it ran")
    history = sfn.get_execution_history(executionArn=arn)["events"]
    assert history[-1]["type"] == "ExecutionAborted"


def test_retrier_time(aws: dict[str, Any]) -> None:
    """retrier_decl.time: a Retry interval of one hour is recorded, not slept."""
    module = internal("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl")
    assert isinstance(module.time, patches._RecordedTime), "retrier_decl.time is not patched"
    assert module.time.kind == "retry"
    source = inspect.getsource(internal("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl"))
    assert "time.sleep(" in source, "moto's retrier no longer sleeps with time.sleep: moto upgrade?"
    fn = make_function(aws, "fails", "json.dumps")  # json.dumps(event, context) -> TypeError
    definition = _retried_once(fn)
    started = time.monotonic()
    assert run_machine(aws, definition)["status"] == "SUCCEEDED"
    assert time.monotonic() - started < 10
    assert [w.seconds for w in patches.CLOCK.waits if w.kind == "retry"] == [3600.0]


def test_lambda_simple_backend_invoke(aws: dict[str, Any]) -> None:
    """LambdaSimpleBackend.invoke: the function's Handler runs with its environment."""
    cls = internal("moto.awslambda_simple.models", "LambdaSimpleBackend")
    expect_params(
        "LambdaSimpleBackend.invoke",
        patches._ORIGINAL["invoke"],
        ["self", "function_name", "qualifier", "body", "headers", "response_headers"],
    )
    assert cls.invoke is patches._invoke
    make_function(aws, "getenv", "os.getenv", {"GREETING": "hello from the deployed env"})
    out = aws["lambda"].invoke(FunctionName="getenv", Payload=json.dumps("GREETING"))
    assert json.loads(out["Payload"].read()) == "hello from the deployed env"
    make_function(aws, "broken", "json.dumps")
    out = aws["lambda"].invoke(FunctionName="broken", Payload=b"{}")
    assert out.get("FunctionError") == "Unhandled"
    assert json.loads(out["Payload"].read())["errorType"] == "TypeError"


@pytest.mark.parametrize("method", ["put_item", "update_item", "delete_item", "transact_write_items"])
def test_dynamodb_backend_conditional_writes_are_locked(aws: dict[str, Any], method: str) -> None:
    """DynamoDBBackend put/update/delete/transact: wrapped in one lock, still working."""
    cls = internal("moto.dynamodb.models", "DynamoDBBackend")
    assert hasattr(getattr(cls, method), "__wrapped__"), f"DynamoDBBackend.{method} is not locked"
    assert callable(patches._ORIGINAL[f"ddb_{method}"])
    ddb = aws["dynamodb"]
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    calls: dict[str, Any] = {
        "put_item": lambda: ddb.put_item(
            TableName="t", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)"
        ),
        "update_item": lambda: ddb.update_item(
            TableName="t",
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET n = :two",
            ConditionExpression="n = :zero",
            ExpressionAttributeValues={":two": {"N": "2"}, ":zero": {"N": "0"}},
        ),
        "delete_item": lambda: ddb.delete_item(
            TableName="t", Key={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)"
        ),
        "transact_write_items": lambda: ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"pk": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
        ),
    }
    with pytest.raises(ClientError, match=r"ConditionalCheckFailed|TransactionCanceled"):
        calls[method]()


def test_route53_get_health_check_status(aws: dict[str, Any]) -> None:
    """Route53 responses get_health_check_status: a check can be made unhealthy."""
    cls = internal("moto.route53.responses", "Route53")
    assert cls.get_health_check_status.__wrapped__ is patches._health_check_status  # under faults.py's wrapper
    r53 = aws["route53"]
    check = r53.create_health_check(
        CallerReference="c1",
        HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "x.example.com", "Port": 443},
    )["HealthCheck"]["Id"]
    healthy = r53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]
    assert all(o["StatusReport"]["Status"].startswith("Success") for o in healthy)
    patches.UNHEALTHY_CHECKS.add(check)
    sick = r53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]
    assert sick
    assert all(o["StatusReport"]["Status"].startswith("Failure") for o in sick)


def test_route53_backend_change_resource_record_sets(aws: dict[str, Any]) -> None:
    """Route53Backend.change_resource_record_sets is route53_changes.py's, called by moto's
    response with (zone id, changes), and reads moto's zone and record set attributes."""
    from weightshift_emulator import route53_changes

    backend = internal("moto.route53.models", "Route53Backend")
    assert backend.change_resource_record_sets is route53_changes.change_resource_record_sets
    expect_params(
        "Route53Backend.change_resource_record_sets",
        route53_changes._ORIGINAL["change"],
        ["self", "zoneid", "change_list"],
    )
    response = inspect.getsource(internal("moto.route53.responses", "Route53").change_resource_record_sets)
    assert "self.backend.change_resource_record_sets(zoneid, change_list)" in response, "moto upgrade?"
    internal("moto.route53.utils", "validate_domain_name")
    r53 = aws["route53"]
    zone = r53.create_hosted_zone(Name="changes.example.com", CallerReference="rc1")["HostedZone"]["Id"]
    record = {"Name": "a.changes.example.com", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"v"'}]}
    r53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]}
    )
    stored = next(r for r in backend_zone(zone).rrsets if r.type == "TXT")
    for attr in ("name", "type", "set_identifier", "ttl", "records", "weight", "region", "failover", "geo_location"):
        assert hasattr(stored, attr), f"moto RecordSet.{attr} is gone: moto upgrade?"
    for attr in ("health_check_id", "multi_value_answer", "alias_target"):
        assert hasattr(stored, attr), f"moto RecordSet.{attr} is gone: moto upgrade?"
    with pytest.raises(ClientError, match="already exists"):
        r53.change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]}
        )


def backend_zone(zone_id: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.route53.models import route53_backends

    return route53_backends[DEFAULT_ACCOUNT_ID]["aws"].get_hosted_zone(zone_id)


def test_elbv2_target_group_health_for(aws: dict[str, Any]) -> None:
    """elbv2 FakeTargetGroup.health_for: a target whose health checks have not passed is initial."""
    cls = internal("moto.elbv2.models", "FakeTargetGroup")
    expect_params("FakeTargetGroup.health_for", patches._ORIGINAL["health_for"], ["self", "target", "ec2_backend"])
    assert cls.health_for is patches._target_health_for
    elb, ec2 = aws["elbv2"], aws["ec2"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    tg = elb.create_target_group(Name="tg-initial", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.9.0.10", "Port": 80}, {"Id": "10.9.0.11", "Port": 80}])
    patches.INITIAL_TARGETS.add((tg, "10.9.0.11"))
    health = {
        d["Target"]["Id"]: d["TargetHealth"]
        for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    }
    assert health["10.9.0.10"]["State"] == "healthy"
    assert health["10.9.0.11"]["State"] == "initial"
    assert health["10.9.0.11"]["Reason"] == "Elb.InitialHealthChecking"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("Throttling", "Route53.ThrottlingException"),  # not modelled by botocore: a plain ClientError
        ("PriorRequestNotComplete", "Route53.PriorRequestNotCompleteException"),  # modelled: its own class
        ("NoSuchChange", "Route53.NoSuchChangeException"),
    ],
)
def test_aws_sdk_task_error_names(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, code: str, expected: str
) -> None:
    """StateTaskServiceAwsSdk._normalise_service_error_name and _normalise_exception_name:
    an aws-sdk task's error is named as AWS names it, ``Route53.<Code>Exception``
    (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html),
    not moto's ``route53.route53Exception`` / ``route53.<Class>Exception``."""
    cls = internal(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
        "StateTaskServiceAwsSdk",
    )
    source = inspect.getsource(cls._from_error)
    for method in ("_normalise_service_error_name", "_normalise_exception_name"):
        assert method in source, f"moto's aws-sdk task no longer names its errors with {method}: moto upgrade?"
    expect_params(
        "StateTaskServiceAwsSdk._normalise_exception_name",
        patches._ORIGINAL["sdk_exception"],
        ["norm_service_name", "ex"],
    )
    r53 = internal("moto.route53.responses", "Route53")
    fault = internal("moto.route53.exceptions", "Route53ClientError")

    def get_change(self: Any) -> Any:
        raise fault(code, f"simulated {code}")

    monkeypatch.setattr(r53, "get_change", get_change)
    desc = run_machine(
        aws,
        {
            "StartAt": "Sync",
            "States": {
                "Sync": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:route53:getChange",
                    "Parameters": {"Id": "C0123456789"},
                    "Catch": [{"ErrorEquals": [expected], "ResultPath": "$.error", "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        },
    )
    assert desc["status"] == "SUCCEEDED", f"{code} was not named {expected}: {desc.get('error')}"
    assert json.loads(desc["output"])["error"]["Error"] == expected
    assert patches.sdk_error_name("route53", "InvalidInputException") == "Route53.InvalidInputException"


def _retried_once(fn: str) -> dict[str, Any]:
    """A Task that fails (TypeError), retried once after an hour, then caught."""
    return {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": fn,
                "Retry": [
                    {"ErrorEquals": ["TypeError"], "IntervalSeconds": 3600, "MaxAttempts": 1, "JitterStrategy": "NONE"}
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Succeed"},
        },
    }


def test_execution_worker_evaluation_entrypoint(aws: dict[str, Any]) -> None:
    """ExecutionWorker._get_evaluation_entrypoint: each definition is parsed once, and
    each execution runs a copy of that parse."""
    cls = internal("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker")
    assert "_get_evaluation_entrypoint" in vars(cls), (
        "moto internal ExecutionWorker._get_evaluation_entrypoint is gone: moto upgrade?"
    )
    assert cls._get_evaluation_entrypoint is patches._evaluation_entrypoint
    expect_params("ExecutionWorker._get_evaluation_entrypoint", patches._ORIGINAL["entrypoint"], ["self"])
    source = inspect.getsource(patches._ORIGINAL["entrypoint"])
    assert "AmazonStateLanguageParser.parse(" in source, "moto no longer parses the definition here: moto upgrade?"
    assert "self._evaluation_details.state_machine_details.definition" in source, (
        "moto no longer reads the definition from _evaluation_details.state_machine_details: moto upgrade?"
    )
    definition = {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 60, "End": True}}}
    desc = run_machine(aws, definition, name="parsed-once")
    assert desc["status"] == "SUCCEEDED"
    text = aws["stepfunctions"].describe_state_machine(stateMachineArn=desc["stateMachineArn"])["definition"]
    assert text in patches._PROGRAMS, "the definition an execution ran was not cached under its text"


def test_executions_of_one_definition_do_not_share_a_program(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two executions of one cached definition run two programs (a retrier's state is its
    own): each retries once, as each would after a fresh parse."""
    programs: list[Any] = []
    original = patches.program_for

    def spy(definition: str) -> Any:
        programs.append(original(definition))
        return programs[-1]

    monkeypatch.setattr(patches, "program_for", spy)
    fn = make_function(aws, "fails-twice", "json.dumps")  # json.dumps(event, context) -> TypeError
    sfn = aws["stepfunctions"]
    machine = sfn.create_state_machine(name="retries", definition=json.dumps(_retried_once(fn)), roleArn=ROLE)
    for run in ("first", "second"):
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=run, input="{}")["executionArn"]
        assert wait_for(sfn, arn, timeout=20)["status"] == "SUCCEEDED"
    assert len(programs) == 2
    assert programs[0] is not programs[1]
    pristine = patches._PROGRAMS[sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"]]
    assert all(p is not pristine for p in programs), "an execution ran the cached parse itself"
    assert [w.seconds for w in patches.CLOCK.waits if w.kind == "retry"] == [3600.0, 3600.0], (
        "the second execution did not retry as the first did: retry state shared between executions?"
    )


def test_engine_tasks_share_one_client_per_service(aws: dict[str, Any]) -> None:
    """boto_client_for, as the engine's Lambda and aws-sdk tasks import it: one client per
    (region, service, endpoint), made with moto's own configuration."""
    original = patches._ORIGINAL["engine_client"]
    assert original is internal("moto.stepfunctions.parser.asl.utils.boto_client", "boto_client_for")
    expect_params("boto_client_for", original, ["region", "service", "state_credentials"])
    for path in (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
    ):
        assert internal(path, "boto_client_for") is patches._engine_client, (
            f"{path} no longer imports it: moto upgrade?"
        )
    fn = make_function(aws, "twice", "builtins.print")
    definition = {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Task", "Resource": fn, "Next": "Two"},
            "Two": {"Type": "Task", "Resource": fn, "End": True},
        },
    }
    patches._ENGINE_CLIENTS.clear()
    assert run_machine(aws, definition, name="two-tasks")["status"] == "SUCCEEDED"
    made = [k for k in patches._ENGINE_CLIENTS if k[1] == "lambda"]
    assert len(made) == 1, made
    client = patches._ENGINE_CLIENTS[made[0]]
    assert client.meta.config.retries["total_max_attempts"] == 1, "moto's engine client config changed: moto upgrade?"


# ============================================================ cfn_patches.py
def _stack(aws: dict[str, Any], name: str, template: dict[str, Any], **params: str) -> None:
    aws["cloudformation"].create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
    )


def _machine_template(definition: str, substitutions: dict[str, str]) -> dict[str, Any]:
    return {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": "cfn-machine",
                    "RoleArn": ROLE,
                    "DefinitionString": definition,
                    "DefinitionSubstitutions": substitutions,
                },
            }
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Machine"}}},
    }


def test_state_machine_from_cloudformation(aws: dict[str, Any]) -> None:
    """StateMachine.{create,update,delete}_from_cloudformation_json and stepfunctions' get_backend."""
    cls = internal("moto.stepfunctions.models", "StateMachine")
    internal("moto.stepfunctions.responses", "get_backend")
    for hook in (
        "create_from_cloudformation_json",
        "update_from_cloudformation_json",
        "delete_from_cloudformation_json",
    ):
        assert isinstance(vars(cls).get(hook), classmethod), f"moto internal StateMachine.{hook} moved: moto upgrade?"
    definition = json.dumps(
        {
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "who": "${Who}"}, "End": True}},
        }
    )
    _stack(aws, "sm", _machine_template(definition, {"Who": "substituted"}))
    sfn = aws["stepfunctions"]
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:cfn-machine"
    described = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
    assert '"who": "substituted"' in described
    assert '"$$.Execution.Id"' in described, "the substitution must not touch $$ paths"
    # The engine's backend has it: an execution runs the substituted definition.
    execution = sfn.start_execution(stateMachineArn=arn, name="e1", input="{}")["executionArn"]
    desc = wait_for(sfn, execution)
    assert json.loads(desc["output"]) == {"id": execution, "who": "substituted"}
    aws["cloudformation"].update_stack(
        StackName="sm", TemplateBody=json.dumps(_machine_template(definition, {"Who": "updated"}))
    )
    assert '"who": "updated"' in sfn.describe_state_machine(stateMachineArn=arn)["definition"]
    aws["cloudformation"].delete_stack(StackName="sm")
    assert sfn.list_state_machines()["stateMachines"] == []


def test_state_machine_definition_from_s3(aws: dict[str, Any]) -> None:
    """DefinitionS3Location is read from moto's S3 backend (s3_backends[account][partition])."""
    internal("moto.s3.models", "s3_backends")
    aws["s3"].create_bucket(Bucket="defs")
    body = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${Value}", "End": True}}}
    aws["s3"].put_object(Bucket="defs", Key="m.json", Body=json.dumps(body).encode())
    template = _machine_template("", {"Value": "from-s3"})
    props = template["Resources"]["Machine"]["Properties"]
    del props["DefinitionString"]
    props["DefinitionS3Location"] = {"Bucket": "defs", "Key": "m.json"}
    _stack(aws, "s3sm", template)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:cfn-machine"
    assert "from-s3" in aws["stepfunctions"].describe_state_machine(stateMachineArn=arn)["definition"]


def test_events_rule_send_to_targets_invokes_lambda(aws: dict[str, Any]) -> None:
    """Rule.send_to_targets: matching events reach a Lambda target as AWS delivers them."""
    cls = internal("moto.events.models", "Rule")
    expect_params("Rule.send_to_targets", cfn_patches._ORIGINAL["send_to_targets"], ["self", "original_event"])
    assert cls.send_to_targets is cfn_patches._send_to_targets
    internal("moto.events.utils", "EventTemplateParser")
    internal("moto.awslambda.utils", "get_backend")
    seen: list[tuple[str, Any]] = []
    patches.INVOKE_HOOKS.append(lambda name, event: seen.append((name, event)))
    fn = make_function(aws, "target", "builtins.print")
    events = aws["events"]
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"], "detail": {"kind": ["wanted"]}}))
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": fn}])
    events.put_events(
        Entries=[
            {"Source": "my.app", "DetailType": "Thing", "Detail": json.dumps({"kind": "wanted"})},
            {"Source": "my.app", "DetailType": "Thing", "Detail": json.dumps({"kind": "other"})},
        ]
    )
    assert len(seen) == 1
    name, event = seen[0]
    assert name == "target"
    assert event["detail"] == {"kind": "wanted"}
    assert event["detail-type"] == "Thing"
    assert isinstance(event["time"], str)
    assert event["time"].endswith("Z")
    assert "ingestion-time" not in event
    assert [(d.rule, d.ok, d.attempts) for d in cfn_patches.DELIVERIES] == [("r", True, 1)]


def _queue(aws: dict[str, Any], name: str) -> tuple[str, str]:
    url = aws["sqs"].create_queue(QueueName=name)["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(url), str(arn)


def _messages(aws: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return list(
        aws["sqs"]
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        .get("Messages", [])
    )


def _rule_to(aws: dict[str, Any], fn_arn: str, dlq_arn: str, **target: Any) -> None:
    events = aws["events"]
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": fn_arn, "DeadLetterConfig": {"Arn": dlq_arn}, **target}])


def _put(aws: dict[str, Any]) -> None:
    entry = {"Source": "my.app", "DetailType": "Thing", "Detail": json.dumps({"n": 1})}
    assert aws["events"].put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_function_error_is_retried_by_lambda_then_sent_to_the_on_failure_destination(aws: dict[str, Any]) -> None:
    """A function error is not a delivery failure: EventBridge delivers once (Lambda accepts the
    event), Lambda runs it 1 + 2 times (1 and 2 minutes apart, on the clock), then sends the
    documented invocation record to the function's on-failure destination. The rule's DLQ stays empty."""
    internal("moto.sqs.models", "sqs_backends")
    internal("moto.awslambda.exceptions", "UnknownEventConfig")
    fn = make_function(aws, "broken", "json.dumps")  # json.dumps(event, context) -> TypeError
    dlq_url, dlq_arn = _queue(aws, "rule-dlq")
    failed_url, failed_arn = _queue(aws, "failed")
    aws["lambda"].put_function_event_invoke_config(
        FunctionName="broken", DestinationConfig={"OnFailure": {"Destination": failed_arn}}
    )
    _rule_to(aws, fn, dlq_arn)
    _put(aws)

    assert [(d.ok, d.attempts, d.error_code) for d in cfn_patches.DELIVERIES] == [(True, 1, None)]
    (invocation,) = lambda_async.INVOCATIONS
    assert [(a.number, a.at_seconds, a.ok) for a in invocation.attempts] == [
        (1, 0, False),
        (2, 60, False),
        (3, 180, False),
    ]
    assert [(w.kind, w.seconds) for w in patches.CLOCK.waits] == [("lambda-retry", 60.0), ("lambda-retry", 120.0)]
    assert _messages(aws, dlq_url) == []
    (message,) = _messages(aws, failed_url)
    record = json.loads(message["Body"])
    assert set(record) == {
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    }
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": invocation.request_id,
        "functionArn": f"{fn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"]["detail"] == {"n": 1}
    assert record["requestPayload"]["source"] == "my.app"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "TypeError"


def test_without_a_destination_lambda_drops_the_event_after_its_retries(aws: dict[str, Any]) -> None:
    """No EventInvokeConfig: Lambda's defaults (2 retries), then the event is gone. Not in the rule's DLQ."""
    fn = make_function(aws, "broken", "json.dumps")
    dlq_url, dlq_arn = _queue(aws, "rule-dlq")
    _rule_to(aws, fn, dlq_arn)
    _put(aws)
    (invocation,) = lambda_async.INVOCATIONS
    assert (len(invocation.attempts), invocation.condition, invocation.destination) == (3, "RetriesExhausted", None)
    assert _messages(aws, dlq_url) == []


@pytest.mark.parametrize(
    ("config", "attempts", "condition"),
    [
        ({"MaximumRetryAttempts": 0}, 1, "RetriesExhausted"),
        ({"MaximumRetryAttempts": 1}, 2, "RetriesExhausted"),
        ({"MaximumEventAgeInSeconds": 60}, 1, "EventAgeExceeded"),
        ({"MaximumEventAgeInSeconds": 180}, 2, "EventAgeExceeded"),
    ],
)
def test_event_invoke_config_limits_the_retries(
    aws: dict[str, Any], config: dict[str, int], attempts: int, condition: str
) -> None:
    fn = make_function(aws, "broken", "json.dumps")
    failed_url, failed_arn = _queue(aws, "failed")
    aws["lambda"].put_function_event_invoke_config(
        FunctionName="broken", DestinationConfig={"OnFailure": {"Destination": failed_arn}}, **config
    )
    _rule_to(aws, fn, _queue(aws, "rule-dlq")[1])
    _put(aws)
    (message,) = _messages(aws, failed_url)
    context = json.loads(message["Body"])["requestContext"]
    assert (context["approximateInvokeCount"], context["condition"]) == (attempts, condition)


def test_a_retry_that_succeeds_sends_nothing(aws: dict[str, Any]) -> None:
    fn = make_function(aws, "flaky", "builtins.print")
    failed_url, failed_arn = _queue(aws, "failed")
    aws["lambda"].put_function_event_invoke_config(
        FunctionName="flaky", DestinationConfig={"OnFailure": {"Destination": failed_arn}}
    )
    runs: list[int] = []

    def fail_first(function: str, event: Any) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("transient")

    patches.INVOKE_HOOKS.append(fail_first)
    _rule_to(aws, fn, _queue(aws, "rule-dlq")[1])
    _put(aws)
    (invocation,) = lambda_async.INVOCATIONS
    assert invocation.ok
    assert [a.ok for a in invocation.attempts] == [False, True]
    assert _messages(aws, failed_url) == []


def test_delivery_failure_is_retried_by_eventbridge_then_dead_lettered(aws: dict[str, Any]) -> None:
    """The Invoke call itself fails (throttled): EventBridge retries per the target's RetryPolicy,
    then puts the event (as the body) in the rule's DLQ with the documented attributes."""
    fn = make_function(aws, "throttled", "builtins.print")
    dlq_url, dlq_arn = _queue(aws, "rule-dlq")

    def throttle(function: str, event: Any) -> None:
        raise lambda_async.InvokeRejected("TooManyRequestsException", "Rate Exceeded.")

    lambda_async.ACCEPT_HOOKS.append(throttle)
    _rule_to(aws, fn, dlq_arn, RetryPolicy={"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600})
    _put(aws)
    assert [(d.ok, d.attempts, d.error_code) for d in cfn_patches.DELIVERIES] == [(False, 4, "THROTTLING")]
    assert lambda_async.INVOCATIONS == []  # Lambda never accepted it: the function never ran
    assert [w.seconds for w in patches.CLOCK.waits if w.kind == "delivery-retry"] == [1.0, 2.0, 4.0]
    (message,) = _messages(aws, dlq_url)
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"], event["detail"]) == ("my.app", "Thing", {"n": 1})
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "RULE_ARN": aws["events"].describe_rule(Name="r")["Arn"],
        "TARGET_ARN": fn,
        "ERROR_CODE": "THROTTLING",
        "ERROR_MESSAGE": "Rate Exceeded.",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": "3",
    }


def test_a_missing_function_is_dead_lettered_without_retries(aws: dict[str, Any]) -> None:
    fn = make_function(aws, "gone", "builtins.print")
    dlq_url, dlq_arn = _queue(aws, "rule-dlq")
    _rule_to(aws, fn, dlq_arn)
    aws["lambda"].delete_function(FunctionName="gone")
    _put(aws)
    assert [(d.ok, d.attempts, d.error_code) for d in cfn_patches.DELIVERIES] == [(False, 1, "NO_RESOURCE")]
    (message,) = _messages(aws, dlq_url)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert (attributes["ERROR_CODE"], attributes["RETRY_ATTEMPTS"]) == ("NO_RESOURCE", "0")
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes


def test_invoke_with_invocation_type_event_is_asynchronous(aws: dict[str, Any]) -> None:
    """LambdaSimpleBackend.invoke: an Event invoke is accepted (202) and then retried by Lambda."""
    make_function(aws, "broken", "json.dumps")
    response = aws["lambda"].invoke(FunctionName="broken", InvocationType="Event", Payload=b'{"a": 1}')
    assert response["StatusCode"] == 202
    assert "FunctionError" not in response
    (invocation,) = lambda_async.INVOCATIONS
    assert (invocation.payload, len(invocation.attempts), invocation.condition) == ({"a": 1}, 3, "RetriesExhausted")


def test_event_invoke_config_from_cloudformation(aws: dict[str, Any]) -> None:
    """AWS::Lambda::EventInvokeConfig (moto's CloudFormation skips it): created, updated and deleted
    through the Lambda backend, after clearing moto's cached model list."""
    parsing = internal("moto.cloudformation.parsing")
    for cached in ("get_model_list", "get_model_map", "get_name_type_map"):
        assert hasattr(getattr(parsing, cached), "cache_clear"), f"moto internal parsing.{cached} moved: moto upgrade?"
    assert parsing.get_model_map()["AWS::Lambda::EventInvokeConfig"] is cfn_patches.EventInvokeConfigResource
    aws["s3"].create_bucket(Bucket="code")
    aws["s3"].put_object(Bucket="code", Key="c.zip", Body=_zip())
    ensure_role(aws)

    def template(retries: int) -> dict[str, Any]:
        return {
            "Resources": {
                "Q": {"Type": "AWS::SQS::Queue"},
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "FunctionName": "configured",
                        "Runtime": "python3.13",
                        "Handler": "builtins.print",
                        "Role": ROLE,
                        "Code": {"S3Bucket": "code", "S3Key": "c.zip"},
                    },
                },
                "Config": {
                    "Type": "AWS::Lambda::EventInvokeConfig",
                    "Properties": {
                        "FunctionName": {"Ref": "Fn"},
                        "Qualifier": "$LATEST",
                        "MaximumRetryAttempts": retries,
                        "MaximumEventAgeInSeconds": 900,
                        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Q", "Arn"]}}},
                    },
                },
            }
        }

    _stack(aws, "eic", template(1))
    config = aws["lambda"].get_function_event_invoke_config(FunctionName="configured")
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (1, 900)
    assert (
        config["DestinationConfig"]["OnFailure"]["Destination"].endswith(":Q")
        or ":sqs:" in (config["DestinationConfig"]["OnFailure"]["Destination"])
    )
    aws["cloudformation"].update_stack(StackName="eic", TemplateBody=json.dumps(template(0)))
    assert aws["lambda"].get_function_event_invoke_config(FunctionName="configured")["MaximumRetryAttempts"] == 0
    assert stack.unsupported({"Config": "AWS::Lambda::EventInvokeConfig"}) == {}


def test_execution_status_change_events(aws: dict[str, Any]) -> None:
    """BaseExecutionWorkerCommunication.terminated: each end emits a real-format status-change event."""
    cls = internal("moto.stepfunctions.parser.backend.execution", "BaseExecutionWorkerCommunication")
    assert cls.terminated is cfn_patches._terminated
    execution_cls = internal("moto.stepfunctions.parser.backend.execution", "Execution")
    for attr in ("exec_arn", "state_machine", "exec_status", "start_date", "stop_date", "input_data", "error"):
        assert attr in inspect.getsource(execution_cls.__init__), f"moto internal Execution.{attr} moved: moto upgrade?"
    emitted: list[dict[str, Any]] = []
    cfn_patches.STATUS_LISTENERS.append(emitted.append)
    ok = run_machine(aws, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, name="ok")
    bad = run_machine(
        aws, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}}, name="bad"
    )
    # Stopped while it waits: a scaled wait is interruptible, as in moto.
    patches.CLOCK.scale = 1.0
    sfn = aws["stepfunctions"]
    machine = sfn.create_state_machine(
        name="slow",
        definition=json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    slow = sfn.start_execution(stateMachineArn=machine, name="slow-1", input='{"a": 1}')["executionArn"]
    time.sleep(0.2)
    sfn.stop_execution(executionArn=slow)
    assert wait_for(sfn, slow)["status"] == "ABORTED"
    assert cfn_patches.wait_until(lambda: len(emitted) == 3, timeout=5)
    details = {json.loads(e["Detail"])["executionArn"]: json.loads(e["Detail"]) for e in emitted}
    assert {e["Source"] for e in emitted} == {"aws.states"}
    assert {e["DetailType"] for e in emitted} == {"Step Functions Execution Status Change"}
    assert details[ok["executionArn"]]["status"] == "SUCCEEDED"
    assert details[bad["executionArn"]] | {"startDate": 0, "stopDate": 0} == {
        "executionArn": bad["executionArn"],
        "stateMachineArn": bad["stateMachineArn"],
        "name": "run-1",
        "status": "FAILED",
        "startDate": 0,
        "stopDate": 0,
        "input": "{}",
        "output": None,
        "inputDetails": {"included": True},
        "outputDetails": None,
        "error": "Boom",
        "cause": "why",
    }
    aborted = details[slow]
    assert aborted["status"] == "ABORTED"
    assert aborted["input"] == '{"a":1}'
    assert isinstance(aborted["startDate"], int)
    assert aborted["stopDate"] >= aborted["startDate"]


def test_lambda_environment_from_cloudformation_is_text(aws: dict[str, Any]) -> None:
    """LambdaFunction.{create,update}_from_cloudformation_json: Number parameters reach env vars as strings."""
    cls = internal("moto.awslambda.models", "LambdaFunction")
    for hook in ("create_from_cloudformation_json", "update_from_cloudformation_json"):
        assert isinstance(vars(cls).get(hook), classmethod), f"moto internal LambdaFunction.{hook} moved: moto upgrade?"
    aws["s3"].create_bucket(Bucket="code")
    aws["s3"].put_object(Bucket="code", Key="c.zip", Body=_zip())
    template = {
        "Parameters": {"Seconds": {"Type": "Number"}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "with-env",
                    "Runtime": "python3.13",
                    "Handler": "os.getenv",
                    "Role": ROLE,
                    "Code": {"S3Bucket": "code", "S3Key": "c.zip"},
                    "Environment": {"Variables": {"SECONDS": {"Ref": "Seconds"}}},
                },
            }
        },
    }
    ensure_role(aws)
    _stack(aws, "fn", template, Seconds="60")
    env = aws["lambda"].get_function_configuration(FunctionName="with-env")["Environment"]["Variables"]
    assert env == {"SECONDS": "60"}


def test_change_set_outputs(aws: dict[str, Any]) -> None:
    """CloudFormationBackend.execute_change_set: the stack has its Outputs afterwards (sam deploy's path)."""
    cls = internal("moto.cloudformation.models", "CloudFormationBackend")
    assert cls.execute_change_set is cfn_patches._execute_change_set
    internal("moto.cloudformation.models", "Stack")
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
    }
    cfn = aws["cloudformation"]
    cfn.create_change_set(
        StackName="cs", ChangeSetName="one", TemplateBody=json.dumps(template), ChangeSetType="CREATE"
    )
    cfn.execute_change_set(ChangeSetName="one", StackName="cs")
    outputs = cfn.describe_stacks(StackName="cs")["Stacks"][0].get("Outputs", [])
    assert [o["OutputKey"] for o in outputs] == ["TopicArn"]
    assert outputs[0]["OutputValue"].startswith("arn:aws:sns:")


def test_start_execution_without_a_name_gets_a_uuid(aws: dict[str, Any]) -> None:
    """StepFunctionsParserBackend.start_execution: unnamed starts get distinct UUID names."""
    cls = internal("moto.stepfunctions.parser.models", "StepFunctionsParserBackend")
    expect_params(
        "StepFunctionsParserBackend.start_execution",
        cfn_patches._ORIGINAL["start_execution"],
        ["self", "state_machine_arn", "name", "execution_input", "trace_header"],
    )
    assert cls.start_execution is cfn_patches._start_execution
    sfn = aws["stepfunctions"]
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    arn = sfn.create_state_machine(name="unnamed", definition=definition, roleArn=ROLE)["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    assert first != second
    assert not first.endswith(":None")
    assert wait_for(sfn, first)["name"] == first.rsplit(":", 1)[1]
    wait_for(sfn, second)


# ================================================================== stack.py
def test_cloudformation_model_map_for_skipped_types() -> None:
    """moto.cloudformation.parsing.get_model_map/NULL_MODELS: how stack.py reports skipped types."""
    internal("moto.cloudformation.parsing", "get_model_map")
    internal("moto.cloudformation.parsing", "NULL_MODELS")
    skipped = stack.unsupported({"Q": "AWS::SQS::Queue", "P": "AWS::SQS::QueuePolicy", "T": "AWS::SNS::Topic"})
    assert skipped == {"P": "AWS::SQS::QueuePolicy"}


def test_sam_translator_offline_transform() -> None:
    """samtranslator's transform with the bundled managed-policy map: no IAM call, no AWS account."""
    internal("samtranslator.translator.transform", "transform")
    internal("samtranslator.internal.managed_policies", "get_bundled_managed_policy_map")
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "app.handler",
                    "CodeUri": "s3://bucket/key.zip",
                    "Policies": ["AWSLambdaBasicExecutionRole"],
                },
            }
        },
    }
    out = stack.to_cloudformation(template, {}, "us-east-1")
    assert out["Resources"]["Fn"]["Type"] == "AWS::Lambda::Function"
    role = out["Resources"]["FnRole"]["Properties"]
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in json.dumps(role)


def test_engine_reaches_the_server_through_moto_port() -> None:
    """The engine's aws-sdk client uses localhost:$MOTO_PORT when not under mock_aws (server mode)."""
    source = inspect.getsource(internal("moto.stepfunctions.parser.asl.utils.boto_client"))
    assert "moto_server_port()" in source, "moto's engine no longer reads MOTO_PORT: moto upgrade?"
    internal("moto.moto_server.threaded_moto_server", "ThreadedMotoServer")
    internal("moto.core.config", "default_user_config")


# ------------------------------------------------------------------ faults.py and the SDK's retry sleep
def test_fault_hooks_wrap_moto_route53_sns_and_events(aws: dict[str, Any]) -> None:
    """moto's Route 53 response actions, SNSBackend.publish and EventsBackend.put_events are wrapped;
    botocore.endpoint's time (the SDK's retry sleep) is the clock's."""
    r53 = internal("moto.route53.responses", "Route53")
    for action in faults.ROUTE53_ACTIONS:
        assert hasattr(getattr(r53, action), "__wrapped__"), f"moto.route53.responses.Route53.{action}: moto upgrade?"
    assert hasattr(internal("moto.sns.models", "SNSBackend").publish, "__wrapped__")
    assert hasattr(internal("moto.events.models", "EventsBackend").put_events, "__wrapped__")
    assert isinstance(internal("botocore.endpoint").time, patches._RecordedTime)
    zone = aws["route53"].create_hosted_zone(Name="faults.example.com", CallerReference="f1")["HostedZone"]["Id"]
    fault = faults.Route53Fault("Throttling")
    faults.ROUTE53_FAULTS.append(fault)
    with pytest.raises(ClientError, match="Throttling"):
        aws["route53"].get_hosted_zone(Id=zone)
    assert fault.calls == ["get_hosted_zone"] * 5  # every attempt of the SDK (legacy mode: 5) was an occurrence
    faults.ROUTE53_FAULTS.clear()
    aws["route53"].get_hosted_zone(Id=zone)
    topic = aws["sns"].create_topic(Name="faults")["TopicArn"]
    faults.NOTIFY_FAULTS.append(faults.NotifyFault("events", "InternalFailure", times=1))
    body = json.dumps({"event": "promoted", "deploymentId": "d1"})
    entry = {"Source": "weightshift", "DetailType": "x", "Detail": body}
    refused = aws["events"].put_events(Entries=[entry])
    assert refused["FailedEntryCount"] == 1  # HTTP 200: the SDK does not retry it
    assert refused["Entries"][0]["ErrorCode"] == "InternalFailure"
    assert aws["events"].put_events(Entries=[entry])["FailedEntryCount"] == 0
    aws["sns"].publish(TopicArn=topic, Message=body)
    assert [(p.service, p.kind, p.ok) for p in faults.PUBLISHED] == [
        ("events", "promoted", False),
        ("events", "promoted", True),
        ("sns", "promoted", True),
    ]
