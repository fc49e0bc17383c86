"""Renewal forecast sums worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation import forecast


def _training_rows() -> pd.DataFrame:
    # Survivors: one flat (ratio 1.0), one contracted to 0.8, one expanded to 1.5; one churned.
    return pd.DataFrame(
        {
            "segment": ["SMB"] * 4,
            "spine": ["renewals"] * 4,
            "arr": [100.0, 100.0, 100.0, 100.0],
            "arr_at_horizon": [100.0, 80.0, 150.0, 0.0],
            "churn": [0.0, 0.0, 0.0, 1.0],
            "expansion": [0.0, 0.0, 1.0, 0.0],
        }
    )


def test_fit_arr_rates_by_hand() -> None:
    rates = forecast.fit_arr_rates(_training_rows(), min_rows=1)
    # Retained (capped at 1): 1.0, 0.8, 1.0 -> 0.9333; expanded ratio 1.5; others (1.0, 0.8) 0.9.
    assert rates.retained["SMB"] == pytest.approx(2.8 / 3)
    assert rates.expanded_growth["SMB"] == pytest.approx(1.5)
    assert rates.other_growth["SMB"] == pytest.approx(0.9)
    assert rates.lookup(rates.retained, "Enterprise") == pytest.approx(2.8 / 3)  # falls back


def test_expected_and_actual_arr_and_errors() -> None:
    rates = forecast.ArrRates(
        retained={"all": 0.9}, expanded_growth={"all": 1.5}, other_growth={"all": 1.0}
    )
    scored = pd.DataFrame(
        {
            "cutoff": ["2024-01-01"] * 2,
            "model": ["m"] * 2,
            "segment": ["SMB", "Enterprise"],
            "arr": [100.0, 1000.0],
            "arr_at_horizon": [0.0, 1200.0],
            "p_churn": [0.5, 0.1],
            "p_expansion": [0.1, 0.3],
        }
    )
    rows = forecast.expected_arr(scored, rates)
    # GRR: 100 x .5 x .9 = 45; 1000 x .9 x .9 = 810.
    assert rows["expected_grr"].tolist() == pytest.approx([45.0, 810.0])
    # NRR: 100 x (.1 x 1.5 + .4 x 1) = 55; 1000 x (.3 x 1.5 + .6 x 1) = 1050.
    assert rows["expected_nrr"].tolist() == pytest.approx([55.0, 1050.0])
    assert rows["actual_grr"].tolist() == pytest.approx([0.0, 1000.0])
    table = forecast.forecast_table(rows).set_index("segment")
    overall = table.loc["all"]
    assert overall["expected_grr"] == pytest.approx(855.0)
    assert overall["grr_error_pct"] == pytest.approx((855 - 1000) / 1000 * 100)
    assert overall["nrr_error_pct"] == pytest.approx((1105 - 1200) / 1200 * 100)
    assert overall["n_renewals"] == 2
    assert pd.isna(table.loc["SMB", "grr_error_pct"])  # actual 0: error undefined
    assert forecast.mean_absolute_error_pct(table.reset_index(), "grr", "m") == pytest.approx(14.5)


def test_rates_are_arr_weighted() -> None:
    rows = pd.DataFrame(
        {
            "segment": ["SMB", "SMB"],
            "spine": ["renewals", "renewals"],
            "arr": [100.0, 900.0],
            "arr_at_horizon": [300.0, 900.0],
            "churn": [0.0, 0.0],
            "expansion": [1.0, 1.0],
        }
    )
    rates = forecast.fit_arr_rates(rows, min_rows=1)
    # (300 + 900) / (100 + 900) = 1.2, not the mean of ratios (3 + 1) / 2 = 2.
    assert rates.expanded_growth["all"] == pytest.approx(1.2)
