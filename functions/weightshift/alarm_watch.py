"""The alarm listener's rules: a configured alarm that goes to ALARM ends the bake in
progress at once, instead of at its next safety poll.

CloudWatch sends a "CloudWatch Alarm State Change" event to EventBridge whenever an alarm
changes state (../shared/facts.md; CloudWatch User Guide, "Alarm events and EventBridge").
The stack's rule sends this stack's alarms' changes to ALARM here. The bake in progress is
a ``waitForTaskToken`` task whose token its execution left on the route lock
(``workflow.watch``); failing that task with :data:`ALARM_FIRED` sends the execution
straight to "Fail back to the original weights".

Pure decisions over two ports; the handler (``handlers/alarm.py``) only parses and wires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from weightshift.ports import Executions, RecordStore
from weightshift.settings import RouteConfig

# The error the bake task fails with. The state machine's Catch (States.ALL) fails back;
# the record's reason is the cause below.
ALARM_FIRED = "AlarmFired"


@dataclass(frozen=True)
class AlarmChange:
    """One state change, as the event carries it."""

    alarm_name: str
    state: str
    reason: str = ""
    timestamp: str = ""  # detail.state.timestamp, ISO 8601 (CloudWatch writes "+0000")


@dataclass(frozen=True)
class Outcome:
    decision: str  # "bake-failed" | "bake-over" | "no-bake" | "stale" | "not-alarm" | "not-watched"
    detail: str

    def log_fields(self) -> dict[str, str]:
        return {"decision": self.decision, "detail": self.detail}


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def on_alarm(change: AlarmChange, config: RouteConfig, deployments: RecordStore, sfn: Executions) -> Outcome:
    """End the route's bake in progress if ``change`` is one of the stack's alarms going to ALARM."""
    if change.alarm_name not in config.alarm_names and change.alarm_name not in config.own_alarms:
        return Outcome("not-watched", f"alarm {change.alarm_name} is not one of this stack's alarms")
    if change.state != "ALARM":
        return Outcome("not-alarm", f"alarm {change.alarm_name} went to {change.state}")
    holder = deployments.lock_holder(config.route_key)
    if holder is None or not holder.bake_token:
        return Outcome("no-bake", f"no bake in progress on {config.record_name}: nothing to end")
    watched = holder.bake_alarms if holder.bake_alarms is not None else config.alarm_names
    if change.alarm_name not in watched:
        # The stack's 5xx comparison alarm of the other side (its 5xx rate worse than the
        # target's): the live side having trouble is no reason to put traffic back on it.
        return Outcome("not-watched", f"the bake of {holder.deployment_id} does not watch alarm {change.alarm_name}")
    changed, acquired = _when(change.timestamp), _when(holder.acquired_at)
    if changed is not None and acquired is not None and changed < acquired:
        # An event delivered late (EventBridge delivers at least once, in no set order),
        # from before this deployment took the route: the bake's own reads judge the alarm.
        return Outcome("stale", f"the change of {change.alarm_name} at {change.timestamp} predates this deployment")
    cause = (
        f"alarm {change.alarm_name} went to ALARM at {change.timestamp or 'an unknown time'} during the bake of "
        f"step {holder.bake_step}: {change.reason or 'no reason given'}"
    )
    if sfn.fail_task(holder.bake_token, ALARM_FIRED, cause):
        return Outcome("bake-failed", f"{holder.execution_arn}: {cause}")
    # The task had already ended (its time was up, or the execution stopped): the next
    # health check, or the fail back already running, reads the alarm itself.
    return Outcome("bake-over", f"the bake of step {holder.bake_step} of {holder.execution_arn} had already ended")
