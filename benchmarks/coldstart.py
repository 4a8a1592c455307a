"""Cold start: what importing each handler costs, against a bare ``import boto3`` (issue 12).

Each sample is a fresh interpreter, timed from outside (the wall time of
``python -c "import weightshift.handlers.<name>"``), so it counts what a new Lambda
execution environment pays to load the module: interpreter start-up, boto3 and
everything the handler pulls in. The baseline is ``python -c "import boto3"``, the
least any of our functions could load. Samples alternate between the baseline and
the handlers so that a busy machine slows both alike; the figure is the median of
ROUNDS rounds.

Two environments:

- ``local``: this shell's environment, tracing off (POWERTOOLS_TRACE_DISABLED), as
  the tests import the handlers;
- ``lambda``: what the function's environment says (LAMBDA_TASK_ROOT set, tracing
  on, the template's Powertools variables), so that the X-Ray SDK and Powertools take
  their Lambda paths. It still runs this machine's Python and the venv's packages,
  not the arm64 / Python 3.13 build, so read it as a ratio, not as Lambda's
  milliseconds.

``python benchmarks/coldstart.py [--rounds N] [--env local|lambda|both] [--functions DIR] [handler ...]``
(``--functions``: another checkout's functions/, such as a ``git worktree`` of main, to compare.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = sorted(
    p.stem for p in (ROOT / "functions" / "weightshift" / "handlers").glob("*.py") if not p.stem.startswith("_")
)
BASELINE = "boto3"
ROUNDS = 7
TARGET = 1.5  # issue 12: a handler may cost at most 1.5 times a bare `import boto3`


def environment(kind: str, scratch: str, functions: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "_X_AMZN"))}
    env.update(
        {
            "PYTHONPATH": str(functions),
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_SERVICE_NAME": "weightshift",
            "POWERTOOLS_METRICS_NAMESPACE": "Weightshift",
        }
    )
    if kind == "local":
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    else:
        # What Lambda sets (the X-Ray SDK writes a marker file under TMPDIR's /tmp in Lambda;
        # it writes /tmp/.aws-xray here too, which is harmless).
        env.update(
            {
                "LAMBDA_TASK_ROOT": scratch,
                "AWS_LAMBDA_FUNCTION_NAME": "weightshift-bench",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            }
        )
    return env


def sample(module: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)  # noqa: S603 - our modules
    return time.perf_counter() - started


def measure(modules: list[str], env: dict[str, str], rounds: int) -> dict[str, float]:
    """Median wall time per module; every round times the baseline and then each handler once,
    so a machine that gets busier for a while slows the baseline and the handlers alike."""
    every = [BASELINE, *modules]
    for module in every:  # one untimed run each: bytecode written, files in the page cache
        sample(module, env)
    times: dict[str, list[float]] = {m: [] for m in every}
    for _ in range(rounds):
        for module in every:
            times[module].append(sample(module, env))
    return {m: statistics.median(t) for m, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--env", choices=("local", "lambda", "both"), default="both")
    parser.add_argument(
        "--functions", type=Path, default=ROOT / "functions", help="the directory that holds weightshift/ (to compare)"
    )
    parser.add_argument("handlers", nargs="*", default=HANDLERS)
    args = parser.parse_args()
    modules = [f"weightshift.handlers.{h}" for h in args.handlers]
    worst = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for kind in ("local", "lambda") if args.env == "both" else (args.env,):
            medians = measure(modules, environment(kind, scratch, args.functions), args.rounds)
            base = medians[BASELINE]
            print(f"cold start, {kind} environment: median of {args.rounds} fresh interpreters")
            print(f"  {'import boto3':<44} {base * 1000:6.0f} ms  1.00x")
            for module in modules:
                ratio = medians[module] / base
                worst = max(worst, ratio)
                flag = "" if ratio <= TARGET else f"  over {TARGET}x"
                print(f"  {'import ' + module:<44} {medians[module] * 1000:6.0f} ms  {ratio:.2f}x{flag}")
    print(f"worst ratio {worst:.2f}x (target <= {TARGET}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
