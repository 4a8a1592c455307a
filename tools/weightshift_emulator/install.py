"""Install Weightshift's runtime pieces into moto straight from ``template.yaml``.

This is the fast path the component and workflow tests use: the table's keys,
every function's Handler and environment, the state machine's definition and
substitutions all come from the template and the ASL file, resolved against
the given parameters. (The end-to-end test deploys the whole template through
CloudFormation instead; see ``stack.py``.)
"""

from __future__ import annotations

import copy
import functools
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from samtranslator.yaml_helper import yaml_parse

from weightshift_emulator.world import ACCOUNT, REGION, ROOT

STACK = "weightshift"
# The stack id install() stands in for (what CloudFormation gives AWS::StackId).
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/0f5e6a10-0000-4000-8000-000000000001"


@functools.lru_cache(maxsize=16)
def _parsed(text: str) -> Any:
    return yaml_parse(text)


def parse_template(text: str) -> Any:
    """A template's text as SAM reads it (``!Ref``... short forms included). Parsed once per
    text: SAM's pure-Python YAML took about 0.6 s for template.yaml, at every install of
    every test. A deep copy each time, so a caller may change what it gets."""
    return copy.deepcopy(_parsed(text))


def load_template() -> dict[str, Any]:
    return dict(parse_template((ROOT / "template.yaml").read_text()))


@dataclass
class Installed:
    table_name: str
    topic_arn: str
    state_machine_arn: str
    functions: dict[str, str]  # logical id -> function name
    environments: dict[str, dict[str, str]]  # logical id -> resolved env vars

    def env(self, logical_id: str) -> dict[str, str]:
        return dict(self.environments[logical_id])


class _Resolver:
    def __init__(
        self, template: dict[str, Any], params: dict[str, str], refs: dict[str, str], arns: dict[str, str]
    ) -> None:
        defaults = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        self.values = {
            **defaults,
            **params,
            **refs,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK,
            "AWS::StackId": STACK_ID,
        }
        self.arns = arns
        # A CommaDelimitedList parameter's Ref is a list, as CloudFormation resolves it.
        self.lists = {k for k, v in template.get("Parameters", {}).items() if v.get("Type") == "CommaDelimitedList"}
        self.conditions = {name: bool(self(body)) for name, body in template.get("Conditions", {}).items()}

    def __call__(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.values[value].split(",") if value in self.lists else self.values[value]
            if key == "Fn::GetAtt":
                name = value[0] if isinstance(value, list) else value.split(".")[0]
                return self.arns[name]
            if key == "Fn::Join":
                sep, items = value
                resolved = [self(i) for i in items] if isinstance(items, list) else [self(items)]
                flat = [x for i in resolved for x in (i if isinstance(i, list) else [i])]
                return sep.join(str(x) for x in flat)
            if key == "Fn::Equals":
                return self(value[0]) == self(value[1])
            if key == "Fn::Not":
                return not self(value[0])
            if key == "Fn::If":
                name, then, otherwise = value
                return self(then if self.conditions[name] else otherwise)
            if key == "Fn::Split":
                sep, text = value
                return str(self(text)).split(sep)
            if key == "Fn::Select":
                index, items = value
                return self(items)[int(index)]
            if key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                for name, val in self.values.items():
                    text = text.replace("${" + name + "}", str(val))
                return text
        if isinstance(node, dict):
            return {k: self(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self(v) for v in node]
        return node


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("placeholder.py", "# handlers run in-process from the installed package\n")
    return buf.getvalue()


def install(c: dict[str, Any], params: dict[str, str]) -> Installed:
    template = load_template()
    resources = template["Resources"]
    props = resources["DeploymentsTable"]["Properties"]
    table = c["dynamodb"].create_table(
        TableName=f"{STACK}-deployments",
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props["BillingMode"],
    )["TableDescription"]["TableName"]
    topic = c["sns"].create_topic(Name=f"{STACK}-notifications")["TopicArn"]
    role = c["iam"].create_role(
        RoleName=f"{STACK}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    machine_name = f"{STACK}-canary"
    machine_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine_name}"
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    arns = {k: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-{k}" for k in functions}
    refs = {
        "DeploymentsTable": table,
        "NotificationTopic": topic,
        "CanaryStateMachine": machine_arn,
        **{k: f"{STACK}-{k}" for k in functions},
    }
    # The stack's own alarms are named from the stack's name (their AlarmName is a Sub of it).
    named = _Resolver(template, params, refs, arns)
    alarms = {
        k: v
        for k, v in resources.items()
        if k in OWN_ALARMS and named.conditions.get(v.get("Condition", ""), True)  # created only if its condition holds
    }
    refs.update({k: str(named(v["Properties"]["AlarmName"])) for k, v in alarms.items()})
    resolve = _Resolver(template, params, refs, arns)
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    envs: dict[str, dict[str, str]] = {}
    globals_fn = template["Globals"]["Function"]
    for logical_id, fn in functions.items():
        env = {**resolve(globals_env), **resolve(fn["Properties"].get("Environment", {}).get("Variables", {}))}
        env = {k: str(v) for k, v in env.items()}
        envs[logical_id] = env
        c["lambda"].create_function(
            FunctionName=f"{STACK}-{logical_id}",
            Runtime=globals_fn["Runtime"],
            Role=role,
            Handler=fn["Properties"]["Handler"],
            Code={"ZipFile": _zip()},
            Environment={"Variables": env},
            Architectures=globals_fn["Architectures"],
        )
    sm = resources["CanaryStateMachine"]["Properties"]
    definition = (ROOT / sm["DefinitionUri"]).read_text()
    for name, value in resolve(sm["DefinitionSubstitutions"]).items():
        definition = definition.replace("${" + name + "}", value)
    created = c["stepfunctions"].create_state_machine(
        name=machine_name, definition=definition, roleArn=role, type=sm["Type"]
    )["stateMachineArn"]
    assert created == machine_arn, created
    _claim_record(c, resolve.values)
    for alarm in alarms.values():
        _put_alarm(c, resolve(alarm["Properties"]))
    for event in ("AlarmWentOff", "StackAlarmWentOff"):
        _alarm_rule(c, resources["AlarmFunction"], event, resolve, arns["AlarmFunction"])
    return Installed(table, topic, machine_arn, {k: f"{STACK}-{k}" for k in functions}, envs)


# The alarms the stack creates that a canary watches (template.yaml: the 5xx comparison).
OWN_ALARMS = ("BlueErrorRateAlarm", "GreenErrorRateAlarm", "BlueLatencyAlarm", "GreenLatencyAlarm")


def _put_alarm(c: dict[str, Any], props: dict[str, Any]) -> None:
    """One of the template's AWS::CloudWatch::Alarm resources, as CloudFormation creates it
    (PutMetricAlarm takes the resource's properties by the same names)."""
    numbers = {"Threshold": float, "EvaluationPeriods": int, "DatapointsToAlarm": int, "Period": int}
    args = {k: numbers[k](v) if k in numbers else v for k, v in props.items()}
    for query in args.get("Metrics", []):
        if "MetricStat" in query:
            query["MetricStat"]["Period"] = int(query["MetricStat"]["Period"])
        if "ReturnData" in query:
            query["ReturnData"] = str(query["ReturnData"]).lower() == "true"
    c["cloudwatch"].put_metric_alarm(**args)


def _alarm_rule(c: dict[str, Any], function: dict[str, Any], event: str, resolve: _Resolver, function_arn: str) -> None:
    """One of the template's alarm rules: this stack's alarms going to ALARM reach the alarm
    listener (an empty AlarmNames list leaves [""], which no alarm name matches, as on AWS)."""
    rule = function["Properties"]["Events"][event]["Properties"]
    pattern = resolve(rule["Pattern"])
    name = f"{STACK}-{event}"
    c["events"].put_rule(Name=name, EventPattern=json.dumps(pattern))
    c["events"].put_targets(
        Rule=name,
        Targets=[{"Id": "AlarmFunction", "Arn": function_arn, "RetryPolicy": rule["RetryPolicy"]}],
    )


def _claim_record(c: dict[str, Any], values: dict[str, str]) -> None:
    """What the template's ConfigurationCheck does on create: this stack claims its record
    (its ownership record names the stack). A zone that does not exist is left alone, for
    the tests of a missing zone."""
    from weightshift.adapters.route53 import Route53

    dns = Route53(c["route53"])
    if dns.zone_name(values["HostedZoneId"]) is not None:
        dns.claim(values["HostedZoneId"], values["RecordName"], STACK_ID)


def dead_letter_queue(c: dict[str, Any], installed: Installed) -> str:
    """A queue as the failed-event destination of the asynchronously invoked functions,
    with the retry settings template.yaml gives them (``EventInvokeConfig``); its URL."""
    queue_url = str(c["sqs"].create_queue(QueueName="weightshift-dead-letters")["QueueUrl"])
    attributes = c["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    resources = load_template()["Resources"]
    for logical in ("TriggerFunction", "AbortFunction"):
        config = resources[logical]["Properties"]["EventInvokeConfig"]
        c["lambda"].put_function_event_invoke_config(
            FunctionName=installed.functions[logical],
            MaximumRetryAttempts=config["MaximumRetryAttempts"],
            MaximumEventAgeInSeconds=config["MaximumEventAgeInSeconds"],
            DestinationConfig={"OnFailure": {"Destination": attributes["QueueArn"]}},
        )
    return queue_url
