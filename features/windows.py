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


def real(value: float) -> ir.FloatingScalar:
    """A float64 constant every engine reads as a double.

    Ibis writes a bare `3600.0`, which Spark SQL reads as a DECIMAL: integer arithmetic with it
    stays decimal and rounds. The cast makes the type explicit everywhere.
    """
    # Cast from text: Ibis drops a cast of a float literal to float64 as a no-op.
    return ibis.literal(repr(float(value))).cast("float64")


def bigint(value: int) -> ir.IntegerScalar:
    """An int64 constant every engine reads as 64 bits (Spark reads a bare `1` as a 32-bit INT,
    so `1 << 32` would wrap around to 1)."""
    return ibis.literal(str(int(value))).cast("int64")


def in_force_at(contracts: ir.Table, at: ir.TimestampValue) -> ir.BooleanValue:
    """A contract is in force at `at` when `start_date < at <= end_date` (BRIEF: in force).

    The one rule for spine membership, ARR and seats at as_of, the renewal date and the labels:
    a term ending on as_of is in force (up for renewal that day), one starting on it unknown.
    """
    return (contracts.start_date < at) & (at <= contracts.end_date)


_BUCKET = "_window_bucket"
_EVENT_BUCKET = "_event_window_bucket"
_BUCKET_EPOCH = ibis.date(1900, 1, 1)


def _with_buckets(spine: ir.Table, last: ir.IntegerValue, count: int) -> ir.Table:
    """Each snapshot `count` times, with `_window_bucket` = `last`, `last - 1`, ...

    A window joined on the account alone pairs every event of the account with every snapshot
    and filters most pairs away (at 100k accounts x 24 month starts, 16 of the usage family's
    31 CPU seconds). Joined on the account and a bucket of the time as well, each event meets
    only the snapshots whose window can hold it; the range predicates stay, so the result is
    the same rows.
    """
    copies = [spine.mutate(**{_BUCKET: last - k}) for k in range(count)]
    return copies[0] if count == 1 else ibis.union(*copies)


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
    if window_days is None:
        predicates = [spine.account_id == events[_EVENT_ACCOUNT], events[time_column] < spine.as_of]
        return spine.join(events, predicates).drop(_EVENT_ACCOUNT)

    # Buckets of `window_days` days: the window's days, from the day of as_of - window_days to
    # the day of as_of, span at most two of them.
    def bucket(time: ir.TimestampValue) -> ir.IntegerValue:
        return time.date().delta(_BUCKET_EPOCH, unit="day") // window_days

    events = events.mutate(**{_EVENT_BUCKET: bucket(events[time_column])})
    spine = _with_buckets(spine, bucket(spine.as_of), 2)
    event_time = events[time_column]
    predicates = [
        spine.account_id == events[_EVENT_ACCOUNT],
        spine[_BUCKET] == events[_EVENT_BUCKET],
        event_time < spine.as_of,
        event_time >= spine.as_of - days(window_days),
    ]
    return spine.join(events, predicates).drop(_EVENT_ACCOUNT, _BUCKET, _EVENT_BUCKET)


def latest_before(spine: ir.Table, events: ir.Table, time_column: str) -> ir.Table:
    """Each snapshot with its account's latest event strictly before `as_of`.

    Snapshots with no earlier event keep NULLs. A range join plus `row_number`, not an as-of
    join, because Spark has no as-of join; callers pass a small, pre-reduced event table (one
    row per account and month or day), so the range join stays small.
    """
    events = events.rename({_EVENT_ACCOUNT: "account_id", _EVENT_TIME: time_column})
    others = [c for c in events.columns if c not in (_EVENT_ACCOUNT, _EVENT_TIME)]
    joined = spine.select(SNAPSHOT_ID, "account_id", "as_of").join(
        events,
        [spine.account_id == events[_EVENT_ACCOUNT], events[_EVENT_TIME] < spine.as_of],
    )
    if not others:
        # The time alone: its maximum, a grouping instead of a sort of every joined row.
        latest = joined.group_by(SNAPSHOT_ID).aggregate(**{time_column: joined[_EVENT_TIME].max()})
        kept = latest.rename({"_latest_snapshot_id": SNAPSHOT_ID})
        result = spine.left_join(kept, spine[SNAPSHOT_ID] == kept._latest_snapshot_id)
        return result.select(*spine.columns, time_column)
    ranked = joined.mutate(
        _recency=ibis.row_number().over(
            group_by=SNAPSHOT_ID, order_by=[ibis.desc(_EVENT_TIME), *others]
        )
    )
    latest = ranked.filter(ranked._recency == 0).select(
        SNAPSHOT_ID, *others, **{time_column: ranked[_EVENT_TIME]}
    )
    kept = latest.rename({"_latest_snapshot_id": SNAPSHOT_ID})
    result = spine.left_join(kept, spine[SNAPSHOT_ID] == kept._latest_snapshot_id)
    return result.select(*spine.columns, *others, time_column)


def latest_via_months(
    spine: ir.Table,
    recent: ir.Table,
    events: ir.Table,
    time_column: str,
    name: str,
) -> ir.Table:
    """`SNAPSHOT_ID` and `name`: the latest `time_column` strictly before as_of, from `recent`
    (`SNAPSHOT_ID`, `_recent`: the latest in a window of at least 31 days before as_of, which
    the caller has joined anyway) and, for snapshots with nothing in that window, the latest
    of the per-month maxima before as_of: an as-of join over months, not over every event.

    Exact: a month whose maximum is on or after as_of contains as_of (or is later), so its
    events before as_of lie inside the window; with nothing in the window, every earlier
    month's maximum is before as_of.
    """
    month = events[time_column].truncate("M")
    monthly = events.group_by([events.account_id, month.name("_month")]).aggregate(
        **{_EVENT_TIME: events[time_column].max()}
    )
    # Only the snapshots with nothing in the window need the months: at 100k accounts, a tenth.
    # A left join and a filter, not an anti join: DuckDB moved the anti join above the as-of
    # join, which then paired every snapshot with every earlier month (12M rows at 100k).
    flagged = spine.left_join(recent.select(SNAPSHOT_ID, "_recent"), SNAPSHOT_ID)
    quiet = flagged.filter(flagged._recent.isnull()).select(*spine.columns)
    older = latest_before(quiet, monthly.select("account_id", _EVENT_TIME), _EVENT_TIME)
    joined = (
        spine.select(SNAPSHOT_ID)
        .left_join(recent.select(SNAPSHOT_ID, "_recent"), SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
        .left_join(older.select(SNAPSHOT_ID, _EVENT_TIME), SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
    )
    return joined.select(SNAPSHOT_ID, **{name: joined._recent.fill_null(joined[_EVENT_TIME])})


def days_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """`later - earlier` in (fractional) days, counted in whole seconds.

    Whole seconds on every engine: DuckDB's epoch seconds keep the sub-second part that
    Spark's drop, and CRM, NPS and play times often carry milliseconds (the engines would
    differ by up to a second on such rows)."""
    seconds = (later.truncate("s").epoch_seconds() - earlier.truncate("s").epoch_seconds()).cast(
        "float64"
    )
    return seconds / real(SECONDS_PER_DAY)


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
    return ratio(current.cast("float64") - prior, prior) * real(100.0)


def flag(condition: ir.BooleanValue) -> ir.FloatingValue:
    """1.0 / 0.0 for a condition; NULL stays NULL."""
    return condition.cast("float64")


def materialize(source: DataSource, expression: ir.Table, prefix: str) -> ir.Table:
    """Compute `expression` once into a temporary table of the source's engine; return it.

    Used for the spine and the usage aggregates, which several families read: without it every
    family would recompute them from scratch.
    """
    return source.materialize(expression, f"_retain_{prefix}_{uuid.uuid4().hex[:12]}")


def nan_as_null(value: ir.FloatingValue) -> ir.FloatingValue:
    """Floating NaN (how some parquet writers store a missing number) as a real NULL;
    infinities stay values.

    DuckDB treats NaN as a value, so a single NaN would poison every sum and mean it enters.
    Tested by arithmetic (`is_finite`), not by `isnan`: DuckDB 2.0 folds `isnan` on parquet
    columns to false when the file's statistics say the column has no NaN, which some writers
    get wrong. (Its text form, the test before, cast each joined row to text: at 100k
    accounts, 0.9 CPU s in one family's join alone.)
    """
    return ibis.ifelse(is_finite(value) | value.isinf(), value, ibis.null("float64"))


def is_finite(value: ir.FloatingValue) -> ir.BooleanValue:
    """Whether `value` is finite: `x - x` is 0 only for a finite x (NaN and infinities give
    NaN, which equals nothing but itself on Spark and nothing at all on DuckDB); NULL stays
    NULL."""
    return (value - value) == real(0.0)


# -- day blocks: presence of many keys per day, compact enough to join to the spine ----------------

# Days per block: a block's mask and every shift of it stay within 63 bits (see `_window_word`).
# The widest such block is also the cheapest: at 100k accounts, 62 days against 32 halved the
# blocks and cut the usage family's day-block groupings and weekly activity by 5 CPU seconds.
BLOCK_DAYS = 62


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
    # The window's days, as_of_day - window_days .. as_of_day - 1, lie in these many blocks at
    # most: each snapshot meets only its own blocks (see `_with_buckets`).
    count = -(-window_days // BLOCK_DAYS) + 1
    spine = _with_buckets(spine, (spine.as_of_day - 1) // BLOCK_DAYS, count)
    block_start = blocks.block * BLOCK_DAYS
    joined = spine.join(
        blocks,
        [
            spine.account_id == blocks[_EVENT_ACCOUNT],
            spine[_BUCKET] == blocks.block,
            block_start < spine.as_of_day,
            block_start + BLOCK_DAYS > spine.as_of_day - window_days,
        ],
    )
    return joined.drop(_EVENT_ACCOUNT, _BUCKET)


def window_hit(joined: ir.Table, from_days_ago: int, to_days_ago: int = 0) -> ir.BooleanValue:
    """Whether the block has an active day in `[as_of - from_days_ago, as_of - to_days_ago)`."""
    block_start = joined.block * BLOCK_DAYS

    def clamp(day: ir.IntegerValue) -> ir.IntegerValue:
        return ibis.greatest(0, ibis.least(BLOCK_DAYS, day - block_start))

    low = clamp(joined.as_of_day - from_days_ago)
    high = clamp(joined.as_of_day - to_days_ago)
    one = bigint(1)
    return (joined.days & ((one << high) - (one << low))) != 0


# A window word holds at most this many days: shifts stay within 63 bits on every engine (DuckDB
# rejects a left shift that overflows, Spark takes the shift modulo 64).
_WORD_DAYS = 62


def _window_word(joined: ir.Table, window_days: int, first: int, width: int) -> ir.IntegerValue:
    """The block's active days at window positions `[first, first + width)` as a bit mask.

    Position p of the window `[as_of - window_days, as_of)` is the day `as_of - window_days +
    p`, so bit i of a block (the day `block * BLOCK_DAYS + i`) lands on bit `i + shift` of the
    word. Both branches keep every shift in 0..62 (an engine may evaluate both).
    """
    shift = joined.block * BLOCK_DAYS - joined.as_of_day + (window_days - first)
    one = bigint(1)

    def clamped(amount: ir.IntegerValue) -> ir.IntegerValue:
        return ibis.greatest(0, ibis.least(amount, _WORD_DAYS))

    # Left shift: only the block's bits that land inside the word, so nothing overflows.
    kept = ibis.greatest(0, ibis.least(BLOCK_DAYS, width - shift))
    left = (joined.days & ((one << kept) - one)) << clamped(shift)
    right = (joined.days >> clamped(-shift)) & bigint((1 << width) - 1)
    return ibis.ifelse(shift >= 0, left, right)


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

    Each block overlapping the window is shifted into window positions, two 64-bit words (the
    older days and the `recent` weeks, no engine-specific integer width), the words of one key
    OR-ed together, and the weeks read from them: a few shifts per block where a test per week
    took a dozen operations (at 100k accounts, 29M blocks). It is the hottest step of the usage
    family, so the result is materialized.
    """
    if 7 * weeks > window_days:
        raise ValueError("the weeks do not fit the window")
    # The most recent whole weeks that fit one word; the older days of the window in the other.
    recent_weeks = min(weeks, _WORD_DAYS // 7)
    older_days = window_days - 7 * recent_weeks
    if older_days > _WORD_DAYS:
        raise ValueError("the window does not fit two 64-bit words")
    joined = blocks_in_window(spine, blocks, window_days, origin)
    per_block = joined.select(
        SNAPSHOT_ID,
        key,
        older=_window_word(joined, window_days, 0, older_days),
        recent=_window_word(joined, window_days, older_days, 7 * recent_weeks),
    )
    per_key = per_block.group_by([SNAPSHOT_ID, key]).aggregate(
        older=per_block.older.bit_or().cast("int64"),
        recent=per_block.recent.bit_or().cast("int64"),
    )

    def active_in_week(k: int) -> ir.BooleanValue:
        # Week k is the positions window_days - 7(k+1) .. window_days - 7k - 1.
        first = window_days - 7 * (k + 1)
        word, low = (
            (per_key.recent, first - older_days) if k < recent_weeks else (per_key.older, first)
        )
        return ((word >> bigint(low)) & bigint(0b111_1111)) != bigint(0)

    week_bits = sum(
        (ibis.ifelse(active_in_week(k), bigint(1 << k), bigint(0)) for k in range(weeks)),
        bigint(0),
    )
    per_key = per_key.select(
        SNAPSHOT_ID,
        key,
        weeks=week_bits.cast("int64"),
        active_in_window=(per_key.older != bigint(0)) | (per_key.recent != bigint(0)),
    )
    return materialize(source, per_key, "weekly_activity")
