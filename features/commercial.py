"""Commercial features: ARR, seats, tenure, renewal timing, contract history.

Only contracts with `start_date < as_of` are visible (a renewal signed later does not exist yet).
"In force" is the one rule of the labels and the spine, `start_date < as_of <= end_date`: visible
and `end_date >= as_of`, so a term that ends exactly at `as_of` is in force (the account is up
for renewal that day) and a term starting on `as_of` is not yet known. The renewal date is the
latest end among the terms in force, as in `features.labels.renewal_dates`.
"""

from __future__ import annotations

import ibis.expr.types as ir

from features.source import DataSource
from features.windows import (
    SNAPSHOT_ID,
    attach,
    change_pct,
    days,
    days_between,
    in_force_at,
    in_window,
    nan_as_null,
    ratio,
)
from retain.config import Config

COUNTS = ("renewals_count",)
VALUES = (
    "arr",
    "seats",
    "tenure_days",
    "days_to_renewal",
    "contract_term_days",
    "arr_change_pct_365d",
    "arr_per_seat",
)


def _in_force(v: ir.Table) -> ir.BooleanValue:
    return in_force_at(v, v.as_of)


def _in_force_a_year_ago(v: ir.Table) -> ir.BooleanValue:
    year_ago = v.as_of - days(365)
    return (v.start_date < year_ago) & (v.end_date >= year_ago)


# -- per-snapshot aggregates over the visible contracts `v` ---------------------------------------


def arr(v: ir.Table) -> ir.Value:
    return v.arr.sum(where=_in_force(v))


def seats(v: ir.Table) -> ir.Value:
    return v.seats.sum(where=_in_force(v))


def tenure_days(v: ir.Table) -> ir.Value:
    return days_between(v.as_of.max(), v.start_date.min())


def days_to_renewal(v: ir.Table) -> ir.Value:
    return days_between(v.end_date.max(where=_in_force(v)), v.as_of.max())


def contract_term_days(v: ir.Table) -> ir.Value:
    return days_between(v.end_date, v.start_date).max(where=_in_force(v))


def renewals_count(v: ir.Table) -> ir.Value:
    """Terms completed while the account stayed (distinct end dates before as_of)."""
    return v.end_date.nunique(where=v.end_date < v.as_of)


def arr_365d_ago(v: ir.Table) -> ir.Value:
    return v.arr.sum(where=_in_force_a_year_ago(v))


# -- derived per snapshot ------------------------------------------------------------------------


def arr_change_pct_365d(s: ir.Table) -> ir.Value:
    return change_pct(s.arr, s.arr_365d_ago)


def arr_per_seat(s: ir.Table) -> ir.Value:
    return ratio(s.arr, s.seats)


AGGREGATES = (
    arr,
    seats,
    tenure_days,
    days_to_renewal,
    contract_term_days,
    renewals_count,
    arr_365d_ago,
)
DERIVED = (arr_change_pct_365d, arr_per_seat)


def known_contracts(source: DataSource) -> ir.Table:
    contracts = source.table("contracts")
    return contracts.select(
        "account_id",
        "start_date",
        "end_date",
        arr=nan_as_null(contracts.arr),
        seats=nan_as_null(contracts.seats),
    )


def commercial_features(spine: ir.Table, source: DataSource, config: Config) -> ir.Table:
    contracts = known_contracts(source)
    visible = in_window(spine, contracts, "start_date")
    per_snapshot = visible.group_by(SNAPSHOT_ID).aggregate(
        **{fn.__name__: fn(visible) for fn in AGGREGATES}
    )
    per_snapshot = per_snapshot.mutate(**{fn.__name__: fn(per_snapshot) for fn in DERIVED})
    return attach(spine, per_snapshot, counts=COUNTS, values=VALUES)
