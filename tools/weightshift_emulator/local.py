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
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console

from weightshift_emulator import ecs_sim, patches, simclock, stack
from weightshift_emulator.server import HOST, Emulator, start_emulator
from weightshift_emulator.world import LOCAL_SEED, REGION, ROOT, Surroundings, build_surroundings, set_weighted_pair

DEFAULT_PORT = 4566
# The compressed clock: a Wait of the workflow sleeps this fraction of its seconds.
DEFAULT_SCALE = 0.01
# What samconfig.toml's [local] environment gives sam deploy (the direct path uses the same).
PARAMETERS = {
    "Schedule": "5,25,50,100",
    "StepIntervalSeconds": "60",
    "HealthPollSeconds": "300",
    # A rolling ECS deployment drains the old tasks for the target group's 300 s deregistration
    # delay before the service is steady (ecs_sim): readiness needs more than that.
    "ReadinessTimeoutSeconds": "600",
}
Deploy = Literal["sam", "direct"]

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0] if __doc__ else None)


class PortTaken(Exception):
    pass


def quiet() -> None:
    """Keep moto's engine dumps and the functions' JSON logs off the terminal (the CLI and
    the console show what happens); WEIGHTSHIFT_EMULATOR_LOGS=1 keeps them."""
    if os.environ.get("WEIGHTSHIFT_EMULATOR_LOGS"):
        return
    for name in ("moto", "werkzeug", "weightshift_emulator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    patches.INVOKE_ENVIRONMENT.update({"POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"})


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


def deploy_with_sam(endpoint: str, stack_name: str) -> None:
    """The real SAM CLI path (``make deploy-local``): the artifact bucket, ``sam build``,
    ``sam deploy --config-env local``; SAM's own output goes to the terminal."""
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - the emulator's dummy credentials
        AWS_SESSION_TOKEN="testing",  # noqa: S106
        AWS_DEFAULT_REGION=REGION,
        SAM_CLI_TELEMETRY="0",
    )
    bin_dir = Path(sys.executable).parent
    steps = [
        [sys.executable, "-m", "weightshift_emulator.deploy_local"],
        [str(bin_dir / "sam"), "build", "--config-env", "local"],
        [str(bin_dir / "sam"), "deploy", "--config-env", "local", "--stack-name", stack_name],
    ]
    for step in steps:
        subprocess.run(step, cwd=ROOT, env=env, check=True)


def bring_up(
    port: int, stack_name: str, scale: float, console: Console, deploy: Deploy = "sam"
) -> tuple[Emulator, Surroundings]:
    """Start, build the surroundings, deploy; the caller owns the emulator (stop it)."""
    check_port(port)
    patches.install()
    patches.CLOCK.scale = scale
    emulator = start_emulator(port=port, region=REGION)
    try:
        clients = emulator.clients()
        # Seeded: the ids samconfig.toml's [local] parameters name (world.LOCAL_SEED).
        world = build_surroundings(clients, seed=LOCAL_SEED)
        set_weighted_pair(clients, world, blue=100, green=0)
        console.print(
            f"surroundings: zone {world.zone_name} ({world.zone_id}), {world.record_name} -> blue=100 green=0, "
            f"cluster {world.cluster}, services {world.blue_service}/{world.green_service}, alarms, health checks"
        )
        if deploy == "sam":
            console.print("deploying with the real SAM CLI: sam build, sam deploy --config-env local")
            deploy_with_sam(emulator.endpoint_url, stack_name)
            deployed = stack.describe(clients, stack_name)
        else:
            deployed = stack.deploy(clients, world.parameters(**PARAMETERS), stack_name=stack_name)
        console.print(
            f"stack [bold]{deployed.stack_name}[/] {deployed.status}: {len(deployed.functions)} functions, "
            f"{len(deployed.rules)} rules, state machine {deployed.state_machine_arn.split(':')[-1]}"
        )
    except BaseException:
        emulator.stop()
        raise
    return emulator, world


class _FollowSimTime:
    """Lets the ECS simulation live through each tick of the traffic clock (one clock for all)."""

    def __init__(self, sim: ecs_sim.Simulation) -> None:
        self.sim = sim

    def advance(self, start: float, end: float) -> None:
        self.sim.sync()


def start_world(world: Surroundings, scale: float) -> tuple[simclock.SimClock, ecs_sim.Simulation]:
    """Time starts: DNS clients send traffic to the ALBs (metrics, alarms evaluated from them)
    and ECS rolls deployments, on one clock ``1/scale`` times faster than the wall clock."""
    clock = simclock.for_surroundings(world)
    sim = ecs_sim.start()
    clock.participants.append(_FollowSimTime(sim))
    clock.start(scale=1.0 / scale if scale > 0 else 100.0)
    return clock, sim


def serve(
    port: int,
    stack_name: str,
    scale: float,
    console: Console,
    stop: threading.Event,
    ready: threading.Event | None = None,
    deploy: Deploy = "sam",
) -> int:
    """Bring the emulator up, say how to use it, and keep it until ``stop`` is set.
    Exit status: 0, or 2 when the port is taken."""
    started = time.monotonic()
    try:
        emulator, world = bring_up(port, stack_name, scale, console, deploy)
    except PortTaken as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except subprocess.CalledProcessError as exc:
        console.print(f"[red]error:[/] the deploy failed: {' '.join(exc.cmd)} exited {exc.returncode}")
        return 1
    clock, sim = start_world(world, scale)
    try:
        console.print(
            f"time runs {1 / scale if scale > 0 else 100:.0f}x faster: DNS clients send traffic to the ALBs "
            "(metrics, alarms evaluated from them); ECS rolls each UpdateService and emits task events"
        )
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
        try:
            clock.stop()
        finally:
            sim.stop()
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
    deploy: Annotated[
        str, typer.Option(help="sam: the real sam build + sam deploy (default); direct: in-process, seconds faster.")
    ] = "sam",
) -> None:
    if deploy not in ("sam", "direct"):
        raise typer.BadParameter("--deploy is sam or direct")
    quiet()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    how: Deploy = "sam" if deploy == "sam" else "direct"
    raise typer.Exit(serve(port, stack_name, scale, Console(soft_wrap=True), stop, deploy=how))


def entry() -> Any:
    return app()
