"""Custom resource ``ConfigurationCheck``: check the configuration and own the record at deploy time."""

from __future__ import annotations

import os
from typing import Any

from weightshift import custom_resource, stack_check
from weightshift.adapters.aws import client
from weightshift.adapters.cloudformation import CloudFormation
from weightshift.adapters.cloudwatch import CloudWatch
from weightshift.adapters.deployments import Deployments
from weightshift.adapters.ecs_elb import EcsElb
from weightshift.adapters.route53 import Route53
from weightshift.observability import logger
from weightshift.settings import load_resources


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> None:
    ports = stack_check.CheckPorts(
        route53=Route53(client("route53")),
        ecs_elb=EcsElb(client("ecs"), client("elbv2")),
        cloudwatch=CloudWatch(client("cloudwatch")),
        cloudformation=CloudFormation(client("cloudformation")),
        deployments=Deployments(client("dynamodb"), load_resources(os.environ).table_name),
    )
    custom_resource.run(event, context, lambda request: stack_check.on_request(request, ports))
