"""What the CLI tells a person when it cannot do what was asked: one line, an exit code.

Exit codes (documented in ``weightshift --help``), so that a pipeline can tell
"the deployment failed" from "the CLI could not find out":

- 0: done; for ``watch``/``release``, the deployment was promoted (or was already live).
- 1: the deployment failed back, was rejected or aborted (``abort``: the deployment
  finished before the stop took effect).
- 2: bad usage (an unknown option, a bad value): Typer's own code.
- 3: an error: no credentials, no such stack, no deployment running, an AWS error.
- 4: a timeout: the deployment did not start or finish within ``--timeout``/``--wait-start``.
- 130: interrupted (Ctrl-C); the deployment itself goes on.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An error to show as one line on stderr, exiting with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class NoDeploymentRunning(CliError):
    def __init__(self, stack: str, waited: float = 0) -> None:
        extra = f" (waited {waited:g}s for one to start)" if waited else ""
        super().__init__(f"no deployment running on stack {stack}{extra}", EXIT_TIMEOUT if waited else EXIT_ERROR)


class WatchTimeout(CliError):
    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_TIMEOUT)
