"""Usage rows without a user or an event: counted as events, never as a user or a feature.

The usage aggregates keep the blocks of a NULL user or event and `usage_features` drops them
when it reads them; these rows pin that split down (a blank user id is NULL in the canonical
view, so it is no user either).
"""

from __future__ import annotations

import pandas as pd

from tests.features.fixtures_data import base_frames, build, day, only, row


def _rows(*rows: tuple[int, str | None, str | None]) -> pd.DataFrame:
    """(days back from as_of, event, user) rows of account a1, at 09:00."""
    return pd.DataFrame(
        [
            {
                "account_id": "a1",
                "timestamp": day(-back) + pd.Timedelta(hours=9),
                "event": event,
                "user_id": user,
            }
            for back, event, user in rows
        ]
    )


def test_rows_without_a_user_or_an_event_count_as_events_only():
    frames = base_frames()
    frames["usage"] = _rows(
        (1, "login", "u1"),
        (2, "login", None),
        (3, "export", "  "),  # blank: no user
        (5, None, "u2"),  # no event: u2 is active, but uses no feature
        (40, None, None),  # older than 28 days: in the 90 days only as an event
    )
    r = row(build(only(frames, "usage")))
    assert r["events_28d"] == 4
    assert r["active_users_7d"] == 2  # u1, u2
    assert r["active_users_28d"] == 2
    assert r["active_users_90d"] == 2
    assert r["features_used_28d"] == 2  # login, export
    assert r["days_since_last_activity"] == 1.0
    # 12 weeks: u1 and u2 both in the week before as_of only.
    assert r["weekly_stickiness_12w"] == 1 / 12


def test_an_account_whose_rows_have_no_user_has_no_active_users_but_its_events():
    frames = base_frames()
    frames["usage"] = _rows((3, "login", None), (10, None, None), (100, "login", None))
    r = row(build(only(frames, "usage")))
    assert r["events_28d"] == 2
    assert r["active_users_28d"] == 0
    assert r["active_users_90d"] == 0
    assert r["features_used_28d"] == 1
    assert r["days_since_last_activity"] == 3.0
    assert pd.isna(r["weekly_stickiness_12w"])  # no user in 12 weeks: undefined, not 0
