"""What a data source holds, before anything is trained: the facts `retain profile` prints.

`profile(source, config)` returns a `DataProfile`: the history span, the term mix of the
contracts, the snapshots the backtest would score, and per target the base rate, how many
outcomes are known and how long they take to become known (label latency). Which evaluation the
data supports is the evaluation stage's answer (evaluation.suggest), computed from the same
`labels` frame, so the profile and the backtest can never disagree.

Only the spine and the labels are built (no feature family), so a profile costs seconds where
the features take minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from features.frame import OUTCOMES, known_at_column
from features.labels import label_table
from features.source import DataSource
from features.spine import snapshot_spine
from features.windows import SNAPSHOT_ID, materialize
from retain.config import Config

# Contract terms by length in days: a month is 28-31 days, a quarter about 91, a year 365.
TERM_BUCKETS: tuple[tuple[str, int], ...] = (
    ("monthly", 45),
    ("quarterly", 120),
    ("annual", 400),
)
MULTI_YEAR = "multi-year"


@dataclass
class DataProfile:
    """The facts of one data source (see the module docstring)."""

    location: str
    accounts: int
    contracts: int
    data_start: pd.Timestamp | None  # first day of event history (None: no event tables)
    data_end: pd.Timestamp
    history_months: float
    term_mix: dict[str, float]  # bucket -> share of contracts
    snapshots: int
    snapshot_dates: int
    snapshots_per_account: float
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "accounts": self.accounts,
            "contracts": self.contracts,
            "data_start": None if self.data_start is None else str(self.data_start.date()),
            "data_end": str(self.data_end.date()),
            "history_months": round(self.history_months, 1),
            "term_mix": {k: round(v, 4) for k, v in self.term_mix.items()},
            "snapshots": self.snapshots,
            "snapshot_dates": self.snapshot_dates,
            "snapshots_per_account": round(self.snapshots_per_account, 2),
            "targets": self.targets,
        }


def label_frame(source: DataSource, config: Config) -> pd.DataFrame:
    """The backtest's snapshots (both spines, or the configured snapshot dates) with their
    renewal dates and labels, without features."""
    as_of = list(config.features.as_of_dates) or None
    spine = snapshot_spine(source, config, spine="both", as_of=as_of)
    spine = spine.mutate(
        as_of=spine.as_of.cast("timestamp"),
        **{
            SNAPSHOT_ID: ibis.row_number()
            .over(order_by=["account_id", "as_of", "spine"])
            .cast("int64")
        },
    )
    before = _temporary_tables(source)
    try:
        snapshots = materialize(source, spine, "profile_spine")
        identity = snapshots.order_by(SNAPSHOT_ID).to_pandas().reset_index(drop=True)
        labels = label_table(source, config, snapshots).order_by(SNAPSHOT_ID).to_pandas()
    finally:
        for name in _temporary_tables(source) - before:
            source.connection.execute(f'DROP TABLE IF EXISTS "{name}"')
    frame = pd.concat(
        [
            identity[["account_id", "as_of", "spine"]],
            labels.drop(columns=SNAPSHOT_ID).reset_index(drop=True),
        ],
        axis=1,
    )
    for column in ("as_of", "renewal_date", "churn_window_end", *map(known_at_column, OUTCOMES)):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    frame["account_id"] = frame["account_id"].astype(str)
    return frame


def _temporary_tables(source: DataSource) -> set[str]:
    rows = source.connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary"
    ).fetchall()
    return {row[0] for row in rows}


def term_mix(contracts: pd.DataFrame) -> dict[str, float]:
    """Share of contracts per term bucket (`TERM_BUCKETS`, then multi-year)."""
    days = (pd.to_datetime(contracts["end_date"]) - pd.to_datetime(contracts["start_date"])).dt.days
    days = days[days.notna()]
    if days.empty:
        return {}
    names = [name for name, _ in TERM_BUCKETS] + [MULTI_YEAR]
    bounds = [-1, *[limit for _, limit in TERM_BUCKETS], float("inf")]
    buckets = pd.cut(days, bounds, labels=names, right=True)
    return {name: float((buckets == name).mean()) for name in names}


def target_facts(labels: pd.DataFrame, target: str) -> dict[str, Any]:
    """Base rate, known share and label latency of one target."""
    known = labels[target].notna()
    latency = (labels[known_at_column(target)] - labels["as_of"]).dt.days
    known_latency = latency[known]
    positives = labels[known & (labels[target] == 1)]
    return {
        "known_snapshots": int(known.sum()),
        "known_share": float(known.mean()) if len(labels) else 0.0,
        "base_rate": float(labels.loc[known, target].mean()) if known.any() else None,
        "positive_snapshots": len(positives),
        "positive_accounts": int(positives["account_id"].nunique()),
        "latency_days_median": float(latency.median()) if latency.notna().any() else None,
        "latency_days_p90": float(latency.quantile(0.9)) if latency.notna().any() else None,
        "known_latency_days_median": (
            float(known_latency.median()) if known_latency.notna().any() else None
        ),
    }


def profile(source: DataSource, config: Config) -> DataProfile:
    """The facts of `source` under `config` (see the module docstring)."""
    accounts = int(source.sql("SELECT count(DISTINCT account_id) AS n FROM accounts")["n"].iloc[0])
    contracts = source.sql("SELECT start_date, end_date FROM contracts")
    labels = label_frame(source, config)
    data_end = source.data_end
    start = source.data_start
    if start is None and len(contracts):
        start = pd.Timestamp(pd.to_datetime(contracts["start_date"]).min()).normalize()
    months = (data_end - start).days / 30.44 if start is not None else 0.0
    n_accounts = labels["account_id"].nunique()
    return DataProfile(
        location=source.location,
        accounts=accounts,
        contracts=len(contracts),
        data_start=source.data_start,
        data_end=data_end,
        history_months=months,
        term_mix=term_mix(contracts),
        snapshots=len(labels),
        snapshot_dates=int(labels["as_of"].nunique()),
        snapshots_per_account=len(labels) / n_accounts if n_accounts else 0.0,
        targets={t: target_facts(labels, t) for t in OUTCOMES if t in labels},
        labels=labels,
    )
