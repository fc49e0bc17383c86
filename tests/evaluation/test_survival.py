"""Survival metrics against hand computations, and the backtest's survival section end to end."""

import numpy as np
import pandas as pd
import pytest

from evaluation.survival import (
    brier_at,
    integrated_brier,
    kaplan_meier_curve,
    survival_backtest,
    uno_c_index,
)
from retain.config import Config
from retain.errors import RetainError

# Uncensored: the censoring weights are all 1, so the IPCW metrics reduce to the plain ones.
DURATION = np.array([1, 2, 3, 4, 6])
EVENT = np.ones(5, dtype=bool)


def test_uno_c_index_without_censoring_is_the_share_of_concordant_pairs():
    assert uno_c_index(DURATION, EVENT, -DURATION.astype(float), tau=12) == pytest.approx(1.0)
    assert uno_c_index(DURATION, EVENT, DURATION.astype(float), tau=12) == pytest.approx(0.0)
    # One swapped pair among 10 comparable pairs.
    risk = np.array([5.0, 3.0, 4.0, 2.0, 1.0])
    assert uno_c_index(DURATION, EVENT, risk, tau=12) == pytest.approx(0.9)


def test_brier_at_without_censoring_is_the_mean_squared_error():
    s = np.array([[0.9], [0.5], [0.2], [0.8], [0.6]])
    alive_after_3 = (DURATION > 3).astype(float)
    expected = np.mean((alive_after_3 - s[:, 0]) ** 2)
    assert brier_at(DURATION, EVENT, s, (3,))[0] == pytest.approx(expected)


def test_integrated_brier_of_the_perfect_curve_is_zero_and_of_a_coin_a_quarter():
    months = np.arange(1, 13)
    perfect = (DURATION[:, None] > months[None, :]).astype(float)
    assert integrated_brier(DURATION, EVENT, perfect, 5) == pytest.approx(0.0)
    assert integrated_brier(DURATION, EVENT, np.full((5, 12), 0.5), 5) == pytest.approx(0.25)


def test_kaplan_meier_without_censoring_is_the_empirical_survival():
    curve = kaplan_meier_curve(DURATION, EVENT, 8)
    np.testing.assert_allclose(curve, [0.8, 0.6, 0.4, 0.2, 0.2, 0.0, 0.0, 0.0])
    censored = kaplan_meier_curve(np.array([1, 2, 2]), np.array([True, False, True]), 3)
    np.testing.assert_allclose(censored, [2 / 3, 1 / 3, 1 / 3])


def _book(n_accounts: int = 250, seed: int = 0):
    """Annual terms renewing on a random month; churn at a renewal more likely when unhealthy."""
    rng = np.random.default_rng(seed)
    rows, ends = [], []
    dates = pd.date_range("2021-01-01", "2023-12-01", freq="MS")
    for i in range(n_accounts):
        health = rng.normal()
        start = dates[rng.integers(0, 12)]
        end = start
        while True:  # renew yearly until lost, at most through 2027
            end = end + pd.DateOffset(years=1)
            if rng.random() < 1 / (1 + np.exp(1.2 + 1.5 * health)) or end.year >= 2027:
                break
        for as_of in dates[(dates > start) & (dates <= end)]:
            renewal = start + pd.DateOffset(years=int(np.ceil((as_of - start).days / 365.25)))
            to_renewal = (renewal - as_of).days
            rows.append(
                {
                    "account_id": f"A{i:03d}",
                    "as_of": as_of,
                    "spine": "monthly",
                    "segment": "SMB" if i % 2 else "Mid-Market",
                    "churn_window_end": as_of + pd.Timedelta(days=max(to_renewal, 90)),
                    "health": health + rng.normal(0, 0.3),
                    "days_to_renewal": float(to_renewal),
                    "contract_term_days": 365.0,
                }
            )
            ends.append(end)
    return pd.DataFrame(rows), pd.Series(pd.to_datetime(ends))


def test_survival_backtest_reports_metrics_and_the_anchored_curves_agree_with_the_risk():
    frame, coverage_end = _book()
    config = Config().with_overrides({"training": {"num_boost_round": 60}})
    cutoffs = ["2023-01-01", "2023-04-01"]
    parts = []
    for cutoff in cutoffs:
        start = pd.Timestamp(cutoff)
        rows = frame[(frame["as_of"] >= start) & (frame["as_of"] < start + pd.DateOffset(months=3))]
        p = 1 / (1 + np.exp(1.2 + 1.5 * rows["health"].to_numpy()))
        parts.append(
            rows[["account_id", "as_of", "spine", "segment"]].assign(
                cutoff=cutoff, model="segmented", p_churn=p
            )
        )
    predictions = pd.concat(parts, ignore_index=True)
    truth = frame[["account_id", "as_of", "spine"]].assign(
        survival_3m=0.9, survival_6m=0.8, survival_12m=0.7
    )
    section = survival_backtest(
        frame,
        coverage_end,
        predictions,
        config,
        data_end=pd.Timestamp("2025-01-01"),
        truth=truth,
    )
    assert section["cutoffs"] == cutoffs
    assert section["n_scored"] == len(predictions)
    anchored = section["metrics"]["anchored"]
    assert 0.6 < anchored["uno_c_index"] <= 1.0  # health drives the hazard
    assert section["metrics"]["kaplan_meier"]["uno_c_index"] is None
    assert 0 < anchored["integrated_brier"] < section["metrics"]["kaplan_meier"]["integrated_brier"]
    check = section["consistency"]
    assert set(check["anchored"]) == {"all", "SMB", "Mid-Market"}
    assert all(abs(v["mean_signed_difference"]) < 1e-9 for v in check["anchored"].values())
    assert check["passed"] is True
    assert section["oracle"]["rows"] == len(predictions)
    assert set(section["oracle"]["brier"]["12m"]) == {"anchored", "raw", "kaplan_meier", "oracle"}
    assert 0 < section["expected_months_retained_mean"] <= 24


def test_report_shows_the_survival_section(demo_result):
    import copy

    from evaluation.report import render_report

    frame, coverage_end = _book(n_accounts=120, seed=1)
    start = pd.Timestamp("2023-01-01")
    rows = frame[(frame["as_of"] >= start) & (frame["as_of"] < start + pd.DateOffset(months=3))]
    predictions = rows[["account_id", "as_of", "spine", "segment"]].assign(
        cutoff="2023-01-01", model="segmented", p_churn=0.1
    )
    config = Config().with_overrides({"training": {"num_boost_round": 30}})
    result = copy.copy(demo_result)
    result.summary = dict(demo_result.summary)
    result.summary["survival"] = survival_backtest(
        frame, coverage_end, predictions, config, data_end=pd.Timestamp("2025-01-01")
    )
    html = render_report(result)
    assert "Time to churn (survival curves)" in html
    assert "kaplan_meier" in html and "Uno" in html
    assert "passed" in html
    skipped = copy.copy(result)
    skipped.summary = {**result.summary, "survival": {"skipped": "no rolling origins"}}
    assert "Not evaluated: no rolling origins" in render_report(skipped)


def test_kfold_backtests_get_a_reason_instead_of_a_survival_section():
    frame, coverage_end = _book(n_accounts=40)
    predictions = frame[["account_id", "as_of", "spine", "segment"]].assign(
        cutoff="fold-1", model="segmented", p_churn=0.1
    )
    with pytest.raises(RetainError, match="rolling origins"):
        survival_backtest(
            frame, coverage_end, predictions, Config(), data_end=pd.Timestamp("2025-01-01")
        )
