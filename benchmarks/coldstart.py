"""Cold start: what importing each handler costs, against a bare ``import boto3`` (issue 12).

Each sample is a fresh interpreter, timed from outside (the wall time of
``python -c "import weightshift.handlers.<name>"``), so it counts what a new Lambda
execution environment pays to load the module: interpreter start-up, boto3 and
everything the handler pulls in. The baseline is ``python -c "import boto3"``, the
least any of our functions could load. Samples alternate between the baseline and
the handlers so that a busy machine slows both alike; the figure is the median of
ROUNDS rounds.

What is imported is what a function ships, not the dev venv: functions/requirements.txt
is installed for this machine's Python into .tools/coldstart-deps/<hash> (once per content
of the file), and every sample runs ``python -S`` with only that directory and a copy of
functions/weightshift on its path. The dev venv also holds awscrt and pyOpenSSL, which
botocore imports when it finds them: they made the baseline 40% slower and every ratio
look better than a function's. Both the copy and the dependencies are compiled to
bytecode first, as the build does for Lambda (functions/Makefile), and
PYTHONDONTWRITEBYTECODE is dropped: a handler compiled from source at every sample
against a compiled boto3 was another unfair comparison.

Two environments:

- ``local``: tracing off (POWERTOOLS_TRACE_DISABLED), as the tests import the handlers;
- ``lambda``: what the function's environment says (LAMBDA_TASK_ROOT set, tracing
  on, the template's Powertools variables), so that the X-Ray SDK and Powertools take
  their Lambda paths. It still runs this machine's Python, not the arm64 / Python 3.13
  build, so read it as a ratio, not as Lambda's milliseconds.

``python benchmarks/coldstart.py [--rounds N] [--env local|lambda|both] [--functions DIR] [handler ...]``
(``--functions``: another checkout's functions/, such as a ``git worktree`` of main, to compare.)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
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
ROUNDS = 7
TARGET = 1.5  # issue 12: a handler may cost at most 1.5 times a bare `import boto3`
DEPS_ROOT = ROOT / ".tools" / "coldstart-deps"

# What every sample is: a label and the statement a fresh interpreter runs.
BASELINE = ("import boto3", "import boto3")
# The least a function that logs and measures with Powertools and validates with Pydantic (the
# Parser) can import: boto3, Powertools' Logger and Metrics, and Pydantic with one model class
# (Pydantic imports its schema machinery at the first class, not at `import pydantic`).
FLOOR = (
    "boto3 + Powertools + Pydantic (floor)",
    "import boto3, pydantic, aws_lambda_powertools.logging, aws_lambda_powertools.metrics\n"
    "class Model(pydantic.BaseModel):\n    x: int",
)


def interpreter(functions: Path) -> str:
    """The Python 3.13 the build compiles with (functions/Makefile finds it), as Lambda runs
    python3.13; this Python when there is none."""
    command = ["make", "-s", "-C", str(functions), "python313"]
    # S603: make from PATH (as `make bench` itself) on our own Makefile.
    found = subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603
    return found or sys.executable


def shipped_dependencies(functions: Path, python: str) -> Path:
    """functions/requirements.txt installed for ``python``, compiled; reused while the file is unchanged."""
    requirements = functions / "requirements.txt"
    version = subprocess.run(  # noqa: S603 - the interpreter found above
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    )
    digest = hashlib.sha256(requirements.read_bytes() + version.stdout.encode()).hexdigest()[:16]
    target = DEPS_ROOT / digest
    if not target.is_dir():
        partial = target.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        print(f"installing {requirements} for {python} into {target} (once)", flush=True)
        uv = Path(sys.executable).parent / "uv"  # the venv's (make installs it); pip otherwise
        installer = [str(uv), "pip"] if uv.exists() else [python, "-m", "pip", "--disable-pip-version-check"]
        subprocess.run(  # noqa: S603 - our own interpreter and requirements file
            [*installer, "install", "--python", python, "--quiet", "--target", str(partial), "-r", str(requirements)]
            if uv.exists()
            else [*installer, "install", "--quiet", "--target", str(partial), "-r", str(requirements)],
            check=True,
        )
        compile_tree(python, partial)
        partial.rename(target)
    return target


def compile_tree(python: str, tree: Path) -> None:
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(tree)], stdout=subprocess.DEVNULL, check=True)  # noqa: S603


def compiled_copy(functions: Path, scratch: str, python: str) -> Path:
    """functions/weightshift copied and compiled (no bytecode written into the checkout)."""
    copy = Path(scratch) / "functions"
    shutil.copytree(functions / "weightshift", copy / "weightshift", ignore=shutil.ignore_patterns("__pycache__"))
    compile_tree(python, copy)
    return copy


def environment(kind: str, scratch: str, functions: Path, deps: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "_X_AMZN", "PYTHON"))
    }
    env.update(
        {
            "PYTHONPATH": os.pathsep.join((str(functions), str(deps))),
            "PYTHONDONTWRITEBYTECODE": "1",  # as /var/task, read-only: only the compiled bytecode counts
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
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            }
        )
    return env


def sample(python: str, statement: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    # -S: no site, so neither the dev venv's packages nor the base interpreter's are reachable.
    subprocess.run([python, "-S", "-c", statement], env=env, check=True)  # noqa: S603 - our statements
    return time.perf_counter() - started


def measure(python: str, statements: list[str], env: dict[str, str], rounds: int) -> dict[str, float]:
    """Median wall time per statement; every round times each once, in turn, so a machine
    that gets busier for a while slows the baseline and the handlers alike."""
    for statement in statements:  # one untimed run each: files in the page cache
        sample(python, statement, env)
    times: dict[str, list[float]] = {s: [] for s in statements}
    for _ in range(rounds):
        for statement in statements:
            times[statement].append(sample(python, statement, env))
    return {s: statistics.median(t) for s, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--env", choices=("local", "lambda", "both"), default="both")
    parser.add_argument(
        "--functions", type=Path, default=ROOT / "functions", help="the directory that holds weightshift/ (to compare)"
    )
    parser.add_argument("handlers", nargs="*", default=HANDLERS)
    args = parser.parse_args()
    python = interpreter(args.functions)
    rows = [
        BASELINE,
        FLOOR,
        *((f"import weightshift.handlers.{h}", f"import weightshift.handlers.{h}") for h in args.handlers),
    ]
    worst = 0.0
    deps = shipped_dependencies(args.functions, python)
    with tempfile.TemporaryDirectory() as scratch:
        functions = compiled_copy(args.functions, scratch, python)
        for kind in ("local", "lambda") if args.env == "both" else (args.env,):
            medians = measure(
                python, [statement for _, statement in rows], environment(kind, scratch, functions, deps), args.rounds
            )
            base = medians[BASELINE[1]]
            print(f"cold start, {kind} environment, {python}: median of {args.rounds} fresh interpreters")
            for label, statement in rows:
                ratio = medians[statement] / base
                flag = ""
                if label.startswith("import weightshift"):
                    worst = max(worst, ratio)
                    flag = "" if ratio <= TARGET else f"  over {TARGET}x"
                print(f"  {label:<48} {medians[statement] * 1000:6.0f} ms  {ratio:.2f}x{flag}")
    print(f"worst ratio {worst:.2f}x (target <= {TARGET}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
