"""Every label boundary, per target, on hand-built accounts placed exactly on it.

Defaults: min risk 90 days, horizon 180, grace 30, thresholds 5%. With as_of = 2023-09-01:
- as_of + 90 days = 2023-11-30 (the shortest churn window's end T);
- as_of + 180 days = 2024-02-28 (the horizon's end H; 2024 is a leap year, 02-29 exists);
- churn known at T + 30 days; expansion and contraction at H + 30 days = 2024-03-29.

Each boundary has a pair of accounts: one exactly on it and one a day (or a dollar) past it,
with opposite labels, so an off-by-one in either direction fails here.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from features.build import build_features
from features.frame import known_at_column
from features.source import DataSource
from retain.config import Config

T = pd.Timestamp
AS_OF = "2023-09-01"
H = T("2024-02-28")  # as_of + 180 days
HORIZON_KNOWN = T("2024-03-29")  # H + 30 days

# (account, start, end, arr)
TERMS: list[tuple[str, str, str, float]] = [
    # -- churn: coverage ending exactly at T ---------------------------------------------------
    # E = 2023-10-01 is inside the 90 days, so T = as_of + 90 = 2023-11-30.
    ("c_ends_at_T", "2023-06-01", "2023-10-01", 3_000),
    ("c_ends_at_T", "2023-10-01", "2023-11-30", 3_000),
    ("c_ends_day_after_T", "2023-06-01", "2023-10-01", 3_000),
    ("c_ends_day_after_T", "2023-10-01", "2023-12-01", 3_000),
    # E = 2024-03-01 is beyond as_of + 90, so T = E: coverage ending on E churns.
    ("c_long_ends_at_E", "2023-03-01", "2024-03-01", 8_000),
    ("c_long_renewed_at_E", "2023-03-01", "2024-03-01", 8_000),
    ("c_long_renewed_at_E", "2024-03-01", "2025-03-01", 8_000),
    # -- churn: a renewal gap of exactly grace_days and of grace_days + 1 ------------------------
    ("c_gap_grace", "2023-01-01", "2024-01-01", 10_000),
    ("c_gap_grace", "2024-01-31", "2025-01-31", 10_000),  # 30 days without a contract
    ("c_gap_grace_plus_one", "2023-01-01", "2024-01-01", 10_000),
    ("c_gap_grace_plus_one", "2024-02-01", "2025-02-01", 10_000),  # 31 days
    # -- expansion: ARR in force at H (start < H <= end) -----------------------------------------
    ("x_upsell_day_before_H", "2023-01-01", "2025-01-01", 10_000),
    ("x_upsell_day_before_H", "2024-02-27", "2025-01-01", 2_000),  # in force at H
    ("x_upsell_on_H", "2023-01-01", "2025-01-01", 10_000),
    ("x_upsell_on_H", "2024-02-28", "2025-01-01", 2_000),  # starts on H: not in force at H
    # -- expansion / contraction: the threshold itself (strictly more than 5%) -------------------
    ("x_up_exactly_5pct", "2023-01-01", "2025-01-01", 10_000),
    ("x_up_exactly_5pct", "2023-10-01", "2025-01-01", 500),  # 10,500: exactly +5%
    ("x_up_above_5pct", "2023-01-01", "2025-01-01", 10_000),
    ("x_up_above_5pct", "2023-10-01", "2025-01-01", 501),
    ("d_down_exactly_5pct", "2023-01-01", "2024-01-01", 10_000),
    ("d_down_exactly_5pct", "2024-01-01", "2025-01-01", 9_500),  # exactly -5%
    ("d_down_above_5pct", "2023-01-01", "2024-01-01", 10_000),
    ("d_down_above_5pct", "2024-01-01", "2025-01-01", 9_499),
    # -- expansion / contraction: coverage ending exactly at H is lost, not grown or shrunk ------
    ("x_ends_at_H", "2023-01-01", "2024-02-28", 10_000),
    ("x_ends_at_H", "2023-12-01", "2024-02-28", 2_000),  # in force at H, but coverage ends
    ("x_ends_day_after_H", "2023-01-01", "2024-02-29", 10_000),
    ("x_ends_day_after_H", "2023-12-01", "2024-02-29", 2_000),
    ("d_ends_at_H", "2023-01-01", "2024-01-01", 10_000),
    ("d_ends_at_H", "2024-01-01", "2024-02-28", 8_000),
    ("d_ends_day_after_H", "2023-01-01", "2024-01-01", 10_000),
    ("d_ends_day_after_H", "2024-01-01", "2024-02-29", 8_000),
    # -- expansion / contraction: H inside a renewal gap of grace_days / grace_days + 1 ----------
    ("x_gap_grace", "2023-01-01", "2024-02-01", 10_000),
    ("x_gap_grace", "2024-03-02", "2025-03-02", 12_000),  # 30 days: bridged, takes its ARR
    ("x_gap_grace_plus_one", "2023-01-01", "2024-02-01", 10_000),
    ("x_gap_grace_plus_one", "2024-03-03", "2025-03-03", 12_000),  # 31 days: lost
    ("d_gap_grace", "2023-01-01", "2024-02-01", 10_000),
    ("d_gap_grace", "2024-03-02", "2025-03-02", 8_000),
    ("d_gap_grace_plus_one", "2023-01-01", "2024-02-01", 10_000),
    ("d_gap_grace_plus_one", "2024-03-03", "2025-03-03", 8_000),
    # A short bridge term starting exactly on H (so not in force at H) and ending the day the
    # renewal starts: the renewal's ARR is what runs from its start on (start <= t < end), so
    # the bridge ending that day is not part of it.
    ("x_bridge_ends_at_renewal", "2023-01-01", "2024-02-01", 10_000),
    ("x_bridge_ends_at_renewal", "2024-02-28", "2024-03-02", 1_000),
    ("x_bridge_ends_at_renewal", "2024-03-02", "2025-03-02", 12_000),
]


def contracts(terms: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "contract_id": f"k{i}",
                "account_id": account,
                "start_date": T(start),
                "end_date": T(end),
                "arr": float(arr),
            }
            for i, (account, start, end, arr) in enumerate(terms)
        ]
    )


def labels_of(
    terms: list[tuple[str, str, str, float]], data_end: str = "2026-06-01", **settings
) -> pd.DataFrame:
    table = contracts(terms)
    accounts = pd.DataFrame(
        {"account_id": table["account_id"].unique(), "created_at": T("2022-01-01")}
    )
    config = Config()
    if settings:
        config = replace(config, labels=replace(config.labels, **settings))
    source = DataSource.from_frames({"accounts": accounts, "contracts": table}, data_end=data_end)
    return build_features(source, config, as_of=[AS_OF]).set_index("account_id")


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    return labels_of(TERMS)


@pytest.mark.parametrize(
    ("account", "churn", "window_end"),
    [
        ("c_ends_at_T", 1.0, "2023-11-30"),
        ("c_ends_day_after_T", 0.0, "2023-11-30"),
        ("c_long_ends_at_E", 1.0, "2024-03-01"),
        ("c_long_renewed_at_E", 0.0, "2024-03-01"),
        ("c_gap_grace", 0.0, "2024-01-01"),
        ("c_gap_grace_plus_one", 1.0, "2024-01-01"),
    ],
)
def test_churn_at_its_boundaries(labels, account, churn, window_end):
    row = labels.loc[account]
    assert row["churn"] == churn
    assert row["churn_window_end"] == T(window_end)
    assert row[known_at_column("churn")] == T(window_end) + pd.Timedelta(days=30)


@pytest.mark.parametrize(
    ("account", "expansion", "contraction", "arr_at_horizon"),
    [
        ("x_upsell_day_before_H", 1.0, 0.0, 12_000),
        ("x_upsell_on_H", 0.0, 0.0, 10_000),
        ("x_up_exactly_5pct", 0.0, 0.0, 10_500),
        ("x_up_above_5pct", 1.0, 0.0, 10_501),
        ("d_down_exactly_5pct", 0.0, 0.0, 9_500),
        ("d_down_above_5pct", 0.0, 1.0, 9_499),
        ("x_ends_at_H", 0.0, 0.0, 0),
        ("x_ends_day_after_H", 1.0, 0.0, 12_000),
        ("d_ends_at_H", 0.0, 0.0, 0),
        ("d_ends_day_after_H", 0.0, 1.0, 8_000),
        ("x_gap_grace", 1.0, 0.0, 12_000),
        ("x_gap_grace_plus_one", 0.0, 0.0, 0),
        ("d_gap_grace", 0.0, 1.0, 8_000),
        ("d_gap_grace_plus_one", 0.0, 0.0, 0),
        ("x_bridge_ends_at_renewal", 1.0, 0.0, 12_000),
    ],
)
def test_expansion_and_contraction_at_their_boundaries(
    labels, account, expansion, contraction, arr_at_horizon
):
    row = labels.loc[account]
    assert (row["expansion"], row["contraction"]) == (expansion, contraction)
    assert row["arr_at_horizon"] == arr_at_horizon
    assert row[known_at_column("expansion")] == HORIZON_KNOWN
    assert row[known_at_column("contraction")] == HORIZON_KNOWN


def test_the_configured_grace_and_thresholds_are_the_boundaries():
    """The same boundaries move with the settings (not constants that happen to match)."""
    terms = [
        ("gap_10", "2023-01-01", "2024-01-01", 10_000),
        ("gap_10", "2024-01-11", "2025-01-11", 10_000),
        ("gap_11", "2023-01-01", "2024-01-01", 10_000),
        ("gap_11", "2024-01-12", "2025-01-12", 10_000),
        ("up_10pct", "2023-01-01", "2025-01-01", 10_000),
        ("up_10pct", "2023-10-01", "2025-01-01", 1_000),
        ("up_11pct", "2023-01-01", "2025-01-01", 10_000),
        ("up_11pct", "2023-10-01", "2025-01-01", 1_100),
    ]
    got = labels_of(
        terms, grace_days=10, expansion_threshold=0.10, min_risk_days=60, horizon_days=120
    )
    assert got.loc["gap_10", "churn"] == 0.0
    assert got.loc["gap_11", "churn"] == 1.0
    assert got.loc["gap_10", "churn_window_end"] == T("2024-01-01")
    assert got.loc["up_10pct", "expansion"] == 0.0
    assert got.loc["up_11pct", "expansion"] == 1.0
    assert got.loc["up_10pct", known_at_column("expansion")] == T(AS_OF) + pd.Timedelta(days=130)
    # A term ending inside the 60-day window: T = as_of + 60 days.
    short = labels_of([("s", "2023-06-01", "2023-10-01", 1_000)], min_risk_days=60)
    assert short.loc["s", "churn_window_end"] == T("2023-10-31")


# -- known at the data's end ------------------------------------------------------------------
# A label is known when its known date is STRICTLY before data_end (`known_at < data_end`),
# because data_end is exclusive: the data holds nothing dated on data_end itself. The last day
# that can change a label is its known date: a renewal starting exactly grace_days after the end
# (churn) or a renewal closing a gap that covers the horizon's end (expansion) starts ON the
# known date. With data_end == known_at that contract cannot be in the data, so a `<=` rule would
# call a renewed account churned (the first test shows the wrong answer it would give).

RENEWED_ON_KNOWN_DATE = [
    ("late_renewal", "2023-01-01", "2024-01-01", 10_000),
    ("late_renewal", "2024-01-31", "2025-01-31", 10_000),  # starts on churn_known_at
]


def test_a_churn_label_known_exactly_on_the_data_end_is_censored():
    # data_end = 2024-01-31 = known date: the renewal starting that day is not yet in the data.
    before_renewal = [t for t in RENEWED_ON_KNOWN_DATE if T(t[1]) < T("2024-01-31")]
    on_end = labels_of(before_renewal, data_end="2024-01-31")
    assert on_end.loc["late_renewal", known_at_column("churn")] == T("2024-01-31")
    assert pd.isna(on_end.loc["late_renewal", "churn"])  # `<=` would say 1.0: wrong
    day_after = labels_of(RENEWED_ON_KNOWN_DATE, data_end="2024-02-01")
    assert day_after.loc["late_renewal", "churn"] == 0.0


def test_expansion_and_contraction_known_exactly_on_the_data_end_are_censored():
    terms = [t for t in TERMS if t[0] in ("x_gap_grace", "d_gap_grace", "x_upsell_on_H")]
    # The renewals closing the gaps start 2024-03-02, before the known date 2024-03-29.
    on_end = labels_of(terms, data_end=str(HORIZON_KNOWN.date()))
    for column in ("expansion", "contraction", "arr_at_horizon"):
        assert on_end[column].isna().all(), column
    day_after = labels_of(terms, data_end=str((HORIZON_KNOWN + pd.Timedelta(days=1)).date()))
    assert day_after.loc["x_gap_grace", "expansion"] == 1.0
    assert day_after.loc["d_gap_grace", "contraction"] == 1.0
    assert day_after.loc["x_upsell_on_H", "arr_at_horizon"] == 10_000
    # Churn of the same accounts is known earlier (T + 30 days) and is not censored.
    assert on_end.loc["x_gap_grace", "churn"] == 0.0
