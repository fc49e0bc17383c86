"""The bucketed window joins (`in_window`, `blocks_in_window`) pair exactly the rows a plain
range join would, and `latest_via_months` finds the latest event before as_of: seeded random
events and snapshots at any time of day, checked against a brute force over every pair in
pandas."""

import ibis
import numpy as np
import pandas as pd
import pytest

from features.source import DataSource
from features.windows import (
    BLOCK_DAYS,
    SNAPSHOT_ID,
    blocks_in_window,
    in_window,
    latest_via_months,
    materialize,
)

T = pd.Timestamp
START = T("2023-11-20")


def _source(
    rng: np.random.Generator, quiet_from: pd.Timestamp | None = None
) -> tuple[DataSource, pd.DataFrame]:
    """Random activities of three accounts; with `quiet_from`, account c has none from then."""
    accounts = pd.DataFrame({"account_id": ["a", "b", "c"], "created_at": START})
    contracts = pd.DataFrame(
        {
            "contract_id": ["c1", "c2", "c3"],
            "account_id": ["a", "b", "c"],
            "start_date": START,
            "end_date": T("2026-01-01"),
            "arr": 1.0,
        }
    )
    seconds = rng.integers(0, 400 * 86_400, size=600)
    activities = pd.DataFrame(
        {
            "account_id": rng.choice(["a", "b", "c"], size=600),
            "timestamp": START + pd.to_timedelta(seconds, unit="s"),
            "type": "call",
        }
    )
    # Events on exact day boundaries too, where an off-by-one bucket would show.
    midnights = START + pd.to_timedelta(rng.integers(0, 400, size=100), unit="D")
    activities = pd.concat(
        [activities, pd.DataFrame({"account_id": "a", "timestamp": midnights, "type": "call"})],
        ignore_index=True,
    )
    if quiet_from is not None:
        quiet = (activities["account_id"] == "c") & (activities["timestamp"] >= quiet_from)
        activities = activities[~quiet].reset_index(drop=True)
    frames = {"accounts": accounts, "contracts": contracts, "activities": activities}
    return DataSource.from_frames(frames), activities


def _spine(source: DataSource, rng: np.random.Generator) -> tuple[ibis.Table, pd.DataFrame]:
    # Month starts and arbitrary instants, as explicit as_of dates or renewal spines give.
    as_of = list(pd.date_range("2024-03-01", periods=9, freq="MS"))
    as_of += list(START + pd.to_timedelta(rng.integers(90, 400 * 86_400, size=15), unit="s"))
    frame = pd.DataFrame(
        [(account, t) for account in ("a", "b", "c") for t in as_of],
        columns=["account_id", "as_of"],
    )
    frame.insert(0, "snapshot_id", np.arange(len(frame), dtype="int64"))
    return materialize(source, ibis.memtable(frame), "test_spine"), frame


@pytest.mark.parametrize("window_days", [1, 7, 28, 90, 180])
def test_in_window_pairs_what_a_range_join_pairs(window_days):
    rng = np.random.default_rng(window_days)
    source, activities = _source(rng)
    spine, spine_frame = _spine(source, rng)
    joined = in_window(spine, source.table("activities"), "timestamp", window_days).to_pandas()
    got = sorted(zip(joined["snapshot_id"], pd.to_datetime(joined["timestamp"]), strict=True))

    pairs = spine_frame.merge(activities, on="account_id")
    inside = (pairs["timestamp"] < pairs["as_of"]) & (
        pairs["timestamp"] >= pairs["as_of"] - pd.Timedelta(days=window_days)
    )
    expected = sorted(
        zip(pairs.loc[inside, "snapshot_id"], pairs.loc[inside, "timestamp"], strict=True)
    )
    assert len(expected) > 0
    assert got == expected


@pytest.mark.parametrize("window_days", [7, 28, 90])
def test_blocks_in_window_pairs_every_overlapping_block(window_days):
    rng = np.random.default_rng(100 + window_days)
    source, _ = _source(rng)
    spine, spine_frame = _spine(source, rng)
    origin = T("2023-12-01")
    blocks = pd.DataFrame(
        [(account, block) for account in ("a", "b", "c") for block in range(0, 14)],
        columns=["account_id", "block"],
    )
    blocks["days"] = 1
    joined = blocks_in_window(spine, ibis.memtable(blocks), window_days, origin).to_pandas()
    got = sorted(zip(joined["snapshot_id"], joined["block"], strict=True))

    pairs = spine_frame.merge(blocks, on="account_id")
    as_of_day = (pairs["as_of"].dt.normalize() - origin).dt.days
    start = pairs["block"] * BLOCK_DAYS
    overlaps = (start < as_of_day) & (start + BLOCK_DAYS > as_of_day - window_days)
    expected = sorted(
        zip(pairs.loc[overlaps, "snapshot_id"], pairs.loc[overlaps, "block"], strict=True)
    )
    assert len(expected) > 0
    assert got == expected


@pytest.mark.parametrize("window_days", [31, 45, 180])
def test_latest_via_months_is_the_latest_event_before_as_of(window_days):
    rng = np.random.default_rng(200 + window_days)
    source, activities = _source(rng, quiet_from=T("2024-02-01"))
    spine, spine_frame = _spine(source, rng)
    events = source.table("activities")
    window = in_window(spine, events, "timestamp", window_days)
    recent = window.group_by(SNAPSHOT_ID).aggregate(_recent=window.timestamp.max())
    latest = latest_via_months(spine, recent, events, "timestamp", "latest").to_pandas()
    got = dict(zip(latest[SNAPSHOT_ID], pd.to_datetime(latest["latest"]), strict=True))

    pairs = spine_frame.merge(activities, on="account_id")
    before = pairs[pairs["timestamp"] < pairs["as_of"]]
    expected = before.groupby(SNAPSHOT_ID)["timestamp"].max()
    assert set(got) == set(spine_frame[SNAPSHOT_ID])
    assert {k: v for k, v in got.items() if not pd.isna(v)} == expected.to_dict()
    # Some snapshots have nothing in the window but older events: the months path is used.
    in_window_ids = set(recent.to_pandas()[SNAPSHOT_ID])
    assert set(expected.index) - in_window_ids
