"""Evidence-based pace (issue 11 §4): decide a step from the data, not from the clock.

Wald's sequential probability ratio test on the target's requests since the step began,
each a Bernoulli trial (a 5xx or not), against the live side's rate:

- H0, "no worse": the target's 5xx rate is ``p0``, the live side's rate over the same time
  (at least ``RATE_FLOOR``, so a live side without errors still gives a finite test);
- H1, "worse": the rate is ``p1 = max(MaxErrorRateRatio * p0, 1%)``: the same line the fixed
  5xx comparison draws (health.error_rate_check).

After ``n`` target requests with ``e`` errors the log-likelihood ratio is
``e * ln(p1/p0) + (n - e) * ln((1 - p1)/(1 - p0))``. It is compared with Wald's bounds
``A = ln((1 - beta)/alpha)`` and ``B = ln(beta/(1 - alpha))``:

- LLR >= A: **worse**, fail now (at most ``alpha`` = 5% of releases that are no worse fail);
- LLR <= B: **no worse**, the bake may end now (at most ``beta`` = 5% of releases worse by
  the ratio pass), but never before the record's TTL has passed since the shift;
- otherwise inconclusive: keep baking, up to the step's configured bake (then the step
  ends as a fixed bake would: the rule says ``max-bake``).

Reference: A. Wald, "Sequential Tests of Statistical Hypotheses", Annals of Mathematical
Statistics 16(2), 1945 (the bounds are his approximations; the error rates hold
approximately, and conservatively for these one-sided Bernoulli tests). Pure functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ALPHA = 0.05  # P(fail | the target is no worse than the live side)
BETA = 0.05  # P(advance | the target's rate is MaxErrorRateRatio times the live side's)
RATE_FLOOR = 0.001  # the live side's rate assumed at least this (0.1%)
MIN_FAILING_RATE = 0.01  # as health.MIN_FAILING_ERROR_RATE: 1% is the lowest rate ever "worse"

UPPER = math.log((1 - BETA) / ALPHA)  # accept H1 (worse) at or above
LOWER = math.log(BETA / (1 - ALPHA))  # accept H0 (no worse) at or below


@dataclass(frozen=True)
class Evidence:
    decision: str  # "worse" | "no-worse" | "inconclusive"
    llr: float
    p0: float
    p1: float
    target_requests: int
    target_errors: int

    def dump(self) -> dict[str, float | int | str]:
        return {
            "decision": self.decision,
            "llr": round(self.llr, 3),
            "lower": round(LOWER, 3),
            "upper": round(UPPER, 3),
            "p0": round(self.p0, 5),
            "p1": round(self.p1, 5),
            "targetRequests": self.target_requests,
            "targetErrors": self.target_errors,
        }

    def describe(self) -> str:
        rate = self.target_errors / self.target_requests if self.target_requests else 0.0
        return (
            f"SPRT: {self.target_errors} 5xx in {self.target_requests} target requests ({rate:.2%}); "
            f"H0 {self.p0:.2%} (live) vs H1 {self.p1:.2%}: LLR {self.llr:.2f} "
            f"(no worse at <= {LOWER:.2f}, worse at >= {UPPER:.2f}) -> {self.decision}"
        )


def hypotheses(live_requests: float, live_errors: float, max_ratio: float) -> tuple[float, float]:
    """(p0, p1) from the live side's rate over the same time."""
    live_rate = live_errors / live_requests if live_requests > 0 else 0.0
    p0 = min(max(live_rate, RATE_FLOOR), 0.5)
    p1 = min(max(max_ratio * p0, MIN_FAILING_RATE, p0 * 1.0001), 0.9999)
    return p0, p1


def sprt(
    target_requests: float, target_errors: float, live_requests: float, live_errors: float, max_ratio: float
) -> Evidence:
    """The test on the target's counts since the step began (see the module's docstring)."""
    n = max(0, int(target_requests))
    e = min(max(0, int(target_errors)), n)
    p0, p1 = hypotheses(live_requests, live_errors, max_ratio)
    llr = e * math.log(p1 / p0) + (n - e) * math.log((1 - p1) / (1 - p0))
    decision = "worse" if llr >= UPPER else "no-worse" if llr <= LOWER else "inconclusive"
    return Evidence(decision, llr, p0, p1, n, e)
