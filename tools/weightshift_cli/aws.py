"""AWS access for the CLI: a session from the default credential chain, and the stack.

The same code talks to AWS (``--profile``, ``--region``, or the usual environment)
and to the local emulator (``--endpoint-url http://127.0.0.1:PORT``). Everything the
CLI needs to know about a Weightshift install comes from its CloudFormation stack:
the outputs (state machine, table) and the parameters (the route and the schedule).
"""

from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.loaders import create_loader
from pydantic import ValidationError
from weightshift.adapters.aws import error_code
from weightshift.adapters.deployments import Deployments
from weightshift.adapters.route53 import RecordPair, Route53
from weightshift.adapters.stepfunctions import StepFunctions, execution_arn_for
from weightshift.errors import WeightshiftError
from weightshift.models import route_key
from weightshift.settings import RouteConfig

from weightshift_cli.errors import CliError

DEFAULT_STACK = "weightshift"  # samconfig.toml's stack_name
STACK_ENV = "WEIGHTSHIFT_STACK"  # the stack when --stack is not given
EMULATOR_REGION = "us-east-1"
EMULATOR_CREDENTIAL = "testing"  # what moto accepts (it checks no signature)
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# Standard retries (AWS_MAX_ATTEMPTS still applies); short connect timeout so that a
# wrong endpoint fails in seconds rather than minutes.
_CONFIG = Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=30, user_agent_extra="weightshift-cli")

# Template parameter -> RouteConfig field.
PARAMETERS = {
    "ClusterName": "cluster_name",
    "BlueServiceName": "blue_service_name",
    "GreenServiceName": "green_service_name",
    "HostedZoneId": "hosted_zone_id",
    "RecordName": "record_name",
    "BlueLoadBalancerArn": "blue_load_balancer_arn",
    "GreenLoadBalancerArn": "green_load_balancer_arn",
    "BlueSetIdentifier": "blue_set_identifier",
    "GreenSetIdentifier": "green_set_identifier",
    "Schedule": "schedule",
    "StepIntervalSeconds": "step_interval_seconds",
    "HealthPollSeconds": "poll_seconds",
    "ReadinessTimeoutSeconds": "readiness_timeout_seconds",
    "RouteBusyTimeoutSeconds": "route_busy_timeout_seconds",
    "AlarmNames": "alarm_names",
    "BlueHealthCheckId": "blue_health_check_id",
    "GreenHealthCheckId": "green_health_check_id",
    "MinRequests": "min_requests",
    "MaxErrorRateRatio": "max_error_rate_ratio",
    "MaxPollsWithoutTraffic": "max_polls_without_traffic",
    "Pace": "pace",
    "MinObservedShare": "min_observed_share",
    "LatencyPercentile": "latency_percentile",
    "MaxLatencyRatio": "max_latency_ratio",
    "MetricChecks": "metric_checks",
}


@functools.cache
def _models() -> Any:
    """botocore's model loader, shared by the sessions of this process: each service model is parsed
    once (a long-lived caller such as the tests or the demo runs many commands)."""
    return create_loader()


def _session(profile: str | None, region: str | None, *, dummy_credentials: bool = False) -> Any:
    """A new boto3 session (its own credentials and config) on the shared model loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _models())
    keys = (
        dict.fromkeys(("aws_access_key_id", "aws_secret_access_key"), EMULATOR_CREDENTIAL) if dummy_credentials else {}
    )
    session = boto3.Session(botocore_session=core, profile_name=profile, region_name=region, **keys)
    paths = _models().search_paths  # boto3 appends its data path on every session
    paths[:] = list(dict.fromkeys(paths))
    return session


@dataclass(frozen=True)
class AwsOptions:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None

    @property
    def endpoint(self) -> str | None:
        """--endpoint-url, or AWS_ENDPOINT_URL (which boto3 honours by itself)."""
        return self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    @property
    def local(self) -> bool:
        """Talking to the emulator on this machine (never to AWS)."""
        return self.endpoint is not None and urlparse(self.endpoint).hostname in LOOPBACK

    def flags(self, region: str | None = None) -> str:
        """These options as command-line flags (for a command the CLI tells a person to run)."""
        region = region or self.region
        pairs = (("--profile", self.profile), ("--region", region), ("--endpoint-url", self.endpoint_url))
        return "".join(f" {flag} {value}" for flag, value in pairs if value)


@dataclass
class Aws:
    """boto3 clients made on first use, from one session."""

    options: AwsOptions
    _session: Any = field(default=None, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def session(self) -> Any:
        if self._session is None:
            session = _session(self.options.profile, self.options.region)
            if session.region_name is None and self.options.local:
                # The emulator has one region; no need to make people type it.
                session = _session(self.options.profile, EMULATOR_REGION)
            if self.options.local and not self.options.profile and session.get_credentials() is None:
                # The emulator checks no signature: dummy keys, so nobody needs AWS credentials for it.
                session = _session(None, session.region_name, dummy_credentials=True)
            if session.region_name is None:
                raise CliError("no AWS region: pass --region or set AWS_REGION (or a region in your profile)")
            self._session = session
        return self._session

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, endpoint_url=self.options.endpoint_url, config=_CONFIG
            )
        return self._clients[service]


@dataclass(frozen=True)
class Stack:
    """One Weightshift install: its outputs, parameters and the route they describe."""

    name: str
    status: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    config: RouteConfig

    @property
    def state_machine_arn(self) -> str:
        return self.outputs["StateMachineArn"]

    @property
    def table_name(self) -> str:
        return self.outputs["DeploymentsTableName"]

    @property
    def route(self) -> str:
        return route_key(self.config.hosted_zone_id, self.config.record_name)

    def execution_arn(self, record: dict[str, Any]) -> str | None:
        """The execution of a deployment record (the trigger names it before it starts it)."""
        if record.get("executionArn"):
            return str(record["executionArn"])
        name = record.get("executionName")
        return execution_arn_for(self.state_machine_arn, str(name)) if name else None


def _parameter_value(key: str, value: str) -> str:
    # A CommaDelimitedList parameter comes back as "a,b" from CloudFormation. moto
    # returns the Python list's repr ("['a', 'b']"); accept both.
    if key == "AlarmNames" and value.startswith("[") and value.endswith("]"):
        try:
            items = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        if isinstance(items, list):
            return ",".join(str(i) for i in items)
    return value


def load_stack(aws: Aws, name: str) -> Stack:
    """Read a Weightshift stack; a one-line CliError if it is missing or not Weightshift's."""
    try:
        stacks = aws.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
            raise CliError(f"no such stack: {name} (region {aws.region})") from exc
        raise
    live = [s for s in stacks if s.get("StackStatus") != "DELETE_COMPLETE"]
    if not live:
        raise CliError(f"no such stack: {name} (region {aws.region})")
    return _stack_of(live[0], name)


def weightshift_stacks(aws: Aws) -> list[Stack]:
    """Every Weightshift stack of the region (those with its outputs and parameters), by name:
    one paginated DescribeStacks, not one call per stack."""
    found: list[Stack] = []
    for page in aws.client("cloudformation").get_paginator("describe_stacks").paginate():
        for description in page.get("Stacks", []):
            if description.get("StackStatus") == "DELETE_COMPLETE":
                continue
            try:
                found.append(_stack_of(description, str(description["StackName"])))
            except CliError:  # not a Weightshift stack, or not finished creating
                continue
    return sorted(found, key=lambda s: s.name)


def _stack_of(stack: dict[str, Any], name: str) -> Stack:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {
        p["ParameterKey"]: _parameter_value(p["ParameterKey"], str(p.get("ParameterValue", "")))
        for p in stack.get("Parameters", [])
    }
    missing = [k for k in ("StateMachineArn", "DeploymentsTableName") if k not in outputs]
    if missing:
        raise CliError(
            f"stack {name} ({stack.get('StackStatus')}) has no {', '.join(missing)} output: "
            "is it a Weightshift stack, and did it finish creating?"
        )
    try:
        config = RouteConfig.model_validate({PARAMETERS[k]: v for k, v in parameters.items() if k in PARAMETERS})
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0] if e['loc'] else '?'}: {e['msg']}" for e in exc.errors())
        raise CliError(f"stack {name} does not have Weightshift's parameters ({problems})") from exc
    return Stack(name=name, status=str(stack.get("StackStatus")), outputs=outputs, parameters=parameters, config=config)


@dataclass
class Ports:
    """The domain adapters, pointed at one stack."""

    aws: Aws
    stack: Stack

    @property
    def deployments(self) -> Deployments:
        return Deployments(self.aws.client("dynamodb"), self.stack.table_name)

    @property
    def route53(self) -> Route53:
        return Route53(self.aws.client("route53"))

    @property
    def sfn(self) -> StepFunctions:
        return StepFunctions(self.aws.client("stepfunctions"))

    def pair(self) -> RecordPair | None:
        c = self.stack.config
        return self.route53.find_pair(c.hosted_zone_id, c.record_name, c.blue_set_identifier, c.green_set_identifier)


def explain(exc: BaseException, options: AwsOptions) -> str:
    """One line for an exception from boto3 or the domain; never a traceback."""
    where = options.endpoint_url or "AWS"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found: configure them (aws configure, AWS_PROFILE, AWS_ACCESS_KEY_ID...) "
            "or pass --profile"
        )
    if isinstance(exc, ProfileNotFound):
        return f"AWS profile {options.profile!r} not found in your AWS config"
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, EndpointConnectionError):
        hint = " (is the emulator running?)" if options.endpoint_url else ""
        return f"cannot reach {where}: {exc}{hint}"
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        operation = getattr(exc, "operation_name", "") or "AWS call"
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return f"your AWS credentials have expired ({operation}): {message}"
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException"):
            return f"AWS did not accept your credentials ({operation}): {message}"
        if code in ("AccessDenied", "AccessDeniedException"):
            return f"access denied ({operation}): {message}"
        return f"{operation} failed: {code}: {message}"
    if isinstance(exc, WeightshiftError):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, BotoCoreError):
        return str(exc)
    if isinstance(exc, ValueError) and "endpoint" in str(exc).lower():
        return f"bad --endpoint-url {options.endpoint_url!r}: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}"
