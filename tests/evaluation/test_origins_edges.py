"""Adaptive origins at every boundary, on tiny hand-built frames (rows: as_of, churn, known).

Base layout: 20 snapshots on each month start Jan-Apr 2024, known 15 days after as_of, and 30
snapshots on May 1st whose outcome is still unknown. Monthly origin c (window [c, next month))
trains on the labels known strictly before c, so:
- Jan, Feb, Mar: 0, 1, 2 as_of dates known before them: fewer than 3, rejected;
- Apr: Jan-Mar known (3 dates, 30 positives), its own 20 outcomes known, both kinds: the origin;
- May: nothing of the window known (share 0 < 50%), rejected.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from evaluation._origins import (
    choose_origins,
    describe,
    find_origins,
    period_starts,
    shorter_window_hint,
)
from retain.config import Config

JAN, FEB, MAR, APR, MAY = (pd.Timestamp(f"2024-{m:02d}-01") for m in range(1, 6))
DATES_REASON = "fewer than 3 as_of dates known before the origin"
SHARE_REASON = "under 50% of the window's outcomes known by the data's end"


def month(as_of, positives: int, negatives: int, unknown: int = 0, known_after: int = 15):
    n = positives + negatives + unknown
    return pd.DataFrame(
        {
            "account_id": [f"{as_of:%m}-{i}" for i in range(n)],
            "as_of": as_of,
            "churn": [1.0] * positives + [0.0] * negatives + [np.nan] * unknown,
            "churn_known_at": as_of + pd.Timedelta(days=known_after),
        }
    )


def frame_of(*months: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(months, ignore_index=True)


def base(**april) -> pd.DataFrame:
    return frame_of(
        month(JAN, 10, 10),
        month(FEB, 10, 10),
        month(MAR, 10, 10),
        month(APR, **({"positives": 10, "negatives": 10} | april)),
        month(MAY, 0, 0, unknown=30),
    )


def config(**evaluation) -> Config:
    return Config().with_overrides(
        {"training": {"min_positives_per_segment": 30}, "evaluation": evaluation}
    )


def names(origins) -> list[str]:
    return [w.name for w in origins.windows]


def test_the_base_layout_has_exactly_the_april_origin():
    found = find_origins(base(), "churn", config(), "monthly")
    assert names(found) == ["2024-04-01"]
    assert found.windows[0].end == MAY
    assert found.known_share == {"2024-04-01": 1.0}
    assert found.rejected == {DATES_REASON: 3, SHARE_REASON: 1}


def test_three_training_dates_are_enough_two_are_not():
    # Known 40 days after as_of, March's labels arrive only on April 10th: two dates at April.
    late_march = base()
    late_march.loc[late_march["as_of"] == MAR, "churn_known_at"] = MAR + pd.Timedelta(days=40)
    assert names(find_origins(late_march, "churn", config(), "monthly")) == []


def test_a_label_known_on_the_origin_itself_is_not_known_before_it():
    on_origin = base()
    on_origin.loc[on_origin["as_of"] == MAR, "churn_known_at"] = APR  # known ON the origin
    assert names(find_origins(on_origin, "churn", config(), "monthly")) == []
    day_before = base()
    day_before.loc[day_before["as_of"] == MAR, "churn_known_at"] = APR - pd.Timedelta(days=1)
    assert names(find_origins(day_before, "churn", config(), "monthly")) == ["2024-04-01"]


@pytest.mark.parametrize(("positives", "origins"), [(20, ["2024-04-01"]), (19, [])])
def test_twenty_positives_known_before_the_origin_are_the_minimum(positives, origins):
    frame = frame_of(
        month(JAN, 7, 10),
        month(FEB, 7, 10),
        month(MAR, positives - 14, 10),
        month(APR, 10, 10),
    )
    found = find_origins(frame, "churn", config(), "monthly")
    assert names(found) == origins
    if not origins:
        assert found.rejected["fewer than 20 positives known before the origin"] == 1


def test_the_segment_minimum_lowers_the_positives_needed():
    frame = frame_of(month(JAN, 2, 10), month(FEB, 2, 10), month(MAR, 1, 10), month(APR, 10, 10))
    low = Config().with_overrides({"training": {"min_positives_per_segment": 5}})
    assert names(find_origins(frame, "churn", low, "monthly")) == ["2024-04-01"]
    lower = Config().with_overrides({"training": {"min_positives_per_segment": 6}})
    found = find_origins(frame, "churn", lower, "monthly")
    assert found.rejected["fewer than 6 positives known before the origin"] == 1


def test_exactly_the_minimum_known_share_qualifies():
    half = find_origins(base(positives=5, negatives=5, unknown=10), "churn", config(), "monthly")
    assert names(half) == ["2024-04-01"] and half.known_share["2024-04-01"] == 0.5
    under = find_origins(base(positives=5, negatives=5, unknown=11), "churn", config(), "monthly")
    assert names(under) == []


@pytest.mark.parametrize(("positives", "negatives"), [(10, 0), (0, 10)])
def test_a_window_whose_known_outcomes_are_of_one_kind_is_rejected(positives, negatives):
    found = find_origins(
        base(positives=positives, negatives=negatives), "churn", config(), "monthly"
    )
    assert names(found) == []
    assert found.rejected["the window's known outcomes are all of one kind"] == 1


def test_period_starts_from_the_period_containing_the_first_date():
    first, last = pd.Timestamp("2024-02-15"), pd.Timestamp("2024-08-01")
    assert period_starts(first, last, "quarterly") == [JAN, APR, pd.Timestamp("2024-07-01")]
    assert period_starts(first, last, "monthly") == [
        pd.Timestamp(f"2024-{m:02d}-01") for m in range(2, 9)
    ]


def twelve_months() -> pd.DataFrame:
    return frame_of(*(month(pd.Timestamp(f"2024-{m:02d}-01"), 10, 10) for m in range(1, 13)))


def test_quarterly_when_it_reaches_min_origins_else_monthly_capped_at_n_cutoffs():
    frame = twelve_months()  # monthly: Apr-Dec (9); quarterly: Apr, Jul, Oct (3)
    quarterly = find_origins(frame, "churn", config(), "quarterly")
    assert names(quarterly) == ["2024-04-01", "2024-07-01", "2024-10-01"]
    assert [w.end for w in quarterly.windows] == [
        pd.Timestamp(d) for d in ("2024-07-01", "2024-10-01", "2025-01-01")
    ]
    chosen = choose_origins(frame, "churn", config())  # 3 < min_origins 4: monthly
    assert chosen.spacing == "monthly"
    assert names(chosen) == [f"2024-{m:02d}-01" for m in range(5, 13)]  # the latest 8
    assert choose_origins(frame, "churn", config(min_origins=3)).spacing == "quarterly"
    assert choose_origins(frame, "churn", config(n_cutoffs=0)).windows == []
    assert set(chosen.known_share) == set(names(chosen))


def test_equal_counts_keep_quarterly():
    # Jan-Apr only: one monthly origin (Apr) and one quarterly (Apr-Jun).
    frame = frame_of(*(month(d, 10, 10) for d in (JAN, FEB, MAR, APR)))
    chosen = choose_origins(frame, "churn", config())
    assert chosen.spacing == "quarterly" and names(chosen) == ["2024-04-01"]


def test_description_says_fewer_than_wanted_only_when_fewer():
    frame = twelve_months()
    four = choose_origins(frame, "churn", config(n_cutoffs=4, origin_spacing="monthly"))
    assert len(four.windows) == 4
    text = describe(four, "churn", config(n_cutoffs=4))
    assert "Fewer than" not in text and text.startswith("churn: 4 monthly rolling origins")
    assert "(2024-09-01 to 2024-12-01); 100% of each window's" in text
    three = choose_origins(frame, "churn", config(n_cutoffs=3, origin_spacing="monthly"))
    assert "Fewer than the 3 wanted" not in describe(three, "churn", config(n_cutoffs=3))
    assert "Fewer than the 4 wanted" in describe(three, "churn", config(n_cutoffs=8))


def test_no_hint_when_no_shorter_window_adds_origins():
    frame = twelve_months()
    frame["expansion"], frame["expansion_known_at"] = frame["churn"], frame["churn_known_at"]
    end = pd.Timestamp("2025-06-01")
    assert shorter_window_hint(frame, "expansion", config(), end) is None
    # Churn needs its risk dates to say anything: without one of them, no hint.
    with_end = frame.assign(churn_window_end=frame["as_of"])
    assert shorter_window_hint(with_end, "churn", config(), end) is None
    with_renewal = frame.assign(renewal_date=frame["as_of"])
    assert shorter_window_hint(with_renewal, "churn", config(), end) is None


def test_origins_are_immutable():
    found = find_origins(base(), "churn", config(), "monthly")
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.spacing = "weekly"  # type: ignore[misc]


def test_the_hint_names_the_first_shorter_horizon_that_gives_enough_origins():
    """Jan-Dec 2024, 20 snapshots a month, half expanding; data ends 2025-01-01; expansion known
    at as_of + 180 + 30 days, so only Jan-Jun are labelled and no window qualifies (at October
    three dates are known, but its own outcomes are not). Shorter horizons (each known date
    = as_of + days + 30) in the order tried:
    - 150: labels to July; training holds 3 dates first at September, whose window is open: 0;
    - 120: August qualifies alone: 1 origin, fewer than min_origins (4);
    - 90: July, August, September: 3, still fewer;
    - 60: June to October: 5, the first that reaches 4: the hint."""
    rows = []
    for m in range(1, 13):
        as_of = pd.Timestamp(f"2024-{m:02d}-01")
        part = month(as_of, 10, 10, known_after=210)
        part["expansion"], part["expansion_known_at"] = part["churn"], part["churn_known_at"]
        rows.append(part)
    frame = frame_of(*rows)
    end = pd.Timestamp("2025-01-01")
    frame.loc[frame["expansion_known_at"] >= end, "expansion"] = np.nan
    assert choose_origins(frame, "expansion", config()).windows == []
    hint = shorter_window_hint(frame, "expansion", config(), end)
    assert hint == (
        "A 60-day window instead of 180 (`[labels] horizon_days = 60`) would allow about 5 "
        "origins for expansion."
    )


def hint_frame(target: str) -> pd.DataFrame:
    """The frame of the hint test above for `target` (known 210 days after as_of), with the
    churn risk dates (renewal on as_of, so a shorter window moves the known date one for one)."""
    rows = []
    for m in range(1, 13):
        as_of = pd.Timestamp(f"2024-{m:02d}-01")
        part = month(as_of, 10, 10, known_after=210)
        part[target], part[f"{target}_known_at"] = part["churn"], part["churn_known_at"]
        rows.append(part)
    frame = frame_of(*rows)
    frame.loc[frame[f"{target}_known_at"] >= pd.Timestamp("2025-01-01"), target] = np.nan
    return frame.assign(renewal_date=frame["as_of"], churn_window_end=frame["as_of"])


def test_the_churn_hint_names_min_risk_days():
    # min_risk_days 90: 60 is tried first (known at as_of + 90, as the expansion case above).
    hint = shorter_window_hint(hint_frame("churn"), "churn", config(), pd.Timestamp("2025-01-01"))
    assert hint == (
        "A 60-day window instead of 90 (`[labels] min_risk_days = 60`) would allow about 5 "
        "origins for churn."
    )


def test_the_hint_only_tries_windows_shorter_than_the_current_one():
    # horizon 60: only 30 is tried (known at as_of + 60, labelled to November): May to
    # November, 7 origins.
    short = Config().with_overrides(
        {"training": {"min_positives_per_segment": 30}, "labels": {"horizon_days": 60}}
    )
    frame = hint_frame("expansion")
    hint = shorter_window_hint(frame, "expansion", short, pd.Timestamp("2025-01-01"))
    assert hint == (
        "A 30-day window instead of 60 (`[labels] horizon_days = 30`) would allow about 7 "
        "origins for expansion."
    )


def test_one_cutoff_keeps_the_latest_origin():
    kept = choose_origins(twelve_months(), "churn", config(n_cutoffs=1, origin_spacing="monthly"))
    assert names(kept) == ["2024-12-01"]


def test_without_origins_the_description_lists_why():
    found = choose_origins(base(positives=0), "churn", config())
    assert found.windows == []
    text = describe(found, "churn", config())
    assert text.startswith("churn: no time-honest rolling origin is possible: ")
    assert f"period start(s) had {DATES_REASON}" in text
    assert "no snapshot falls in any period" not in text
    nothing = describe(
        find_origins(base().iloc[:0], "churn", config(), "monthly"), "churn", config()
    )
    assert nothing == (
        "churn: no time-honest rolling origin is possible: no snapshot falls in any period."
    )
