"""The whole stack served on 127.0.0.1: the emulator, the surroundings, the deployed template.

Shared by the tests that drive the system as a user would (the CLI, replay):
moto's backends are process-wide, so each use starts from nothing and leaves
nothing behind for the next module in the same process.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from weightshift_emulator import cfn_patches, patches, stack
from weightshift_emulator.server import Emulator, start_emulator
from weightshift_emulator.world import Surroundings, build_surroundings

HANDLERS = ("trigger", "preflight", "readiness", "shift", "gate", "finish", "abort")


def reset_moto(emulator: Emulator) -> None:
    request = urllib.request.Request(f"{emulator.endpoint_url}/moto-api/reset", method="POST")  # 127.0.0.1 only
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@contextmanager
def served_stack(
    parameters: dict[str, str], lambda_env: dict[str, str]
) -> Iterator[tuple[Emulator, dict[str, Any], Surroundings, stack.Deployed]]:
    """Start the emulator, build the surroundings, deploy the real template; tear all down."""
    cfn_patches.install()
    saved = {k: patches.INVOKE_ENVIRONMENT.get(k) for k in lambda_env}
    patches.INVOKE_ENVIRONMENT.update(lambda_env)
    for name in HANDLERS:  # import now, so that their loggers bind to the test's stdout, not a CliRunner's
        __import__(f"weightshift.handlers.{name}")
    emulator = start_emulator()
    try:
        reset_moto(emulator)
        aws = emulator.clients()
        world = build_surroundings(aws)
        yield emulator, aws, world, stack.deploy(aws, world.parameters(**parameters))
    finally:
        try:
            reset_moto(emulator)
        finally:
            emulator.stop()
        for key, value in saved.items():
            if value is None:
                patches.INVOKE_ENVIRONMENT.pop(key, None)
            else:
                patches.INVOKE_ENVIRONMENT[key] = value


def alarm_at_step_2(env: Any, alarm: str) -> Callable[[str, Any], None]:
    """An INVOKE_HOOK: the alarm fires as the canary shifts to step 2 (``env``: a test's deployed
    stack, with ``stack.functions`` and ``aws``)."""
    shift_function = env.stack.functions["ShiftFunction"]

    def hook(function: str, event: Any) -> None:
        state = event.get("state", {}) if isinstance(event, dict) else {}
        if (
            function == shift_function
            and event.get("action") == "shift"
            and state.get("shift", {}).get("stepIndex") == 1
        ):
            # From another thread, as CloudWatch would: its state-change event invokes the alarm
            # listener, which must not run inside this (Shift) function's invocation.
            threading.Thread(
                target=lambda: env.aws["cloudwatch"].set_alarm_state(
                    AlarmName=alarm, StateValue="ALARM", StateReason="5xx (test)"
                ),
                daemon=True,
            ).start()

    return hook
