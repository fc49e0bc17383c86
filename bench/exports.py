"""Wall time of `retain export` for each platform on a large scores file (default 100,000 accounts).

    .venv/bin/python bench/exports.py [--accounts 100000] [--history 6] [--seed 0]

Writes a scores Parquet in the shape `retain score` writes (serving.batch.results_frame: three
raising and one lowering reason per account, as JSON) and, with --history N, N earlier monthly
scores per account in the shape of the ledger's history; then, per platform, times what the
command does: read the scores file, build the common record with the history, write the files.
Prints the figure per platform with the files and bytes written. Nothing is asserted:
docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=6, help="earlier monthly scores each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="output folder (default: a temp folder)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    # bench/ holds scripts named like the packages; drop the script's own folder from the path.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

    import numpy as np
    import pandas as pd

    from retain.config import ExportsConfig
    from serving.exports import PLATFORMS, build_records, write_export
    from serving.exports._record import read_scores_file

    rng = np.random.default_rng(args.seed)
    n = args.accounts
    out = Path(args.out or tempfile.mkdtemp(prefix="retain-bench-exports-"))  # left for a look
    ids = [f"acc_{i:06d}" for i in range(n)]
    as_of = pd.Timestamp("2026-10-01")
    churn = rng.beta(1.2, 6.0, n)
    texts = [
        "Usage down 52% over the last 14 days (healthy Mid-Market: +2%)",
        "Champion left 23 days ago (healthy Mid-Market: present)",
        "2 escalations open (healthy Mid-Market: 0)",
        "Seat utilization 41% (healthy Mid-Market: 78%)",
    ]
    reasons = json.dumps(
        [
            {"feature": "f", "direction": "raises", "text": texts[0], "contribution": 0.4},
            {"feature": "g", "direction": "raises", "text": texts[1], "contribution": 0.3},
            {"feature": "h", "direction": "lowers", "text": texts[2], "contribution": -0.2},
            {"feature": "i", "direction": "raises", "text": texts[3], "contribution": 0.1},
        ]
    )
    scores = pd.DataFrame(
        {
            "account_id": ids,
            "as_of": as_of,
            "segment": rng.choice(["SMB", "Mid-Market", "Enterprise"], n),
            "churn_probability": churn,
            "expansion_probability": rng.beta(1.5, 5.0, n),
            "health_band": np.where(churn > 0.35, "red", np.where(churn < 0.1, "green", "yellow")),
            "csm_id": rng.choice([f"csm_{i}" for i in range(40)], n),
            "arr": np.round(rng.lognormal(10, 0.8, n), 2),
            "renewal_date": as_of + pd.to_timedelta(rng.integers(1, 365, n), unit="D"),
            "reasons": reasons,
            "expansion_reasons": "[]",
            "signals": "[]",
        }
    )
    scores_file = out / "scores.parquet"
    scores.to_parquet(scores_file, index=False)
    history = None
    if args.history:
        history = pd.concat(
            [
                pd.DataFrame(
                    {
                        "account_id": ids,
                        "as_of": as_of - pd.DateOffset(months=k),
                        "churn_probability": np.clip(churn + rng.normal(0, 0.05, n), 0, 1),
                        "expansion_probability": rng.beta(1.5, 5.0, n),
                        "health_band": "yellow",
                    }
                )
                for k in range(args.history, 0, -1)
            ],
            ignore_index=True,
        )
    print(
        f"{n:,} accounts, {args.history} earlier scores each "
        f"({0 if history is None else len(history):,} history rows); files in {out}"
    )
    for platform in PLATFORMS:
        # CPU time beside wall time: on a shared machine the wall time mostly measures the load.
        started, cpu = time.perf_counter(), time.process_time()
        records = build_records(read_scores_file(scores_file), history)
        built = time.perf_counter() - started
        manifest = json.loads(write_export(platform, records, ExportsConfig(), out).read_text())
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
        files = [f for parts in manifest["files"].values() for f in parts]
        size = sum(f["bytes"] for f in files) / 1e6
        print(
            f"{platform:10s} {total:6.2f} s wall, {cpu:6.2f} s CPU (read + record {built:.2f} s, "
            f"write {total - built:.2f} s): {len(files)} file(s), {size:.1f} MB"
        )


if __name__ == "__main__":
    main()
