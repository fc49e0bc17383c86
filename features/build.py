"""Build the feature frame: spine, then every feature family present, then labels.

Each family is an Ibis expression over the materialized spine, run on the source's DuckDB
connection; pandas appears only here, where the per-family results (one row per snapshot, in
snapshot order) are put side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from features.account import account_features
from features.commercial import commercial_features
from features.frame import IDENTITY_COLUMNS, LABEL_COLUMNS, OUTCOMES, known_at_column
from features.handoffs import handoffs_features
from features.labels import label_table
from features.outcome import outcome_features
from features.plays import plays_features
from features.relationship import relationship_features
from features.segments import segments
from features.sentiment import sentiment_features
from features.source import DataSource
from features.spine import snapshot_spine
from features.support import support_features
from features.usage import usage_features
from features.windows import SNAPSHOT_ID, materialize
from retain.config import Config

FamilyFunction = Callable[[ir.Table, DataSource, Config], "ir.Table | None"]


@dataclass(frozen=True)
class Family:
    name: str
    tables: tuple[str, ...]  # the family runs when any of these tables is present
    build: FamilyFunction


FAMILIES: tuple[Family, ...] = (
    Family("account", ("accounts",), account_features),
    Family("commercial", ("contracts",), commercial_features),
    Family("usage", ("usage",), usage_features),
    Family("support", ("tickets",), support_features),
    Family("relationship", ("contacts", "activities"), relationship_features),
    Family("outcome", ("milestones",), outcome_features),
    Family("sentiment", ("surveys",), sentiment_features),
    Family("plays", ("plays",), plays_features),
    # "accounts": a [handoffs] mapping of accounts columns; the family returns None without one.
    Family("handoffs", ("handoffs", "accounts"), handoffs_features),
)


def families_for(source: DataSource) -> list[Family]:
    """The families whose tables are present."""
    return [f for f in FAMILIES if any(source.has(t) for t in f.tables)]


def _snapshot_order(table: ir.Table) -> pd.DataFrame:
    # Through Arrow: Ibis's DuckDB `to_pandas` turns every column with a NULL into a Python
    # list first (at 100k accounts, 10 s of one core for the NULL-heavy feature columns).
    return table.order_by(SNAPSHOT_ID).to_pyarrow().to_pandas()


def build_features(
    source: DataSource,
    config: Config,
    *,
    spine: str | None = "monthly",
    as_of: Sequence[date | str] | None = None,
    account_ids: Sequence[str] | None = None,
    progress: Any = None,
) -> pd.DataFrame:
    """One row per snapshot: identity, segment, renewal date, features, labels.

    `spine=None` means "monthly, unless the config names snapshot dates" (`features.as_of_dates`,
    for snapshot-only data); explicit `as_of` dates always win. `progress` is an optional
    `rich.progress.Progress`; a task advances once per step.
    """
    if not as_of and spine is None and config.features.as_of_dates:
        as_of = list(config.features.as_of_dates)
    families = families_for(source)
    task = None
    if progress is not None:
        task = progress.add_task("features", total=len(families) + 3)

    def step(description: str) -> None:
        if task is not None:
            progress.update(task, advance=1, description=description)

    before = source.temporary_tables()
    try:
        spine_expr = snapshot_spine(
            source, config, spine=spine or "monthly", as_of=as_of, account_ids=account_ids
        )
        spine_expr = spine_expr.mutate(
            as_of=spine_expr.as_of.cast("timestamp"),
            **{
                SNAPSHOT_ID: ibis.row_number()
                .over(order_by=["account_id", "as_of", "spine"])
                .cast("int64")
            },
        )
        snapshots = materialize(source, spine_expr, "spine")
        identity = _snapshot_order(snapshots)
        step("spine")
        # Columns by name, each family's in snapshot order: the frame is built once at the end
        # (a concat, a drop and a reorder would each copy the 1.4M x 85 floats of a large book).
        columns: dict[str, pd.Series] = {c: identity[c] for c in ("account_id", "as_of", "spine")}
        labels = _snapshot_order(label_table(source, config, snapshots))
        step("labels")
        for family in families:
            if task is not None:
                progress.update(task, description=family.name)
            kept = source.temporary_tables()
            expression = family.build(snapshots, source, config)
            if expression is not None:
                part = _snapshot_order(expression)
                columns.update((c, part[c]) for c in part.columns if c != SNAPSHOT_ID)
            # A family's materialized steps (the usage aggregates: ~60M rows at 100k accounts)
            # are read by it alone: freed now, not held while the others run.
            for name in source.temporary_tables() - kept:
                source.drop_temporary(name)
            step(family.name)
        columns.update(
            (c, labels[c]) for c in labels.columns if c not in (SNAPSHOT_ID, "arr_at_as_of")
        )
        accounts = source.table("accounts").select("account_id", "segment").to_pandas()
        given = accounts.drop_duplicates("account_id")
        given_by_snapshot = columns["account_id"].map(given.set_index("account_id")["segment"])
        arr = columns["arr"].fillna(labels["arr_at_as_of"])
        columns["segment"] = segments(given_by_snapshot, arr, config.segments)
    finally:
        for name in source.temporary_tables() - before:
            source.drop_temporary(name)
    step("done")
    return _tidy(columns)


def _tidy(columns: dict[str, pd.Series]) -> pd.DataFrame:
    """One frame with stable dtypes (timestamps as datetime64[ns], features float64 or text,
    flags bool), identity columns first and labels last.

    The float64 columns (most of the frame) are copied once, into the one block the frame
    keeps: `pd.DataFrame` of a dict stacks them and then merges the stacks, two copies into
    fresh memory, whose page faults cost more than the copying (at 100k accounts, 1 GB each
    way and 4 s of one core against 1).
    """
    dates = ("as_of", "renewal_date", "churn_window_end", *map(known_at_column, OUTCOMES))
    for column in dates:
        columns[column] = pd.to_datetime(columns[column]).astype("datetime64[ns]")
    for column in ("account_id", "spine", "segment"):
        columns[column] = columns[column].astype(object)
    ordered = [
        *IDENTITY_COLUMNS,
        *[c for c in columns if c not in IDENTITY_COLUMNS and c not in LABEL_COLUMNS],
        *LABEL_COLUMNS,
    ]
    floats = [c for c in ordered if columns[c].dtype == np.float64]
    block = np.empty((len(floats), len(columns["account_id"])))
    for row, column in enumerate(floats):
        block[row] = columns[column].to_numpy()
    frame = pd.DataFrame(block.T, columns=floats, copy=False)
    # In order, so that every column before `position` is already in place.
    for position, column in enumerate(ordered):
        if column not in frame.columns:
            frame.insert(position, column, columns[column].to_numpy())
    return frame
