"""What a simulated data set holds: rows per table and realised renewal outcomes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from retain.config import load_config
from retain.errors import RetainError


@dataclass(frozen=True)
class Summary:
    rows: dict[str, int]  # table -> rows
    renewals_decided: int  # main-contract ends whose outcome is known inside the data
    churn_rate: float  # share of those ends with no new contract within the grace days
    expansion_rate: float  # share of the renewed ones whose ARR rose by more than the threshold
    contraction_rate: float


def summarize(out_dir: str | os.PathLike[str]) -> Summary:
    """Count rows and compute renewal outcomes from the contracts (not from the truth file)."""
    out = Path(out_dir)
    files = sorted(out.glob("*.parquet"))
    if not files:
        raise RetainError(f"No parquet tables in {out}.")
    rows = {file.stem: pq.ParquetFile(file).metadata.num_rows for file in files}
    config = load_config(out, workdir=out)
    if config.features.data_end is None:
        raise RetainError(
            f"{out}/retain.toml does not say where the data ends (features.data_end)."
        )
    data_end = pd.Timestamp(config.features.data_end)
    labels = config.labels
    grace = pd.Timedelta(days=labels.grace_days)

    contracts = pd.read_parquet(out / "contracts.parquet")
    at_end = contracts.groupby(["account_id", "end_date"], as_index=False)["arr"].sum()
    main = contracts[contracts["plan"] != "add-on"].sort_values(["account_id", "start_date"])
    main = main.assign(
        next_start=main.groupby("account_id")["start_date"].shift(-1),
        next_arr=main.groupby("account_id")["arr"].shift(-1),
    )
    main = main.merge(at_end, on=["account_id", "end_date"], suffixes=("", "_total"))
    decided = main[main["end_date"] + grace < data_end]
    churned = decided["next_start"].isna() | (decided["next_start"] > decided["end_date"] + grace)
    renewed = decided[~churned]
    ratio = renewed["next_arr"] / renewed["arr_total"]
    return Summary(
        rows=rows,
        renewals_decided=len(decided),
        churn_rate=float(churned.mean()) if len(decided) else float("nan"),
        expansion_rate=float((ratio > 1 + labels.expansion_threshold).mean()),
        contraction_rate=float((ratio < 1 - labels.contraction_threshold).mean()),
    )
