"""Evidence-based pace: Wald's SPRT on the target's 5xx (issue 11 §4)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from weightshift import evidence
from weightshift.evidence import LOWER, UPPER, sprt


def test_the_bounds_are_walds_for_five_percent_each_way() -> None:
    assert math.isclose(UPPER, math.log(0.95 / 0.05))  # 2.944
    assert math.isclose(LOWER, math.log(0.05 / 0.95))  # -2.944


def test_a_clean_target_with_enough_requests_is_no_worse() -> None:
    # live at 0.1% (the floor): H0 0.1%, H1 1%; each clean request adds ln(0.99/0.999)
    assert sprt(400, 0, 10_000, 5, 2.0).decision == "no-worse"
    assert sprt(200, 0, 10_000, 5, 2.0).decision == "inconclusive"  # not yet: 200 * 0.00905 < 2.944


def test_a_target_that_errs_is_worse_after_a_few_errors() -> None:
    bad = sprt(20, 6, 10_000, 10, 2.0)
    assert bad.decision == "worse"
    assert "6 5xx in 20 target requests" in bad.describe()


def test_thin_traffic_is_inconclusive() -> None:
    assert sprt(30, 0, 300, 0, 2.0).decision == "inconclusive"
    assert sprt(0, 0, 0, 0, 2.0).decision == "inconclusive"


def test_the_hypotheses_follow_the_live_side() -> None:
    assert evidence.hypotheses(1000, 20, 2.0) == pytest.approx((0.02, 0.04))  # 2% live: H1 twice that
    assert evidence.hypotheses(1000, 0, 2.0) == pytest.approx((0.001, 0.01))  # floor, and H1 at least 1%
    assert evidence.hypotheses(0, 0, 2.0) == pytest.approx((0.001, 0.01))
    # A target as noisy as a noisy live side is not "worse".
    assert sprt(2000, 40, 20_000, 400, 2.0).decision == "no-worse"


counts = st.integers(0, 5000)


@given(n=counts, e=counts, more=st.integers(1, 1000), live_n=counts, live_e=counts)
def test_more_clean_requests_never_raise_the_ratio_and_more_errors_never_lower_it(
    n: int, e: int, more: int, live_n: int, live_e: int
) -> None:
    e, live_e = min(e, n), min(live_e, live_n)
    base = sprt(n, e, live_n, live_e, 2.0).llr
    assert sprt(n + more, e, live_n, live_e, 2.0).llr <= base + 1e-9
    assert sprt(n + more, e + more, live_n, live_e, 2.0).llr >= base - 1e-9
