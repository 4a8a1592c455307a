"""Cold start: what importing each handler costs, against a bare ``import boto3`` (issue 12).

Each sample is a fresh interpreter that imports boto3 and then the handler, and prints
its own CPU time (``time.process_time``: start-up included) after each. The handler's
figure is the second; its ratio is the second over the first, taken within the one
process, so that what slows a shared machine slows both alike. (Timing separate
processes from outside, the same import moved by a third from run to run, which hid
any change smaller than that.) Importing the handler imports boto3 anyway: boto3
first changes the order, not the work. The figures are medians of ROUNDS rounds, each
round running every row once, in turn.

What is imported is what a function ships, not the dev venv: functions/requirements.txt
is installed for the Python the build compiles with (functions/Makefile's Python 3.13,
as Lambda runs python3.13; this Python when there is none) into
.tools/coldstart-deps/<hash>, once per content of the file, and every sample runs
``python -S`` with only that directory and a copy of functions/weightshift on its path.
The dev venv also holds awscrt and pyOpenSSL, which botocore imports when it finds them:
they made the baseline about 40% slower and every ratio look better than a function's.
Both the copy and the dependencies are compiled to bytecode first, as the build does for
Lambda, and the samples write none (PYTHONDONTWRITEBYTECODE, as /var/task is read-only).
The old bench ran with the shell's PYTHONDONTWRITEBYTECODE=1 and no bytecode for our
code, so every sample compiled the handler from source against a compiled boto3.

Two environments:

- ``local``: tracing off (POWERTOOLS_TRACE_DISABLED), as the tests import the handlers;
- ``lambda``: what the function's environment says (LAMBDA_TASK_ROOT set, tracing
  on, the template's Powertools variables), so that the X-Ray SDK and Powertools take
  their Lambda paths. It runs on this machine's CPU, not a Lambda's arm64 share of one,
  so read it as a ratio, not as Lambda's milliseconds.

``python benchmarks/coldstart.py [--rounds N] [--env local|lambda|both] [--compare DIR] [--python PATH]
[handler ...]``
(``--compare DIR``: another checkout's functions/, such as a ``git worktree`` of an older commit,
measured in the same rounds, its rows marked ``before:``.)
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = sorted(
    p.stem for p in (ROOT / "functions" / "weightshift" / "handlers").glob("*.py") if not p.stem.startswith("_")
)
ROUNDS = 7
TARGET = 1.5  # issue 12: a handler may cost at most 1.5 times a bare `import boto3`
DEPS_ROOT = ROOT / ".tools" / "coldstart-deps"

# What every sample is: a label and the statement a fresh interpreter runs.
BASELINE = ("import boto3", "pass")
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
        installer = (
            [str(uv), "pip", "install", "--python", python]
            if uv.exists()
            else [python, "-m", "pip", "install", "--disable-pip-version-check"]
        )
        subprocess.run(  # noqa: S603 - our own interpreter and requirements file
            [*installer, "--quiet", "--target", str(partial), "-r", str(requirements)], check=True
        )
        compile_tree(python, partial)
        partial.rename(target)
    return target


def compile_tree(python: str, tree: Path) -> None:
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(tree)], stdout=subprocess.DEVNULL, check=True)  # noqa: S603


def compiled_copy(functions: Path, scratch: Path, python: str) -> Path:
    """functions/weightshift copied and compiled (no bytecode written into the checkout)."""
    copy = scratch / "functions"
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


PROBE = "import time, boto3\nafter_boto3 = time.process_time()\n{statement}\nprint(after_boto3, time.process_time())"


def sample(python: str, statement: str, env: dict[str, str]) -> tuple[float, float]:
    """One fresh interpreter: the CPU time it had spent (start-up included) once ``import boto3``
    was done, and once ``statement`` was done too. Both figures come from the same process,
    seconds apart, so a neighbour that slows the machine slows both alike: between separate
    processes, the same import's time moved by a third on a shared machine."""
    # -S: no site, so neither the dev venv's packages nor the base interpreter's are reachable.
    done = subprocess.run(  # noqa: S603 - our statements
        [python, "-S", "-c", PROBE.format(statement=statement)], env=env, check=True, capture_output=True, text=True
    )
    boto3_cpu, total_cpu = (float(x) for x in done.stdout.split()[-2:])
    return boto3_cpu, total_cpu


Row = tuple[str, str, dict[str, str]]  # label, statement, environment


def measure(python: str, rows: list[Row], rounds: int) -> dict[str, tuple[float, float]]:
    """Per row, the medians of the CPU time and of its ratio to the same process's ``import boto3``.
    Every round runs each row once, in turn."""
    for _, statement, env in rows:  # one untimed run each: files in the page cache
        sample(python, statement, env)
    totals: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    ratios: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    for _ in range(rounds):
        for label, statement, env in rows:
            boto3_cpu, total_cpu = sample(python, statement, env)
            totals[label].append(total_cpu)
            ratios[label].append(total_cpu / boto3_cpu)
    return {label: (statistics.median(totals[label]), statistics.median(ratios[label])) for label in totals}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--env", choices=("local", "lambda", "both"), default="both")
    parser.add_argument(
        "--functions", type=Path, default=ROOT / "functions", help="the directory that holds weightshift/"
    )
    parser.add_argument(
        "--compare", type=Path, help="another checkout's functions/ (a git worktree), measured in the same rounds"
    )
    parser.add_argument("--python", help="the interpreter to import with (default: the build's Python 3.13)")
    parser.add_argument("handlers", nargs="*", default=HANDLERS)
    args = parser.parse_args()
    python = args.python or interpreter(ROOT / "functions")
    checkouts = [("", args.functions), *([("before: ", args.compare)] if args.compare else [])]
    worst = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        trees = {
            prefix: (shipped_dependencies(tree, python), compiled_copy(tree, Path(scratch) / str(i), python))
            for i, (prefix, tree) in enumerate(checkouts)
        }
        for kind in ("local", "lambda") if args.env == "both" else (args.env,):
            envs = {prefix: environment(kind, scratch, functions, deps) for prefix, (deps, functions) in trees.items()}
            rows: list[Row] = [(BASELINE[0], BASELINE[1], envs[""]), (FLOOR[0], FLOOR[1], envs[""])]
            for handler in args.handlers:
                for prefix, _ in checkouts:
                    statement = f"import weightshift.handlers.{handler}"
                    rows.append((prefix + statement, statement, envs[prefix]))
            medians = measure(python, rows, args.rounds)
            print(f"cold start, {kind} environment, {python}: CPU time, median of {args.rounds} fresh interpreters")
            for label, _, _ in rows:
                cpu, ratio = medians[label]
                flag = ""
                if label.startswith("import weightshift"):
                    worst = max(worst, ratio)
                    flag = "" if ratio <= TARGET else f"  over {TARGET}x"
                print(f"  {label:<56} {cpu * 1000:6.0f} ms  {ratio:.2f}x{flag}")
    print(f"worst ratio {worst:.2f}x (target <= {TARGET}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
