"""The optional handoffs table (and its accounts-column mapping): validation, and the handoff
family's point-in-time features at their boundaries."""

from __future__ import annotations

import pandas as pd
import pytest

from features.handoffs import COUNTS, VALUES
from features.source import DataSource
from features.validate import check
from retain.config import Config
from retain.errors import RetainError
from tests.features.fixtures_data import (
    AS_OF,
    DATA_END,
    T,
    added_columns,
    assert_same_features,
    base_frames,
    build,
    day,
    only,
    plant,
    row,
)

HANDOFF_COLUMNS = set(COUNTS + VALUES)
FULL = {
    "business_outcome": "cut close time",
    "success_criteria": "close in 5 days",
    "champion_named": True,
    "commitments": "SSO",
    "timeline": "live by July",
    "owner": "ae1",
}


def _frames(*rows: dict, start: pd.Timestamp = T("2024-01-01")) -> dict[str, pd.DataFrame]:
    """One account `b1` whose only contract starts on `start`, and its handoff revisions."""
    return {
        "accounts": pd.DataFrame({"account_id": ["b1"], "created_at": [start]}),
        "contracts": pd.DataFrame(
            {
                "contract_id": ["k1"],
                "account_id": ["b1"],
                "start_date": [start],
                "end_date": [start + pd.Timedelta(days=365)],
                "arr": [12_000.0],
            }
        ),
        "handoffs": pd.DataFrame(list(rows), columns=["account_id", "handed_off_at", *FULL]),
    }


def _revision(at: pd.Timestamp, **fields: object) -> dict:
    return {"account_id": "b1", "handed_off_at": at, **fields}


# -- the feature family ---------------------------------------------------------------------------


def test_the_table_adds_exactly_the_handoff_columns_and_its_absence_removes_them():
    assert added_columns("handoffs") == HANDOFF_COLUMNS
    assert not HANDOFF_COLUMNS & set(build(only(base_frames())).columns)


def test_features_from_the_fixture_worked_by_hand():
    # a1: revisions on day -150 (2 of 6 filled) and day -20 (5 of 6: no timeline); the first
    # contract started 2023-01-01, 517 days before as_of. a2 has a contract (2023-06-01) only.
    frame = build(only(base_frames(), "handoffs"))
    a1, a2 = row(frame, "a1"), row(frame, "a2")
    assert a1["handoff_completeness"] == pytest.approx(5 / 6)
    assert (a1["handoff_success_criteria"], a1["handoff_champion_named"]) == (1.0, 1.0)
    assert a1["days_to_handoff"] == 367.0  # the first revision: day -150, 367 days after start
    assert a1["handoff_missing"] == 0.0
    assert pd.isna(a1["handoff_completeness_first_180d"])  # 517 days in: not early life
    assert a2["handoff_missing"] == 1.0  # 366 days after its start, no handoff
    for column in sorted(HANDOFF_COLUMNS - {"handoff_missing"}):
        assert pd.isna(a2[column]), column


def test_a_revision_handed_off_on_or_after_as_of_does_not_count():
    before = build(only(base_frames(), "handoffs"))
    future = [
        {"account_id": "a1", "handed_off_at": day(0), "timeline": "exactly on as_of"},
        {"account_id": "a1", "handed_off_at": day(0) + pd.Timedelta(hours=6), **FULL},
        {"account_id": "a2", "handed_off_at": day(0), **FULL},
        {"account_id": "a2", "handed_off_at": day(30), **FULL},
    ]
    after = build(only(plant(base_frames(), "handoffs", future), "handoffs"))
    assert_same_features(before, after)


def test_the_latest_revision_before_as_of_counts_and_a_minute_before_is_before():
    just_before = AS_OF - pd.Timedelta(minutes=1)
    frames = _frames(
        _revision(T("2024-01-05"), **FULL),
        _revision(just_before, success_criteria="x", champion_named=False),
    )
    r = row(build(frames), "b1")
    assert r["handoff_completeness"] == pytest.approx(1 / 6)  # the later, sparser revision
    assert (r["handoff_success_criteria"], r["handoff_champion_named"]) == (1.0, 0.0)
    assert r["days_to_handoff"] == 4.0  # from the first revision


def test_handoff_missing_only_after_the_configured_days_and_a_late_one_clears_it():
    start = T("2024-05-01")
    dates = [start + pd.Timedelta(days=n) for n in (30, 31, 45, 46)]
    frame = build(_frames(_revision(start + pd.Timedelta(days=45), **FULL), start=start), dates)
    assert frame["handoff_missing"].tolist() == [0.0, 1.0, 1.0, 0.0]  # day 30: not yet past
    assert frame["days_to_handoff"].isna().tolist() == [True, True, True, False]
    # In early life an overdue, missing handoff is nothing handed off; before it is due, unknown.
    early = frame["handoff_completeness_first_180d"]
    assert pd.isna(early.iloc[0]) and early.iloc[1:].tolist() == [0.0, 0.0, 1.0]
    ten = Config().with_overrides({"handoffs": {"missing_after_days": 10}})
    assert (
        row(build(_frames(start=start), [start + pd.Timedelta(days=11)], ten, "2025-06-01"), "b1")[
            "handoff_missing"
        ]
        == 1.0
    )


def test_early_life_completeness_up_to_180_days_after_the_first_start():
    start = T("2024-01-01")
    dates = [start + pd.Timedelta(days=n) for n in (179, 180, 181)]
    revision = _revision(start + pd.Timedelta(days=3), business_outcome="x", owner="ae")
    frame = build(_frames(revision, start=start), dates)
    assert frame["handoff_completeness"].tolist() == pytest.approx([2 / 6] * 3)
    early = frame["handoff_completeness_first_180d"]
    assert early.iloc[:2].tolist() == pytest.approx([2 / 6] * 2) and pd.isna(early.iloc[2])


def test_early_life_and_the_deadline_count_from_the_account_when_it_predates_the_contract():
    # The export holds only the contract from 2024-03-01; the account exists since 2023-01-01.
    frames = _frames(start=T("2024-03-01"))
    frames["accounts"]["created_at"] = [T("2023-01-01")]
    r = row(build(frames, [T("2024-04-01")]), "b1")
    assert r["handoff_missing"] == 1.0  # 456 days since the account started
    assert pd.isna(r["handoff_completeness_first_180d"])  # not early life
    frames["handoffs"] = pd.DataFrame([_revision(T("2024-03-11"), **FULL)])
    r = row(build(frames, [T("2024-04-01")]), "b1")
    assert r["days_to_handoff"] == 10.0  # from the first contract's start


def test_completeness_counts_the_fields_the_source_has_and_blank_text_is_not_filled():
    frames = _frames(start=T("2024-01-01"))
    frames["handoffs"] = pd.DataFrame(
        {
            "account_id": ["b1"],
            "handed_off_at": [T("2024-01-10")],
            "success_criteria": ["  "],  # blank: not filled
            "owner": ["ae1"],
        }
    )
    r = row(build(frames), "b1")
    assert r["handoff_completeness"] == 0.5  # owner of (success_criteria, owner)
    assert r["handoff_success_criteria"] == 0.0
    assert pd.isna(r["handoff_champion_named"])  # the source has no such column


def test_two_revisions_at_the_same_instant_count_as_one_with_either_field():
    at = T("2024-02-01")
    frames = _frames(_revision(at, success_criteria="x"), _revision(at, champion_named="yes"))
    r = row(build(frames), "b1")
    assert r["handoff_completeness"] == pytest.approx(2 / 6)
    assert (r["handoff_success_criteria"], r["handoff_champion_named"]) == (1.0, 1.0)


def _mapped_frames(stamp: object) -> dict[str, pd.DataFrame]:
    frames = _frames(start=T("2024-01-01"))
    del frames["handoffs"]
    frames["accounts"] = frames["accounts"].assign(
        crm_success=["faster closes"], crm_champion=["Yes"], crm_handoff_date=[stamp]
    )
    return frames


MAPPED = Config().with_overrides(
    {
        "handoffs": {
            "accounts_columns": {
                "success_criteria": "crm_success",
                "champion_named": "crm_champion",
            },
            "timestamp_column": "crm_handoff_date",
        }
    }
)


def test_mapped_accounts_columns_are_one_revision_at_their_timestamp():
    frame = build(_mapped_frames("2024-01-20"), config=MAPPED)
    r = row(frame, "b1")
    assert (r["handoff_completeness"], r["handoff_champion_named"]) == (1.0, 1.0)
    assert r["days_to_handoff"] == 19.0
    # Handed off on as_of: not yet known, so the handoff is missing (day 152 > 30).
    late = row(build(_mapped_frames(str(AS_OF.date())), config=MAPPED), "b1")
    assert pd.isna(late["handoff_completeness"]) and late["handoff_missing"] == 1.0
    # Without the mapping the same accounts table gives no handoff columns at all.
    assert not HANDOFF_COLUMNS & set(build(_mapped_frames("2024-01-20")).columns)


def test_mapped_columns_never_become_static_attributes():
    # Handed off on as_of: the snapshot must not see the (today's) values through attr_* either.
    frame = build(_mapped_frames(str(AS_OF.date())), config=MAPPED)
    leaked = {"attr_crm_success", "attr_crm_champion", "attr_crm_handoff_date"} & set(frame)
    assert not leaked
    # Unmapped, the same columns are ordinary extra attributes.
    assert "attr_crm_champion" in build(_mapped_frames("2024-01-20")).columns


def test_a_mapping_without_a_timestamp_is_refused_and_unknown_fields_are_named():
    with pytest.raises(RetainError, match="no timestamp_column"):
        Config().with_overrides({"handoffs": {"accounts_columns": {"owner": "crm_owner"}}})
    bad = Config().with_overrides(
        {"handoffs": {"accounts_columns": {"champion": "crm_champion"}, "timestamp_column": "d"}}
    )
    with pytest.raises(RetainError, match="unknown handoff field"):
        build(_mapped_frames("2024-01-20"), config=bad)


# -- validation -----------------------------------------------------------------------------------


def _defects(handoffs: pd.DataFrame, config: Config | None = None) -> list:
    frames = only(base_frames())
    frames["handoffs"] = handoffs
    report = check(DataSource.from_frames(frames, data_end=DATA_END), config or Config())
    return [d for d in report.defects if d.table == "handoffs"]


def _good(**columns: list) -> pd.DataFrame:
    base = {
        "account_id": ["a1", "a2"],
        "handed_off_at": [day(-100), day(-90)],
        "business_outcome": ["cut close time", None],
        "success_criteria": ["", None],  # empty fields are what completeness measures
        "champion_named": ["true", "no"],
        "commitments": [None, "SSO"],
        "timeline": [None, None],
        "owner": ["ae1", ""],
    }
    return pd.DataFrame({**base, **columns})


def test_a_clean_handoffs_table_has_no_defects_and_empty_fields_are_no_warning():
    assert _defects(_good()) == []


def test_a_missing_handed_off_at_column_blocks_and_empty_values_are_ignored_rows():
    missing = [d for d in _defects(_good().drop(columns=["handed_off_at"]))]
    assert [(d.column, d.message, d.blocking) for d in missing] == [
        ("handed_off_at", "required column is missing", True)
    ]
    empty = _defects(_good(handed_off_at=[day(-100), None]))
    assert [(d.column, d.rows, d.blocking) for d in empty] == [("handed_off_at", 1, False)]
    assert "ignored" in empty[0].message


def test_unreadable_dates_and_booleans_block_with_an_example():
    defects = _defects(_good(handed_off_at=[day(-100), "soon"], champion_named=["true", "maybe"]))
    unreadable = {d.column: d for d in defects if "cannot be read" in d.message}
    assert set(unreadable) == {"handed_off_at", "champion_named"}
    assert all(d.blocking and d.rows == 1 for d in unreadable.values())
    assert "maybe" in unreadable["champion_named"].example


def test_orphans_block_above_the_share_and_early_or_future_handoffs_warn():
    orphans = [d for d in _defects(_good(account_id=["a1", "zz9"])) if "orphan" in d.message]
    assert len(orphans) == 1 and orphans[0].blocking and orphans[0].example == "account_id=zz9"
    early = _defects(_good(handed_off_at=[T("2022-06-01"), day(-5)]))  # a1 created 2023-01-01
    assert [d.blocking for d in early if "before the account was created" in d.message] == [False]
    late = pd.Timestamp(DATA_END) + pd.Timedelta(days=3)
    future = [
        d for d in _defects(_good(handed_off_at=[day(-5), late])) if "data's end" in d.message
    ]
    assert len(future) == 1 and not future[0].blocking


def test_a_mapping_to_absent_accounts_columns_blocks():
    source = DataSource.from_frames(_mapped_frames("2024-01-20"), data_end=DATA_END)
    config = Config().with_overrides(
        {"handoffs": {"accounts_columns": {"owner": "crm_owner"}, "timestamp_column": "crm_date"}}
    )
    blocking = [d for d in check(source, config).defects if d.blocking]
    assert sorted(d.column for d in blocking) == ["crm_date", "crm_owner"]
    assert {d.message for d in blocking} == {"mapped handoff column is missing"}
    assert check(source, MAPPED).ok
