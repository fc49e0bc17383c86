"""The optional plays table: its validation, and the plays family's point-in-time features."""

from __future__ import annotations

import pandas as pd
import pytest

from features.plays import COUNTS, VALUES
from features.source import DataSource
from features.validate import check
from tests.features.fixtures_data import (
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

PLAY_COLUMNS = set(COUNTS + VALUES)


def _plays(*rows: dict) -> dict[str, pd.DataFrame]:
    frames = only(base_frames())
    frames["plays"] = pd.DataFrame(list(rows))
    return frames


def _play(started: pd.Timestamp, **extra: object) -> dict:
    return {"account_id": "a1", "play": "save_plan", "started_at": started, **extra}


# -- the feature family ---------------------------------------------------------------------------


def test_the_table_adds_exactly_the_plays_columns_and_its_absence_removes_them():
    assert added_columns("plays") == PLAY_COLUMNS
    assert not PLAY_COLUMNS & set(build(only(base_frames())).columns)


def test_features_from_the_fixture_worked_by_hand():
    # adoption_review started 40 days ago, closed 10 days ago; save_plan started 5 days ago, open.
    frame = build(only(base_frames(), "plays"))
    a1, a2 = row(frame, "a1"), row(frame, "a2")
    assert (a1["play_active"], a1["plays_started_90d"], a1["days_since_play"]) == (1.0, 2.0, 5.0)
    assert (a2["play_active"], a2["plays_started_90d"]) == (0.0, 0.0)  # no plays: 0, not NaN
    assert pd.isna(a2["days_since_play"])


def test_a_play_started_on_or_after_as_of_does_not_exist():
    before = build(only(base_frames(), "plays"))
    future = [
        _play(day(0), play="exactly_on_as_of", closed_at=pd.NaT),
        _play(day(0) + pd.Timedelta(hours=6), play="later_that_day"),
        _play(day(30), play="next_month"),
    ]
    after = build(only(plant(base_frames(), "plays", future), "plays"))
    assert_same_features(before, after)


def test_a_play_closed_before_as_of_is_not_active_and_one_closed_on_as_of_still_is():
    closed_before = build(_plays(_play(day(-30), closed_at=day(-1))))
    closed_on = build(_plays(_play(day(-30), closed_at=day(0))))
    closed_later = build(_plays(_play(day(-30), closed_at=day(10))))
    assert row(closed_before)["play_active"] == 0.0
    assert row(closed_on)["play_active"] == 1.0
    assert row(closed_later)["play_active"] == 1.0
    # Closed or not, the play happened: it still counts in the window and in the recency.
    for frame in (closed_before, closed_on, closed_later):
        assert row(frame)["plays_started_90d"] == 1.0
        assert row(frame)["days_since_play"] == 30.0


def test_the_90_day_window_and_the_latest_start():
    frame = build(_plays(_play(day(-91)), _play(day(-90)), _play(day(-12), closed_at=day(-2))))
    r = row(frame)
    assert r["plays_started_90d"] == 2.0  # [as_of - 90 days, as_of): day -90 in, day -91 out
    assert r["days_since_play"] == 12.0
    assert r["play_active"] == 1.0  # the open play from day -91 is still running


def test_control_rows_are_held_back_not_plays_and_an_unarmed_row_is_a_play():
    control = build(_plays(_play(day(-3), arm="control", assignment="random")))
    assert (row(control)["play_active"], row(control)["plays_started_90d"]) == (0.0, 0.0)
    assert pd.isna(row(control)["days_since_play"])
    unarmed = build(_plays(_play(day(-3))))
    assert (row(unarmed)["play_active"], row(unarmed)["days_since_play"]) == (1.0, 3.0)
    # Arms are read case-insensitively, as every vocabulary.
    upper = build(_plays(_play(day(-3), arm="Treated")))
    assert row(upper)["play_active"] == 1.0


# -- validation -----------------------------------------------------------------------------------


def _defects(plays: pd.DataFrame) -> list:
    frames = only(base_frames())
    frames["plays"] = plays
    report = check(DataSource.from_frames(frames, data_end=DATA_END))
    return [d for d in report.defects if d.table == "plays"]


def _good(**columns: list) -> pd.DataFrame:
    base = {
        "account_id": ["a1", "a2"],
        "play": ["save_plan", "adoption_review"],
        "started_at": [day(-10), day(-5)],
        "owner": ["csm1", "csm2"],
        "arm": ["treated", "control"],
        "assignment": ["rule", "random"],
        "closed_at": [day(-1), pd.NaT],
        "note": ["call booked", "held back"],
    }
    return pd.DataFrame({**base, **columns})


def test_a_clean_plays_table_has_no_defects_and_an_open_play_is_not_an_empty_value():
    assert _defects(_good()) == []


def test_a_missing_required_column_blocks():
    defects = _defects(_good().drop(columns=["started_at"]))
    missing = [d for d in defects if d.column == "started_at"]
    assert len(missing) == 1 and missing[0].blocking
    assert missing[0].message == "required column is missing"


def test_unknown_arms_and_assignments_are_reported_with_an_example():
    defects = _defects(_good(arm=["treated", "holdout"], assignment=["auto", "random"]))
    by_column = {d.column: d for d in defects}
    assert by_column["arm"].rows == 1 and "holdout" in by_column["arm"].example
    assert "treated, control" in by_column["arm"].message
    assert by_column["assignment"].rows == 1 and "auto" in by_column["assignment"].example
    assert not by_column["arm"].blocking  # such rows count as no play, as any vocabulary


def test_a_play_closed_before_it_started_and_unreadable_dates():
    defects = _defects(_good(closed_at=[day(-20), "not a date"]))
    ordered = [d for d in defects if d.message == "closed_at is before started_at"]
    assert len(ordered) == 1 and ordered[0].rows == 1
    unreadable = [d for d in defects if "cannot be read" in d.message]
    assert [d.column for d in unreadable] == ["closed_at"] and unreadable[0].blocking


def test_orphan_plays_block_above_the_share_and_early_plays_warn():
    orphans = _defects(_good(account_id=["a1", "zz9"]))
    orphan = [d for d in orphans if d.message.startswith("orphan rows")]
    assert len(orphan) == 1 and orphan[0].blocking  # 1 of 2 rows: over the 20% default
    assert orphan[0].example == "account_id=zz9"
    early = _defects(_good(started_at=[T("2022-06-01"), day(-5)]))  # a1 was created 2023-01-01
    before_created = [d for d in early if "before the account was created" in d.message]
    assert len(before_created) == 1 and not before_created[0].blocking


@pytest.mark.parametrize("column", ["started_at", "closed_at"])
def test_dates_on_or_after_the_data_end_warn(column):
    late = pd.Timestamp(DATA_END) + pd.Timedelta(days=3)
    values = {"started_at": [day(-10), late], "closed_at": [day(-1), late]}[column]
    if column == "started_at":
        defects = _defects(_good(started_at=values, closed_at=[day(-1), pd.NaT]))
    else:
        defects = _defects(_good(closed_at=values))
    future = [d for d in defects if d.column == column and "data's end" in d.message]
    assert len(future) == 1 and not future[0].blocking
