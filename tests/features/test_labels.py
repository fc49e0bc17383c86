"""Labels on tiny hand-built contract histories (min risk 90 days, horizon 180, grace 30, 5%).

Renewal risk: T = max(E, as_of + 90 days), E the latest end in force at as_of (start < as_of <=
end); churn when coverage (gaps of up to 30 days bridged) ends in [as_of, T].
"""

import pandas as pd
import pytest

from features.build import build_features
from features.frame import known_at_column
from features.source import DataSource
from retain.config import Config

T = pd.Timestamp
AS_OF = "2023-09-01"  # as_of + 90 days = 2023-11-30; horizon ends 2024-02-28
DAY = pd.Timedelta(days=1)


def _contracts(*terms: tuple[str, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "contract_id": f"c{i}",
                "account_id": account,
                "start_date": T(start),
                "end_date": T(end),
                "arr": arr,
            }
            for i, (account, start, end, arr) in enumerate(terms)
        ]
    )


def _monthly(account: str, first: str, last_end: str, arr: float = 1_200.0) -> list[tuple]:
    starts = pd.date_range(first, T(last_end) - pd.DateOffset(months=1), freq="MS")
    return [
        (account, str(s.date()), str((s + pd.DateOffset(months=1)).date()), arr) for s in starts
    ]


CONTRACTS = _contracts(
    ("renewed", "2023-01-01", "2024-01-01", 10_000),
    ("renewed", "2024-01-01", "2025-01-01", 10_000),
    ("churned", "2023-01-01", "2024-01-01", 10_000),
    ("within_grace", "2023-01-01", "2024-01-01", 10_000),
    ("within_grace", "2024-01-20", "2025-01-20", 12_000),
    ("grace_exactly", "2023-01-01", "2024-01-01", 10_000),
    ("grace_exactly", "2024-01-31", "2025-01-31", 10_000),  # 30 days: still a renewal
    ("grace_plus_one", "2023-01-01", "2024-01-01", 10_000),
    ("grace_plus_one", "2024-02-01", "2025-02-01", 10_000),  # 31 days: churn
    ("late_return", "2023-01-01", "2024-01-01", 10_000),
    ("late_return", "2024-02-15", "2025-02-15", 10_000),
    ("add_on", "2023-01-01", "2024-06-01", 10_000),
    ("add_on", "2023-10-01", "2024-06-01", 2_000),
    ("add_on", "2024-06-01", "2025-06-01", 12_000),
    ("contracted", "2023-01-01", "2024-01-01", 10_000),
    ("contracted", "2024-01-01", "2025-01-01", 8_000),
    # A three-year term renewing 16 months out: a 180-day horizon could never see it churn.
    ("multi_year_lost", "2022-01-01", "2025-01-01", 90_000),
    ("multi_year_kept", "2022-01-01", "2025-01-01", 90_000),
    ("multi_year_kept", "2025-01-01", "2028-01-01", 90_000),
    # A term ending exactly on as_of is in force: the account is up for renewal that day.
    ("ends_on_as_of", "2022-09-01", AS_OF, 5_000),
    ("ends_on_as_of_renewed", "2022-09-01", AS_OF, 5_000),
    ("ends_on_as_of_renewed", AS_OF, "2024-09-01", 5_000),
    # Coverage ending exactly at T = as_of + 90 days churns; a day later it does not.
    ("ends_at_window_end", "2023-06-01", "2023-10-01", 3_000),
    ("ends_at_window_end", "2023-10-01", "2023-11-30", 3_000),
    ("ends_after_window_end", "2023-06-01", "2023-10-01", 3_000),
    ("ends_after_window_end", "2023-10-01", "2023-12-01", 3_000),
    *_monthly("monthly_stays", "2023-01-01", "2024-12-01"),
    *_monthly("monthly_leaves", "2023-01-01", "2023-11-01"),  # stops inside the 90-day window
    ("starts_on_as_of", AS_OF, "2024-09-01", 7_000),  # unknown at as_of: not in the snapshot
)


def _labels(as_of: str = AS_OF, data_end: str = "2026-06-01", **labels) -> pd.DataFrame:
    accounts = pd.DataFrame(
        {"account_id": CONTRACTS["account_id"].unique(), "created_at": T("2022-01-01")}
    )
    source = DataSource.from_frames(
        {"accounts": accounts, "contracts": CONTRACTS}, data_end=data_end
    )
    config = Config()
    if labels:
        from dataclasses import replace

        config = replace(config, labels=replace(config.labels, **labels))
    frame = build_features(source, config, as_of=[as_of])
    return frame.set_index("account_id")


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    return _labels()


@pytest.mark.parametrize(
    ("account", "churn", "renewal_date", "window_end"),
    [
        ("renewed", 0.0, "2024-01-01", "2024-01-01"),
        ("churned", 1.0, "2024-01-01", "2024-01-01"),
        ("within_grace", 0.0, "2024-01-01", "2024-01-01"),  # the renewal 19 days late
        ("grace_exactly", 0.0, "2024-01-01", "2024-01-01"),
        ("grace_plus_one", 1.0, "2024-01-01", "2024-01-01"),
        ("late_return", 1.0, "2024-01-01", "2024-01-01"),  # 45 days without a contract
        ("add_on", 0.0, "2024-06-01", "2024-06-01"),  # renewal 9 months out still counts
        ("contracted", 0.0, "2024-01-01", "2024-01-01"),
        ("multi_year_lost", 1.0, "2025-01-01", "2025-01-01"),
        ("multi_year_kept", 0.0, "2025-01-01", "2025-01-01"),
        ("ends_on_as_of", 1.0, AS_OF, "2023-11-30"),
        ("ends_on_as_of_renewed", 0.0, AS_OF, "2023-11-30"),
        ("ends_at_window_end", 1.0, "2023-10-01", "2023-11-30"),
        ("ends_after_window_end", 0.0, "2023-10-01", "2023-11-30"),
        ("monthly_stays", 0.0, AS_OF, "2023-11-30"),  # a monthly term renews on as_of
        ("monthly_leaves", 1.0, AS_OF, "2023-11-30"),
    ],
)
def test_renewal_risk_of_hand_built_histories(labels, account, churn, renewal_date, window_end):
    r = labels.loc[account]
    assert r["churn"] == churn
    assert r["renewal_date"] == T(renewal_date)
    assert r["churn_window_end"] == T(window_end)
    assert r[known_at_column("churn")] == T(window_end) + 30 * DAY


@pytest.mark.parametrize(
    ("account", "expansion", "contraction", "arr_at_horizon"),
    [
        ("renewed", 0.0, 0.0, 10_000),
        ("churned", 0.0, 0.0, 0),
        ("within_grace", 1.0, 0.0, 12_000),
        ("late_return", 0.0, 0.0, 0),
        ("add_on", 1.0, 0.0, 12_000),  # mid-term upsell
        ("contracted", 0.0, 1.0, 8_000),
        ("multi_year_lost", 0.0, 0.0, 90_000),  # still a customer at the horizon
        ("monthly_stays", 0.0, 0.0, 1_200),
    ],
)
def test_expansion_within_the_horizon(labels, account, expansion, contraction, arr_at_horizon):
    r = labels.loc[account]
    assert (r["expansion"], r["contraction"]) == (expansion, contraction)
    assert r["arr_at_horizon"] == arr_at_horizon
    horizon_known = T(AS_OF) + 210 * DAY
    assert r[known_at_column("expansion")] == horizon_known
    assert r[known_at_column("contraction")] == horizon_known


def test_a_contract_starting_on_as_of_is_not_in_the_snapshot(labels):
    assert "starts_on_as_of" not in labels.index
    # ... and a term ending on as_of is in force: its ARR is the account's ARR that day.
    assert labels.loc["ends_on_as_of", "arr"] == 5_000
    assert labels.loc["ends_on_as_of_renewed", "arr"] == 5_000


def test_a_horizon_ending_inside_the_grace_gap_takes_the_renewal_arr():
    # as_of + 180 days = 2024-01-01 + 1 day: inside the 19-day gap before the renewal.
    r = _labels(as_of="2023-07-06").loc["within_grace"]
    assert r["churn"] == 0.0
    assert r["arr_at_horizon"] == 12_000
    assert r["expansion"] == 1.0


def test_each_target_is_censored_at_its_own_known_date():
    # Churn of "renewed" is known on 2024-01-31, expansion only on 2024-03-29.
    partly = _labels(data_end="2024-02-15")
    assert partly.loc["renewed", "churn"] == 0.0
    assert partly.loc["churned", "churn"] == 1.0
    assert pd.isna(partly.loc["multi_year_lost", "churn"])  # known only in 2025
    for column in ("expansion", "contraction", "arr_at_horizon"):
        assert partly[column].isna().all()


def test_a_label_known_exactly_on_the_data_end_is_still_censored():
    # data_end is exclusive: on 2024-01-31 a renewal starting that day is not in the data.
    on_end = _labels(data_end="2024-01-31")
    assert pd.isna(on_end.loc["renewed", "churn"])
    day_after = _labels(data_end="2024-02-01")
    assert day_after.loc["renewed", "churn"] == 0.0


def test_min_risk_days_sets_the_shortest_window():
    longer = _labels(min_risk_days=200)  # as_of + 200 days = 2024-03-19, past every annual end
    assert longer.loc["renewed", "churn_window_end"] == T("2024-03-19")
    assert longer.loc["ends_after_window_end", "churn"] == 1.0  # coverage ended 2023-12-01


def test_no_row_is_safe_by_construction_of_its_term(labels):
    """Every scored account has a known renewal-risk window ending at or after its renewal."""
    known = labels[labels["churn"].notna()]
    assert (known["churn_window_end"] >= known["renewal_date"]).all()
    assert known["churn"].sum() >= 7
