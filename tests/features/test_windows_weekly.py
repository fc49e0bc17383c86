"""`weekly_activity` reads each key's weeks and window from its day blocks exactly: seeded
random active days of a few users, snapshots at month starts and at any instant, checked
against a brute force over every (snapshot, user, day) in pandas, for several layouts."""

import ibis
import numpy as np
import pandas as pd
import pytest

from features.source import DataSource
from features.windows import BLOCK_DAYS, SNAPSHOT_ID, materialize, weekly_activity

T = pd.Timestamp
ORIGIN = T("2024-01-01")


def _active_days(rng: np.random.Generator) -> pd.DataFrame:
    """(account, user, day number from ORIGIN), days 0..299, some users active in bursts."""
    rows = []
    for account in ("a", "b"):
        for user in ("u1", "u2", "u3", "u4"):
            density = rng.uniform(0.02, 0.5)
            days = np.flatnonzero(rng.random(300) < density)
            rows += [(account, user, int(d)) for d in days]
    return pd.DataFrame(rows, columns=["account_id", "user_id", "day"])


def _blocks(active: pd.DataFrame) -> pd.DataFrame:
    offset = (active["day"] % BLOCK_DAYS).to_numpy()
    active = active.assign(block=active["day"] // BLOCK_DAYS, bit=np.left_shift(1, offset))
    grouped = active.groupby(["account_id", "user_id", "block"])["bit"]
    return (
        grouped.agg(lambda bits: int(np.bitwise_or.reduce(bits.to_numpy())))
        .rename("days")
        .reset_index()
    )


def _spine(rng: np.random.Generator) -> pd.DataFrame:
    as_of = list(pd.date_range("2024-02-01", periods=9, freq="MS"))
    as_of += list(ORIGIN + pd.to_timedelta(rng.integers(1, 320 * 86_400, size=20), unit="s"))
    frame = pd.DataFrame(
        [(account, t) for account in ("a", "b") for t in as_of], columns=["account_id", "as_of"]
    )
    frame.insert(0, SNAPSHOT_ID, np.arange(len(frame), dtype="int64"))
    return frame


def _expected(spine: pd.DataFrame, active: pd.DataFrame, weeks: int, window_days: int):
    pairs = spine.merge(active, on="account_id")
    as_of_day = (pairs["as_of"].dt.normalize() - ORIGIN).dt.days
    age = as_of_day - pairs["day"]  # 1 for the day before as_of
    inside = (age >= 1) & (age <= window_days)
    pairs = pairs[inside].assign(age=age[inside])
    out = {}
    for (snapshot, user), rows in pairs.groupby([SNAPSHOT_ID, "user_id"]):
        bits = 0
        for k in range(weeks):
            if ((rows["age"] > 7 * k) & (rows["age"] <= 7 * (k + 1))).any():
                bits |= 1 << k
        out[(snapshot, user)] = (bits, True)
    return out


@pytest.mark.parametrize(("weeks", "window_days"), [(12, 90), (4, 28), (8, 118), (1, 69)])
def test_weekly_activity_equals_a_brute_force(weeks, window_days):
    rng = np.random.default_rng(weeks * 1000 + window_days)
    active = _active_days(rng)
    spine_frame = _spine(rng)
    source = DataSource.from_frames(
        {"accounts": pd.DataFrame({"account_id": ["a", "b"], "created_at": ORIGIN})}
    )
    spine = materialize(source, ibis.memtable(spine_frame), "test_spine")
    blocks = materialize(source, ibis.memtable(_blocks(active)), "test_blocks")
    result = weekly_activity(
        source, spine, blocks, "user_id", weeks, window_days, ORIGIN
    ).to_pandas()
    got = {
        (s, u): (int(w), bool(a))
        for s, u, w, a in zip(
            result[SNAPSHOT_ID],
            result["user_id"],
            result["weeks"],
            result["active_in_window"],
            strict=True,
        )
    }
    expected = _expected(spine_frame, active, weeks, window_days)
    assert len(expected) > 50
    # A block can overlap the window with all its active days outside: that key is inactive.
    assert {k: v for k, v in got.items() if v != (0, False)} == expected
