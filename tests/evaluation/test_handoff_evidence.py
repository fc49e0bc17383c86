"""Early-life churn by handoff completeness, on tiny literal frames worked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evaluation.handoff_evidence import NO_HANDOFF, band_names, handoff_evidence, wilson_interval
from retain.config import Config

NAN = math.nan
CONFIG = Config()


def test_wilson_intervals_match_the_worked_values():
    # 4 of 10: p = 0.4, centre (0.4 + 1.96^2/20) / (1 + 1.96^2/10) = 0.42775, half 0.25957.
    assert wilson_interval(4, 10) == pytest.approx((0.16818, 0.68733), abs=1e-5)
    assert wilson_interval(1, 2) == pytest.approx((0.09453, 0.90547), abs=1e-5)
    # 0 of 5: the lower end is 0, the upper z^2 / (n + z^2) = 3.84146 / 8.84146.
    assert wilson_interval(0, 5) == pytest.approx((0.0, 0.43448), abs=1e-5)
    assert wilson_interval(0, 0) is None


def test_band_names_from_the_edges():
    assert band_names((0.5, 0.8)) == ["under 50%", "50-80%", "80% and up"]


def _snapshot(account: str, as_of: str, days_in: float, completeness: float, churn: float):
    """A snapshot `days_in` after the account started; the early-life column as the handoff
    family sets it (30-day deadline, 180 days of early life)."""
    if days_in > 180 or (math.isnan(completeness) and days_in <= 30):
        early = NAN  # after early life, or no handoff but not due yet
    else:
        early = 0.0 if math.isnan(completeness) else completeness
    return {
        "account_id": account,
        "as_of": pd.Timestamp(as_of),
        "spine": "monthly",
        "handoff_completeness": completeness,
        "handoff_completeness_first_180d": early,
        "churn": churn,
    }


def _frame() -> pd.DataFrame:
    rows = []
    # Ten accounts with 2 of 6 fields (under 50%) 40 days in: 4 churned.
    for k in range(10):
        rows.append(_snapshot(f"low{k}", "2024-04-01", 40, 2 / 6, 1.0 if k < 4 else 0.0))
    # Five with 5 of 6 (80% and up) 60 days in: none churned. One also has a later snapshot
    # that churned (not its first: ignored) and an earlier one 20 days in with no handoff yet
    # (not due before the 30-day deadline: not counted).
    for k in range(5):
        rows.append(_snapshot(f"high{k}", "2024-05-01", 60, 5 / 6, 0.0))
    rows.append(_snapshot("high0", "2024-06-01", 91, 5 / 6, 1.0))
    rows.append(_snapshot("high0", "2024-04-01", 20, NAN, 1.0))
    # Exactly 0.5 is the middle band; its outcome is not known yet.
    rows.append(_snapshot("mid", "2024-05-01", 45, 0.5, NAN))
    # No handoff 50 days in: one of two churned.
    rows.append(_snapshot("none0", "2024-05-01", 50, NAN, 1.0))
    rows.append(_snapshot("none1", "2024-05-01", 50, NAN, 0.0))
    # Before any handoff was on record (the first is at 2024-04-01): left out, not "none".
    rows.append(_snapshot("old", "2024-03-01", 50, NAN, 1.0))
    # Past early life only: not counted at all.
    rows.append(_snapshot("late", "2024-05-01", 181, 0.0, 1.0))
    frame = pd.DataFrame(rows)
    # A renewals-spine row of a monthly account is not a second observation.
    renewal = _snapshot("none1", "2024-04-15", 35, NAN, 1.0) | {"spine": "renewals"}
    return pd.concat([frame, pd.DataFrame([renewal])], ignore_index=True)


def test_the_bands_count_each_account_once_with_its_rate_and_interval():
    evidence = handoff_evidence(_frame(), CONFIG)
    assert evidence is not None
    bands = {b["band"]: b for b in evidence["bands"]}
    assert list(bands) == ["under 50%", "50-80%", "80% and up", NO_HANDOFF]
    low, mid, high, none = (bands[n] for n in bands)
    assert (low["accounts"], low["known"], low["churned"]) == (10, 10, 4)
    assert low["churn_rate"] == 0.4
    assert low["interval"] == pytest.approx([0.16818, 0.68733], abs=1e-5)
    assert (high["accounts"], high["known"], high["churned"], high["churn_rate"]) == (5, 5, 0, 0.0)
    assert (mid["accounts"], mid["known"], mid["churn_rate"], mid["interval"]) == (1, 0, None, None)
    assert (none["accounts"], none["known"], none["churned"]) == (2, 2, 1)
    assert none["interval"] == pytest.approx([0.09453, 0.90547], abs=1e-5)
    assert all(b["thin"] for b in evidence["bands"])  # every band under 30 outcomes
    assert (evidence["accounts"], evidence["known"]) == (18, 17)
    assert evidence["left_out_before_recording"] == 1
    # [0.17, 0.69] and [0, 0.43] overlap.
    assert evidence["sentence"].startswith(
        "Early-life churn was 40% [17%, 69%] of 10 accounts with handoff completeness under "
        "50%, against 0% [0%, 43%] of 5 accounts with handoff completeness 80% and up; the "
        "intervals overlap"
    )
    assert "With no handoff recorded: 50% [9%, 91%] of 2" in evidence["sentence"]


def test_apart_intervals_are_called_beyond_chance_and_the_truth_shows_beside_them():
    rows = [_snapshot(f"l{k}", "2024-04-01", 40, 0.0, 1.0 if k < 30 else 0.0) for k in range(40)]
    rows += [_snapshot(f"h{k}", "2024-04-01", 40, 1.0, 1.0 if k < 2 else 0.0) for k in range(40)]
    frame = pd.DataFrame(rows)
    truth = frame[["account_id", "as_of", "spine"]].assign(
        churn_probability=[0.7] * 40 + [0.1] * 40
    )
    evidence = handoff_evidence(frame, CONFIG, truth=truth)
    bands = {b["band"]: b for b in evidence["bands"]}
    assert bands["under 50%"]["churn_rate"] == 0.75 and bands["80% and up"]["churn_rate"] == 0.05
    assert bands["under 50%"]["true_churn_probability"] == pytest.approx(0.7)
    assert bands["80% and up"]["true_churn_probability"] == pytest.approx(0.1)
    assert not bands["under 50%"]["thin"]
    assert "do not overlap: in this data the difference is beyond chance" in evidence["sentence"]


def test_no_handoff_columns_or_no_handoff_on_record_means_no_section():
    frame = _frame()
    assert handoff_evidence(frame.drop(columns=["handoff_completeness"]), CONFIG) is None
    assert handoff_evidence(frame.assign(handoff_completeness=NAN), CONFIG) is None


# -- the report section ---------------------------------------------------------------------------


def test_the_report_shows_the_section_only_when_the_data_has_handoffs(demo_result):
    from dataclasses import replace

    from evaluation.report import render_report

    assert "handoff_evidence" not in demo_result.summary  # the synthetic frame has no handoffs
    assert "Sales handoff and early-life churn" not in render_report(demo_result)
    evidence = handoff_evidence(_frame(), CONFIG)
    with_handoffs = replace(
        demo_result, summary={**demo_result.summary, "handoff_evidence": evidence}
    )
    html = render_report(with_handoffs)
    assert "<h2>Sales handoff and early-life churn</h2>" in html
    assert "<td>40.0% [16.8, 68.7]</td>" in html  # under 50%: 4 of 10
    assert "<td>0.0% [0.0, 43.4]</td>" in html
    assert "1 left out whose early life came before the first handoff" in html
    assert "true churn probability" not in html  # no truth given
