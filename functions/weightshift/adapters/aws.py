"""boto3 clients, made once per process and per endpoint.

Region and endpoint come from the standard environment (AWS_REGION /
AWS_DEFAULT_REGION, AWS_ENDPOINT_URL), so the same code talks to AWS or to the
local emulator.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Standard retry mode (3 attempts unless AWS_MAX_ATTEMPTS says otherwise); the state
# machine's Retry, with backoff and jitter, handles what outlasts these.
_CONFIG = Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=30)


def client(service: str, region: str | None = None) -> Any:
    """A client in ``region``, or in the function's own region when none is given (a
    service that publishes to one region only: Route 53's metrics live in us-east-1)."""
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return _client(service, region, os.environ.get("AWS_ENDPOINT_URL"))


@cache
def _client(service: str, region: str | None, endpoint: str | None) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=_CONFIG)  # type: ignore[call-overload]


def clear_clients() -> None:
    """Forget cached clients (tests switch endpoints and mocks)."""
    _client.cache_clear()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
