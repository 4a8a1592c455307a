"""``weightshift-emulator`` (``make emulator``): a local AWS to play with, until Ctrl-C.

It starts the emulator on 127.0.0.1 (port 4566, LocalStack's convention, unless
``--port`` says otherwise), creates the surroundings a user already has (the hosted
zone with the weighted pair at blue=100, two ALBs with target groups, the cluster with
both services, alarms, health checks), deploys the stack from ``template.yaml``, prints
what to export and a few commands to try, and keeps running until Ctrl-C or SIGTERM,
then shuts down cleanly. A taken port (a second emulator, say) is a one-line error.
"""

from __future__ import annotations

import errno
import signal
import socket
import threading
import time
from typing import Annotated, Any

import typer
from rich.console import Console

from weightshift_emulator import patches, stack
from weightshift_emulator.server import HOST, Emulator, start_emulator
from weightshift_emulator.world import REGION, Surroundings, build_surroundings, set_weighted_pair

DEFAULT_PORT = 4566
# The compressed clock: a Wait of the workflow sleeps this fraction of its seconds.
DEFAULT_SCALE = 0.01
PARAMETERS = {"Schedule": "10,50,100", "StepIntervalSeconds": "60", "HealthPollSeconds": "15"}

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0] if __doc__ else None)


class PortTaken(Exception):
    pass


def check_port(port: int) -> None:
    """Fail early, in one line, when the port is taken (by a running emulator, say)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortTaken(
                    f"port {port} on {HOST} is taken (is an emulator already running? "
                    f"stop it with Ctrl-C, or pass --port)"
                ) from exc
            raise


def exports(emulator: Emulator) -> list[str]:
    return [
        f"export AWS_ENDPOINT_URL={emulator.endpoint_url}",
        f"export AWS_REGION={emulator.region} AWS_DEFAULT_REGION={emulator.region}",
        "export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing  # for the AWS CLI; weightshift needs none",
    ]


def try_these(world: Surroundings, stack_name: str) -> list[str]:
    return [
        f"weightshift status {stack_name}",
        f"weightshift history {stack_name}",
        f"aws stepfunctions list-executions --state-machine-arn $(aws cloudformation describe-stacks "
        f"--stack-name {stack_name} --query \"Stacks[0].Outputs[?OutputKey=='StateMachineArn'].OutputValue\" "
        "--output text)",
        f"aws route53 list-resource-record-sets --hosted-zone-id {world.zone_id}",
    ]


def bring_up(port: int, stack_name: str, scale: float, console: Console) -> tuple[Emulator, Surroundings]:
    """Start, build the surroundings, deploy; the caller owns the emulator (stop it)."""
    check_port(port)
    patches.install()
    patches.CLOCK.scale = scale
    emulator = start_emulator(port=port, region=REGION)
    try:
        clients = emulator.clients()
        world = build_surroundings(clients)
        set_weighted_pair(clients, world, blue=100, green=0)
        console.print(
            f"surroundings: zone {world.zone_name} ({world.zone_id}), {world.record_name} -> blue=100 green=0, "
            f"cluster {world.cluster}, services {world.blue_service}/{world.green_service}, alarms, health checks"
        )
        deployed = stack.deploy(clients, world.parameters(**PARAMETERS), stack_name=stack_name)
        console.print(
            f"stack [bold]{deployed.stack_name}[/] {deployed.status}: {len(deployed.functions)} functions, "
            f"{len(deployed.rules)} rules, state machine {deployed.state_machine_arn.split(':')[-1]}"
        )
    except BaseException:
        emulator.stop()
        raise
    return emulator, world


def serve(
    port: int,
    stack_name: str,
    scale: float,
    console: Console,
    stop: threading.Event,
    ready: threading.Event | None = None,
) -> int:
    """Bring the emulator up, say how to use it, and keep it until ``stop`` is set.
    Exit status: 0, or 2 when the port is taken."""
    started = time.monotonic()
    try:
        emulator, world = bring_up(port, stack_name, scale, console)
    except PortTaken as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    try:
        console.print(f"emulator ready on {emulator.endpoint_url} in {time.monotonic() - started:.1f} s")
        console.print("In another terminal:")
        for line in exports(emulator):
            console.print(f"  {line}", markup=False, highlight=False)
        console.print("Then try:")
        for line in try_these(world, stack_name):
            console.print(f"  {line}", markup=False, highlight=False)
        console.print("Ctrl-C stops the emulator (everything in it is forgotten).")
        if ready is not None:
            ready.set()
        stop.wait()
    finally:
        emulator.stop()
        console.print("emulator stopped")
    return 0


@app.command()
def main(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = DEFAULT_PORT,
    stack_name: Annotated[str, typer.Option(help="Name of the stack to deploy.")] = "weightshift",
    scale: Annotated[
        float, typer.Option(help="Wall seconds per simulated second of a workflow Wait (0.01: a minute in 0.6 s).")
    ] = DEFAULT_SCALE,
) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    raise typer.Exit(serve(port, stack_name, scale, Console(soft_wrap=True), stop))


def entry() -> Any:
    return app()
