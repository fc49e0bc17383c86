"""Health bands at their edges: a renewal rate exactly at its target, a group of exactly
`min_band_rows`, exactly enough renewal-spine rows, nothing to choose on, missing values, and
the row counts below which the minimum band sizes cannot apply."""

from __future__ import annotations

import numpy as np
import pytest

from retain.config import Config
from training.bands import band_of, choose_bands


def counts(p, bands) -> list[int]:
    labels = band_of(p, bands)
    return [int((labels == band).sum()) for band in ("green", "yellow", "red")]


def top_ten_with_six_churned() -> tuple[np.ndarray, np.ndarray]:
    """100 distinct scores; the 6 riskiest churned, nobody else: the 10 riskiest renewed
    exactly 40% of the time (red_max_renewal_rate), the 11 riskiest 45%."""
    p = np.arange(100) / 100
    y = np.zeros(100)
    y[-6:] = 1.0
    return y, p


@pytest.mark.parametrize(("min_rows", "basis"), [(10, "renewal-rate target"), (11, "share")])
def test_red_at_exactly_the_target_rate_and_exactly_min_band_rows(min_rows, basis):
    y, p = top_ten_with_six_churned()
    config = Config().with_overrides({"bands": {"min_band_rows": min_rows}})
    bands = choose_bands(y, p, config)
    assert bands["basis"]["red"] == basis
    if basis == "share":
        assert bands["red_from"] == pytest.approx(np.quantile(p, 0.85))
    else:
        assert bands["red_from"] == 0.90  # the 10 riskiest: 0.90 to 0.99
        assert counts(p, bands)[2] == 10


def test_green_at_exactly_the_target_rate():
    # Ascending: 19 renewals then a churner, so the 20 safest renewed exactly 95%; two more
    # churners after them keep green from growing (19 of 21, 19 of 22 ... stay under 95%).
    p = np.arange(40) / 40
    y = np.zeros(40)
    y[19:22] = 1.0
    config = Config().with_overrides({"bands": {"min_band_rows": 20}})
    bands = choose_bands(y, p, config)
    assert bands["basis"]["green"].startswith("renewal-rate target")
    assert bands["green_below"] == p[20]
    assert counts(p, bands)[0] == 20


def test_renewal_rows_decide_from_five_times_min_band_rows():
    config = Config().with_overrides({"bands": {"min_band_rows": 20}})
    rng = np.random.default_rng(0)
    monthly_p = rng.uniform(0, 0.3, 300)
    renewal_p = np.arange(100) / 100
    renewal_y = (rng.random(100) < renewal_p).astype(float)
    p = np.r_[monthly_p, renewal_p]
    y = np.r_[np.zeros(300), renewal_y]
    spine = np.r_[np.full(300, "monthly"), np.full(100, "renewals")]
    renewal_only = choose_bands(renewal_y, renewal_p, config)
    assert choose_bands(y, p, config, spine=spine) == renewal_only  # 100 = 5 x 20 rows
    fewer = spine.copy()
    fewer[300] = "monthly"  # 99 renewal rows: not enough, every row decides
    assert choose_bands(y, p, config, spine=fewer) == choose_bands(y, p, config)
    assert renewal_only != choose_bands(y, p, config)


@pytest.mark.parametrize("outcome", [1.0, 0.0], ids=["all churned", "all renewed"])
def test_renewal_rows_of_one_outcome_do_not_decide(outcome):
    config = Config().with_overrides({"bands": {"min_band_rows": 20}})
    p = np.r_[np.linspace(0, 0.3, 300), np.linspace(0, 1, 100)]
    y = np.r_[(np.arange(300) % 10 == 0).astype(float), np.full(100, outcome)]
    spine = np.r_[np.full(300, "monthly"), np.full(100, "renewals")]
    every_row = choose_bands(y, p, config)
    assert choose_bands(y, p, config, spine=spine) == every_row
    assert choose_bands(y[300:], p[300:], config) != every_row  # (the check can tell)


def test_nothing_to_choose_on():
    assert choose_bands(np.array([]), np.array([]), Config()) == {
        "green_below": 0.0,
        "red_from": 1.0,
        "basis": "no predictions",
    }
    nan = np.array([np.nan, np.nan])
    assert choose_bands(np.array([0.0, 1.0]), nan, Config())["basis"] == "no predictions"


def test_rows_without_a_score_or_an_outcome_are_left_out():
    y, p = top_ten_with_six_churned()
    config = Config().with_overrides({"bands": {"min_band_rows": 10}})
    holes_p = np.r_[p, np.nan, 0.5]
    holes_y = np.r_[y, 1.0, np.nan]
    assert choose_bands(holes_y, holes_p, config) == choose_bands(y, p, config)


def test_minimum_sizes_apply_from_three_times_the_minimum_rows():
    # One class: the shares decide (green 60%, red 15%); a band's minimum is 1 row here.
    three = np.array([0.1, 0.2, 0.3])
    assert counts(three, choose_bands(np.zeros(3), three, Config())) == [1, 1, 1]
    two = np.array([0.1, 0.2])  # too few rows to give every band one: left as the shares say
    assert counts(two, choose_bands(np.zeros(2), two, Config())) == [1, 0, 1]
    same = np.full(10, 0.3)  # one score: nothing to split, all at or above red's share
    bands = choose_bands(np.zeros(10), same, Config())
    assert counts(same, bands) == [0, 0, 10]
    assert bands["basis"] == {"red": "share", "green": "share"}


def test_a_zero_minimum_share_still_gives_every_band_one_row():
    config = Config().with_overrides({"bands": {"min_band_share": 0.0}})
    three = np.array([0.1, 0.2, 0.3])
    assert counts(three, choose_bands(np.zeros(3), three, config)) == [1, 1, 1]


def shares(green: float, red: float) -> Config:
    return Config().with_overrides({"bands": {"green_share": green, "red_share": red}})


P100 = np.arange(100) / 100  # a band's minimum is 5 rows


def test_bands_of_exactly_the_minimum_size_are_not_moved():
    bands = choose_bands(np.zeros(100), P100, shares(0.05, 0.05))
    assert counts(P100, bands) == [5, 90, 5]
    assert bands["basis"] == {"red": "share", "green": "share"}
    bands = choose_bands(np.zeros(100), P100, shares(0.50, 0.45))
    assert counts(P100, bands) == [50, 5, 45]
    assert bands["basis"] == {"red": "share", "green": "share"}


def test_yellow_takes_its_rows_from_the_larger_neighbour():
    # Shares give green 40, red 58, yellow 2: the 3 missing rows come from red, the larger.
    bands = choose_bands(np.zeros(100), P100, shares(0.40, 0.58))
    assert counts(P100, bands) == [40, 5, 55]
    assert bands["basis"] == {"red": "share + minimum size", "green": "share"}
