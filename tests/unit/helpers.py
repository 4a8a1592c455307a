"""Unit-test builders: route configurations built directly, ECS events from events/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from weightshift.models import EcsTaskEvent
from weightshift.settings import RouteConfig

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
# The stack the unit tests' configurations belong to (the template's STACK_ID).
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/weightshift/0f5e6a10-0000-4000-8000-000000000001"


def make_config(**overrides: Any) -> RouteConfig:
    values: dict[str, Any] = {
        "cluster_name": "shop",
        "cluster_arn": "arn:aws:ecs:us-east-1:123456789012:cluster/shop",
        "blue_service_name": "shop-blue",
        "green_service_name": "shop-green",
        "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        "record_name": "shop.example.com",
        "blue_load_balancer_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blue/1",
        "green_load_balancer_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/green/2",
        "schedule": "Canary10Percent5Minutes",
        "step_interval_seconds": 60,
        "poll_seconds": 15,
        "readiness_timeout_seconds": 600,
        "alarm_names": ["shop-green-5xx"],
        "stack_id": STACK_ID,
    }
    values.update(overrides)
    return RouteConfig(**values)


def event_json(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def ecs_event(name: str, **detail_overrides: Any) -> EcsTaskEvent:
    raw = event_json(name)
    raw["detail"].update(detail_overrides)
    return EcsTaskEvent.model_validate(raw)
