"""The one place that decides which rows a snapshot may see.

A snapshot `(account_id, as_of)` sees an event only when its time is strictly before `as_of`;
a window of N days is `[as_of - N days, as_of)`. Every feature family goes through these helpers,
so the point-in-time rule is written once.

The spine is an Ibis table with `snapshot_id` (int64, unique), `account_id` and `as_of`
(a midnight timestamp). Families aggregate per `snapshot_id` and `attach` the result back.

Three ways to reach the events of a window, cheapest for the job:
- `in_window`: join the (small) event table to the spine, rows filtered to the window;
- `latest_before`: an as-of join, one row per snapshot (the latest event before as_of);
- day blocks for large tables aggregated per key (user, event): `blocks_in_window` and
  `window_hit`, or `weekly_activity` for week-by-week presence.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

if TYPE_CHECKING:
    from features.source import DataSource

SNAPSHOT_ID = "snapshot_id"
_EVENT_ACCOUNT = "_event_account_id"
_EVENT_TIME = "_event_time"
SECONDS_PER_DAY = 86_400.0
SECONDS_PER_HOUR = 3_600.0


def days(n: int) -> ir.IntervalScalar:
    return ibis.interval(days=n)


def in_window(
    spine: ir.Table,
    events: ir.Table,
    time_column: str,
    window_days: int | None = None,
) -> ir.Table:
    """Each snapshot joined to its account's events with `time_column` in the window.

    `window_days=None` means everything strictly before `as_of` (no lower bound). The result has
    the spine's columns and the event table's columns (its `account_id` dropped).
    """
    events = events.rename({_EVENT_ACCOUNT: "account_id"})
    event_time = events[time_column]
    predicates = [spine.account_id == events[_EVENT_ACCOUNT], event_time < spine.as_of]
    if window_days is not None:
        predicates.append(event_time >= spine.as_of - days(window_days))
    return spine.join(events, predicates).drop(_EVENT_ACCOUNT)


def latest_before(spine: ir.Table, events: ir.Table, time_column: str) -> ir.Table:
    """Each snapshot with its account's latest event strictly before `as_of` (an as-of join).

    Snapshots with no earlier event keep NULLs. Much cheaper than `in_window(..., None)` on a large
    event table, because only one row per snapshot is kept.
    """
    events = events.rename({_EVENT_ACCOUNT: "account_id", _EVENT_TIME: time_column})
    joined = spine.asof_join(
        events,
        on=spine.as_of > events[_EVENT_TIME],
        predicates=[spine.account_id == events[_EVENT_ACCOUNT]],
    )
    others = [c for c in events.columns if c not in (_EVENT_ACCOUNT, _EVENT_TIME)]
    return joined.select(*spine.columns, *others, **{time_column: joined[_EVENT_TIME]})


def days_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """`later - earlier` in (fractional) days."""
    return (later.epoch_seconds() - earlier.epoch_seconds()).cast("float64") / SECONDS_PER_DAY


def age_days(joined: ir.Table, day_column: str) -> ir.IntegerValue:
    """Whole days from a day-truncated event to `as_of`: 1 for the day just before `as_of`."""
    return joined.as_of.delta(joined[day_column], unit="day")


def attach(
    spine: ir.Table,
    per_snapshot: ir.Table,
    *,
    counts: Iterable[str] = (),
    values: Iterable[str] = (),
) -> ir.Table:
    """One row per snapshot: `counts` filled with 0 (nothing happened), `values` left NULL.

    Every feature comes out as float64 so the frame has one numeric type.
    """
    counts, values = list(counts), list(values)
    joined = spine.select(SNAPSHOT_ID).left_join(
        per_snapshot.select(SNAPSHOT_ID, *counts, *values), SNAPSHOT_ID
    )
    zero_filled = set(counts)
    ordered = [c for c in per_snapshot.columns if c in zero_filled or c in values]
    return joined.select(
        SNAPSHOT_ID,
        **{
            c: joined[c].cast("float64").fill_null(0.0)
            if c in zero_filled
            else joined[c].cast("float64")
            for c in ordered
        },
    )


def ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """numerator / denominator, NULL (not infinite, not zero) when the denominator is 0."""
    denominator = denominator.cast("float64")
    return ibis.ifelse(denominator == 0, ibis.null("float64"), numerator / denominator)


def change_pct(current: ir.NumericValue, prior: ir.NumericValue) -> ir.FloatingValue:
    """Percentage change from `prior` to `current`; NULL when `prior` is 0 or missing."""
    return ratio(current.cast("float64") - prior, prior) * 100.0


def flag(condition: ir.BooleanValue) -> ir.FloatingValue:
    """1.0 / 0.0 for a condition; NULL stays NULL."""
    return condition.cast("float64")


def materialize(source: DataSource, expression: ir.Table | str, prefix: str) -> ir.Table:
    """Compute `expression` (Ibis, or DuckDB SQL) once into a temporary table; return it as Ibis.

    Used for the spine and the usage aggregates, which several families read: without it every
    family would recompute them from scratch.
    """
    name = f"_retain_{prefix}_{uuid.uuid4().hex[:12]}"
    if isinstance(expression, str):
        source.connection.execute(f"CREATE TEMP TABLE {name} AS {expression}")
    else:
        source.ibis.create_table(name, expression, temp=True)
    return source.ibis.table(name)


def nan_as_null(value: ir.FloatingValue) -> ir.FloatingValue:
    """Floating NaN (how some parquet writers store a missing number) as a real NULL.

    DuckDB treats NaN as a value, so a single NaN would poison every sum and mean it enters.
    Tested through its text form: DuckDB 2.0 folds `isnan` on parquet columns to false when the
    file's statistics say the column has no NaN, which some writers get wrong.
    """
    is_nan = value.cast("string").isin(("nan", "-nan"))
    return ibis.ifelse(is_nan, ibis.null("float64"), value)


# -- day blocks: presence of many keys per day, compact enough to join to the spine ----------------

BLOCK_DAYS = 32  # days per block: a block's active days fit in one int64 mask with room to shift


def day_number(timestamp: ir.TimestampValue, origin: pd.Timestamp) -> ir.IntegerValue:
    """Whole days from `origin` (midnight) to the day of `timestamp`."""
    return timestamp.date().delta(ibis.date(origin.date()), unit="day")


def blocks_in_window(
    spine: ir.Table, blocks: ir.Table, window_days: int, origin: pd.Timestamp
) -> ir.Table:
    """Each snapshot joined to its account's blocks that overlap `[as_of - window_days, as_of)`.

    Adds `as_of_day` (the day number of as_of) for `window_hit`.
    """
    spine = spine.mutate(as_of_day=day_number(spine.as_of, origin))
    blocks = blocks.rename({_EVENT_ACCOUNT: "account_id"})
    block_start = blocks.block * BLOCK_DAYS
    joined = spine.join(
        blocks,
        [
            spine.account_id == blocks[_EVENT_ACCOUNT],
            block_start < spine.as_of_day,
            block_start + BLOCK_DAYS > spine.as_of_day - window_days,
        ],
    )
    return joined.drop(_EVENT_ACCOUNT)


def window_hit(joined: ir.Table, from_days_ago: int, to_days_ago: int = 0) -> ir.BooleanValue:
    """Whether the block has an active day in `[as_of - from_days_ago, as_of - to_days_ago)`."""
    block_start = joined.block * BLOCK_DAYS

    def clamp(day: ir.IntegerValue) -> ir.IntegerValue:
        return ibis.greatest(0, ibis.least(BLOCK_DAYS, day - block_start))

    low = clamp(joined.as_of_day - from_days_ago)
    high = clamp(joined.as_of_day - to_days_ago)
    one = ibis.literal(1, "int64")
    return (joined.days & ((one << high) - (one << low))) != 0


_RECENT_BITS = 127  # day masks of the last 127 days fit a signed 128-bit integer


def weekly_activity(
    source: DataSource,
    spine: ir.Table,
    blocks: ir.Table,
    key: str,
    weeks: int,
    window_days: int,
    origin: pd.Timestamp,
) -> ir.Table:
    """Per snapshot and `key` (such as a user): `weeks`, bit k set when active in
    `[as_of - 7(k+1) days, as_of - 7k days)`, and `active_in_window` for `[as_of - window_days,
    as_of)`.

    The blocks overlapping the window are shifted into one 128-bit mask of the days before
    as_of (bit 126: the day before as_of); the weeks are read from it once per key instead of
    once per block. DuckDB SQL because Ibis has no 128-bit integers; it is the hottest step of
    the usage family.
    """
    if 7 * weeks > _RECENT_BITS or window_days > _RECENT_BITS - BLOCK_DAYS:
        raise ValueError("the window does not fit the 128-bit day mask")
    block_start = f"b.block * {BLOCK_DAYS}"
    # Bits of days on or after as_of are cleared before shifting (they are not known yet).
    known_days = (
        f"CASE WHEN s.as_of_day - {block_start} < {BLOCK_DAYS} "
        f"THEN b.days & ((CAST(1 AS BIGINT) << (s.as_of_day - {block_start})) - 1) "
        "ELSE b.days END"
    )
    base = f"(s.as_of_day - {_RECENT_BITS})"
    weeks_sql = " + ".join(
        f"(CASE WHEN ((recent >> {_RECENT_BITS - 7 * (k + 1)}) & 127) != 0 THEN {1 << k} "
        "ELSE 0 END)"
        for k in range(weeks)
    )
    origin_sql = origin.strftime("%Y-%m-%d")
    query = f"""
        SELECT snapshot_id, "{key}", CAST({weeks_sql} AS BIGINT) AS weeks,
               (recent >> {_RECENT_BITS - window_days}) != 0 AS active_in_window
        FROM (
            SELECT s.snapshot_id, b."{key}",
                   bit_or(CAST({known_days} AS HUGEINT) << ({block_start} - {base})) AS recent
            FROM (
                SELECT snapshot_id, account_id,
                       date_diff('day', DATE '{origin_sql}', CAST(as_of AS DATE)) AS as_of_day
                FROM ({ibis.to_sql(spine, dialect="duckdb")})
            ) AS s
            JOIN ({ibis.to_sql(blocks, dialect="duckdb")}) AS b
              ON s.account_id = b.account_id
             AND {block_start} < s.as_of_day
             AND {block_start} + {BLOCK_DAYS} > s.as_of_day - {window_days}
            GROUP BY ALL
        )
    """
    return materialize(source, query, "weekly_activity")
