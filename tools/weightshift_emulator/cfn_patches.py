"""Patches that let moto run the real ``template.yaml`` as deployed (see ``stack.py``).

``patches.py`` makes moto's services behave (in-process Lambda, compressed time,
atomic conditional writes, health-check status). This module makes moto's
*CloudFormation* and *EventBridge* wire them together the way AWS does, so the
deployed rules, functions and state machine are the ones the template declares:

1. ``AWS::StepFunctions::StateMachine`` from CloudFormation: moto reads only
   ``DefinitionString``, ignores ``DefinitionSubstitutions``, and writes into the
   plain backend while, with the execution engine on, the API reads the engine's
   backend (the machine is then invisible). We build it where the API looks, from
   ``DefinitionString``, ``Definition`` or ``DefinitionS3Location``, with the
   substitutions applied as plain ``${Name}`` replacements. (Not through moto's
   ``Fn::Sub``, which turns ``$$.Execution.Id`` into ``$.Execution.Id``.)
2. EventBridge rules with Lambda targets: moto raises NotImplementedError. We
   deliver the event as AWS does: an *asynchronous* invoke (``lambda_async.py``:
   Lambda's own retries of a function error, then the function's on-failure
   destination), while the rule's retry policy and dead-letter queue see only
   failures of the Invoke call itself (throttling, a missing function).
3. "Step Functions Execution Status Change": moto's engine emits none. When a
   Standard execution ends (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) we put the
   real-format event on the default bus, so a rule such as the template's
   ``AbortFunction`` rule fires. It is emitted from the execution's worker thread
   right after moto records the final status.
4. Lambda environment variables from CloudFormation: a ``Number`` parameter
   reaches ``Environment.Variables`` as an int (moto converts it); AWS stores
   strings. We cast.
5. Stacks created or updated through a change set (what ``sam deploy`` does):
   moto never recomputes ``Outputs``. We do, after the change set is executed.
   (The ``AWS::Serverless`` transform, ``TemplateURL``, capabilities and the rest of the
   change-set flow ``sam deploy`` drives are ``cfn_transform.py``'s.)
6. ``StartExecution`` without a name (a user re-running from the CLI): moto's
   engine keeps the name ``None``; we give it a UUID, as Step Functions does.
7. ``AWS::Lambda::EventInvokeConfig`` (what SAM's ``EventInvokeConfig`` becomes):
   moto's CloudFormation skips it. We create it through the Lambda backend's
   ``PutFunctionEventInvokeConfig``, so ``lambda_async`` reads each function's
   retries, maximum event age and on-failure destination from the deployed stack.
8. ``AWS::CloudWatch::Alarm``: moto's CloudFormation skips it. We create it through the
   CloudWatch backend's ``PutMetricAlarm`` (metric and metric-math alarms), so the stack's
   own alarms exist, start in INSUFFICIENT_DATA and are evaluated like any other.

Resource types moto's CloudFormation does not know (``AWS::SQS::QueuePolicy``,
for instance) are skipped by moto with a warning; ``stack.py`` reports them.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import moto.awslambda.models as lambda_models
import moto.cloudformation.models as cfn_models
import moto.cloudformation.parsing as cfn_parsing
import moto.events.models as events_models
import moto.stepfunctions.models as sfn_models
import moto.stepfunctions.parser.backend.execution as sfn_execution
import moto.stepfunctions.parser.models as sfn_parser_models
from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.events.utils import EventTemplateParser
from moto.s3.models import s3_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.responses import get_backend as sfn_backend
from moto.stepfunctions.utils import cfn_to_api_tags
from moto.utilities.arns import parse_arn
from moto.utilities.utils import get_partition

from weightshift_emulator import cfn_custom, cfn_transform, lambda_async, patches

LOG = logging.getLogger("weightshift_emulator")


# ------------------------------------------------------ 1. state machine in CFN
def _definition(properties: dict[str, Any], account_id: str, region_name: str) -> str:
    """The ASL text of an AWS::StepFunctions::StateMachine, substitutions applied."""
    if "DefinitionString" in properties:
        text = str(properties["DefinitionString"])
    elif "Definition" in properties:
        text = json.dumps(properties["Definition"])
    elif "DefinitionS3Location" in properties:
        location = properties["DefinitionS3Location"]
        s3 = s3_backends[account_id][get_partition(region_name)]
        key = s3.get_object(location["Bucket"], location["Key"], version_id=location.get("Version"))
        if key is None:
            raise ValueError(f"DefinitionS3Location s3://{location['Bucket']}/{location['Key']} does not exist")
        text = key.value.decode()
    else:
        raise ValueError("AWS::StepFunctions::StateMachine needs DefinitionString, Definition or DefinitionS3Location")
    # Plain replacement, as Step Functions does: only ${Name} for the given names,
    # every other "$" (JSONPath, $$.Execution.Id) untouched.
    for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + name + "}", value if isinstance(value, str) else json.dumps(value))
    return text


def _sm_create(
    cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    properties = cloudformation_json["Properties"]
    backend = sfn_backend(account_id, region_name)  # the backend the stepfunctions API reads
    return backend.create_state_machine(
        name=properties.get("StateMachineName", resource_name),
        definition=_definition(properties, account_id, region_name),
        roleArn=properties.get("RoleArn", ""),
        tags=cfn_to_api_tags(properties.get("Tags", [])),
        tracingConfiguration=properties.get("TracingConfiguration"),
        loggingConfiguration=properties.get("LoggingConfiguration"),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def _sm_update(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Any:
    properties = cloudformation_json.get("Properties", {})
    backend = sfn_backend(account_id, region_name)
    name = properties.get("StateMachineName", original_resource.name)
    if name != original_resource.name:  # a new name means replacement, as in CloudFormation
        new = _sm_create(cls, name, cloudformation_json, account_id, region_name)
        backend.delete_state_machine(original_resource.arn)
        return new
    machine = backend.update_state_machine(
        original_resource.arn,
        definition=_definition(properties, account_id, region_name),
        role_arn=properties.get("RoleArn") or None,
    )
    backend.tagger.tag_resource(machine.arn, cfn_to_api_tags(properties.get("Tags", [])))
    return machine


def _sm_delete(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    # resource_name is the physical id, the ARN.
    sfn_backend(account_id, region_name).delete_state_machine(resource_name)


# ------------------------------------------------- 2. EventBridge -> Lambda
# EventBridge invokes a Lambda target *asynchronously*. Its retry policy and dead-letter
# queue see only delivery failures: the Invoke call itself failed (throttled, the function
# gone, no permission). Once Lambda has accepted the event, EventBridge is done, and a
# function error is Lambda's business (retries, then the function's on-failure destination:
# ``lambda_async.py``).
# Sources: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
# ("Event retry policy and using dead-letter queues") and
# https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
#
# - Retriable delivery errors are retried "for 24 hours and up to 185 times with an
#   exponential back off and jitter" by default, or as the target's RetryPolicy says.
#   AWS does not publish the back-off formula: the emulator doubles from 1 s up to 5 min,
#   without jitter, on the simulated clock.
# - "For errors that result from missing permissions to a target, or a target resource that
#   no longer exists", EventBridge does not retry: straight to the dead-letter queue.
# - A DLQ message's body is the event; its attributes are RULE_ARN, TARGET_ARN, ERROR_CODE,
#   ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION (only when a retry limit ended the delivery)
#   and RETRY_ATTEMPTS. The ERROR_CODE values are from that page's list (THROTTLING,
#   NO_RESOURCE, NO_PERMISSIONS, INTERNAL_ERROR); which Lambda error maps to which is ours.
DELIVERY_ERRORS: dict[str, tuple[str, bool]] = {  # Lambda Invoke error -> (ERROR_CODE, retriable)
    "TooManyRequestsException": ("THROTTLING", True),
    "ServiceException": ("INTERNAL_ERROR", True),
    "ResourceNotFoundException": ("NO_RESOURCE", False),
    "AccessDeniedException": ("NO_PERMISSIONS", False),
}
DEFAULT_DELIVERY_RETRIES = 185
DEFAULT_DELIVERY_MAX_AGE_SECONDS = 86400
MAX_DELIVERY_BACKOFF_SECONDS = 300.0


@dataclass
class Delivery:
    """One event a rule delivered (or failed to deliver) to a Lambda target (for tests and the demo).

    ``ok`` means Lambda *accepted* the event; what the function then did is in ``invocation``.
    """

    rule: str
    function: str
    detail_type: str
    attempts: int  # EventBridge's delivery attempts (the Invoke calls), not the function's runs
    ok: bool
    error_code: str | None = None
    invocation: lambda_async.AsyncInvocation | None = None


DELIVERIES: list[Delivery] = []
_DELIVERIES_LOCK = threading.Lock()


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to a target: ISO time, no moto-only keys."""
    out = {k: v for k, v in event.items() if k != "ingestion-time"}
    when = out.get("time")
    if isinstance(when, int | float):
        out["time"] = datetime.fromtimestamp(float(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif isinstance(when, datetime):
        out["time"] = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
    return event


def _invoke_error(exc: Exception) -> tuple[str, str]:
    """(Lambda error code, message) of a failed Invoke call."""
    if isinstance(exc, lambda_async.InvokeRejected):
        return exc.code, exc.message
    code = getattr(exc, "code", None) or type(exc).__name__
    if code in ("UnknownFunctionException", "FunctionNotFound") or "not found" in str(exc).lower():
        code = "ResourceNotFoundException"
    return str(code), str(getattr(exc, "message", "") or exc)


def _invoke_lambda_target(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = parse_arn(target["Arn"])
    parts = target["Arn"].split(":")
    function_name = parts[6]
    qualifier = parts[7] if len(parts) > 7 else None
    backend = lambda_backend(arn.account, arn.region)
    payload = _target_input(target, event)
    policy = target.get("RetryPolicy", {})
    max_retries = int(policy.get("MaximumRetryAttempts", DEFAULT_DELIVERY_RETRIES))
    max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_DELIVERY_MAX_AGE_SECONDS))
    attempts, age, exhausted = 0, 0.0, None
    error_code, message = "", ""
    invocation = None
    while True:
        attempts += 1
        try:
            invocation = lambda_async.accept(backend, function_name, qualifier, payload)
            break
        except Exception as exc:  # noqa: BLE001 - any failed Invoke call is a failed delivery
            lambda_code, message = _invoke_error(exc)
            error_code, retriable = DELIVERY_ERRORS.get(lambda_code, ("INTERNAL_ERROR", True))
        if not retriable:
            break
        if attempts > max_retries:
            exhausted = "MaximumRetryAttempts"
            break
        delay = min(MAX_DELIVERY_BACKOFF_SECONDS, 2.0 ** (attempts - 1))
        if age + delay > max_age:
            exhausted = "MaximumEventAgeInSeconds"
            break
        patches.CLOCK.record(patches.Wait("delivery-retry", rule.name, delay, str(event.get("id", "?"))))
        if patches.CLOCK.scale > 0:
            time.sleep(delay * patches.CLOCK.scale)
        age += delay
    ok = invocation is not None
    with _DELIVERIES_LOCK:
        DELIVERIES.append(
            Delivery(
                rule.name,
                function_name,
                str(event.get("detail-type")),
                attempts,
                ok,
                None if ok else error_code,
                invocation,
            )
        )
    dlq = target.get("DeadLetterConfig", {}).get("Arn")
    if ok or not dlq:
        return
    attributes = {
        "RULE_ARN": rule.arn,
        "TARGET_ARN": target["Arn"],
        "ERROR_CODE": error_code,
        "ERROR_MESSAGE": message,
        "RETRY_ATTEMPTS": str(attempts - 1),
    }
    if exhausted:
        attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
    queue = parse_arn(dlq)
    sqs_backends[queue.account][queue.region].send_message(
        queue_name=queue.resource_id,
        message_body=json.dumps(event),
        message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    if getattr(self, "state", "ENABLED") == "DISABLED":  # AWS delivers nothing for a disabled rule
        return
    lambdas = [t for t in self.targets if t["Arn"].split(":")[2:3] == ["lambda"]]
    others = [t for t in self.targets if t not in lambdas]
    if others:  # moto handles these itself (SQS, logs, buses, archives)
        rule = copy.copy(self)
        rule.targets = others
        _ORIGINAL["send_to_targets"](rule, original_event, transform_input)
    if lambdas and self.event_pattern.matches_event(original_event):
        event = _as_delivered(original_event)
        for target in lambdas:
            _invoke_lambda_target(self, target, event)


# -------------------------------------- 3. Execution Status Change events
def _epoch_ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None


def status_change_event(execution: Any) -> dict[str, Any]:
    """The ``put_events`` entry AWS emits when a Standard execution changes status."""
    machine = execution.state_machine
    machine_arn = getattr(machine, "source_arn", None) or machine.arn
    status = execution.exec_status.value if execution.exec_status is not None else "RUNNING"
    output = None
    if status == "SUCCEEDED" and execution.output is not None:
        output = execution.output if isinstance(execution.output, str) else json.dumps(execution.output)
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date),
        "input": json.dumps(execution.input_data, separators=(",", ":")),
        "output": output,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
        "error": execution.error,
        "cause": execution.cause,
    }
    return {
        "Source": "aws.states",
        "DetailType": "Step Functions Execution Status Change",
        "Detail": json.dumps(detail),
        "Resources": [execution.exec_arn],
        "EventBusName": "default",
    }


# Called with each status-change entry after it is put (tests and the demo watch these).
STATUS_LISTENERS: list[Callable[[dict[str, Any]], None]] = []


def _emit_status_change(execution: Any) -> None:
    if str(getattr(execution.sm_type, "value", execution.sm_type)) != "STANDARD":
        return  # Express executions emit no status-change events
    entry = status_change_event(execution)
    events_models.events_backends[execution.account_id][execution.region_name].put_events([entry])
    for listener in list(STATUS_LISTENERS):
        listener(entry)


def _terminated(self: Any) -> None:
    _ORIGINAL["terminated"](self)  # moto records the final status first
    try:
        _emit_status_change(self.execution)
    except Exception:  # a broken rule target must not kill the engine's worker thread
        LOG.exception("could not emit the status-change event of %s", self.execution.exec_arn)


# ------------------------------------------------------- 4. env vars as text
def _text_env(cloudformation_json: Any) -> None:
    env = cloudformation_json.get("Properties", {}).get("Environment", {}).get("Variables")
    if isinstance(env, dict):
        for key, value in env.items():
            if isinstance(value, bool):
                env[key] = "true" if value else "false"
            elif not isinstance(value, str):
                env[key] = str(value)


def _fn_create(
    cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    _text_env(cloudformation_json)
    return _ORIGINAL["fn_create"].__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def _fn_update(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Any:
    _text_env(cloudformation_json)
    return _ORIGINAL["fn_update"].__func__(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )


# ------------------------------------------ 5. Outputs after a change set
def _execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    _ORIGINAL["execute_change_set"](self, change_set_name, stack_name)
    change_set = self.describe_change_set(change_set_name)
    stack = self.stacks[change_set.stack_id]
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()


# ------------------------------------------- 6. StartExecution without a name
def _start_execution(
    self: Any, state_machine_arn: str, name: str | None = None, execution_input: Any = None, trace_header: Any = None
) -> Any:
    # moto's engine keeps a missing name as None (ARN ending ":None"; a second unnamed
    # start returns the first). Step Functions names each unnamed execution with a UUID.
    return _ORIGINAL["start_execution"](
        self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
    )


# ------------------------------------ 7. AWS::Lambda::EventInvokeConfig
class EventInvokeConfigResource(CloudFormationModel):  # type: ignore[misc]
    """``AWS::Lambda::EventInvokeConfig``, created with the Lambda backend's own
    ``put_function_event_invoke_config`` (so ``GetFunctionEventInvokeConfig`` shows it too).
    Only ``$LATEST`` is modelled: the template publishes no versions or aliases."""

    PROPERTIES = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")

    def __init__(self, function_name: str, qualifier: str, account_id: str, region_name: str) -> None:
        self.function_name = function_name
        self.qualifier = qualifier
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return f"{self.function_name}:{self.qualifier}"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def _put(cls, properties: dict[str, Any], account_id: str, region_name: str) -> EventInvokeConfigResource:
        function_name = str(properties["FunctionName"]).split(":function:")[-1].split(":")[0]
        qualifier = str(properties.get("Qualifier", "$LATEST"))
        if qualifier != "$LATEST":
            raise ValueError(f"EventInvokeConfig for qualifier {qualifier!r} is not modelled (only $LATEST)")
        backend = lambda_backend(account_id, region_name)
        config = {k: properties[k] for k in cls.PROPERTIES if k in properties}
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if key in config:
                config[key] = int(config[key])
        backend.get_function(function_name).event_invoke_config = []  # a put replaces, as in Lambda
        backend.put_function_event_invoke_config(function_name, config)
        return cls(function_name, qualifier, account_id, region_name)

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> EventInvokeConfigResource:
        return cls._put(cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> EventInvokeConfigResource:
        return cls._put(cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        function_name = str(cloudformation_json["Properties"]["FunctionName"]).split(":function:")[-1].split(":")[0]
        backend = lambda_backend(account_id, region_name)
        with contextlib.suppress(Exception):  # the function went first: nothing left to delete
            backend.get_function(function_name).event_invoke_config = []


# ------------------------------------------------ 8. AWS::CloudWatch::Alarm
class AlarmResource(CloudFormationModel):  # type: ignore[misc]
    """``AWS::CloudWatch::Alarm`` (moto's CloudFormation skips it: "Tried to parse
    AWS::CloudWatch::Alarm but it's not supported"), created with the CloudWatch backend's
    own ``put_metric_alarm``, so DescribeAlarms, the evaluator (alarms.py) and the alarm
    state-change events see it like any other alarm. Ref is the alarm's name; without
    ``AlarmName`` CloudFormation generates one (``<stack>-<logical id>-<suffix>``); GetAtt
    ``Arn``. An update that changes the name replaces the alarm (AWS::CloudWatch::Alarm
    reference: AlarmName, "Update requires: Replacement"); any other update keeps its state."""

    def __init__(self, name: str, account_id: str, region_name: str) -> None:
        self.name = name
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn",)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return f"arn:aws:cloudwatch:{self.region_name}:{self.account_id}:alarm:{self.name}"
        raise UnformattedGetAttTemplateException()

    @classmethod
    def _put(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> AlarmResource:
        from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends

        queries = None
        if properties.get("Metrics"):
            queries = []
            for m in properties["Metrics"]:
                stat = m.get("MetricStat")
                metric_stat = None
                if stat:
                    metric = stat["Metric"]
                    dims = [Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]
                    metric_stat = MetricStat(
                        metric=Metric(metric["MetricName"], metric["Namespace"], dims),
                        period=int(stat["Period"]),
                        stat=stat["Stat"],
                        unit=stat.get("Unit"),
                    )
                queries.append(
                    MetricDataQuery(
                        query_id=m["Id"],
                        label=m.get("Label"),
                        period=m.get("Period"),
                        return_data=str(m.get("ReturnData", True)).lower() == "true",
                        expression=m.get("Expression"),
                        metric_stat=metric_stat,
                    )
                )

        def number(key: str) -> int | None:
            return int(properties[key]) if key in properties else None

        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=properties.get("Namespace"),
            metric_name=properties.get("MetricName"),
            metric_data_queries=queries,
            comparison_operator=properties["ComparisonOperator"],
            evaluation_periods=int(properties["EvaluationPeriods"]),
            datapoints_to_alarm=number("DatapointsToAlarm"),
            period=number("Period"),  # None for a metric math alarm
            threshold=float(properties["Threshold"]) if "Threshold" in properties else None,
            statistic=properties.get("Statistic"),
            extended_statistic=properties.get("ExtendedStatistic"),
            description=properties.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in properties.get("Dimensions", [])],
            alarm_actions=list(properties.get("AlarmActions", [])),
            ok_actions=list(properties.get("OKActions", [])),
            insufficient_data_actions=list(properties.get("InsufficientDataActions", [])),
            unit=properties.get("Unit"),
            actions_enabled=str(properties.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=properties.get("TreatMissingData"),
            threshold_metric_id=properties.get("ThresholdMetricId"),
        )
        return cls(name, account_id, region_name)

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> AlarmResource:
        properties = cloudformation_json["Properties"]
        return cls._put(str(properties.get("AlarmName") or resource_name), properties, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> AlarmResource:
        properties = cloudformation_json["Properties"]
        name = str(properties.get("AlarmName") or original_resource.name)
        if name != original_resource.name:
            cls._delete(original_resource.name, account_id, region_name)
        return cls._put(name, properties, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        name = cloudformation_json.get("Properties", {}).get("AlarmName") or resource_name
        cls._delete(str(name), account_id, region_name)

    @staticmethod
    def _delete(name: str, account_id: str, region_name: str) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[account_id][region_name].delete_alarms([name])


def _register_event_invoke_config() -> None:
    """moto lists CloudFormation models once (``lru_cache`` over ``CloudFormationModel``'s
    subclasses); the class above is one, so clear the caches for it to be seen."""
    for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
        cached.cache_clear()


# ---------------------------------------------------------------- install
_ORIGINAL: dict[str, Any] = {}
_INSTALL_LOCK = threading.Lock()
_INSTALLED = False


def install() -> None:
    """Apply every patch once per process. Safe to call again."""
    global _INSTALLED
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        cfn_custom.install()  # first: the wrappers below (Outputs after a change set) wrap its stack lifecycle
        cfn_transform.install()  # inside the Outputs wrapper and the parameter validation below
        machine = sfn_models.StateMachine
        _ORIGINAL["sm_create"] = machine.__dict__["create_from_cloudformation_json"]
        _ORIGINAL["sm_update"] = machine.__dict__["update_from_cloudformation_json"]
        _ORIGINAL["sm_delete"] = machine.__dict__["delete_from_cloudformation_json"]
        machine.create_from_cloudformation_json = classmethod(_sm_create)
        machine.update_from_cloudformation_json = classmethod(_sm_update)
        machine.delete_from_cloudformation_json = classmethod(_sm_delete)

        _ORIGINAL["send_to_targets"] = events_models.Rule.send_to_targets
        events_models.Rule.send_to_targets = _send_to_targets

        comm = sfn_execution.BaseExecutionWorkerCommunication
        _ORIGINAL["terminated"] = comm.terminated
        comm.terminated = _terminated

        function = lambda_models.LambdaFunction
        _ORIGINAL["fn_create"] = function.__dict__["create_from_cloudformation_json"]
        _ORIGINAL["fn_update"] = function.__dict__["update_from_cloudformation_json"]
        function.create_from_cloudformation_json = classmethod(_fn_create)
        function.update_from_cloudformation_json = classmethod(_fn_update)

        backend = cfn_models.CloudFormationBackend
        _ORIGINAL["execute_change_set"] = backend.execute_change_set
        backend.execute_change_set = _execute_change_set

        engine = sfn_parser_models.StepFunctionsParserBackend
        _ORIGINAL["start_execution"] = engine.start_execution
        engine.start_execution = _start_execution

        _register_event_invoke_config()
        from weightshift_emulator import cfn_parameters  # CloudFormation's parameter validation

        cfn_parameters.install()
        _INSTALLED = True


def reset() -> None:
    """Forget recorded deliveries, asynchronous invocations, hooks and listeners between tests."""
    with _DELIVERIES_LOCK:
        DELIVERIES.clear()
    STATUS_LISTENERS.clear()
    lambda_async.reset()
    cfn_custom.reset()


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (events are delivered on other threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
