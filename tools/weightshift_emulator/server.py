"""The embedded AWS emulator: a moto server on 127.0.0.1, in this process.

``start_emulator()`` applies the patches (``patches.install`` and
``cfn_patches.install``), starts ``moto.server.ThreadedMotoServer`` on a free
local port, turns on the Step Functions execution engine and Docker-less Lambda
through ``/moto-api/config``, and points the in-process Lambda handlers at the
server. Any boto3 client, the ``weightshift`` CLI (``--endpoint-url``) or
``sam deploy`` can then talk to it.

The server runs in this process on purpose: the Lambda handlers, the health-check
patch and the recorded clock live in this process's memory, which a separate
``moto_server`` process would not share. It binds to 127.0.0.1 only.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

from weightshift_emulator import cfn_patches, patches
from weightshift_emulator.world import REGION, clients

HOST = "127.0.0.1"

# What a Lambda runtime gives every function; the handlers' boto3 clients use it to
# reach the emulator (never AWS), whatever credentials the calling shell has.
_DUMMY = "testing"
_LAMBDA_ENVIRONMENT = {"AWS_ACCESS_KEY_ID": _DUMMY, "AWS_SECRET_ACCESS_KEY": _DUMMY, "AWS_SESSION_TOKEN": _DUMMY}


@dataclass
class Emulator:
    server: Any
    port: int
    region: str = REGION
    ecs: Any = None  # the ECS simulation (ecs_sim.Simulation), when started with ecs_scale
    _saved: dict[str, str | None] = field(default_factory=dict, repr=False)
    _saved_invoke: dict[str, str | None] = field(default_factory=dict, repr=False)
    _saved_config: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def clients(self) -> dict[str, Any]:
        """boto3 clients for every service Weightshift and its surroundings use (dummy credentials)."""
        session = boto3.Session(
            region_name=self.region,
            aws_access_key_id=_DUMMY,
            aws_secret_access_key=_DUMMY,
            aws_session_token=_DUMMY,
        )
        return clients(self.endpoint_url, session)

    def stop(self) -> None:
        """Forget every resource, stop the server and undo the process environment
        changes (the patches stay). moto's backends are shared by the whole process,
        so without the reset the next emulator or mock in this process would see them."""
        if self.ecs is not None:
            self.ecs.stop()
        try:
            _post_json(f"{self.endpoint_url}/moto-api/reset", {})
        finally:
            self.server.stop()
            patches.cleanup_environment()
        # /moto-api/config changed moto's process-wide defaults; a later mock_aws() copies them.
        default_user_config.clear()
        default_user_config.update(self._saved_config)
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for key, value in self._saved_invoke.items():
            if value is None:
                patches.INVOKE_ENVIRONMENT.pop(key, None)
            else:
                patches.INVOKE_ENVIRONMENT[key] = value

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _post_json(url: str, payload: dict[str, Any]) -> None:
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"the emulator only talks to {HOST}: {url}")
    request = urllib.request.Request(  # noqa: S310 - a fixed http://127.0.0.1 URL, checked above
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def start_emulator(port: int = 0, region: str = REGION, ecs_scale: float | None = None) -> Emulator:
    """Start the emulator on 127.0.0.1 (``port=0``: a free port) with the engine on.

    ``ecs_scale``: ECS behaves like ECS (``ecs_sim``): deployments roll and send task events
    on a ticker, one simulated second per ``ecs_scale`` wall seconds, the engine's Wait
    states on the same clock (``patches.CLOCK.scale``)."""
    patches.install()
    cfn_patches.install()
    werkzeug = logging.getLogger("werkzeug")
    if werkzeug.level == logging.NOTSET:
        werkzeug.setLevel(logging.WARNING)  # no access log line per request
    saved_config = copy.deepcopy(dict(default_user_config))
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    bound = int(server.get_host_and_port()[1])
    emulator = Emulator(server=server, port=bound, region=region, _saved_config=saved_config)
    # The engine's aws-sdk integrations call http://localhost:$MOTO_PORT in this process.
    env = {"MOTO_PORT": str(bound), "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or region}
    emulator._saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    invoke = {
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        **_LAMBDA_ENVIRONMENT,
    }
    emulator._saved_invoke = {k: patches.INVOKE_ENVIRONMENT.get(k) for k in invoke}
    patches.INVOKE_ENVIRONMENT.update(invoke)
    try:
        _post_json(f"{emulator.endpoint_url}/moto-api/config", patches.ENGINE_CONFIG)
        if ecs_scale is not None:
            from weightshift_emulator import ecs_sim

            emulator.ecs = ecs_sim.start(region=region)
            emulator.ecs.start_ticker(ecs_scale)
    except Exception:
        emulator.stop()
        raise
    return emulator
