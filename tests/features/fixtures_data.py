"""Tiny hand-built account data for the feature tests.

Two accounts: `a1` has rows in every table around `AS_OF`; `a2` has only a contract. Tests copy
the frames, plant rows, and compare the features before and after.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import pandas as pd

from features.build import build_features
from features.frame import feature_columns
from features.source import DataSource
from retain.config import Config

AS_OF = pd.Timestamp("2024-06-01")
DATA_END = "2025-06-01"
T = pd.Timestamp


def day(offset: int) -> pd.Timestamp:
    """AS_OF shifted by `offset` days."""
    return AS_OF + pd.Timedelta(days=offset)


def base_frames() -> dict[str, pd.DataFrame]:
    usage_rows = []
    for back in range(1, 100):
        when = day(-back) + pd.Timedelta(hours=9)
        usage_rows.append(("a1", when, "report_created", "u1"))
        if back <= 40:
            usage_rows.append(("a1", when, "login", "u2"))
    return {
        "accounts": pd.DataFrame(
            {
                "account_id": ["a1", "a2"],
                "created_at": [T("2023-01-01"), T("2023-06-01")],
                "industry": ["software", "retail"],
                "region": ["emea", "na"],
                "employees": [120, 15],
                "csm_id": ["csm1", "csm2"],
            }
        ),
        "contracts": pd.DataFrame(
            {
                "contract_id": ["c1", "c2", "c3"],
                "account_id": ["a1", "a1", "a2"],
                "start_date": [T("2023-01-01"), T("2024-01-01"), T("2023-06-01")],
                "end_date": [T("2024-01-01"), T("2025-01-01"), T("2024-09-01")],
                "arr": [20_000.0, 30_000.0, 150_000.0],
                "seats": [10.0, 20.0, 100.0],
            }
        ),
        "usage": pd.DataFrame(usage_rows, columns=["account_id", "timestamp", "event", "user_id"]),
        "tickets": pd.DataFrame(
            {
                "ticket_id": ["t1", "t2", "t3"],
                "account_id": ["a1", "a1", "a1"],
                "created_at": [day(-60), day(-20), day(-5)],
                "resolved_at": [day(-58), day(-19), pd.NaT],
                "priority": ["urgent", "low", "high"],
                "escalated": [True, False, True],
                "csat": [2.0, 4.0, None],
            }
        ),
        "contacts": pd.DataFrame(
            {
                "contact_id": ["k1", "k2", "k3"],
                "account_id": ["a1", "a1", "a1"],
                "role": ["champion", "executive_sponsor", "champion"],
                "added_at": [T("2023-01-01"), T("2023-01-01"), T("2023-02-01")],
                "left_at": [day(-30), pd.NaT, pd.NaT],
            }
        ),
        "activities": pd.DataFrame(
            {
                "account_id": ["a1"] * 4,
                "timestamp": [day(-100), day(-40), day(-10), day(-9)],
                "type": ["qbr", "meeting", "email_out", "email_out"],
            }
        ),
        "milestones": pd.DataFrame(
            {
                "account_id": ["a1", "a1", "a1"],
                "milestone": ["kickoff", "first_value", "integration"],
                "due_date": [T("2023-01-15"), T("2023-02-15"), T("2023-03-01")],
                "achieved_at": [T("2023-01-10"), T("2023-03-02"), pd.NaT],
            }
        ),
        "surveys": pd.DataFrame(
            {
                "account_id": ["a1"] * 3,
                "timestamp": [day(-200), day(-50), day(-25)],
                "kind": ["nps", "nps", "csat"],
                "score": [9.0, 6.0, 3.0],
            }
        ),
        "plays": pd.DataFrame(
            {
                "account_id": ["a1", "a1"],
                "play": ["adoption_review", "save_plan"],
                "started_at": [day(-40), day(-5)],
                "owner": ["csm1", "csm1"],
                "arm": ["treated", "treated"],
                "assignment": ["rule", "rule"],
                "closed_at": [day(-10), pd.NaT],
                "note": ["", "renewal at risk"],
            }
        ),
        # Two revisions of a1's handoff; the latest (day -20) has five of the six fields.
        "handoffs": pd.DataFrame(
            {
                "account_id": ["a1", "a1"],
                "handed_off_at": [day(-150), day(-20)],
                "business_outcome": ["cut close time", "cut close time"],
                "success_criteria": [None, "close in 5 days"],
                "champion_named": [False, True],
                "commitments": ["", "SSO by Q3"],
                "timeline": [None, None],
                "owner": ["ae1", "ae1"],
            }
        ),
    }


@functools.cache
def base_build() -> pd.DataFrame:
    """The features of the untouched base data at AS_OF (built once per test process)."""
    return build(base_frames())


def only(frames: dict[str, pd.DataFrame], *tables: str) -> dict[str, pd.DataFrame]:
    """The required tables plus `tables` (smaller sources build faster)."""
    return {name: frames[name] for name in ("accounts", "contracts", *tables)}


@functools.cache
def core_columns() -> frozenset[str]:
    """Columns of a build from the required tables alone."""
    return frozenset(build(only(base_frames())).columns)


def added_columns(*tables: str) -> set[str]:
    """The columns that `tables` add to a build of the required tables."""
    return set(build(only(base_frames(), *tables)).columns) - core_columns()


def plant(frames: dict[str, pd.DataFrame], table: str, rows: list[dict]) -> dict:
    """A copy of `frames` with `rows` appended to `table` (the input frames are not touched)."""
    copy = {name: frame.copy() for name, frame in frames.items()}
    copy[table] = pd.concat([copy[table], pd.DataFrame(rows)], ignore_index=True)
    return copy


def build(
    frames: dict[str, pd.DataFrame],
    as_of: Sequence[pd.Timestamp | str] = (AS_OF,),
    config: Config | None = None,
    data_end: str = DATA_END,
    **kwargs: object,
) -> pd.DataFrame:
    source = DataSource.from_frames(frames, data_end=data_end)
    return build_features(source, config or Config(), as_of=list(as_of), **kwargs)  # type: ignore[arg-type]


def row(frame: pd.DataFrame, account_id: str = "a1") -> pd.Series:
    matches = frame[frame["account_id"] == account_id]
    assert len(matches) == 1, matches
    return matches.iloc[0]


def assert_same_features(before: pd.DataFrame, after: pd.DataFrame) -> None:
    columns = feature_columns(before)
    assert columns == feature_columns(after)
    pd.testing.assert_frame_equal(
        before[["account_id", "as_of", "segment", *columns]].reset_index(drop=True),
        after[["account_id", "as_of", "segment", *columns]].reset_index(drop=True),
    )
