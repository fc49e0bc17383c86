"""Person-month expansion on tiny hand-built contract histories (grace 30 days).

Snapshot at AS_OF = 2023-09-01; month k is (as_of + (k-1) months, as_of + k months].
"""

import numpy as np
import pandas as pd
import pytest

from features.person_months import (
    TIME_COVARIATES,
    coverage_blocks_frame,
    coverage_end,
    curve_months,
    event_month,
    expand,
    observed_months,
    survival_outcome,
    time_covariates,
    window_months,
)
from features.source import DataSource
from retain.config import Config

T = pd.Timestamp
AS_OF = T("2023-09-01")

CONTRACTS = [
    # (account, start, end)
    ("annual_churns", "2023-01-01", "2024-01-01"),  # lost at the renewal 4 months out
    ("annual_renews", "2023-01-01", "2024-01-01"),
    ("annual_renews", "2024-01-15", "2025-01-15"),  # 14 days late: within grace, one block
    ("late_return", "2023-01-01", "2024-01-01"),
    ("late_return", "2024-02-15", "2025-02-15"),  # 45 days later: a churn in January
    ("three_years", "2022-01-01", "2025-01-01"),  # multi-year term, lost 16 months out
    ("ends_on_as_of", "2022-09-01", "2023-09-01"),  # in force on as_of, lost that day
    ("starts_on_as_of", "2023-09-01", "2024-09-01"),  # not in force at as_of
]


def _source(data_end: str = "2026-06-01") -> DataSource:
    contracts = pd.DataFrame(
        [
            {
                "contract_id": f"c{i}",
                "account_id": a,
                "start_date": T(s),
                "end_date": T(e),
                "arr": 1_000.0,
            }
            for i, (a, s, e) in enumerate(CONTRACTS)
        ]
    )
    accounts = pd.DataFrame(
        {"account_id": contracts["account_id"].unique(), "created_at": T("2022-01-01")}
    )
    return DataSource.from_frames({"accounts": accounts, "contracts": contracts}, data_end=data_end)


ACCOUNTS = ["annual_churns", "annual_renews", "late_return", "three_years", "ends_on_as_of"]


@pytest.fixture(scope="module")
def snapshots() -> pd.DataFrame:
    source = _source()
    blocks = coverage_blocks_frame(source, Config())
    frame = pd.DataFrame({"account_id": [*ACCOUNTS, "starts_on_as_of"], "as_of": AS_OF})
    frame["coverage_end"] = coverage_end(frame, blocks)
    return frame


def test_coverage_end_follows_the_in_force_rule_and_the_grace_days(snapshots):
    ends = snapshots.set_index("account_id")["coverage_end"]
    assert ends["annual_churns"] == T("2024-01-01")
    assert ends["annual_renews"] == T("2025-01-15")  # the late renewal continues the block
    assert ends["late_return"] == T("2024-01-01")
    assert ends["three_years"] == T("2025-01-01")
    assert ends["ends_on_as_of"] == AS_OF
    assert pd.isna(ends["starts_on_as_of"])  # a term starting on as_of is not in force yet


def test_event_month_counts_calendar_months_after_as_of(snapshots):
    months = event_month(snapshots["as_of"], snapshots["coverage_end"], 36)
    by_account = dict(zip(snapshots["account_id"], months, strict=True))
    assert by_account["annual_churns"] == 4  # 2024-01-01 is as_of + 4 months exactly
    assert by_account["annual_renews"] == 17  # (2025-01-01, 2025-02-01]
    assert by_account["three_years"] == 16
    assert by_account["ends_on_as_of"] == 1  # lost on as_of: month 1
    assert by_account["starts_on_as_of"] == 1  # nothing in force: lost at once, as churn says
    assert event_month(pd.Series([AS_OF]), pd.Series([T("2030-01-01")]), 24)[0] == 25


def test_censoring_at_the_data_end_keeps_only_months_known_before_it():
    as_of = pd.Series([AS_OF, AS_OF])
    # Month 3 ends 2023-12-01, known at 2023-12-31 (+ 30 grace days), strictly before the end.
    assert observed_months(as_of, 24, 30, T("2024-01-01")).tolist() == [3, 3]
    assert observed_months(as_of, 24, 30, T("2023-12-31")).tolist() == [2, 2]
    assert observed_months(as_of, 24, 30, T("2030-01-01")).tolist() == [24, 24]


def test_survival_outcome_on_hand_built_histories(snapshots):
    frame = snapshots[snapshots["account_id"].isin(ACCOUNTS)].reset_index(drop=True)
    # Data ending 2024-06-01: months whose end + 30 days is before then, i.e. up to month 8.
    outcome = survival_outcome(
        frame, frame["coverage_end"], Config(), before=T("2024-06-01"), n_months=24
    )
    got = dict(
        zip(
            frame["account_id"],
            zip(outcome["duration"], outcome["event"], strict=True),
            strict=True,
        )
    )
    assert got["annual_churns"] == (4, True)  # churn at a renewal
    assert got["late_return"] == (4, True)
    assert got["annual_renews"] == (8, False)  # censored at the data's end
    assert got["three_years"] == (8, False)  # multi-year term: censored, not a negative
    assert got["ends_on_as_of"] == (1, True)
    later = survival_outcome(
        frame, frame["coverage_end"], Config(), before=T("2026-06-01"), n_months=24
    )
    assert later.set_index(frame["account_id"]).loc["three_years"].tolist() == [16, True]


def test_expand_gives_one_row_per_month_at_risk_and_the_event_in_the_last():
    frame = pd.DataFrame(
        {
            "account_id": ["a", "b"],
            "as_of": AS_OF,
            "days_to_renewal": [122.0, 487.0],
            "contract_term_days": [365.0, 1096.0],
        }
    )
    outcome = pd.DataFrame({"duration": [4, 8], "event": [True, False]})
    pm = expand(frame, outcome, 24)
    assert pm.groupby("row").size().tolist() == [4, 8]
    assert pm.loc[pm["event"] == 1, ["row", "month"]].values.tolist() == [[0, 4]]
    assert (pm["weight"] == 1.0).all()
    assert list(pm.columns) == ["row", "event", "weight", *TIME_COVARIATES]
    a = pm[pm["row"] == 0].set_index("month")
    assert a.loc[4, "renewal_points_in_month"] == 1  # 122 days: month 4
    assert a.loc[1, "renewal_points_in_month"] == 0
    assert a.loc[1, "months_to_next_renewal"] == pytest.approx(122 / 30.4375)


def test_far_months_are_subsampled_with_weights_that_keep_the_total():
    frame = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(400)],
            "as_of": AS_OF,
            "days_to_renewal": 700.0,
            "contract_term_days": 1096.0,
        }
    )
    outcome = pd.DataFrame({"duration": np.full(400, 24), "event": np.zeros(400, bool)})
    full = expand(frame, outcome, 24)
    sampled = expand(frame, outcome, 24, far_month_share=0.25, seed=1)
    assert len(sampled) < 0.4 * len(full)
    assert sampled["weight"].sum() == pytest.approx(len(full), rel=0.05)
    near = full[(full["renewal_points_in_month"] > 0)]
    # Months holding a renewal point are never dropped.
    assert len(sampled[sampled["renewal_points_in_month"] > 0]) == len(near)


def test_time_covariates_of_a_monthly_term_see_a_renewal_every_month():
    frame = pd.DataFrame({"days_to_renewal": [10.0, np.nan], "contract_term_days": [30.0, 365.0]})
    covariates = time_covariates(frame, 24)
    assert (covariates["renewal_points_in_month"][0] >= 1).all()
    assert np.isnan(covariates["renewal_points_in_month"][1]).all()  # unknown timing: missing
    assert covariates["month"][1].tolist() == list(range(1, 25))


def test_curve_months_is_at_least_24_and_reaches_the_longest_term():
    assert curve_months(pd.Series([365.0, 30.0])) == 24
    assert curve_months(pd.Series([1096.0, np.nan])) == 36
    assert curve_months(None) == 24


def test_window_months_uses_the_window_end_else_the_label_rule():
    frame = pd.DataFrame(
        {
            "as_of": [AS_OF, AS_OF, AS_OF],
            "churn_window_end": [T("2024-01-01"), pd.NaT, pd.NaT],
            "days_to_renewal": [122.0, 20.0, 1.0],
            "contract_term_days": [365.0, np.nan, 30.0],
        }
    )
    months = window_months(frame, Config())
    # T on the renewal (2024-01-01 = as_of + 4 months): the whole renewal month counts.
    assert months[0] == pytest.approx(4.0)
    # min_risk_days when the renewal is sooner: T = 2023-11-30 in a month without a renewal
    # point, 29 of November's 30 days.
    assert months[1] == pytest.approx(2 + 29 / 30)
    # A monthly term renewing on day 91, just after T (day 90): none of month 3's hazard counts.
    assert months[2] == pytest.approx(2.0)
    caller_sent = frame.drop(columns=["as_of", "churn_window_end"])  # a /score row
    assert window_months(caller_sent, Config())[0] == pytest.approx(5.0)  # 30.44-day months
