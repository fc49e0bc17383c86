import pandas as pd
import pytest

from features.build import build_features
from features.source import DataSource
from retain.config import Config
from retain.errors import RetainError

T = pd.Timestamp
CONTRACTS = pd.DataFrame(
    {
        "contract_id": ["c1", "c2", "c3"],
        "account_id": ["a", "a", "b"],
        "start_date": [T("2023-01-15"), T("2023-05-01"), T("2023-03-01")],
        # `a` has a gap in April; `b` ends in June
        "end_date": [T("2023-04-01"), T("2024-05-01"), T("2023-06-15")],
        "arr": [1_000.0, 1_000.0, 5_000.0],
    }
)
ACCOUNTS = pd.DataFrame({"account_id": ["a", "b"], "created_at": T("2023-01-01")})


def _source() -> DataSource:
    return DataSource.from_frames(
        {"accounts": ACCOUNTS, "contracts": CONTRACTS}, data_end="2023-09-01"
    )


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    return [(r.account_id, r.as_of.strftime("%Y-%m-%d"), r.spine) for r in frame.itertuples()]


def test_monthly_spine_covers_active_month_starts_before_the_data_end():
    frame = build_features(_source(), Config(), spine="monthly")
    # In force at d means start < d <= end: c1 ending on 2023-04-01 is in force that day, c2
    # starting on 2023-05-01 is not yet known then (no 2023-05-01), nor is c3 on 2023-03-01.
    months_a = [
        "2023-02-01",
        "2023-03-01",
        "2023-04-01",
        "2023-06-01",
        "2023-07-01",
        "2023-08-01",
    ]
    assert _pairs(frame) == [("a", m, "monthly") for m in months_a] + [
        ("b", m, "monthly") for m in ("2023-04-01", "2023-05-01", "2023-06-01")
    ]


def test_renewal_spine_scores_each_contract_end_lead_days_before():
    frame = build_features(_source(), Config(), spine="renewals")
    # c1 ends 2023-04-01 -> 2023-01-01 (not active yet, skipped); c3 -> 2023-03-17;
    # c2 ends 2024-05-01 -> 2024-02-01, after the data's end (skipped)
    assert _pairs(frame) == [("b", "2023-03-17", "renewals")]


def test_both_spines_together_and_explicit_dates_and_account_filter():
    both = build_features(_source(), Config(), spine="both")
    assert set(both["spine"]) == {"monthly", "renewals"}
    explicit = build_features(_source(), Config(), as_of=["2023-04-15", "2023-06-20"])
    assert _pairs(explicit) == [("a", "2023-06-20", "explicit"), ("b", "2023-04-15", "explicit")]
    only_b = build_features(_source(), Config(), spine="monthly", account_ids=["b"])
    assert set(only_b["account_id"]) == {"b"}


def test_configured_snapshot_dates_replace_the_default_spine():
    config = Config().with_overrides({"features": {"as_of_dates": ["2023-03-10"]}})
    frame = build_features(_source(), config, spine=None)
    assert _pairs(frame) == [("a", "2023-03-10", "explicit"), ("b", "2023-03-10", "explicit")]


def test_bad_spine_and_bad_dates_are_clear_errors():
    with pytest.raises(RetainError, match="Unknown spine"):
        build_features(_source(), Config(), spine="weekly")
    with pytest.raises(RetainError, match="not a date"):
        build_features(_source(), Config(), as_of=["next tuesday"])


def test_spines_start_a_full_lookback_after_the_event_history_begins():
    # Contracts go back to January, but the usage export only starts on 2023-04-10.
    usage = pd.DataFrame(
        {"account_id": ["a"], "timestamp": [T("2023-04-10 09:00")], "event": ["login"]}
    )
    source = DataSource.from_frames(
        {"accounts": ACCOUNTS, "contracts": CONTRACTS, "usage": usage}, data_end="2023-09-01"
    )
    config = Config().with_overrides({"features": {"history_days": 30}})

    monthly = build_features(source, config, spine="monthly")
    renewals = build_features(source, config, spine="renewals")

    # 2023-04-10 + 30 days = 2023-05-10: the first month start with a full lookback is June.
    assert monthly["as_of"].min() == T("2023-06-01")
    assert renewals.empty  # b's renewal snapshot (2023-03-17) predates the event history


def test_renewal_spine_never_scores_a_term_signed_after_the_snapshot():
    # A monthly term starting 2023-06-01 ends 2023-07-01; 90 days earlier (2023-04-02) the
    # account is active on its first contract, but that term does not exist yet: scoring it would
    # reveal that the account survived until June.
    contracts = pd.DataFrame(
        {
            "contract_id": ["first", "monthly"],
            "account_id": ["a", "a"],
            "start_date": [T("2023-01-01"), T("2023-06-01")],
            "end_date": [T("2023-06-01"), T("2023-07-01")],
            "arr": [1_000.0, 1_000.0],
        }
    )
    source = DataSource.from_frames(
        {"accounts": ACCOUNTS, "contracts": contracts}, data_end="2023-12-01"
    )
    frame = build_features(source, Config(), spine="renewals")
    # only the first term's end (2023-06-01 - 90 days) is scored
    assert _pairs(frame) == [("a", "2023-03-03", "renewals")]
