"""Outcome labels of each snapshot (BRIEF: Labels and snapshots).

Labels are the one place that reads the future, on purpose: coverage and ARR after `as_of`.

- coverage: the union of an account's contract intervals, a gap of up to `grace_days` bridged;
- churn: the coverage block containing `as_of` ends in `(as_of, as_of + horizon]`;
- ARR(t): the sum of `arr` over contracts with `start_date <= t < end_date` (add-ons count);
- expansion / contraction: ARR at the horizon (or, when the horizon falls in a bridged gap, at the
  renewal that closes it) above / below ARR(as_of) by more than the threshold, without churn;
- known once `as_of + horizon + grace <= data_end`; unknown outcomes are NULL (censored), never 0.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.commercial import known_contracts
from features.source import DataSource
from features.windows import SNAPSHOT_ID, days
from retain.config import Config


def coverage_blocks(contracts: ir.Table, grace_days: int) -> ir.Table:
    """Per account, maximal periods of continuous coverage (`block_start`, `block_end`)."""
    ordered = ibis.window(
        group_by="account_id", order_by=["start_date", "end_date"], rows=(None, -1)
    )
    running = ibis.window(
        group_by="account_id", order_by=["start_date", "end_date"], rows=(None, 0)
    )
    previous_end = contracts.end_date.max().over(ordered)
    starts_block = previous_end.isnull() | (contracts.start_date > previous_end + days(grace_days))
    numbered = contracts.mutate(_starts_block=starts_block.cast("int64"))
    numbered = numbered.mutate(_block=numbered._starts_block.sum().over(running))
    return numbered.group_by(["account_id", "_block"]).aggregate(
        block_start=numbered.start_date.min(), block_end=numbered.end_date.max()
    )


def arr_at(points: ir.Table, contracts: ir.Table, time_column: str) -> ir.Table:
    """ARR in force at `points[time_column]` per snapshot: `snapshot_id`, `arr_at` (0 when none)."""
    other = contracts.rename(_account_id="account_id")
    at = points[time_column]
    joined = points.join(
        other,
        [points.account_id == other._account_id, other.start_date <= at, at < other.end_date],
    )
    summed = joined.group_by(SNAPSHOT_ID).aggregate(arr_at=joined.arr.sum())
    result = points.select(SNAPSHOT_ID).left_join(summed, SNAPSHOT_ID)
    return result.select(SNAPSHOT_ID, arr_at=result.arr_at.fill_null(0.0))


def renewal_dates(spine: ir.Table, contracts: ir.Table) -> ir.Table:
    """End of the current contract: the earliest end_date > as_of among contracts in force."""
    other = contracts.rename(_account_id="account_id")
    joined = spine.join(
        other,
        [
            spine.account_id == other._account_id,
            other.start_date <= spine.as_of,
            spine.as_of < other.end_date,
        ],
    )
    return joined.group_by(SNAPSHOT_ID).aggregate(renewal_date=joined.end_date.min())


def label_table(source: DataSource, config: Config, spine: ir.Table) -> ir.Table:
    """Per snapshot: `renewal_date` and the label columns of `features.frame.LABEL_COLUMNS`."""
    labels = config.labels
    contracts = known_contracts(source).drop("seats")
    horizon = days(labels.horizon_days)
    data_end = ibis.literal(source.data_end.to_pydatetime())

    blocks = coverage_blocks(contracts, labels.grace_days).rename(_account_id="account_id")
    in_block = spine.join(
        blocks,
        [
            spine.account_id == blocks._account_id,
            blocks.block_start <= spine.as_of,
            spine.as_of < blocks.block_end,
        ],
    )
    snapshot_blocks = in_block.group_by(SNAPSHOT_ID).aggregate(block_end=in_block.block_end.max())

    points = spine.mutate(horizon_end=spine.as_of + horizon)
    arr_now = arr_at(points, contracts, "as_of").rename(arr_now="arr_at")
    arr_end = arr_at(points, contracts, "horizon_end").rename(arr_end="arr_at")

    # When the horizon ends inside a bridged gap, the renewal that closes the gap decides.
    other = contracts.rename(_account_id="account_id")
    after = points.join(
        other,
        [points.account_id == other._account_id, other.start_date > points.horizon_end],
    )
    next_start = after.group_by(SNAPSHOT_ID).aggregate(next_start=after.start_date.min())
    next_points = spine.join(next_start, SNAPSHOT_ID).select(
        SNAPSHOT_ID, "account_id", "next_start"
    )
    arr_next = arr_at(next_points, contracts, "next_start").rename(arr_next="arr_at")

    t = (
        points.left_join(snapshot_blocks, SNAPSHOT_ID)
        .select(SNAPSHOT_ID, "as_of", "horizon_end", "block_end")
        .left_join(arr_now, SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
        .left_join(arr_end, SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
        .left_join(arr_next, SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
        .left_join(renewal_dates(spine, contracts), SNAPSHOT_ID)
        .drop(f"{SNAPSHOT_ID}_right")
    )
    churned = t.block_end.isnull() | (t.block_end <= t.horizon_end)
    in_gap = (t.arr_end == 0) & ~churned
    arr_horizon = ibis.cases((churned, 0.0), (in_gap, t.arr_next.fill_null(0.0)), else_=t.arr_end)
    known_at = t.as_of + horizon + days(labels.grace_days)
    known = known_at <= data_end
    up = arr_horizon > t.arr_now * (1.0 + labels.expansion_threshold)
    down = arr_horizon < t.arr_now * (1.0 - labels.contraction_threshold)

    def when_known(value: ir.Value) -> ir.Value:
        return ibis.ifelse(known, value.cast("float64"), ibis.null("float64"))

    return t.select(
        SNAPSHOT_ID,
        renewal_date=t.renewal_date,
        churn=when_known(churned),
        expansion=when_known(~churned & up),
        contraction=when_known(~churned & down),
        label_known=known,
        label_known_at=known_at,
        arr_at_horizon=when_known(arr_horizon),
        arr_at_as_of=t.arr_now,  # not a label: the segment of a brand-new account needs it
    )
