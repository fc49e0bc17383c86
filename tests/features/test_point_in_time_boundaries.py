"""Point in time at its boundary, every table at once, at several as_of dates.

For each as_of date A, rows are planted in every table exactly ON A (an event at midnight, a
ticket resolved on A, a champion leaving on A, a milestone achieved on A, a survey, a play
started on A and one closed on A, a handoff revision, a contract and an account starting on A)
and later the same day and after it. The planted rows of an early A are history for a later
one, so each build mixes past and future rows of every kind.

The property (BRIEF, Labels and snapshots): every feature at A equals the same build on the data
cut strictly before A, the data as it stood at A. The data is written to parquet files and read
back through `DataSource.open`, the path `retain features` takes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.build import build_features
from features.frame import feature_columns
from features.source import DataSource
from retain.config import Config
from tests.features.fixtures_data import AS_OF, DATA_END, base_frames

H = pd.Timedelta(hours=1)
D = pd.Timedelta(days=1)
# A month start, a mid-month day and the fixture's own as_of: the windows of the usage day
# blocks (`features.windows.BLOCK_DAYS` each) start at different offsets from each.
AS_OFS = (pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-17"), AS_OF)
# After every planted row: the planted data must change features here, else the test is blind.
SENTINEL = AS_OF + 10 * D

# The column holding a row's time per table: a row at or after the cut does not exist yet.
EVENT_TIME = {
    "accounts": "created_at",
    "contracts": "start_date",
    "usage": "timestamp",
    "tickets": "created_at",
    "contacts": "added_at",
    "activities": "timestamp",
    "surveys": "timestamp",
    "plays": "started_at",
    "handoffs": "handed_off_at",
    # milestones: the plan (row, due date) is known in advance; only achievement is an event.
}
# Facts that happen later to a row that already exists: erased when on or after the cut.
LATER_FACTS = {
    "tickets": ("resolved_at", ("resolved_at", "csat")),
    "contacts": ("left_at", ("left_at",)),
    "milestones": ("achieved_at", ("achieved_at",)),
    "plays": ("closed_at", ("closed_at",)),
}
FULL_HANDOFF = {
    "business_outcome": "grow",
    "success_criteria": "weekly use",
    "champion_named": True,
    "commitments": "SSO",
    "timeline": "Q3",
    "owner": "ae9",
}


def planted(a: pd.Timestamp) -> dict[str, list[dict]]:
    """Rows exactly on `a`, later that day and a few days after it, in every table."""
    tag = f"{a:%m%d}"
    return {
        "accounts": [{"account_id": f"new_{tag}", "created_at": a, "industry": "retail"}],
        "contracts": [
            # An upsell of a1 starting on a: its ARR and seats are not known at a.
            {
                "contract_id": f"up_{tag}",
                "account_id": "a1",
                "start_date": a,
                "end_date": pd.Timestamp("2025-01-01"),
                "arr": 5_000.0,
                "seats": 15.0,
            },
            # A new account whose first term starts on a: not in a's spine at all.
            {
                "contract_id": f"new_{tag}",
                "account_id": f"new_{tag}",
                "start_date": a,
                "end_date": a + 365 * D,
                "arr": 9_000.0,
                "seats": 5.0,
            },
        ],
        "usage": [
            {"account_id": "a1", "timestamp": a, "event": "login", "user_id": "u1"},
            {"account_id": "a1", "timestamp": a, "event": "export", "user_id": f"n{tag}"},
            {"account_id": "a1", "timestamp": a + 9 * H, "event": "login", "user_id": "u2"},
            {"account_id": "a2", "timestamp": a, "event": "login", "user_id": f"b{tag}"},
            {"account_id": "a2", "timestamp": a + 3 * D, "event": "login", "user_id": "b0"},
        ],
        "tickets": [
            {  # opened before a, resolved exactly on a: still open at a, its CSAT unknown
                "ticket_id": f"r_{tag}",
                "account_id": "a1",
                "created_at": a - 3 * D,
                "resolved_at": a,
                "priority": "urgent",
                "escalated": True,
                "csat": 1.0,
            },
            {
                "ticket_id": f"o_{tag}",
                "account_id": "a1",
                "created_at": a,
                "resolved_at": a + 2 * H,
                "priority": "high",
                "escalated": True,
                "csat": 2.0,
            },
            {
                "ticket_id": f"b_{tag}",
                "account_id": "a2",
                "created_at": a - 10 * D,
                "resolved_at": a + 2 * D,
                "priority": "low",
                "escalated": False,
                "csat": 5.0,
            },
        ],
        "contacts": [
            {  # a champion leaving exactly on a is still there at a
                "contact_id": f"l_{tag}",
                "account_id": "a1",
                "role": "champion",
                "added_at": a - 200 * D,
                "left_at": a,
            },
            {
                "contact_id": f"s_{tag}",
                "account_id": "a1",
                "role": "executive_sponsor",
                "added_at": a,
                "left_at": pd.NaT,
            },
            {
                "contact_id": f"b_{tag}",
                "account_id": "a2",
                "role": "champion",
                "added_at": a - 100 * D,
                "left_at": a + 5 * D,
            },
        ],
        "activities": [
            {"account_id": "a1", "timestamp": a, "type": "qbr"},
            {"account_id": "a1", "timestamp": a + H, "type": "meeting"},
            {"account_id": "a2", "timestamp": a, "type": "email_out"},
        ],
        "milestones": [
            # due before a, achieved exactly on a: overdue at a, not done
            {
                "account_id": "a1",
                "milestone": f"review_{tag}",
                "due_date": a - 5 * D,
                "achieved_at": a,
            },
            {"account_id": "a2", "milestone": "first_value", "due_date": a, "achieved_at": a},
            {
                "account_id": "a2",
                "milestone": f"rollout_{tag}",
                "due_date": a + 20 * D,
                "achieved_at": a + D,
            },
        ],
        "surveys": [
            {"account_id": "a1", "timestamp": a, "kind": "nps", "score": 0.0},
            {"account_id": "a2", "timestamp": a + 2 * H, "kind": "csat", "score": 1.0},
        ],
        "plays": [
            {
                "account_id": "a1",
                "play": f"started_{tag}",
                "started_at": a,
                "owner": "csm1",
                "arm": "treated",
                "assignment": "rule",
                "closed_at": pd.NaT,
                "note": "",
            },
            {  # closed exactly on a: still running at a
                "account_id": "a2",
                "play": "save_plan",
                "started_at": a - 20 * D,
                "owner": "csm2",
                "arm": "control",
                "assignment": "random",
                "closed_at": a,
                "note": "",
            },
        ],
        "handoffs": [
            {"account_id": "a1", "handed_off_at": a, **FULL_HANDOFF},
            {"account_id": "a2", "handed_off_at": a, **FULL_HANDOFF, "timeline": None},
            {"account_id": "a2", "handed_off_at": a + 6 * H, **FULL_HANDOFF},
        ],
    }


def full_frames() -> dict[str, pd.DataFrame]:
    frames = base_frames()
    for a in AS_OFS:
        for table, rows in planted(a).items():
            frames[table] = pd.concat([frames[table], pd.DataFrame(rows)], ignore_index=True)
    return frames


def cut_before(frames: dict[str, pd.DataFrame], cut: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The data as it stood at `cut`: rows and later facts from `cut` on do not exist yet."""
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        if name in EVENT_TIME:
            frame = frame[pd.to_datetime(frame[EVENT_TIME[name]]) < cut]
        if name in LATER_FACTS:
            when, columns = LATER_FACTS[name]
            later = pd.to_datetime(frame[when]) >= cut
            for column in columns:
                frame[column] = frame[column].where(~later)
        out[name] = frame.reset_index(drop=True)
    return out


def write(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def build(folder: Path, as_of: list[pd.Timestamp]) -> pd.DataFrame:
    source = DataSource.open(folder, data_end=DATA_END)
    return build_features(source, Config(), as_of=[str(a.date()) for a in as_of])


def features_of(frame: pd.DataFrame, when: pd.Timestamp) -> pd.DataFrame:
    columns = ["account_id", "as_of", "segment", *feature_columns(frame)]
    rows = frame[frame["as_of"] == when].sort_values("account_id")
    return rows[columns].reset_index(drop=True)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = write(full_frames(), tmp_path_factory.mktemp("pit") / "full")
    return build(folder, [*AS_OFS, SENTINEL])


@pytest.mark.parametrize("as_of", AS_OFS, ids=lambda a: str(a.date()))
def test_every_feature_equals_the_build_on_data_cut_strictly_before_as_of(full, as_of, tmp_path):
    past = build(write(cut_before(full_frames(), as_of), tmp_path / "cut"), [as_of])
    seen = features_of(full, as_of)
    # An account whose first term starts on or after as_of is not in the snapshot.
    started = [f"new_{a:%m%d}" for a in AS_OFS if a < as_of]
    assert seen["account_id"].tolist() == ["a1", "a2", *started]
    assert feature_columns(full) == feature_columns(past)
    pd.testing.assert_frame_equal(seen, features_of(past, as_of))


def test_the_planted_rows_are_read_once_they_are_in_the_past(full, tmp_path):
    """Without this the property above could hold because nothing planted is ever read."""
    base = build(write(base_frames(), tmp_path / "base"), [SENTINEL])
    before, after = features_of(base, SENTINEL), features_of(full, SENTINEL)
    assert set(after["account_id"]) == {"a1", "a2", *(f"new_{a:%m%d}" for a in AS_OFS)}
    after = after[after["account_id"].isin(["a1", "a2"])].reset_index(drop=True)
    changed = {c for c in feature_columns(full) if not before[c].equals(after[c])}
    # One column per family fed by a planted table (names from the families' own code).
    for column in (
        "seats",  # contracts: the upsells started on each as_of
        "tickets_90d",
        "active_contacts",
        "meetings_90d",
        "nps_last",
        "milestones_done",
        "plays_started_90d",
        "handoff_completeness",
        "events_28d",
    ):
        assert column in changed, (column, sorted(changed))
