"""The one place that decides which rows a snapshot may see.

A snapshot `(account_id, as_of)` sees an event only when its time is strictly before `as_of`;
a window of N days is `[as_of - N days, as_of)`. Every feature family goes through these helpers,
so the point-in-time rule is written once.

The spine is an Ibis table with `snapshot_id` (int64, unique), `account_id` and `as_of`
(a midnight timestamp). Families aggregate per `snapshot_id` and `attach` the result back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

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


def select_features(
    table: ir.Table, features: Iterable[Callable[[ir.Table], ir.Value]]
) -> ir.Table:
    """One column per feature function, named after the function (Hamilton-style catalogue)."""
    return table.select(SNAPSHOT_ID, **{fn.__name__: fn(table) for fn in features})


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
    """
    return ibis.ifelse(value.isnan(), ibis.null("float64"), value)
