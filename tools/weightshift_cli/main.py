"""``weightshift``: plan, watch, stop and release canary deployments.

Works against AWS with the default credential chain (``--profile``, ``--region``)
and against the local emulator (``--endpoint-url http://127.0.0.1:PORT``). Every
command has ``--json`` for scripts and names its stack the same way (``--stack``/``-s``,
else ``$WEIGHTSHIFT_STACK``, else ``weightshift``). Every error, Typer's usage errors
included, is one line on stderr (and with ``--json`` a JSON object on stdout); see
``weightshift_cli.errors`` for the exit codes.

This module imports neither the emulator (moto) nor the demo (matplotlib): ``pip install
weightshift`` gives a ``weightshift`` that operates AWS with typer, rich and boto3 only.
"""

from __future__ import annotations

import functools
import getpass
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, ParamSpec, TypeVar, cast

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup
from weightshift.adapters.deployments import REJECTED, ROLLED_BACK
from weightshift.errors import WeightshiftError
from weightshift.models import Color
from weightshift.settings import RouteConfig

from weightshift_cli import ops, render, replay
from weightshift_cli.aws import (
    DEFAULT_STACK,
    STACK_ENV,
    Aws,
    AwsOptions,
    Ports,
    explain,
    load_stack,
    weightshift_stacks,
)
from weightshift_cli.errors import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    NoDeploymentRunning,
    UsageProblem,
)

HELP = (
    "Plan, watch, stop and release Weightshift canary deployments.\n\n"
    "Uses the default AWS credential chain (--profile, --region), or the local emulator with "
    "--endpoint-url http://127.0.0.1:PORT. Every command takes --json for scripts, and --stack/-s "
    f"(default: ${STACK_ENV}, else {DEFAULT_STACK}).\n\n"
    "Exit codes: 0 success (watch/release: promoted; abort: traffic restored); 1 rejected (rolled back, "
    "rejected or aborted; abort came too late; replay left messages); 2 bad usage or bad input; "
    "3 error (no credentials, no such stack, no deployment running, AWS...); 4 timed out; 130 interrupted."
)


def _wants_json(argv: Sequence[str]) -> bool:
    words = list(argv)
    return "--json" in (words[: words.index("--")] if "--" in words else words)


class OneLineUsage(TyperGroup):
    """Typer's usage errors the README's way: one line on stderr (``error: …``), exit 2,
    and with ``--json`` also ``{"error": …, "exitCode": 2}`` on stdout; never a boxed panel.

    Both ``weightshift`` (the console script calls ``app()``) and ``CliRunner`` come through here.
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        as_json = _wants_json(argv)
        try:
            result = super().main(
                args=argv, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
            code = result if isinstance(result, int) else EXIT_OK
        except typer.TyperException as exc:  # Click's UsageError, BadParameter... (Typer vendors Click)
            code = EXIT_USAGE
            context = getattr(exc, "ctx", None)
            if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:
                typer.echo(context.get_help())  # `weightshift` alone: the help, as before
            else:
                hint = f" (see `{context.command_path} --help`)" if context is not None else ""
                render.report_error(exc.format_message().rstrip(".") + hint, code, as_json)
        except typer.Abort:
            code = EXIT_INTERRUPTED
            render.report_error("aborted", code, as_json)
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=OneLineUsage,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

P = ParamSpec("P")
R = TypeVar("R")

StackOpt = Annotated[
    str | None,
    typer.Option(
        "--stack",
        "-s",
        envvar=STACK_ENV,
        show_default=False,
        help=f"The Weightshift stack (samconfig's stack_name). Default: ${STACK_ENV}, else {DEFAULT_STACK}.",
    ),
]
# Before --stack, STACK was a positional argument of these commands: still accepted (read from the
# context's extra arguments), no longer documented.
TAKES_OLD_STACK_ARGUMENT = {"allow_extra_args": True}
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
IntervalOpt = Annotated[float, typer.Option("--interval", min=0.01, help="Seconds between polls of the record.")]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", min=0.1, help="Give up watching after this many seconds (exit 4).")
]
SideOpt = Literal["blue", "green"]


def fail(
    message: str, code: int = EXIT_ERROR, as_json: bool = False, details: dict[str, Any] | None = None
) -> typer.Exit:
    """Print one line on stderr (and with --json the error object on stdout); return the Exit to raise."""
    render.report_error(message, code, as_json, details)
    return typer.Exit(code)


def _options(*args: object, **kwargs: object) -> AwsOptions:
    """The global options, from the command's context (Typer passes it as ``ctx``)."""
    for value in (*args, *kwargs.values()):
        ctx: Any = value
        while ctx is not None and hasattr(ctx, "obj") and hasattr(ctx, "parent"):
            if isinstance(ctx.obj, AwsOptions):
                return ctx.obj
            ctx = ctx.parent
    return AwsOptions()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def one_line_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn every failure into one line on stderr and an exit code; never a traceback.
    With ``--json`` the error is also a JSON object on stdout.

    Set WEIGHTSHIFT_DEBUG=1 to see the traceback of an unexpected error.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("json_out"))
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except CliError as exc:
            raise fail(exc.message, exc.exit_code, as_json, exc.details) from None
        except BrokenPipeError:
            # `weightshift history --json | head`: the reader left; not an error.
            _silence_stdout()
            raise typer.Exit(EXIT_OK) from None
        except KeyboardInterrupt:
            raise fail(
                "interrupted; a running deployment goes on (`weightshift abort` stops it)", EXIT_INTERRUPTED, as_json
            ) from None
        except Exception as exc:
            if os.environ.get("WEIGHTSHIFT_DEBUG"):
                raise
            raise fail(explain(exc, _options(*args, **kwargs)), EXIT_ERROR, as_json) from None

    return wrapper


def _stack_name(ctx: typer.Context, option: str | None) -> str:
    """--stack, else the old positional STACK, else $WEIGHTSHIFT_STACK, else ``weightshift``."""
    extra = list(ctx.args)
    if len(extra) > 1:
        raise UsageProblem(f"unexpected arguments: {' '.join(extra)} (the stack is --stack NAME)")
    if extra:
        given = ctx.get_parameter_source("stack")
        if given is not None and given.name == "COMMANDLINE" and option != extra[0]:
            raise UsageProblem(f"two stacks: --stack {option} and {extra[0]}; give one, with --stack")
        return extra[0]
    return option or DEFAULT_STACK


def _ports(ctx: typer.Context, stack: str | None) -> Ports:
    options = ctx.obj if isinstance(ctx.obj, AwsOptions) else AwsOptions()
    aws = Aws(options)
    return Ports(aws, load_stack(aws, _stack_name(ctx, stack)))


@app.callback()
def main(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile (default chain if unset).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region (default: your config).")] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="Talk to this endpoint instead of AWS (the local emulator)."),
    ] = None,
) -> None:
    ctx.obj = AwsOptions(profile=profile, region=region, endpoint_url=endpoint_url)


# ----------------------------------------------------------------------- plan
@app.command()
@one_line_errors
def plan(
    ctx: typer.Context,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            "-s",
            envvar=STACK_ENV,
            show_default=False,
            help=f"Read the parameters from this deployed stack (needs AWS; also ${STACK_ENV}). Without: offline.",
        ),
    ] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="Schedule parameter, e.g. 5,25,50,100 or Canary10Percent5Minutes.")
    ] = None,
    step_interval: Annotated[
        int | None, typer.Option("--step-interval", min=1, help="StepIntervalSeconds parameter.")
    ] = None,
    poll: Annotated[int | None, typer.Option("--poll", min=1, help="HealthPollSeconds parameter.")] = None,
    readiness_timeout: Annotated[
        int | None, typer.Option("--readiness-timeout", min=0, help="ReadinessTimeoutSeconds parameter.")
    ] = None,
    ttl: Annotated[
        int | None,
        typer.Option("--ttl", min=0, help="The record's TTL (60 for an ALB alias; with --stack, read from Route 53)."),
    ] = None,
    target: Annotated[
        SideOpt | None, typer.Option("--target", help="The side being deployed (default: the idle one, else green).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The schedule: each step's weights and start, the minimum duration, transitions and cost, warnings.

    Offline from parameters, unless a stack is named (--stack or $WEIGHTSHIFT_STACK): then from that
    deployed stack, explicit options overriding its parameters. Warnings are lines on stderr (exit 0);
    a plan the trigger or preflight would refuse exits 2.
    """
    pair_ttl: int | None = None
    idle: Color | None = None
    if stack:
        ports = _ports(ctx, stack)
        config = ports.stack.config
        try:
            pair = ports.pair()
        except WeightshiftError:
            pair = None  # a broken pair is `status`'s business; the plan still prints
        if pair is not None:
            pair_ttl = pair.ttl_seconds
            zero = [c for c in ("blue", "green") if pair.weights.of(c) == 0]
            idle = cast(Color, zero[0]) if len(zero) == 1 else None
    else:
        # Placeholders for what a schedule does not depend on: no AWS call is made.
        config = RouteConfig(
            cluster_name="-",
            blue_service_name="blue",
            green_service_name="green",
            hosted_zone_id="-",
            record_name="plan.example.com",
            blue_load_balancer_arn="-",
            green_load_balancer_arn="-",
        )
    overrides: dict[str, Any] = {
        "schedule": schedule,
        "step_interval_seconds": step_interval,
        "poll_seconds": poll,
        "readiness_timeout_seconds": readiness_timeout,
    }
    config = config.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    ttl_seconds = ttl if ttl is not None else pair_ttl if pair_ttl is not None else 60
    view = ops.preview(config, target or idle or "green", ttl_seconds)
    document = {"stack": stack, **view.dump()}
    if view.problem:  # with --json, the plan goes into the error object: one document on stdout
        if not json_out:
            render.stdout().print(render.plan_view(view))
        raise CliError(f"preflight would reject this plan (TTL {ttl_seconds}s): {view.problem}", EXIT_USAGE, document)
    if json_out:
        render.print_json(document)
        return
    render.stdout().print(render.plan_view(view))
    for warning in view.warnings:
        render.warn(warning)


# --------------------------------------------------------------------- status
@app.command(context_settings=TAKES_OLD_STACK_ARGUMENT)
@one_line_errors
def status(
    ctx: typer.Context,
    stack: StackOpt = None,
    json_out: JsonOpt = False,
    all_stacks: Annotated[
        bool, typer.Option("--all", help="Every Weightshift stack of the region, a line each (ignores --stack).")
    ] = False,
) -> None:
    """What traffic does now, the running and the last deployment, and the reason for any failure.

    After a release that did not go out, which service still runs its task definition, and what to do.
    """
    if all_stacks:
        _status_of_every_stack(ctx, json_out)
        return
    ports = _ports(ctx, stack)
    config = ports.stack.config
    route_problem = None
    try:
        pair = ports.pair()
    except WeightshiftError as exc:
        pair, route_problem = None, str(exc)
    weights = pair.weights if pair else None
    running = ops.active_deployment(ports)
    last = ops.last_finished(ports)
    idle = ops.idle_after(ports, last) if running is None else None
    if json_out:
        render.print_json(
            {
                "stack": ports.stack.name,
                "region": ports.aws.region,
                "recordName": config.record_name,
                "hostedZoneId": config.hosted_zone_id,
                "stateMachineArn": ports.stack.state_machine_arn,
                "weights": weights.dump() if weights else None,  # live now, in Route 53
                "routeProblem": route_problem,
                "running": ops.for_output(running),
                "last": ops.for_output(last),
                "lastSummary": render.last_summary(last).plain if last else None,
                "idleService": _idle_document(ports, idle),
            }
        )
        return
    console = render.stdout()
    console.print(
        Text.assemble(
            (f"{ports.stack.name}", "bold"),
            f"  {config.record_name} (zone {config.hosted_zone_id}, {ports.aws.region})  schedule {config.schedule}",
        )
    )
    console.print(render.weights_bar(weights))
    if route_problem:
        console.print(Text(f"route problem: {route_problem}", style="bold red"))
    console.print()
    if running:
        console.print(render.deployment_table(running, "Running deployment"))
    else:
        console.print(Text("No deployment running.", style="dim"))
    if last:
        console.print()
        console.print(render.last_summary(last))
        console.print(render.deployment_table(last, "Details"))
    if idle:
        console.print()
        console.print(render.idle_note(idle, *_commands(ports)), soft_wrap=True)


def _status_of_every_stack(ctx: typer.Context, json_out: bool) -> None:
    """``status --all``: each Weightshift stack of the region with its live weights, its running
    deployment and its last one; a stack that cannot be read says why in its row."""
    options = ctx.obj if isinstance(ctx.obj, AwsOptions) else AwsOptions()
    aws = Aws(options)
    rows = [ops.stack_summary(Ports(aws, found)) for found in weightshift_stacks(aws)]
    if json_out:
        render.print_json({"region": aws.region, "stacks": rows})
        return
    render.stdout().print(render.stacks_table(rows, aws.region))


# ------------------------------------------------------------------ dashboard
@app.command(context_settings=TAKES_OLD_STACK_ARGUMENT)
@one_line_errors
def dashboard(ctx: typer.Context, stack: StackOpt = None, json_out: JsonOpt = False) -> None:
    """The stack's CloudWatch dashboard (its URL) and the state of the stack's alarms."""
    ports = _ports(ctx, stack)
    url = ports.stack.outputs.get("DashboardUrl")
    if not url:
        raise CliError(
            f"stack {ports.stack.name} has no DashboardUrl output: it predates the dashboard; update it with sam deploy"
        )
    alarms = ops.stack_alarms(ports)
    if json_out:
        render.print_json({"stack": ports.stack.name, "dashboardUrl": url, "alarms": alarms})
        return
    console = render.stdout()
    console.print(Text.assemble(("dashboard: ", "bold"), url), soft_wrap=True)
    console.print(render.alarms_table(alarms))


# -------------------------------------------------------------------- history
@app.command(context_settings=TAKES_OLD_STACK_ARGUMENT)
@one_line_errors
def history(
    ctx: typer.Context,
    stack: StackOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """Past deployments from the table, newest first."""
    ports = _ports(ctx, stack)
    records = [r.as_dict() for r in reversed(ports.deployments.list_route(ports.stack.route))][:limit]
    if json_out:
        render.print_json([ops.for_output(r) for r in records])
        return
    if not records:
        render.stdout().print(Text(f"No deployments recorded on {ports.stack.name} yet.", style="dim"))
        return
    console = render.stdout()
    console.print(render.history_view(records, console.width))


# ---------------------------------------------------------------------- watch
def _follow(
    ports: Ports, record: dict[str, Any], interval: float, timeout: float | None, json_out: bool
) -> dict[str, Any]:
    if json_out:
        return ops.follow(ports, record, interval, timeout, lambda r: None)
    console = render.stdout()
    steps = ops.step_count(record)
    console.print(
        Text.assemble(
            ("Watching ", ""),
            (str(record.get("deploymentId")), "bold"),
            " → ",
            render.color_text(record.get("targetColor")),
            f"  ({steps or '?'} steps; Ctrl-C stops watching, not the deployment)",
        )
    )
    seen = 0

    def describe(r: dict[str, Any]) -> str:
        seen = render.observed_text(r.get("observed")) if r.get("status") == "IN_PROGRESS" else None
        return f"{r.get('targetColor')} {r.get('status')} step {render.steps_text(r)}" + (
            f" | {seen.plain}" if seen is not None else ""
        )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=40, style="blue", complete_style="green", finished_style="green"),
        TextColumn("{task.percentage:>3.0f}% to target"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(describe(record), total=100)

        def on_record(r: dict[str, Any]) -> None:
            nonlocal seen
            timeline = r.get("timeline") or []
            for entry in timeline[seen:]:
                line = render.event_line(entry, steps) if isinstance(entry, dict) else None
                if line is not None:
                    progress.console.print(line)
            seen = len(timeline)
            progress.update(task, completed=ops.target_percent(r), description=describe(r))

        final = ops.follow(ports, record, interval, timeout, on_record)
    console.print(render.outcome(final))
    return final


def _watch_result(final: dict[str, Any]) -> dict[str, Any]:
    return {
        "deploymentId": final.get("deploymentId"),
        "status": final.get("status"),
        "promoted": ops.exit_code_for(final) == EXIT_OK,
        "exitCode": ops.exit_code_for(final),
        "record": ops.for_output(final),
    }


@app.command(context_settings=TAKES_OLD_STACK_ARGUMENT)
@one_line_errors
def watch(
    ctx: typer.Context,
    stack: StackOpt = None,
    interval: IntervalOpt = 2.0,
    timeout: TimeoutOpt = None,
    wait_start: Annotated[
        float, typer.Option("--wait-start", min=0, help="Wait up to this many seconds for a deployment to start.")
    ] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Follow the running deployment until it ends: exit 0 on promotion, 1 on failback or abort."""
    ports = _ports(ctx, stack)
    record = ops.wait_for_deployment(ports, wait_start, interval)
    final = _follow(ports, record, interval, timeout, json_out)
    if json_out:
        render.print_json(_watch_result(final))
    raise typer.Exit(ops.exit_code_for(final))


# ---------------------------------------------------------------------- abort
def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@app.command(context_settings=TAKES_OLD_STACK_ARGUMENT)
@one_line_errors
def abort(
    ctx: typer.Context,
    stack: StackOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the fail-back (exit 4 after).")
    ] = 300,
    interval: IntervalOpt = 1.0,
    json_out: JsonOpt = False,
) -> None:
    """Stop the running execution; wait for the fail-back and report the restored weights.

    Exit 0 when the traffic is back; 1 when the deployment finished (promoted) before the stop took effect.
    """
    ports = _ports(ctx, stack)
    record = ops.active_deployment(ports)
    if record is None:
        raise NoDeploymentRunning(ports.stack.name)
    console = render.stdout()
    if not json_out:
        console.print(
            Text.assemble("Stopping ", (str(record.get("deploymentId")), "bold"), " and waiting for the fail-back…")
        )
    result = ops.abort(ports, record, _user(), interval, timeout, lambda r: None)
    final = result.record
    pair = ports.pair()
    live = pair.weights if pair else None
    restored = ops.weights_of(final, "restoredWeights")
    idle = ops.idle_after(ports, final)
    document = {
        "deploymentId": final.get("deploymentId"),
        "executionArn": result.execution_arn,
        "stopped": result.stopped,
        "status": final.get("status"),
        "reason": final.get("reason"),
        "restoredWeights": restored.dump() if restored else None,
        "liveWeights": live.dump() if live else None,
        "idleService": _idle_document(ports, idle),
        "record": ops.for_output(final),
    }
    if final.get("status") not in (ROLLED_BACK, REJECTED):
        # The abort ran and came too late: exit 1, the outcome in the one JSON document.
        raise CliError(
            f"deployment {final.get('deploymentId')} finished as {final.get('status')} before the stop took "
            "effect; nothing was rolled back",
            EXIT_FAILED,
            document,
        )
    if json_out:
        render.print_json({**document, "exitCode": EXIT_OK})
    else:
        text = Text(f"✔ aborted {final.get('deploymentId')} ({final.get('status')}). ", style="bold")
        if restored:
            text.append("Traffic restored to ")
            text.append_text(render.weights_text(restored))
        else:
            text.append("No DNS change had been made.")
        console.print(text)
        console.print(Text.assemble("Live weights now: ", render.weights_text(live)))
        if final.get("reason"):
            console.print(Text(f"Reason: {render.one_line(final['reason'])}", style="dim"))
        if idle:
            console.print(render.idle_note(idle, *_commands(ports)), soft_wrap=True)


# -------------------------------------------------------------------- release
@app.command(context_settings=TAKES_OLD_STACK_ARGUMENT)
@one_line_errors
def release(
    ctx: typer.Context,
    image: Annotated[str, typer.Option("--image", help="The new container image.")],
    stack: StackOpt = None,
    container: Annotated[
        str | None, typer.Option("--container", help="The container to update (needed if there are several).")
    ] = None,
    side: Annotated[
        SideOpt | None, typer.Option("--side", help="Release to this side (must be idle; default: the idle one).")
    ] = None,
    wait_start: Annotated[
        float, typer.Option("--wait-start", min=0, help="Seconds to wait for ECS to start the new tasks.")
    ] = 900,
    timeout: TimeoutOpt = None,
    interval: IntervalOpt = 5.0,
    no_watch: Annotated[bool, typer.Option("--no-watch", help="Return after updating the service.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Deploy IMAGE to the idle side (a new task definition revision, a service update), then watch the canary.

    Exits like `watch`: 0 when promoted, 1 on fail back. The one command a pipeline needs. After a fail
    back the idle service keeps the new revision: the output says so, and how to replace it.
    """
    ports = _ports(ctx, stack)
    done = ops.release(ports, image, container, side)
    console = render.stdout()
    if not json_out:
        console.print(
            Text.assemble(
                "Released ",
                (image, "bold"),
                " to ",
                render.color_text(done.color),
                f" ({done.service}): {done.task_definition.rsplit('/', 1)[-1]}, ECS deployment {done.ecs_deployment}",
            )
        )
    if no_watch:
        if json_out:
            render.print_json({"release": done.dump(), "deployment": None})
        return
    if not json_out:
        console.print(Text(f"Waiting up to {render.duration(wait_start)} for the canary {done.deployment_id}…"))
    try:
        record = ops.wait_for_deployment(ports, wait_start, interval, deployment_id=done.deployment_id)
        final = _follow(ports, record, interval, timeout, json_out)
    except CliError as exc:  # a timeout: the service was updated all the same; say what was released
        exc.details = {**exc.details, "release": done.dump()}
        raise
    code = ops.exit_code_for(final)
    idle = ops.idle_after_release(ports, done) if code != EXIT_OK else None
    if json_out:
        render.print_json(
            {
                "release": done.dump(),
                "deployment": _watch_result(final),
                "idleService": _idle_document(ports, idle),
                "exitCode": code,
            }
        )
    elif idle:
        console.print(render.idle_note(idle, *_commands(ports)), soft_wrap=True)
    raise typer.Exit(code)


def _commands(ports: Ports) -> tuple[str, str]:
    """For the advice after a failed release: the `weightshift release` command for this stack, and the
    start of an `aws` command, both with the caller's options (profile, region, endpoint)."""
    options = ports.aws.options
    return (
        f"weightshift{options.flags()} release --stack {ports.stack.name} --image IMAGE",
        f"aws{options.flags(ports.aws.region)}",
    )


def _idle_document(ports: Ports, idle: ops.IdleService | None) -> dict[str, Any] | None:
    return None if idle is None else {**idle.dump(), "advice": render.idle_advice(idle, *_commands(ports))}


# --------------------------------------------------------------------- replay
@app.command(name="replay", context_settings=TAKES_OLD_STACK_ARGUMENT)
@one_line_errors
def replay_command(
    ctx: typer.Context,
    stack: StackOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "--list", help="List the failed events; invoke and delete nothing.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Handle at most this many messages.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Replay the events the trigger or abort function could not handle (the dead-letter queue).

    Reads both kinds of message (Lambda on-failure records and EventBridge dead letters), invokes
    the right function synchronously with the original event, and deletes a message only when the
    function succeeded. Safe to repeat. Exit 0 when every message was replayed, 1 when some stay
    in the queue.
    """
    ports = _ports(ctx, stack)
    run = replay.Replay(ports, dry_run=dry_run, limit=limit)
    console = render.stdout()
    if json_out:
        events = run.run(lambda e: None)
    else:
        waiting = run.waiting()
        verb = "Listing" if dry_run else "Replaying"
        console.print(Text(f"{verb} the failed events of {ports.stack.name} (about {waiting} waiting)…"))
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            TextColumn("{task.completed}/{task.total}"),
            console=console,
        ) as progress:
            task = progress.add_task("events", total=max(waiting, 1) if limit is None else min(max(waiting, 1), limit))

            def on_event(failed: replay.FailedEvent) -> None:
                style = {"replayed": "green", "failed": "bold red", "skipped": "yellow"}.get(failed.outcome or "", "")
                progress.console.print(
                    Text.assemble(
                        (f"{failed.outcome:>8} ", style),
                        (f"{failed.target or '-':<7} ", "bold"),
                        failed.summary(),
                        (f"  [{failed.why}]", "dim"),
                        (f"  → {failed.result}" if failed.result else "", ""),
                    )
                )
                total = progress.tasks[0].total or 0
                progress.update(task, advance=1, total=max(total, len(run.events)))

            events = run.run(on_event)
    summary = replay.counts(events)
    code = EXIT_FAILED if summary["failed"] or summary["skipped"] else EXIT_OK
    if json_out:
        render.print_json(
            {
                "stack": ports.stack.name,
                "dryRun": dry_run,
                **summary,
                "events": [e.dump() for e in events],
                "exitCode": code,
            }
        )
    elif not events:
        console.print(Text("The dead-letter queue is empty: nothing to replay.", style="dim"))
    else:
        table = Table(title="Replay summary", show_header=True)
        for column in ("replayed", "failed", "skipped", "listed"):
            table.add_column(column, justify="right")
        table.add_row(*(str(summary[c]) for c in ("replayed", "failed", "skipped", "listed")))
        console.print(table)
        if summary["failed"] or summary["skipped"]:
            console.print(
                Text("Messages not replayed stay in the queue; fix the cause and run replay again.", style="dim")
            )
    raise typer.Exit(code)


if __name__ == "__main__":  # pragma: no cover
    app()
