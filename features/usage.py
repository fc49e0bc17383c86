"""Usage features: active users, depth and breadth of use, trends, drops, seat utilization.

Raw usage can hold hundreds of millions of rows, so it is read once: one DuckDB pass groups it
into small per-day aggregates (per account-day, per account-user-day and per account-event-day),
and every window below is computed from those. Raw usage rows are never joined to the spine.

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
    change_pct,
    days_between,
    flag,
    in_window,
    latest_before,
    materialize,
    ratio,
)
from retain.config import Config

WINDOW_DAYS = 90  # the longest usage window; the aggregates never need older rows
WEEKS = 12
_ALL_WEEKS = (1 << WEEKS) - 1
# Every x (week index, oldest 0 .. newest 11) minus its mean, and the sum of their squares: the
# least-squares slope is sum((x - mean) * y) / sum((x - mean) ** 2).
_X_CENTERED = tuple(x - (WEEKS - 1) / 2 for x in range(WEEKS))
_X_SUM_SQUARES = sum(x * x for x in _X_CENTERED)

_GRAIN_DAY, _GRAIN_USER_DAY, _GRAIN_EVENT_DAY = 3, 1, 2  # GROUPING(user_id, event)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _daily_aggregates_sql(
    key_events: tuple[str, ...], window_start: pd.Timestamp, window_end: pd.Timestamp
) -> str:
    """One pass over usage: per account-day totals, and per user-day / event-day presence.

    Per-user and per-event rows are only needed inside the windows; older rows keep only the
    per-day grain (for days since last activity).
    """
    is_key = (
        f"event IN ({', '.join(_sql_literal(e) for e in key_events)})" if key_events else "TRUE"
    )
    start = _sql_literal(str(window_start))
    return f"""
        SELECT account_id, day, user_id, event, GROUPING(user_id, event) AS grain,
               SUM(count) AS events, COALESCE(SUM(count) FILTER (WHERE is_key), 0) AS key_events
        FROM (
            SELECT account_id, CAST(date_trunc('day', timestamp) AS TIMESTAMP) AS day,
                   CASE WHEN timestamp >= TIMESTAMP {start} THEN user_id END AS user_id,
                   CASE WHEN timestamp >= TIMESTAMP {start} THEN event END AS event,
                   count, {is_key} AS is_key
            FROM usage
            WHERE timestamp < TIMESTAMP {_sql_literal(str(window_end))}
        )
        GROUP BY GROUPING SETS ((account_id, day), (account_id, day, user_id),
                                (account_id, day, event))
    """


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
    return u.count()


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
    window_start = pd.Timestamp(first) - pd.Timedelta(days=WINDOW_DAYS)
    aggregates = materialize(
        source,
        _daily_aggregates_sql(config.features.key_events, window_start, pd.Timestamp(last)),
        "usage_daily",
    )

    daily = aggregates.filter(aggregates.grain == _GRAIN_DAY).select(
        "account_id", "day", "events", "key_events"
    )
    d = in_window(spine, daily, "day", WINDOW_DAYS)
    d = d.mutate(age=age_days(d, "day"))
    per_snapshot = d.group_by(SNAPSHOT_ID).aggregate(
        **{fn.__name__: fn(d) for fn in DAY_AGGREGATES}
    )

    event_days = aggregates.filter(
        (aggregates.grain == _GRAIN_EVENT_DAY) & aggregates.event.notnull()
    ).select("account_id", "event", "day")
    e = in_window(spine, event_days, "day", 28)
    breadth = e.group_by(SNAPSHOT_ID).aggregate(features_used_28d=e.event.nunique())

    last_active = latest_before(spine, daily.select("account_id", "day"), "day").select(
        SNAPSHOT_ID, last_active_day="day"
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
        user_days = aggregates.filter(
            (aggregates.grain == _GRAIN_USER_DAY) & aggregates.user_id.notnull()
        ).select("account_id", "user_id", "day")
        u = in_window(spine, user_days, "day", WINDOW_DAYS)
        age = age_days(u, "day")
        week_bit = ibis.ifelse(age <= 7 * WEEKS, ibis.literal(1, "int64") << ((age - 1) // 7), 0)
        per_user = u.group_by([SNAPSHOT_ID, "user_id"]).aggregate(weeks=week_bit.bit_or())
        users = per_user.group_by(SNAPSHOT_ID).aggregate(
            **{fn.__name__: fn(per_user) for fn in USER_AGGREGATES}
        )
        seats = _seats(spine, source)
        s = (
            s.left_join(users, SNAPSHOT_ID)
            .drop(f"{SNAPSHOT_ID}_right")
            .left_join(seats, SNAPSHOT_ID)
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
    s = s.mutate(
        **{
            c: s[c].fill_null(0)
            for c in (
                "events_28d",
                "events_prior_28d",
                "key_events_28d",
                "key_events_prior_28d",
                "events_14d",
                "events_prior_14d",
            )
        }
    )
    s = s.mutate(**{fn.__name__: fn(s) for fn in derived})
    drop = _usage_drop(config)
    s = s.mutate(**{drop.__name__: drop(s)})
    return attach(spine, s, counts=counts, values=values)


def _seats(spine: ir.Table, source: DataSource) -> ir.Table:
    contracts = known_contracts(source)
    visible = in_window(spine, contracts, "start_date")
    return visible.group_by(SNAPSHOT_ID).aggregate(seats=seats_in_force(visible))
