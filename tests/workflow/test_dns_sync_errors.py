"""The INSYNC waits retry Route 53's transient errors under the names AWS gives them.

"Wait for DNS sync" and "Wait for fail-back DNS sync" are aws-sdk tasks
(``arn:aws:states:::aws-sdk:route53:getChange``). AWS names their errors
``Route53.ThrottlingException`` and ``Route53.PriorRequestNotCompleteException``
(service and error in PascalCase, ``Exception`` always appended:
https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html).
The emulator names them the same way (patches.py), so a Retry that lists only
moto's own spellings (``route53.Throttling``, ``route53.route53Exception``)
does not match here either, and these tests fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from weightshift_emulator import patches

from tests.workflow.conftest import Canary

pytestmark = pytest.mark.workflow

GET_CHANGE = ("aws-sdk:route53", "getChange")  # (resourceType, resource) in the history
AWS_NAMES = ["Route53.ThrottlingException", "Route53.PriorRequestNotCompleteException"]


def get_change_outcomes(canary: Canary, arn: str) -> list[str]:
    """Each GetChange task's result in order: its error name, or "ok"."""
    outcomes = []
    for event in canary.history(arn):
        failed, succeeded = event.get("taskFailedEventDetails"), event.get("taskSucceededEventDetails")
        details = failed or succeeded
        if details and (details["resourceType"], details["resource"]) == GET_CHANGE:
            outcomes.append(failed["error"] if failed else "ok")
    return outcomes


def test_throttled_dns_sync_is_retried_and_the_canary_still_succeeds(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    canary.r53.get_change_faults.extend(["Throttling", "PriorRequestNotComplete"])

    result = canary.run(canary.plan())

    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))
    assert canary.weights() == {"blue": 0, "green": 100}
    outcomes = get_change_outcomes(canary, result["executionArn"])
    assert outcomes[:3] == [*AWS_NAMES, "ok"], outcomes  # named as AWS names them, then retried
    assert set(outcomes[3:]) == {"ok"}


def test_throttled_fail_back_dns_sync_is_retried_until_in_sync(canary: Canary) -> None:
    canary.set_pair(blue=100, green=0)
    canary.on_step(
        2,
        lambda: canary.aws["cloudwatch"].set_alarm_state(
            AlarmName=canary.world.green_alarm, StateValue="ALARM", StateReason="5xx spike"
        ),
    )
    finish_fn = canary.installed.functions["FinishFunction"]

    def throttle_the_fail_back_sync(function_name: str, event: Any) -> None:
        if function_name == finish_fn and event.get("action") == "failback":
            canary.r53.get_change_faults.extend(["Throttling", "PriorRequestNotComplete"])

    patches.INVOKE_HOOKS.append(throttle_the_fail_back_sync)

    result = canary.run(canary.plan())

    assert (result["status"], result["error"]) == ("FAILED", "HealthGateFailed")
    assert canary.weights() == {"blue": 100, "green": 0}
    assert canary.r53.get_change_faults == []
    # The fail-back's own wait: two AWS-named errors, retried, then INSYNC (not given up on).
    assert get_change_outcomes(canary, result["executionArn"])[-3:] == [*AWS_NAMES, "ok"]
