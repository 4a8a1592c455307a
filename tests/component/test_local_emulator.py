"""``weightshift-emulator`` (``make emulator``): up, usable with only its printed exports, clean stop (issue 10)."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator

import pytest
from rich.console import Console
from typer.testing import CliRunner
from weightshift_cli.main import app
from weightshift_emulator import local

pytestmark = pytest.mark.usefixtures("cfn_patched")


@pytest.fixture
def running() -> Iterator[tuple[str, threading.Event, threading.Thread, list[int]]]:
    out = io.StringIO()
    stop, ready, status = threading.Event(), threading.Event(), []
    port = free_port()
    thread = threading.Thread(
        target=lambda: status.append(
            local.serve(port, "weightshift", 0.0, Console(file=out, soft_wrap=True), stop, ready, deploy="direct")
        ),
        daemon=True,
    )
    thread.start()
    assert ready.wait(60), out.getvalue()
    yield out.getvalue(), stop, thread, status
    stop.set()
    thread.join(30)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_printed_exports_are_all_the_cli_needs(
    running: tuple[str, threading.Event, threading.Thread, list[int]],
) -> None:
    printed, stop, thread, status = running
    (endpoint,) = re.findall(r"export AWS_ENDPOINT_URL=(\S+)", printed)
    assert endpoint.startswith("http://127.0.0.1:")
    assert "stack weightshift CREATE_COMPLETE" in printed
    nothing = {k: None for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                                 "AWS_DEFAULT_REGION", "AWS_PROFILE")}  # fmt: skip
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "200", **nothing, "AWS_ENDPOINT_URL": endpoint})
    assert result.exit_code == 0, result.output
    assert "blue 100 (100%)" in result.output

    # A second emulator on the same port: one clear line, exit status 2, nothing started.
    out = io.StringIO()
    port = int(endpoint.rsplit(":", 1)[1])
    assert local.serve(port, "weightshift", 0.0, Console(file=out), threading.Event()) == 2
    assert f"port {port} on 127.0.0.1 is taken" in out.getvalue()

    stop.set()
    thread.join(30)
    assert status == [0]
