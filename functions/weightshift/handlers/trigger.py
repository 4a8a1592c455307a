"""Trigger Lambda: ECS Task State Change (from the EventBridge rule) -> at most one canary."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from weightshift import clock, trigger
from weightshift.adapters.aws import client
from weightshift.adapters.deployments import Deployments
from weightshift.adapters.ecs_elb import EcsElb
from weightshift.adapters.route53 import Route53
from weightshift.adapters.stepfunctions import StepFunctions
from weightshift.observability import logger, metrics, stack_dimension, tracer
from weightshift.settings import load_resources, load_trigger_config

# An event ignored for one of these (decisions.in_scope) means the stack or its rule is
# misconfigured: the rule delivers only the stack's cluster's events. The stack's
# TriggerMisconfiguredAlarm watches the count.
CONFIGURATION_IGNORES = frozenset({"no-stack-scope", "foreign-account", "foreign-region", "foreign-cluster"})
METRIC_BY_DECISION = {
    "started": "DeploymentStarted",
    "resumed": "DeploymentStartResumed",
    "duplicate": "DuplicateEvent",
    "stale": "StaleEvent",
    "ignored": "EventIgnored",
    "rejected": "InvalidConfiguration",
}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stack_dimension()
    config = load_trigger_config(os.environ)
    resources = load_resources(os.environ)
    table = Deployments(client("dynamodb"), resources.table_name)
    ports = trigger.TriggerPorts(
        table,
        Route53(client("route53")),
        StepFunctions(client("stepfunctions")),
        EcsElb(client("ecs"), client("elbv2")),
    )
    outcome = trigger.handle(event, config, resources, ports, clock.now())
    if outcome.deployment_id:
        logger.set_correlation_id(outcome.deployment_id)
    logger.info(f"trigger decision: {outcome.decision} ({outcome.reason})", extra=outcome.log_fields())
    if outcome.decision == "rejected":  # the stack's InvalidConfigurationAlarm watches this stack's count
        logger.error("a release could not be planned from the stack's configuration", extra=outcome.log_fields())
    metrics.add_metric(name=METRIC_BY_DECISION[outcome.decision], unit=MetricUnit.Count, value=1)
    if outcome.decision == "ignored" and outcome.reason in CONFIGURATION_IGNORES:
        metrics.add_metric(name="EventIgnoredForConfiguration", unit=MetricUnit.Count, value=1)
    if outcome.detail.startswith("superseded"):
        metrics.add_metric(name="DeploymentSuperseded", unit=MetricUnit.Count, value=1)
    return outcome.log_fields()
