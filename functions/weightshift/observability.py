"""Powertools Logger, Tracer and Metrics, shared by every function.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE (set in the template's Globals).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="weightshift")
tracer = Tracer(service="weightshift")
metrics = Metrics(namespace="Weightshift", service="weightshift")
