"""Outcome labels of each snapshot (BRIEF: Labels and snapshots).

Labels are the one place that reads the future, on purpose: coverage and ARR after `as_of`.

- in force at d: `start_date < d <= end_date`, the rule every stage uses (`in_force_at`);
- coverage: the union of an account's contract intervals, a gap of up to `grace_days` bridged;
- renewal date E: the latest end among the contracts in force at `as_of` (it may equal as_of);
- churn (renewal risk): the risk window ends at T = max(E, as_of + min_risk_days); the account
  churns when its coverage block ends in [as_of, T] (a new contract within `grace_days` of an end
  continues the block). Every account's risk refers to its own next renewal decision, whatever
  its term, so no account is "safe" only because its renewal is far away;
- ARR(t): the sum of `arr` over contracts in force at t (add-ons count);
- expansion / contraction within the horizon H: ARR at as_of + H (or, when that falls in a
  bridged gap, at the renewal that closes it) above / below ARR(as_of) by more than the threshold,
  without the coverage ending inside the horizon;
- each target has its own known date: churn at T + grace, expansion and contraction at
  as_of + H + grace. A label is known only when that date is before the data's (exclusive) end:
  on `data_end` itself a contract starting that day is not in the data. Unknown outcomes are
  NULL (censored), never 0.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.commercial import known_contracts
from features.frame import known_at_column
from features.source import DataSource
from features.windows import SNAPSHOT_ID, days, in_force_at
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


def arr_at(
    points: ir.Table, contracts: ir.Table, time_column: str, *, starting: bool = False
) -> ir.Table:
    """ARR per snapshot at `points[time_column]`: `snapshot_id`, `arr_at` (0 when none).

    In force at t by default; `starting=True` sums the terms running from t on
    (`start_date <= t < end_date`), the ARR a renewal that begins at t brings.
    """
    other = contracts.rename(_account_id="account_id")
    at = points[time_column]
    running = (
        [other.start_date <= at, at < other.end_date] if starting else [in_force_at(other, at)]
    )
    joined = points.join(other, [points.account_id == other._account_id, *running])
    summed = joined.group_by(SNAPSHOT_ID).aggregate(arr_at=joined.arr.sum())
    result = points.select(SNAPSHOT_ID).left_join(summed, SNAPSHOT_ID)
    return result.select(SNAPSHOT_ID, arr_at=result.arr_at.fill_null(0.0))


def renewal_dates(spine: ir.Table, contracts: ir.Table) -> ir.Table:
    """The next renewal E: the latest end_date among the contracts in force at as_of."""
    other = contracts.rename(_account_id="account_id")
    joined = spine.join(
        other, [spine.account_id == other._account_id, in_force_at(other, spine.as_of)]
    )
    return joined.group_by(SNAPSHOT_ID).aggregate(renewal_date=joined.end_date.max())


def _block_ends(spine: ir.Table, contracts: ir.Table, grace_days: int) -> ir.Table:
    """Per snapshot, the end of the coverage block in force at as_of."""
    blocks = coverage_blocks(contracts, grace_days).rename(_account_id="account_id")
    in_block = spine.join(
        blocks,
        [
            spine.account_id == blocks._account_id,
            blocks.block_start < spine.as_of,
            spine.as_of <= blocks.block_end,
        ],
    )
    return in_block.group_by(SNAPSHOT_ID).aggregate(block_end=in_block.block_end.max())


def _arr_at_next_start(spine: ir.Table, points: ir.Table, contracts: ir.Table) -> ir.Table:
    """ARR of the first renewal that starts after the horizon's end (closes a bridged gap)."""
    other = contracts.rename(_account_id="account_id")
    after = points.join(
        other, [points.account_id == other._account_id, other.start_date > points.horizon_end]
    )
    next_start = after.group_by(SNAPSHOT_ID).aggregate(next_start=after.start_date.min())
    next_points = spine.join(next_start, SNAPSHOT_ID).select(
        SNAPSHOT_ID, "account_id", "next_start"
    )
    return arr_at(next_points, contracts, "next_start", starting=True).rename(arr_next="arr_at")


def label_table(source: DataSource, config: Config, spine: ir.Table) -> ir.Table:
    """Per snapshot: `renewal_date`, `churn_window_end` and the label columns of the frame."""
    labels = config.labels
    contracts = known_contracts(source).drop("seats")
    horizon = days(labels.horizon_days)
    grace = days(labels.grace_days)
    data_end = ibis.literal(source.data_end.to_pydatetime())

    points = spine.mutate(horizon_end=spine.as_of + horizon)
    arr_now = arr_at(points, contracts, "as_of").rename(arr_now="arr_at")
    arr_end = arr_at(points, contracts, "horizon_end").rename(arr_end="arr_at")

    t = points.select(SNAPSHOT_ID, "as_of", "horizon_end")
    for part in (
        _block_ends(spine, contracts, labels.grace_days),
        arr_now,
        arr_end,
        _arr_at_next_start(spine, points, contracts),
        renewal_dates(spine, contracts),
    ):
        t = t.left_join(part, SNAPSHOT_ID).drop(f"{SNAPSHOT_ID}_right")

    min_window_end = t.as_of + days(labels.min_risk_days)
    window_end = ibis.greatest(t.renewal_date.fill_null(min_window_end), min_window_end)
    ended = t.block_end.isnull()
    churned = ended | (t.block_end <= window_end)
    lost_in_horizon = ended | (t.block_end <= t.horizon_end)
    in_gap = (t.arr_end == 0) & ~lost_in_horizon
    arr_horizon = ibis.cases(
        (lost_in_horizon, 0.0), (in_gap, t.arr_next.fill_null(0.0)), else_=t.arr_end
    )
    churn_known_at = window_end + grace
    horizon_known_at = t.horizon_end + grace
    up = arr_horizon > t.arr_now * (1.0 + labels.expansion_threshold)
    down = arr_horizon < t.arr_now * (1.0 - labels.contraction_threshold)

    def when_known(value: ir.Value, known_at: ir.Value) -> ir.Value:
        return ibis.ifelse(known_at < data_end, value.cast("float64"), ibis.null("float64"))

    return t.select(
        SNAPSHOT_ID,
        renewal_date=t.renewal_date,
        churn_window_end=window_end,
        churn=when_known(churned, churn_known_at),
        expansion=when_known(~lost_in_horizon & up, horizon_known_at),
        contraction=when_known(~lost_in_horizon & down, horizon_known_at),
        **{
            known_at_column("churn"): churn_known_at,
            known_at_column("expansion"): horizon_known_at,
            known_at_column("contraction"): horizon_known_at,
        },
        arr_at_horizon=when_known(arr_horizon, horizon_known_at),
        arr_at_as_of=t.arr_now,  # not a label: the segment of a brand-new account needs it
    )
