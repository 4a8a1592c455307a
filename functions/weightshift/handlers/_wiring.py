"""Wiring shared by the workflow handlers: adapters built from the environment."""

from __future__ import annotations

import os
from typing import Any

from weightshift import clock
from weightshift.adapters.aws import client
from weightshift.adapters.cloudwatch import ROUTE53_METRICS_REGION, CloudWatch
from weightshift.adapters.deployments import Deployments
from weightshift.adapters.ecs_elb import EcsElb
from weightshift.adapters.notify import Notifier
from weightshift.adapters.route53 import Route53
from weightshift.adapters.stepfunctions import StepFunctions
from weightshift.observability import logger
from weightshift.settings import RouteConfig, load_resources, load_route_config
from weightshift.workflow import TaskInput, WorkflowPorts


def ports() -> WorkflowPorts:
    resources = load_resources(os.environ)
    return WorkflowPorts(
        deployments=Deployments(client("dynamodb"), resources.table_name),
        route53=Route53(client("route53")),
        ecs_elb=EcsElb(client("ecs"), client("elbv2")),
        # Route 53 publishes health-check metrics in us-east-1 only, whatever the function's region.
        cloudwatch=CloudWatch(client("cloudwatch"), client("cloudwatch", ROUTE53_METRICS_REGION)),
        notifier=Notifier(client("sns"), client("events"), resources.topic_arn, resources.event_bus_name),
        sfn=StepFunctions(client("stepfunctions")),
    )


def task_input(event: dict[str, Any]) -> TaskInput:
    """The payload every Task state sends: ``{state, executionArn, enteredAt}``."""
    state = event.get("state") if isinstance(event.get("state"), dict) else {}
    assert isinstance(state, dict)
    if state.get("deploymentId"):
        logger.set_correlation_id(str(state["deploymentId"]))
    return TaskInput(
        state=state, execution_arn=str(event.get("executionArn", "")), now=clock.now(), config=route_config()
    )


def route_config() -> RouteConfig:
    """The stack's route, sides and gates: what every execution input is checked against."""
    return load_route_config(os.environ)
