"""Usage features: active users, depth and breadth of use, trends, drops, seat utilization.

Raw usage can hold hundreds of millions of rows, so it is aggregated first and never joined to
the spine: per account and day (event totals), and per account-user and account-event as day
blocks (a bit mask of active days per 32-day block, see `features.windows.day_blocks`), which
are a small fraction of the raw rows. Every window is computed from those aggregates.

Weekly activity of each user is kept as a 12-bit mask (bit k: active in
`[as_of - 7(k+1) days, as_of - 7k days)`), from which the 7-day, 28-day, prior-28-day and
12-week counts all follow.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from features.commercial import known_contracts
from features.commercial import seats as seats_in_force
from features.source import DataSource
from features.windows import (
    SNAPSHOT_ID,
    age_days,
    attach,
    blocks_in_window,
    change_pct,
    day_blocks,
    days_between,
    flag,
    in_window,
    latest_before,
    materialize,
    nan_as_null,
    ratio,
    weekly_activity,
    window_hit,
)
from retain.config import Config

WINDOW_DAYS = 90  # the longest usage window; the aggregates never need older rows
BREADTH_DAYS = 28
WEEKS = 12
# Every x (week index, oldest 0 .. newest 11) minus its mean, and the sum of their squares: the
# least-squares slope is sum((x - mean) * y) / sum((x - mean) ** 2).
_X_CENTERED = tuple(x - (WEEKS - 1) / 2 for x in range(WEEKS))
_X_SUM_SQUARES = sum(x * x for x in _X_CENTERED)


def account_days(usage: ir.Table, key_events: tuple[str, ...]) -> ir.Table:
    """Per account and day: all events, and key events (every event when none are named)."""
    count = nan_as_null(usage["count"])
    is_key = usage.event.isin(key_events) if key_events else ibis.literal(True)
    usage = usage.mutate(day=usage.timestamp.truncate("D"), _count=count, _is_key=is_key)
    return usage.group_by(["account_id", "day"]).aggregate(
        events=usage._count.sum(),
        key_events=usage._count.sum(where=usage._is_key).fill_null(0.0),
    )


# -- per snapshot, from the account-day totals in the window (`d`, with `age` in days) ------------


def events_28d(d: ir.Table) -> ir.Value:
    return d.events.sum(where=d.age <= 28)


def events_prior_28d(d: ir.Table) -> ir.Value:
    return d.events.sum(where=(d.age > 28) & (d.age <= 56))


def key_events_28d(d: ir.Table) -> ir.Value:
    return d.key_events.sum(where=d.age <= 28)


def key_events_prior_28d(d: ir.Table) -> ir.Value:
    return d.key_events.sum(where=(d.age > 28) & (d.age <= 56))


def events_14d(d: ir.Table) -> ir.Value:
    return d.events.sum(where=d.age <= 14)


def events_prior_14d(d: ir.Table) -> ir.Value:
    return d.events.sum(where=(d.age > 14) & (d.age <= 28))


DAY_AGGREGATES = (
    events_28d,
    events_prior_28d,
    key_events_28d,
    key_events_prior_28d,
    events_14d,
    events_prior_14d,
)


# -- per snapshot, from each user's weekly activity mask (`u`) -------------------------------------


def _active_in(u: ir.Table, weeks_mask: int) -> ir.Value:
    return ((u.weeks & weeks_mask) != 0).sum()


def active_users_7d(u: ir.Table) -> ir.Value:
    return _active_in(u, 0b1)


def active_users_28d(u: ir.Table) -> ir.Value:
    return _active_in(u, 0b1111)


def active_users_prior_28d(u: ir.Table) -> ir.Value:
    return _active_in(u, 0b1111_0000)


def active_users_90d(u: ir.Table) -> ir.Value:
    return u.count(where=u.active_90d)


def _weekly_active_users(u: ir.Table, weeks_ago: int) -> ir.Value:
    return ((u.weeks >> weeks_ago) & 1).sum()


def weekly_active_users_slope_12w_pct(u: ir.Table) -> ir.Value:
    """Least-squares slope of weekly active users over 12 weeks, as % of their weekly mean."""
    weekly = [_weekly_active_users(u, WEEKS - 1 - x) for x in range(WEEKS)]
    slope = sum(
        (w * x for w, x in zip(weekly, _X_CENTERED, strict=True)), ibis.literal(0.0)
    ) / ibis.literal(_X_SUM_SQUARES)
    mean = sum(weekly, ibis.literal(0.0)) / WEEKS
    return ratio(slope, mean) * 100.0


USER_AGGREGATES = (
    active_users_7d,
    active_users_28d,
    active_users_prior_28d,
    active_users_90d,
    weekly_active_users_slope_12w_pct,
)


# -- derived per snapshot (`s`) ------------------------------------------------------------------


def active_users_28d_change_pct(s: ir.Table) -> ir.Value:
    return change_pct(s.active_users_28d, s.active_users_prior_28d)


def key_events_28d_change_pct(s: ir.Table) -> ir.Value:
    return change_pct(s.key_events_28d, s.key_events_prior_28d)


def key_events_per_active_user_28d(s: ir.Table) -> ir.Value:
    return ratio(s.key_events_28d, s.active_users_28d)


def usage_14d_change_pct(s: ir.Table) -> ir.Value:
    return change_pct(s.events_14d, s.events_prior_14d)


def seat_utilization(s: ir.Table) -> ir.Value:
    return ratio(s.active_users_28d, s.seats)


def days_since_last_activity(s: ir.Table) -> ir.Value:
    return days_between(s.as_of, s.last_active_day)


def _usage_drop(config: Config):
    def usage_drop_40pct_14d(s: ir.Table) -> ir.Value:
        return flag(s.usage_14d_change_pct <= -config.features.usage_drop_pct)

    return usage_drop_40pct_14d


COUNTS = (
    "active_users_7d",
    "active_users_28d",
    "active_users_90d",
    "events_28d",
    "key_events_28d",
    "features_used_28d",
)
USER_COUNTS = ("active_users_7d", "active_users_28d", "active_users_90d")
VALUES = (
    "active_users_28d_change_pct",
    "key_events_28d_change_pct",
    "key_events_per_active_user_28d",
    "weekly_active_users_slope_12w_pct",
    "usage_14d_change_pct",
    "usage_drop_40pct_14d",
    "seat_utilization",
    "days_since_last_activity",
)
USER_VALUES = (
    "active_users_28d_change_pct",
    "key_events_per_active_user_28d",
    "weekly_active_users_slope_12w_pct",
    "seat_utilization",
)


def _has_user_ids(source: DataSource) -> bool:
    return "user_id" in source.raw_columns.get("usage", ())


def usage_features(spine: ir.Table, source: DataSource, config: Config) -> ir.Table:
    """Usage features per snapshot; user-based ones only when usage has a `user_id` column."""
    bounds = spine.aggregate(first=spine.as_of.min(), last=spine.as_of.max()).to_pandas()
    first, last = bounds["first"].iloc[0], bounds["last"].iloc[0]
    if pd.isna(first):
        first = last = source.data_end
    origin = pd.Timestamp(first).normalize() - pd.Timedelta(days=WINDOW_DAYS)
    usage = source.table("usage")
    usage = usage.filter(usage.timestamp < ibis.literal(pd.Timestamp(last).to_pydatetime()))
    recent = usage.filter(usage.timestamp >= ibis.literal(origin.to_pydatetime()))

    # Every day of history (not only the windows): days since last activity looks back forever.
    daily = materialize(source, account_days(usage, config.features.key_events), "usage_daily")
    d = in_window(spine, daily, "day", WINDOW_DAYS)
    d = d.mutate(age=age_days(d, "day"))
    per_snapshot = d.group_by(SNAPSHOT_ID).aggregate(
        **{fn.__name__: fn(d) for fn in DAY_AGGREGATES}
    )
    last_active = _last_active_day(spine, d, daily)

    event_blocks = day_blocks(recent, "timestamp", ["account_id", "event"], origin)
    e = blocks_in_window(spine, event_blocks, BREADTH_DAYS, origin)
    breadth = e.group_by(SNAPSHOT_ID).aggregate(
        features_used_28d=e.event.nunique(where=window_hit(e, BREADTH_DAYS))
    )

    s = (
        spine.select(SNAPSHOT_ID, "as_of")
        .left_join(per_snapshot, SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
        .left_join(breadth, SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
        .left_join(last_active, SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
    )
    counts, values = list(COUNTS), list(VALUES)
    if _has_user_ids(source):
        with_users = recent.filter(recent.user_id.notnull())
        user_blocks = day_blocks(with_users, "timestamp", ["account_id", "user_id"], origin)
        per_user = weekly_activity(
            source, spine, user_blocks, "user_id", WEEKS, WINDOW_DAYS, origin
        ).rename(active_90d="active_in_window")
        users = per_user.group_by(SNAPSHOT_ID).aggregate(
            **{fn.__name__: fn(per_user) for fn in USER_AGGREGATES}
        )
        s = (
            s.left_join(users, SNAPSHOT_ID)
            .drop(f"{SNAPSHOT_ID}_right")
            .left_join(_seats(spine, source), SNAPSHOT_ID)
            .drop(f"{SNAPSHOT_ID}_right")
        )
        # Zero-filled before the ratios: no activity in a window is a real zero.
        s = s.mutate(
            **{c: s[c].fill_null(0) for c in ("active_users_28d", "active_users_prior_28d")}
        )
        derived = (
            active_users_28d_change_pct,
            key_events_28d_change_pct,
            key_events_per_active_user_28d,
            usage_14d_change_pct,
            seat_utilization,
            days_since_last_activity,
        )
    else:
        counts = [c for c in counts if c not in USER_COUNTS]
        values = [v for v in values if v not in USER_VALUES]
        derived = (key_events_28d_change_pct, usage_14d_change_pct, days_since_last_activity)
    s = s.mutate(**{fn.__name__: s[fn.__name__].fill_null(0) for fn in DAY_AGGREGATES})
    s = s.mutate(**{fn.__name__: fn(s) for fn in derived})
    drop = _usage_drop(config)
    s = s.mutate(**{drop.__name__: drop(s)})
    return attach(spine, s, counts=counts, values=values)


def _last_active_day(spine: ir.Table, window: ir.Table, daily: ir.Table) -> ir.Table:
    """The last active day before as_of: from the window when there is one, else from the
    monthly last days of the months that ended before as_of (a small table for the as-of join).

    Exact: any activity in the month that contains as_of, before as_of, lies inside the window.
    """
    in_window_last = window.group_by(SNAPSHOT_ID).aggregate(recent=window.day.max())
    monthly = daily.mutate(month=daily.day.truncate("M"))
    monthly = monthly.group_by(["account_id", "month"]).aggregate(last_day=monthly.day.max())
    monthly = monthly.select(
        "account_id",
        "last_day",
        month_last_day=monthly.month + ibis.interval(months=1) - ibis.interval(days=1),
    )
    older = latest_before(spine, monthly, "month_last_day").select(SNAPSHOT_ID, "last_day")
    joined = (
        spine.select(SNAPSHOT_ID)
        .left_join(in_window_last, SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
        .left_join(older, SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
    )
    return joined.select(SNAPSHOT_ID, last_active_day=joined.recent.fill_null(joined.last_day))


def _seats(spine: ir.Table, source: DataSource) -> ir.Table:
    visible = in_window(spine, known_contracts(source), "start_date")
    return visible.group_by(SNAPSHOT_ID).aggregate(seats=seats_in_force(visible))
