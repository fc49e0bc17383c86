"""Metrics against values worked out by hand on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation import metrics


def test_roc_auc_counts_correctly_ordered_pairs() -> None:
    # Pairs (pos, neg): (0.35 vs 0.1) ok, (0.35 vs 0.4) wrong, (0.8 vs both) ok -> 3 of 4.
    assert metrics.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_pr_auc_is_average_precision() -> None:
    # Ranked: 0.8 (pos) -> precision 1 at recall 0.5; 0.35 (pos) -> precision 2/3 at recall 1.
    expected = 0.5 * 1.0 + 0.5 * (2 / 3)
    assert metrics.pr_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(expected)


def test_brier_and_log_loss() -> None:
    assert metrics.brier([0, 1], [0.2, 0.6]) == pytest.approx((0.2**2 + 0.4**2) / 2)
    expected = -(math.log(0.8) + math.log(0.6)) / 2
    assert metrics.log_loss([0, 1], [0.2, 0.6]) == pytest.approx(expected)


def test_log_loss_clips_certain_mistakes() -> None:
    assert math.isfinite(metrics.log_loss([1], [0.0]))


def test_expected_calibration_error_equal_width_bins() -> None:
    # bin [0,0.1): p .05 y 0 -> .05; bin [.1,.2): p .15,.15 y 0,1 -> |.5-.15| = .35 (x2 rows);
    # bin [.9,1]: p .95 y 1 -> .05.  (1 x .05 + 2 x .35 + 1 x .05) / 4 = .2
    value = metrics.expected_calibration_error([0, 0, 1, 1], [0.05, 0.15, 0.15, 0.95])
    assert value == pytest.approx(0.2)


def test_expected_calibration_error_puts_one_in_last_bin() -> None:
    assert metrics.expected_calibration_error([1, 1], [1.0, 0.9]) == pytest.approx(0.05)


def test_top_decile_lift() -> None:
    y = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    scores = [0.9, 0.1, 0.2, 0.3, 0.1, 0.1, 0.2, 0.3, 0.4, 0.05]
    # Top 10% = 1 row (0.9, a churner): rate 1.0 vs base rate 0.2 -> lift 5.
    assert metrics.top_decile_lift(y, scores) == pytest.approx(5.0)


def test_arr_caught_share() -> None:
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    scores = [0.9, 0.8, 0.1, 0.3, 0.1, 0.1, 0.2, 0.3, 0.4, 0.05]
    arr = [100.0, 50.0, 300.0, 10, 10, 10, 10, 10, 10, 600.0]
    # Top 10% = row 0 (churned 100 of 1000 churned ARR); top 20% adds row 1 (not churned).
    assert metrics.arr_caught_share(y, scores, arr, top=0.1) == pytest.approx(0.1)
    assert metrics.arr_caught_share(y, scores, arr, top=0.2) == pytest.approx(0.1)
    assert metrics.arr_caught_share(y, scores, arr, top=0.5) == pytest.approx(0.1)
    assert metrics.arr_caught_share(y, scores, arr, top=1.0) == pytest.approx(1.0)


def test_band_renewal_rates_and_ratio() -> None:
    churned = [0] * 9 + [1] + [0] * 5 + [1] * 5 + [0, 1]
    bands = ["green"] * 10 + ["red"] * 10 + ["yellow"] * 2
    rates = metrics.band_renewal_rates(churned, bands)
    assert rates == pytest.approx({"green": 0.9, "yellow": 0.5, "red": 0.5})
    estimate = metrics.green_red_ratio(churned, bands, n_bootstrap=400, seed=3)
    assert estimate.ratio == pytest.approx(1.8)
    assert estimate.low < 1.8 < estimate.high
    assert (estimate.n_green, estimate.n_red) == (10, 10)
    again = metrics.green_red_ratio(churned, bands, n_bootstrap=400, seed=3)
    assert (again.low, again.high) == (estimate.low, estimate.high)


def test_ratio_is_nan_when_a_band_is_empty() -> None:
    estimate = metrics.green_red_ratio([0, 1], ["green", "yellow"])
    assert math.isnan(estimate.ratio) and math.isnan(estimate.low)
    assert math.isnan(metrics.band_renewal_rates([0, 1], ["green", "yellow"])["red"])


@pytest.mark.parametrize("metric", [metrics.roc_auc, metrics.pr_auc, metrics.top_decile_lift])
def test_undefined_with_one_class_is_nan(metric) -> None:
    assert math.isnan(metric([0, 0, 0], [0.1, 0.5, 0.9]))


def test_empty_input_is_nan() -> None:
    for metric in metrics.SCORE_METRICS.values():
        assert math.isnan(metric(np.array([]), np.array([])))
    assert math.isnan(metrics.arr_caught_share([0, 0], [0.1, 0.2], [5.0, 5.0]))


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="y_true has 2 values"):
        metrics.brier([0, 1], [0.5])


def test_bands_at_equal_shares_rank_the_scores_and_keep_ties_together() -> None:
    from evaluation.metrics import bands_at_shares, equal_share_band_ratio

    p = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0])
    bands = bands_at_shares(p, green_share=0.3, red_share=0.2)
    assert bands.tolist() == [
        "red",
        "green",
        "yellow",
        "yellow",
        "yellow",
        "green",
        "red",
        "yellow",
        "yellow",
        "green",
    ]
    tied = bands_at_shares(np.array([0.1, 0.1, 0.1, 0.5]), green_share=0.5, red_share=0.25)
    assert tied.tolist() == ["green", "green", "green", "red"]
    # The same scores at the same shares give the same ratio, whatever each model's own bands.
    churned = np.array([1, 0, 0, 0, 1, 0, 1, 0, 0, 0])
    assert equal_share_band_ratio(churned, p, 0.3, 0.2) == math.inf  # every red account churned
    churned[0] = 0
    assert equal_share_band_ratio(churned, p, 0.3, 0.2) == pytest.approx(1.0 / 0.5)
