from __future__ import annotations

import numpy as np

from retain.config import Config
from training.bands import band_of, choose_bands


def test_without_churners_the_bands_fall_back_to_the_configured_shares():
    p = np.linspace(0.0, 1.0, 1001)
    bands = choose_bands(np.zeros_like(p), p, Config())
    labels = band_of(p, bands)
    shares = {band: float(np.mean(labels == band)) for band in ("green", "yellow", "red")}
    assert abs(shares["green"] - 0.60) < 0.01
    assert abs(shares["red"] - 0.15) < 0.01
    assert abs(shares["yellow"] - 0.25) < 0.01


def test_band_of_uses_the_thresholds():
    bands = {"green_below": 0.1, "red_from": 0.3}
    assert band_of([0.05, 0.1, 0.29, 0.3, 0.9], bands).tolist() == [
        "green",
        "yellow",
        "yellow",
        "red",
        "red",
    ]


def test_shares_come_from_config_and_every_band_keeps_its_minimum():
    config = Config().with_overrides({"bands": {"red_share": 0.3, "green_share": 0.5}})
    p = np.arange(100) / 100
    labels = band_of(p, choose_bands(np.zeros(100), p, config))
    assert [int((labels == b).sum()) for b in ("green", "yellow", "red")] == [50, 20, 30]
    # Shares that leave no yellow: yellow gets the minimum 5% from the larger neighbour.
    config = Config().with_overrides({"bands": {"red_share": 0.5, "green_share": 0.5}})
    bands = choose_bands(np.zeros(100), p, config)
    labels = band_of(p, bands)
    assert [int((labels == b).sum()) for b in ("green", "yellow", "red")] == [45, 5, 50]
    assert bands["basis"]["green"] == "share + minimum size"


def test_bands_never_collapse_on_tiny_data():
    # 300 accounts where the red target is met from a score that is also green's bound (the
    # "green below 2.1%, red from 2.1%" collapse of hand-written data).
    rng = np.random.default_rng(0)
    p = np.round(rng.beta(0.5, 8, 300), 3)
    y = (rng.random(300) < p * 4).astype(float)
    for size in (300, 40, 12):
        labels = band_of(p[:size], choose_bands(y[:size], p[:size], Config()))
        counts = {band: int((labels == band).sum()) for band in ("green", "yellow", "red")}
        assert min(counts.values()) >= max(1, int(np.ceil(0.05 * size))), (size, counts)


def test_tied_scores_share_a_band():
    p = np.r_[np.zeros(50), np.full(45, 0.5), np.ones(5)]
    labels = band_of(p, choose_bands(np.zeros(100), p, Config()))
    for value in (0.0, 0.5, 1.0):
        assert len(set(labels[p == value])) == 1


def test_bands_hit_the_renewal_rate_targets_on_out_of_time_outcomes():
    # 10 scores x 10 accounts each; churn count per score: riskier scores churn more often.
    p = np.repeat(np.arange(10) / 10, 10)
    churned_per_score = [0, 0, 0, 0, 1, 2, 2, 5, 7, 9]
    y = np.concatenate([np.r_[np.ones(c), np.zeros(10 - c)] for c in churned_per_score])

    bands = choose_bands(y, p, Config())

    labels = band_of(p, bands)
    red_renewal = 1 - y[labels == "red"].mean()
    green_renewal = 1 - y[labels == "green"].mean()
    # red: scores 0.7-0.9 (21 of 30 churned, renewal 30%); adding 0.6 would make it 42.5%
    assert bands["red_from"] == 0.7 and red_renewal <= 0.40
    # green: scores 0.0-0.5 (3 of 60 churned, renewal 95%); adding 0.6 would make it 92.9%
    assert bands["green_below"] == 0.6 and green_renewal >= 0.95
    assert bands["basis"] == {"red": "renewal-rate target", "green": "renewal-rate target"}


def test_a_band_too_small_to_trust_falls_back_to_its_share():
    p = np.linspace(0, 1, 100)
    y = np.zeros(100)
    y[-3:] = 1  # only 3 churners: no red group of 20 rows renews at most 40%
    config = Config().with_overrides({"bands": {"min_band_rows": 20}})
    bands = choose_bands(y, p, config)
    assert bands["basis"]["red"] == "share"
    assert np.mean(band_of(p, bands) == "red") == 0.15


def test_bands_come_from_renewal_rows_when_there_are_enough():
    # Month-start rows far from any renewal never churn; at renewal time the risk is real.
    p = np.r_[np.linspace(0, 0.2, 1000), np.repeat(np.arange(10) / 10, 20)]
    churned_per_score = [0, 0, 0, 1, 1, 2, 4, 10, 14, 18]
    at_renewal = np.concatenate([np.r_[np.ones(c), np.zeros(20 - c)] for c in churned_per_score])
    y = np.r_[np.zeros(1000), at_renewal]
    spine = np.r_[np.full(1000, "monthly"), np.full(200, "renewals")]

    bands = choose_bands(y, p, Config(), spine=spine)
    everything = choose_bands(y, p, Config())

    renewal_rows = spine == "renewals"
    labels = band_of(p[renewal_rows], bands)
    assert 1 - y[renewal_rows][labels == "red"].mean() <= 0.40
    assert 1 - y[renewal_rows][labels == "green"].mean() >= 0.95
    assert bands != everything
