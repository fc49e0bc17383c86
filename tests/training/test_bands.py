from __future__ import annotations

import numpy as np

from retain.config import Config
from training.bands import band_of, choose_bands


def test_bands_follow_the_configured_shares():
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


def test_shares_come_from_config():
    config = Config().with_overrides({"bands": {"red_share": 0.5, "green_share": 0.5}})
    p = np.arange(100) / 100
    bands = choose_bands(np.zeros(100), p, config)
    assert bands["green_below"] == bands["red_from"]
    assert set(band_of(p, bands)) == {"green", "red"}
