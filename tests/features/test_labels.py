"""Labels on tiny hand-built contract histories (horizon 180 days, grace 30, threshold 5%)."""

import pandas as pd
import pytest

from features.build import build_features
from features.source import DataSource
from retain.config import Config

T = pd.Timestamp
AS_OF = "2023-09-01"  # horizon ends 2024-02-28


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


CONTRACTS = _contracts(
    ("renewed", "2023-01-01", "2024-01-01", 10_000),
    ("renewed", "2024-01-01", "2025-01-01", 10_000),
    ("churned", "2023-01-01", "2024-01-01", 10_000),
    ("within_grace", "2023-01-01", "2024-01-01", 10_000),
    ("within_grace", "2024-01-20", "2025-01-20", 12_000),
    ("late_return", "2023-01-01", "2024-01-01", 10_000),
    ("late_return", "2024-02-15", "2025-02-15", 10_000),
    ("add_on", "2023-01-01", "2024-06-01", 10_000),
    ("add_on", "2023-10-01", "2024-06-01", 2_000),
    ("contracted", "2023-01-01", "2024-01-01", 10_000),
    ("contracted", "2024-01-01", "2025-01-01", 8_000),
)


def _labels(as_of: str = AS_OF, data_end: str = "2026-01-01") -> pd.DataFrame:
    accounts = pd.DataFrame(
        {"account_id": CONTRACTS["account_id"].unique(), "created_at": T("2023-01-01")}
    )
    source = DataSource.from_frames(
        {"accounts": accounts, "contracts": CONTRACTS}, data_end=data_end
    )
    frame = build_features(source, Config(), as_of=[as_of])
    return frame.set_index("account_id")


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    return _labels()


@pytest.mark.parametrize(
    ("account", "churn", "expansion", "contraction", "arr_at_horizon"),
    [
        ("renewed", 0.0, 0.0, 0.0, 10_000),
        ("churned", 1.0, 0.0, 0.0, 0),
        ("within_grace", 0.0, 1.0, 0.0, 12_000),  # the renewal 19 days late is a renewal
        ("late_return", 1.0, 0.0, 0.0, 0),  # 45 days without a contract is churn
        ("add_on", 0.0, 1.0, 0.0, 12_000),  # mid-term upsell
        ("contracted", 0.0, 0.0, 1.0, 8_000),
    ],
)
def test_labels_of_hand_built_histories(
    labels, account, churn, expansion, contraction, arr_at_horizon
):
    r = labels.loc[account]
    assert (r["churn"], r["expansion"], r["contraction"]) == (churn, expansion, contraction)
    assert r["arr_at_horizon"] == arr_at_horizon
    assert r["label_known"]
    assert r["label_known_at"] == T(AS_OF) + pd.Timedelta(days=210)


def test_a_horizon_ending_inside_the_grace_gap_takes_the_renewal_arr():
    # as_of + 180 days = 2024-01-01, the first day of the 19-day gap before the renewal.
    r = _labels(as_of="2023-07-05").loc["within_grace"]
    assert r["churn"] == 0.0
    assert r["arr_at_horizon"] == 12_000
    assert r["expansion"] == 1.0


def test_outcomes_not_yet_known_are_censored_not_negative():
    censored = _labels(data_end="2024-03-01")  # as_of + 210 days is 2024-03-29
    assert not censored["label_known"].any()
    for column in ("churn", "expansion", "contraction", "arr_at_horizon"):
        assert censored[column].isna().all()


def test_renewal_date_is_the_end_of_the_current_contract(labels):
    assert labels.loc["renewed", "renewal_date"] == T("2024-01-01")
    assert labels.loc["add_on", "renewal_date"] == T("2024-06-01")
