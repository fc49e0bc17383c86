"""Quick quality check of a simulated data set (not a test): rates, oracle AUC, timings.

    .venv/bin/python bench/simulator_quality.py --accounts 2000 --months 36 [--out DIR]

Simulates (unless --reuse), then computes the realised labels directly from the contracts table
(independently of the features stage) and prints rows per table, base rates, the oracle ROC-AUC
of truth.parquet against the realised labels, and the oracle's green/red renewal-rate ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

# bench/features.py would shadow the features package: the repository root comes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retain.config import LabelsConfig, load_config
from simulator._run import OUTPUT_TABLES, simulate


def realised_labels(data: Path, labels: LabelsConfig, data_end: pd.Timestamp) -> pd.DataFrame:
    """truth.parquet joined with the churn / expansion labels computed from the contracts."""
    con = duckdb.connect()
    h, g = labels.horizon_days, labels.grace_days
    query = f"""
    WITH c AS (SELECT * FROM read_parquet('{data}/contracts.parquet')),
    main AS (SELECT * FROM c WHERE plan <> 'add-on'),
    lapses AS (
        SELECT m.account_id, m.end_date AS lapse FROM main m
        WHERE NOT EXISTS (
            SELECT 1 FROM main n WHERE n.account_id = m.account_id
              AND n.start_date >= m.end_date AND n.start_date <= m.end_date + INTERVAL {g} DAY)
    ),
    t AS (SELECT * FROM read_parquet('{data}/truth.parquet'))
    SELECT t.*, a.segment,
      (SELECT COUNT(*) FROM lapses l WHERE l.account_id = t.account_id
         AND l.lapse > t.as_of AND l.lapse <= t.as_of + INTERVAL {h} DAY) > 0 AS churn,
      (SELECT COALESCE(SUM(arr), 0) FROM c WHERE c.account_id = t.account_id
         AND c.start_date <= t.as_of AND t.as_of < c.end_date) AS arr_now,
      (SELECT COALESCE(SUM(arr), 0) FROM c WHERE c.account_id = t.account_id
         AND c.start_date <= t.as_of + INTERVAL {h} DAY
         AND t.as_of + INTERVAL {h} DAY < c.end_date) AS arr_later
    FROM t JOIN read_parquet('{data}/accounts.parquet') a USING (account_id)
    WHERE t.as_of + INTERVAL {h + g} DAY < TIMESTAMP '{data_end}'
    """
    frame = con.execute(query).df()
    frame["expansion"] = frame["arr_later"] > frame["arr_now"] * (1 + labels.expansion_threshold)
    frame["contraction"] = (frame["arr_later"] > 0) & (
        frame["arr_later"] < frame["arr_now"] * (1 - labels.contraction_threshold)
    )
    return frame


def renewal_outcomes(data: Path, grace_days: int, data_end: pd.Timestamp) -> pd.DataFrame:
    """One row per main-contract end decided inside the data: churned, expanded, contracted."""
    con = duckdb.connect()
    return con.execute(
        f"""
        WITH c AS (SELECT * FROM read_parquet('{data}/contracts.parquet')),
        main AS (SELECT * FROM c WHERE plan <> 'add-on'),
        ends AS (
          SELECT m.account_id, m.end_date,
            (SELECT SUM(arr) FROM c WHERE c.account_id = m.account_id
               AND c.start_date < m.end_date AND m.end_date <= c.end_date) AS arr_before,
            (SELECT MIN(n.arr) FROM main n WHERE n.account_id = m.account_id
               AND n.start_date >= m.end_date
               AND n.start_date <= m.end_date + INTERVAL {grace_days} DAY) AS arr_after
          FROM main m
          WHERE m.end_date + INTERVAL {grace_days} DAY < TIMESTAMP '{data_end}'
            AND m.end_date >= (SELECT MIN(timestamp) FROM read_parquet('{data}/usage.parquet'))
        )
        SELECT e.*, a.segment, arr_after IS NULL AS churn,
          arr_after > arr_before * 1.05 AS expansion,
          arr_after < arr_before * 0.95 AS contraction
        FROM ends e JOIN read_parquet('{data}/accounts.parquet') a USING (account_id)
        """
    ).df()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="check --out without simulating")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="retain-sim-"))
    if not args.reuse:
        began = time.perf_counter()
        simulate(out, n_accounts=args.accounts, months=args.months, seed=args.seed)
        print(
            f"simulate {args.accounts} x {args.months}: "
            f"{time.perf_counter() - began:.1f} s -> {out}"
        )

    for table in OUTPUT_TABLES:
        print(
            f"  {table:<11} {pq.ParquetFile(out / f'{table}.parquet').metadata.num_rows:>12,} rows"
        )

    config = load_config(out, workdir=out)
    labels = config.labels
    data_end = pd.Timestamp(config.features.data_end)

    renewals = renewal_outcomes(out, labels.grace_days, data_end)
    print("\nrenewal outcomes (main-contract ends decided inside the data)")
    summary = renewals.groupby("segment")[["churn", "expansion", "contraction"]].mean()
    summary["n"] = renewals.groupby("segment").size()
    print(summary.round(3).to_string())
    renewed = renewals[~renewals["churn"]]
    print(
        f"all: churn {renewals['churn'].mean():.3f}, expansion among renewals "
        f"{renewed['expansion'].mean():.3f}, "
        f"contraction among renewals {renewed['contraction'].mean():.3f}"
    )

    frame = realised_labels(out, labels, data_end)
    monthly = frame[frame["spine"] == "monthly"]
    yearly = 1 - (1 - monthly["churn"].mean()) ** (365 / labels.horizon_days)
    print(
        f"\nmonthly spine: 180-day churn {monthly['churn'].mean():.3f} (~{yearly:.3f} a year), "
        f"180-day expansion {monthly['expansion'].mean():.3f}, "
        f"contraction {monthly['contraction'].mean():.3f}"
    )
    for spine, part in frame.groupby("spine"):
        print(f"\noracle on the {spine} spine ({len(part):,} known snapshots)")
        for name, rows in [("all", part), *part.groupby("segment")]:
            auc_c = roc_auc_score(rows["churn"], rows["churn_probability"])
            auc_e = roc_auc_score(rows["expansion"], rows["expansion_probability"])
            print(
                f"  {name:<11} churn AUC {auc_c:.3f} (rate {rows['churn'].mean():.3f}, "
                f"mean p {rows['churn_probability'].mean():.3f})  expansion AUC {auc_e:.3f} "
                f"(rate {rows['expansion'].mean():.3f}, "
                f"mean p {rows['expansion_probability'].mean():.3f})"
            )
        risk = part["churn_probability"]
        red = part[risk >= np.quantile(risk, 0.85)]
        green = part[risk <= np.quantile(risk, 0.60)]
        ratio = (1 - green["churn"].mean()) / max(1 - red["churn"].mean(), 1e-9)
        print(
            f"  oracle green/red renewal-rate ratio {ratio:.2f} "
            f"(green churn {green['churn'].mean():.3f}, red churn {red['churn'].mean():.3f})"
        )


if __name__ == "__main__":
    main()
