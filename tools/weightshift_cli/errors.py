"""What the CLI tells a person when it cannot do what was asked: one line, an exit code.

Every error is one line on stderr (``error: …``); with ``--json`` stdout also gets one
JSON object, ``{"error": …, "exitCode": …}``, so that a script always has something to
parse. The exit codes tell a pipeline "the release failed" from "the CLI was called
wrong" from "the CLI could not find out":

- 0 success: the command did what was asked (``watch``/``release``: promoted, or
  already live; ``abort``: stopped, and the traffic is back where it was).
- 1 rejected: the command ran and its outcome is a failure (``watch``/``release``:
  the deployment was rolled back, rejected or aborted; ``abort``: the deployment
  finished before the stop took effect, so nothing was rolled back; ``replay``: some
  messages stay in the queue). Nothing is wrong with the CLI or with AWS.
- 2 bad usage: the command line or its input is wrong (an unknown option, a bad value,
  a schedule the trigger would refuse, ``--side`` naming the live side). Nothing was
  changed; the same command fails the same way until it is fixed.
- 3 error: the CLI could not do it or could not find out (no credentials, no such
  stack, AWS refused or was unreachable, nothing to watch or abort, no idle side).
- 4 timeout: what was waited for did not happen within ``--timeout``/``--wait-start``;
  a deployment goes on.
- 130 interrupted (Ctrl-C); a deployment goes on.

``EXIT_CODES`` is the same contract command by command. The README shows it as a table
(``exit_code_table``), and a test checks that the README has every row.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Any, Literal

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130

Outcome = Literal["success", "rejected", "usage", "error", "timeout"]
OUTCOMES: tuple[Outcome, ...] = ("success", "rejected", "usage", "error", "timeout")
CODE_OF: dict[Outcome, int] = {
    "success": EXIT_OK,
    "rejected": EXIT_FAILED,
    "usage": EXIT_USAGE,
    "error": EXIT_ERROR,
    "timeout": EXIT_TIMEOUT,
}
NEVER = "never: "  # a cell that starts so names an outcome the command cannot have, and why


@dataclass(frozen=True)
class Row:
    """When one command ends with each exit code."""

    success: str
    rejected: str
    usage: str
    error: str
    timeout: str

    def when(self, outcome: Outcome) -> str:
        return str(getattr(self, outcome))

    def code(self, outcome: Outcome) -> int | None:
        """The exit code of ``outcome``, or None if this command cannot end that way."""
        return None if self.when(outcome).startswith(NEVER) else CODE_OF[outcome]


_BAD_OPTION = "an unknown option or a bad value"
_AWS = "no credentials, no such stack, AWS refused or unreachable"
EXIT_CODES: dict[str, Row] = {
    "plan": Row(
        success="the plan, warnings included (a repeated step, a bake shorter than the TTL)",
        rejected=NEVER + "it runs nothing",
        usage=f"{_BAD_OPTION}; a schedule the trigger refuses or preflight would reject",
        error=f"with a stack: {_AWS}",
        timeout=NEVER + "it waits for nothing",
    ),
    "status": Row(
        success="the report, whatever the last deployment did (`--all`: a line per stack of the region)",
        rejected=NEVER + "it reports; it judges nothing",
        usage=_BAD_OPTION,
        error=_AWS,
        timeout=NEVER + "it waits for nothing",
    ),
    "dashboard": Row(
        success="the dashboard's URL and the state of the stack's alarms",
        rejected=NEVER + "it reports; it judges nothing",
        usage=_BAD_OPTION,
        error=f"the stack has no DashboardUrl output (update it); {_AWS}",
        timeout=NEVER + "it waits for nothing",
    ),
    "history": Row(
        success="the list (empty included)",
        rejected=NEVER + "it reports; it judges nothing",
        usage=_BAD_OPTION,
        error=_AWS,
        timeout=NEVER + "it waits for nothing",
    ),
    "watch": Row(
        success="promoted, or the target already carried all traffic",
        rejected="rolled back, rejected or aborted",
        usage=_BAD_OPTION,
        error=f"no deployment running; its record stuck after its execution ended; {_AWS}",
        timeout="none started within `--wait-start`, or not finished within `--timeout`",
    ),
    "abort": Row(
        success="stopped; traffic restored (or no DNS change had been made)",
        rejected="the deployment finished (promoted) before the stop took effect: nothing rolled back",
        usage=_BAD_OPTION,
        error=f"no deployment running; no execution to stop yet; {_AWS}",
        timeout="no fail back seen within `--timeout`: check the traffic",
    ),
    "release": Row(
        success="promoted (`--no-watch`: the idle service updated)",
        rejected="rolled back, rejected or aborted; the idle service keeps the new revision",
        usage=f"{_BAD_OPTION}; no `--image`; `--side` not idle; an unknown or missing `--container`",
        error=f"no idle side (a canary running?); the service missing; {_AWS}",
        timeout="the canary not started within `--wait-start`, or not finished within `--timeout`",
    ),
    "replay": Row(
        success="every message replayed, or listed (`--dry-run`), or none waiting",
        rejected="some messages stay in the queue",
        usage=_BAD_OPTION,
        error=f"no dead-letter queue output; {_AWS}",
        timeout=NEVER + "each invoke is bounded; it waits for nothing else",
    ),
}


def exit_code_table() -> list[str]:
    """The README's exit-code table, one Markdown line per row (between ``<!-- exit-codes -->`` markers)."""
    header = "| command | 0 success | 1 rejected | 2 bad usage | 3 error | 4 timeout |"
    lines = [header, "|---|---|---|---|---|---|"]
    for command, row in EXIT_CODES.items():
        cells = [cell.replace(NEVER, "never (", 1) + ")" if cell.startswith(NEVER) else cell for cell in astuple(row)]
        lines.append(f"| `{command}` | " + " | ".join(cells) + " |")
    return lines


class CliError(Exception):
    """An error to show as one line on stderr, exiting with ``exit_code``.

    ``details`` go into the ``--json`` error object beside ``error`` and ``exitCode``.
    """

    def __init__(self, message: str, exit_code: int = EXIT_ERROR, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.details = details or {}


class UsageProblem(CliError):
    """The command line or its input is wrong: nothing was changed (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class NoDeploymentRunning(CliError):
    def __init__(self, stack: str, waited: float = 0) -> None:
        extra = f" (waited {waited:g}s for one to start)" if waited else ""
        super().__init__(f"no deployment running on stack {stack}{extra}", EXIT_TIMEOUT if waited else EXIT_ERROR)


class WatchTimeout(CliError):
    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, EXIT_TIMEOUT, details)
