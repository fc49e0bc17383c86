"""Usage features: active users, depth and breadth of use, trends, drops, seat utilization.

Raw usage can hold hundreds of millions of rows, so it is aggregated in one pass and never
joined to the spine: per account and day (event totals), and per account-user and account-event
as day blocks (a bit mask of active days per 62-day block, see `features.windows`), which are a
small fraction of the raw rows. Every window is computed from those aggregates. The groupings
read the text keys as stored and make them canonical afterwards (`features.text_keys`).

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
from features.text_keys import canonical_groups, canonical_text
from features.windows import (
    BLOCK_DAYS,
    SNAPSHOT_ID,
    age_days,
    attach,
    bigint,
    blocks_in_window,
    change_pct,
    days_between,
    flag,
    in_window,
    is_finite,
    latest_via_months,
    materialize,
    ratio,
    real,
    weekly_activity,
    window_hit,
)
from retain.config import Config

WINDOW_DAYS = 90  # the longest usage window; the aggregates never need older rows
BREADTH_DAYS = 28
WEEKS = 12
DAY_WINDOW_DAYS = 7 * WEEKS  # the longest window of the account-day totals
# Every x (week index, oldest 0 .. newest 11) minus its mean, and the sum of their squares: the
# least-squares slope is sum((x - mean) * y) / sum((x - mean) ** 2).
_X_CENTERED = tuple(x - (WEEKS - 1) / 2 for x in range(WEEKS))
_X_SUM_SQUARES = sum(x * x for x in _X_CENTERED)


def _finite(value: ir.FloatingValue) -> ir.FloatingValue:
    """The value when finite, else NULL (a NaN or infinite count is missing)."""
    return ibis.ifelse(is_finite(value), value, ibis.null("float64"))


def _account_days(usage: ir.Table, key_events: tuple[str, ...]) -> ir.Table:
    """(account, day): `events` and `key_events` (every event is key when none are named), over
    all history (days since last activity looks back forever). A count that is NaN (or
    infinite) is missing, not a number. The event is made canonical on each row (the key
    events are named canonically); the account as stored."""
    rows = usage.select(
        "account_id",
        event=canonical_text(usage.event),
        day=usage.timestamp.date(),
        amount=_finite(usage["count"]),
    )
    key_amount = rows.amount.sum(where=rows.event.isin(list(key_events))) if key_events else None
    daily = rows.group_by(["account_id", "day"]).aggregate(
        events=rows.amount.sum(),
        key_events=rows.amount.sum() if key_amount is None else key_amount,
    )
    return daily.mutate(day=daily.day.cast("timestamp"), key_events=daily.key_events.fill_null(0))


def _day_blocks(usage: ir.Table, key: str, origin: pd.Timestamp) -> ir.Table:
    """(account, `key`, block) from `origin` on: `days`, the mask of the key's active days in
    the block (layout: `features.windows.BLOCK_DAYS`), OR-ed straight from the raw rows.

    Blocks of a NULL key are kept, for the reader to drop: a filter here would be pushed down
    to the rows and compute the canonical column twice. Ibis's PySpark compiler learns
    `bit_or` from `features._spark`.
    """
    first_day = ibis.date(origin.date())
    # On the timestamp itself, so that the engine can skip old parts of the file.
    recent = usage.filter(usage.timestamp >= ibis.timestamp(origin.to_pydatetime()))
    number = recent.timestamp.date().delta(first_day, unit="day")
    recent = recent.select(
        "account_id",
        key,
        block=(number // BLOCK_DAYS).cast("int64"),
        day_bit=bigint(1) << (number % BLOCK_DAYS).cast("int64"),
    )
    return recent.group_by(["account_id", key, "block"]).aggregate(
        days=recent.day_bit.bit_or().cast("int64")
    )


def _aggregates(
    usage: ir.Table,
    key_events: tuple[str, ...],
    origin: pd.Timestamp,
    end: pd.Timestamp,
    *,
    users: bool,
) -> tuple[ir.Table, ...]:
    """Usage before `end` (`usage`: text as stored) as small tables, each grouped straight from
    the raw rows: account days, event blocks and (with `users`) user blocks, with their text
    keys as stored (`_CANONICAL` makes them canonical).

    Three groupings of the raw rows, each into few groups, cost less than one into (account,
    event, day), the largest grain, copied and grouped twice more (at 100k accounts: 22 CPU
    s against 40). Each is materialized on its own: one query for all would hold every hash
    table over raw usage at once.
    """
    usage = usage.filter(usage.timestamp < ibis.timestamp(end.to_pydatetime()))
    tables = [_account_days(usage, key_events), _day_blocks(usage, "event", origin)]
    if users:
        tables.append(_day_blocks(usage, "user_id", origin))
    return tuple(tables)


# How each aggregate table makes its text keys canonical: the keys, and how its values combine.
_CANONICAL = (
    (("account_id",), {"events": lambda c: c.sum(), "key_events": lambda c: c.sum()}),
    (("account_id", "event"), {"days": lambda c: c.bit_or().cast("int64")}),
    (("account_id", "user_id"), {"days": lambda c: c.bit_or().cast("int64")}),
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


def key_events_slope_12w_pct(d: ir.Table) -> ir.Value:
    """Least-squares slope of weekly key events over 12 weeks, as % of their weekly mean.

    Volume of the value-delivering events is the densest read of how the account is doing, so
    its trend is the earliest sign of a decline (or of growth) that a user count still hides.
    """
    in_12w = d.age <= 7 * WEEKS
    week_index = (WEEKS - 1) - (d.age - 1) // 7  # oldest week 0 .. the week before as_of 11
    centered = week_index.cast("float64") - real((WEEKS - 1) / 2)
    slope = (d.key_events * centered).sum(where=in_12w) / real(_X_SUM_SQUARES)
    mean = d.key_events.sum(where=in_12w) / real(WEEKS)
    return ratio(slope, mean) * real(100.0)


def key_events_12w(d: ir.Table) -> ir.Value:
    return d.key_events.sum(where=d.age <= 7 * WEEKS)


def events_14d(d: ir.Table) -> ir.Value:
    return d.events.sum(where=d.age <= 14)


def events_prior_14d(d: ir.Table) -> ir.Value:
    return d.events.sum(where=(d.age > 14) & (d.age <= 28))


DAY_AGGREGATES = (
    events_28d,
    events_prior_28d,
    key_events_28d,
    key_events_prior_28d,
    key_events_12w,
    events_14d,
    events_prior_14d,
)
DAY_TRENDS = (key_events_slope_12w_pct,)  # NULL, not zero, without key events to trend


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


def _active_week(u: ir.Table, weeks_ago: int) -> ir.IntegerValue:
    return (u.weeks >> weeks_ago) & 1


def _active_weeks(u: ir.Table) -> ir.IntegerValue:
    """The user's active weeks of the 12 (a bit count)."""
    return sum((_active_week(u, k) for k in range(WEEKS)), bigint(0))


def weekly_active_users_slope_12w_pct(u: ir.Table) -> ir.Value:
    """Least-squares slope of weekly active users over 12 weeks, as % of their weekly mean.

    Summed per user, then over users: sum over weeks of (users active that week) x (centered
    week index) is sum over users of their centered active weeks. One aggregate instead of
    one per week; every term is a multiple of 0.5, so both orders give the same float.
    """
    centered = sum(
        (
            _active_week(u, WEEKS - 1 - x).cast("float64") * real(centered_x)
            for x, centered_x in enumerate(_X_CENTERED)
        ),
        real(0.0),
    )
    slope = centered.sum() / real(_X_SUM_SQUARES)
    mean = _active_weeks(u).sum().cast("float64") / real(WEEKS)
    return ratio(slope, mean) * real(100.0)


def active_users_12w(u: ir.Table) -> ir.Value:
    return _active_in(u, (1 << WEEKS) - 1)


def active_user_weeks_12w(u: ir.Table) -> ir.Value:
    """User-weeks of activity over 12 weeks (a user active in 5 of the weeks counts 5)."""
    return _active_weeks(u).sum()


USER_AGGREGATES = (
    active_users_7d,
    active_users_28d,
    active_users_prior_28d,
    active_users_90d,
    weekly_active_users_slope_12w_pct,
    active_users_12w,
    active_user_weeks_12w,
)


# -- derived per snapshot (`s`) ------------------------------------------------------------------


def active_users_28d_change_pct(s: ir.Table) -> ir.Value:
    return change_pct(s.active_users_28d, s.active_users_prior_28d)


def key_events_28d_change_pct(s: ir.Table) -> ir.Value:
    return change_pct(s.key_events_28d, s.key_events_prior_28d)


def key_events_per_active_user_28d(s: ir.Table) -> ir.Value:
    return ratio(s.key_events_28d, s.active_users_28d)


def key_events_per_active_user_28d_change_pct(s: ir.Table) -> ir.Value:
    """Depth trend: key events per active user in the last 28 days vs the 28 days before."""
    prior = ratio(s.key_events_prior_28d, s.active_users_prior_28d)
    return change_pct(s.key_events_per_active_user_28d, prior)


def weekly_stickiness_12w(s: ir.Table) -> ir.Value:
    """Share of the 12 weeks the account's users were active in, on average (WAU over 12-week
    users): habitual use, where a login count cannot tell a daily user from a monthly one."""
    return ratio(s.active_user_weeks_12w, s.active_users_12w * WEEKS)


def key_events_per_active_user_week_12w(s: ir.Table) -> ir.Value:
    """Depth over 12 weeks: key events per active user-week. Steadier than the 28-day depth,
    so it reads the account's lasting level of value rather than this month's swing."""
    return ratio(s.key_events_12w, s.active_user_weeks_12w)


def seat_utilization_90d(s: ir.Table) -> ir.Value:
    """Users seen in 90 days per licensed seat: how many people the account really provisions."""
    return ratio(s.active_users_90d, s.seats)


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
    "key_events_slope_12w_pct",
    "key_events_per_active_user_28d_change_pct",
    "seat_utilization_90d",
    "weekly_stickiness_12w",
    "key_events_per_active_user_week_12w",
)
USER_VALUES = (
    "active_users_28d_change_pct",
    "key_events_per_active_user_28d",
    "weekly_active_users_slope_12w_pct",
    "seat_utilization",
    "key_events_per_active_user_28d_change_pct",
    "seat_utilization_90d",
    "weekly_stickiness_12w",
    "key_events_per_active_user_week_12w",
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
    has_users = _has_user_ids(source)
    daily, event_blocks, *user_blocks = (
        canonical_groups(source, materialize(source, table, "usage"), keys, combine, "usage")
        for table, (keys, combine) in zip(
            _aggregates(
                source.table_as_given("usage"),
                config.features.key_events,
                origin,
                pd.Timestamp(last),
                users=has_users,
            ),
            _CANONICAL,
            strict=False,  # without user ids, no user blocks
        )
    )
    d = in_window(spine, daily, "day", DAY_WINDOW_DAYS)
    d = d.mutate(age=age_days(d, "day"))
    # The window's last active day in the same pass: a second reader of the joined rows would
    # have them copied first.
    per_snapshot = d.group_by(SNAPSHOT_ID).aggregate(
        _recent=d.day.max(),
        **{fn.__name__: fn(d) for fn in (*DAY_AGGREGATES, *DAY_TRENDS)},
    )
    last_active = latest_via_months(spine, per_snapshot, daily, "day", "last_active_day")

    event_blocks = event_blocks.filter(event_blocks.event.notnull())
    e = blocks_in_window(spine, event_blocks, BREADTH_DAYS, origin)
    # The hits first: a count of distinct events per snapshot then groups only those blocks.
    hits = e.filter(window_hit(e, BREADTH_DAYS))
    breadth = hits.group_by(SNAPSHOT_ID).aggregate(features_used_28d=hits.event.nunique())

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
    if has_users:
        user_blocks = user_blocks[0].filter(user_blocks[0].user_id.notnull())
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
            **{
                c: s[c].fill_null(0)
                for c in (
                    "active_users_28d",
                    "active_users_prior_28d",
                    "active_users_90d",
                    "active_users_12w",
                    "active_user_weeks_12w",
                )
            }
        )
        derived = (
            active_users_28d_change_pct,
            key_events_28d_change_pct,
            key_events_per_active_user_28d,
            usage_14d_change_pct,
            seat_utilization,
            days_since_last_activity,
            seat_utilization_90d,
            weekly_stickiness_12w,
            key_events_per_active_user_week_12w,
        )
    else:
        counts = [c for c in counts if c not in USER_COUNTS]
        values = [v for v in values if v not in USER_VALUES]
        derived = (key_events_28d_change_pct, usage_14d_change_pct, days_since_last_activity)
    s = s.mutate(**{fn.__name__: s[fn.__name__].fill_null(0) for fn in DAY_AGGREGATES})
    s = s.mutate(**{fn.__name__: fn(s) for fn in derived})
    if has_users:
        s = s.mutate(
            key_events_per_active_user_28d_change_pct=key_events_per_active_user_28d_change_pct(s)
        )
    drop = _usage_drop(config)
    s = s.mutate(**{drop.__name__: drop(s)})
    return attach(spine, s, counts=counts, values=values)


def _seats(spine: ir.Table, source: DataSource) -> ir.Table:
    visible = in_window(spine, known_contracts(source), "start_date")
    return visible.group_by(SNAPSHOT_ID).aggregate(seats=seats_in_force(visible))
