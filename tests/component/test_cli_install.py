"""`pip install weightshift` gives a working `weightshift` (issue 12 §1): the console script needs
typer, rich and boto3 (the base dependencies), never the emulator (moto) or the demo (matplotlib),
which live in the `tools` extra. Run in a subprocess where those cannot be imported at all."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "weightshift"  # the console script the install made
# What a user who installs the CLI to operate AWS does not have.
ABSENT = ("moto", "matplotlib", "samtranslator", "weightshift_emulator", "werkzeug", "flask")
SITECUSTOMIZE = f"""
import importlib.abc, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {ABSENT!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not installed)", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
"""


@pytest.fixture
def without_tools(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import the tools extra (a sitecustomize on PYTHONPATH)."""
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WEIGHTSHIFT_"))}
    return {**env, "PYTHONPATH": str(tmp_path), "COLUMNS": "200", "AWS_MAX_ATTEMPTS": "1"}


def weightshift(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"no console script at {SCRIPT}: pip install -e . first"
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_blocker_works(without_tools: dict[str, str]) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import moto"], env=without_tools, capture_output=True, text=True, check=False
    )
    assert probe.returncode == 1
    assert "not installed" in probe.stderr


def test_weightshift_runs_without_the_emulator_or_the_demo(without_tools: dict[str, str]) -> None:
    help_text = weightshift(without_tools, "--help")
    assert help_text.returncode == 0, help_text.stderr
    assert "release" in help_text.stdout
    assert "abort" in help_text.stdout

    plan = weightshift(without_tools, "plan", "--schedule", "5,25,50,100", "--json")
    assert plan.returncode == 0, plan.stderr
    assert [s["targetPercent"] for s in json.loads(plan.stdout)["steps"]] == [5, 25, 50, 100]

    # A command that goes to AWS (here an endpoint nobody listens on): boto3 and the adapters load,
    # the error is one line, the exit code 3.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status = weightshift(without_tools, "--endpoint-url", f"http://127.0.0.1:{port}", "status", "--json")
    assert status.returncode == 3, status.stderr
    assert status.stderr.startswith("error: cannot reach")
    assert len(status.stderr.splitlines()) == 1
    assert json.loads(status.stdout)["exitCode"] == 3


def test_the_console_script_prints_usage_errors_on_one_line(without_tools: dict[str, str]) -> None:
    result = weightshift(without_tools, "status", "--bogus")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: No such option: --bogus (see `weightshift status --help`)\n"


def test_the_cli_dependencies_are_the_base_ones_and_never_reach_lambda() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {d.split("[")[0].split("=")[0].split(">")[0] for d in project["dependencies"]}
    assert {"typer", "rich", "boto3"} <= base
    tools = " ".join(project["optional-dependencies"]["tools"])
    assert "moto" in tools
    assert "matplotlib" in tools
    assert not {"moto", "matplotlib"} & base
    assert project["scripts"]["weightshift"] == "weightshift_cli.main:app"
    # The functions are built from functions/requirements.txt (functions/Makefile), not from pyproject.
    lambda_requirements = (ROOT / "functions" / "requirements.txt").read_text()
    assert "typer" not in lambda_requirements
    assert "rich" not in lambda_requirements
    assert "requirements.txt" in (ROOT / "functions" / "Makefile").read_text()


def test_the_tests_run_the_versions_the_functions_ship() -> None:
    """Every pin of functions/requirements.txt is what the test venv has (the Makefile installs the
    venv with that file as constraints): the handlers are tested with the libraries they ship with."""
    pins = [
        line.split("==")
        for line in (ROOT / "functions" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    ]
    assert {name.split("[")[0] for name, _ in pins} >= {"aws-lambda-powertools", "boto3", "botocore", "pydantic"}
    for name, pinned in pins:
        assert version(name.split("[")[0]) == pinned.strip(), name
