"""Relationship features: who the account's contacts are, and how engaged they are.

Contacts (from `contacts`) exist for a snapshot once added before `as_of` and have left only when
`left_at < as_of`. Engagement (from `activities`) counts touches before `as_of`. Each table brings
its own columns: a missing one removes only its columns.
"""

from __future__ import annotations

import ibis.expr.types as ir

from features.source import DataSource
from features.windows import (
    SNAPSHOT_ID,
    attach,
    days,
    days_between,
    flag,
    in_window,
    latest_via_months,
    ratio,
)
from retain.config import Config

CONTACT_COUNTS = (
    "active_contacts",
    "champion_present",
    "champion_left_90d",
    "executive_sponsor_present",
    "decision_maker_present",
    "executive_sponsor_lost",
)
CONTACT_VALUES = ("days_since_champion_left", "days_since_sponsor_left")
ACTIVITY_COUNTS = ("meetings_90d", "qbrs_180d", "emails_out_90d")
ACTIVITY_VALUES = ("outreach_response_rate_90d", "days_since_last_touch")


# -- contacts added before as_of (`c`) -----------------------------------------------------------


def _active(c: ir.Table) -> ir.BooleanValue:
    return c.left_at.isnull() | (c.left_at >= c.as_of)


def _left_before(c: ir.Table) -> ir.BooleanValue:
    return c.left_at < c.as_of


def _present(c: ir.Table, role: str) -> ir.Value:
    return flag(c.count(where=_active(c) & (c.role == role)) > 0)


def active_contacts(c: ir.Table) -> ir.Value:
    return c.count(where=_active(c))


def champion_present(c: ir.Table) -> ir.Value:
    return _present(c, "champion")


def executive_sponsor_present(c: ir.Table) -> ir.Value:
    return _present(c, "executive_sponsor")


def decision_maker_present(c: ir.Table) -> ir.Value:
    return _present(c, "decision_maker")


def champion_left_90d(c: ir.Table) -> ir.Value:
    left = _left_before(c) & (c.left_at >= c.as_of - days(90)) & (c.role == "champion")
    return flag(c.count(where=left) > 0)


def days_since_champion_left(c: ir.Table) -> ir.Value:
    last_left = c.left_at.max(where=_left_before(c) & (c.role == "champion"))
    return days_between(c.as_of.max(), last_left)


def days_since_sponsor_left(c: ir.Table) -> ir.Value:
    last_left = c.left_at.max(where=_left_before(c) & (c.role == "executive_sponsor"))
    return days_between(c.as_of.max(), last_left)


def executive_sponsor_lost(c: ir.Table) -> ir.Value:
    """1.0 when the account had an executive sponsor who left and none is in place now.

    Distinguishes a lost sponsor (a relationship gap) from an account that never had one.
    """
    sponsor = c.role == "executive_sponsor"
    had_one = c.count(where=_left_before(c) & sponsor) > 0
    has_one = c.count(where=_active(c) & sponsor) > 0
    return flag(had_one & ~has_one)


CONTACT_FEATURES = (
    active_contacts,
    champion_present,
    champion_left_90d,
    days_since_champion_left,
    executive_sponsor_present,
    decision_maker_present,
    executive_sponsor_lost,
    days_since_sponsor_left,
)


# -- activities in the last 90 days (`a`; QBRs: 180 days) ----------------------------------------


def _within(a: ir.Table, n: int) -> ir.BooleanValue:
    return a.timestamp >= a.as_of - days(n)


def meetings_90d(a: ir.Table) -> ir.Value:
    return a.count(where=_within(a, 90) & (a.type == "meeting"))


def qbrs_180d(a: ir.Table) -> ir.Value:
    return a.count(where=a.type == "qbr")


def emails_out_90d(a: ir.Table) -> ir.Value:
    return a.count(where=_within(a, 90) & (a.type == "email_out"))


def emails_in_90d(a: ir.Table) -> ir.Value:
    return a.count(where=_within(a, 90) & (a.type == "email_in"))


ACTIVITY_AGGREGATES = (meetings_90d, emails_out_90d, emails_in_90d)  # from the 90-day window


def outreach_response_rate_90d(s: ir.Table) -> ir.Value:
    return ratio(s.emails_in_90d.fill_null(0), s.emails_out_90d.fill_null(0))


def days_since_last_touch(s: ir.Table) -> ir.Value:
    return days_between(s.as_of, s.last_touch)


def relationship_features(spine: ir.Table, source: DataSource, config: Config) -> ir.Table | None:
    parts, counts, values = [], [], []
    if source.has("contacts"):
        contacts = source.table("contacts").select("account_id", "role", "added_at", "left_at")
        c = in_window(spine, contacts, "added_at")
        parts.append(
            c.group_by(SNAPSHOT_ID).aggregate(**{fn.__name__: fn(c) for fn in CONTACT_FEATURES})
        )
        counts += CONTACT_COUNTS
        values += CONTACT_VALUES
    if source.has("activities"):
        activities = source.table("activities").select("account_id", "timestamp", "type")
        # Every count but the QBRs looks back 90 days: only the QBRs meet 180 days of
        # snapshots (at 100k accounts, half the joined rows of one 180-day join for all).
        a = in_window(spine, activities, "timestamp", 90)
        touches = a.group_by(SNAPSHOT_ID).aggregate(
            _recent=a.timestamp.max(), **{fn.__name__: fn(a) for fn in ACTIVITY_AGGREGATES}
        )
        q = in_window(spine, activities.filter(activities.type == "qbr"), "timestamp", 180)
        qbrs = q.group_by(SNAPSHOT_ID).aggregate(qbrs_180d=qbrs_180d(q))
        last = latest_via_months(spine, touches, activities, "timestamp", "last_touch")
        s = (
            spine.select(SNAPSHOT_ID, "as_of")
            .left_join(touches.drop("_recent"), SNAPSHOT_ID)
            .drop(f"{SNAPSHOT_ID}_right")
            .left_join(qbrs, SNAPSHOT_ID)
            .drop(f"{SNAPSHOT_ID}_right")
            .left_join(last, SNAPSHOT_ID)
            .drop(f"{SNAPSHOT_ID}_right")
        )
        s = s.mutate(
            outreach_response_rate_90d=outreach_response_rate_90d(s),
            days_since_last_touch=days_since_last_touch(s),
        )
        parts.append(s.select(SNAPSHOT_ID, *ACTIVITY_COUNTS, *ACTIVITY_VALUES))
        counts += ACTIVITY_COUNTS
        values += ACTIVITY_VALUES
    if not parts:
        return None
    per_snapshot = spine.select(SNAPSHOT_ID)
    for part in parts:
        per_snapshot = per_snapshot.left_join(part, SNAPSHOT_ID).drop(f"{SNAPSHOT_ID}_right")
    return attach(spine, per_snapshot, counts=counts, values=values)
