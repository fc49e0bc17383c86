"""Benchmark `retain drift`: PSI fast path on the full data and the Evidently report on a sample.

Usage: .venv/bin/python bench/drift.py [--rows 100000]

Builds a reference and a current window of synthetic feature frames with every feature of the
catalogue in docs/architecture.md (two of them shifted, one with a jump in missing values),
writes them as parquet, then measures each step in a fresh subprocess so peak memory
(ru_maxrss) belongs to that step alone. Prints wall time and peak memory per step.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

COUNT_FEATURES = (
    "active_users_7d", "active_users_28d", "active_users_90d", "events_28d", "key_events_28d",
    "features_used_28d", "tickets_30d", "tickets_90d", "high_priority_tickets_90d",
    "escalated_tickets_30d", "escalated_tickets_90d", "open_tickets", "open_escalations",
    "active_contacts", "meetings_90d", "qbrs_180d", "emails_out_90d", "milestones_done",
    "milestones_overdue", "seats", "renewals_count", "account_employees",
)  # fmt: skip
CHANGE_FEATURES = (
    "active_users_28d_change_pct", "key_events_28d_change_pct",
    "weekly_active_users_slope_12w_pct", "usage_14d_change_pct", "arr_change_pct_365d",
    "nps_change",
)  # fmt: skip
FLAG_FEATURES = (
    "usage_drop_40pct_14d", "champion_present", "champion_left_90d",
    "executive_sponsor_present", "decision_maker_present", "first_value_reached",
    "onboarding_stalled",
)  # fmt: skip
DAYS_FEATURES = (
    "days_since_last_activity", "days_since_champion_left", "days_since_last_touch",
    "days_to_first_value", "tenure_days", "days_to_renewal", "contract_term_days",
    "days_since_last_nps",
)  # fmt: skip
RATIO_FEATURES = (
    "key_events_per_active_user_28d", "seat_utilization", "median_resolution_hours_90d",
    "ticket_csat_avg_90d", "outreach_response_rate_90d", "onboarding_completion_pct", "arr",
    "arr_per_seat", "nps_last", "survey_csat_avg_180d", "attr_health_index",
)  # fmt: skip
CATEGORICAL_FEATURES = {
    "account_industry": ("software", "retail", "finance", "health", "manufacturing", "media"),
    "account_region": ("NA", "EMEA", "APAC", "LATAM"),
    "attr_plan_tier": ("starter", "growth", "scale", "enterprise"),
}


def synthetic_window(rows: int, seed: int, *, shifted: bool) -> pd.DataFrame:
    """One window with the catalogue's shape: counts, % changes, flags, days, ratios, text."""
    rng = np.random.default_rng(seed)
    # The shape of each feature is the same in both windows; only the draws differ.
    shape = np.random.default_rng(0)
    columns: dict[str, np.ndarray] = {
        "account_id": np.array([f"A{i:06d}" for i in range(rows)]),
        "as_of": np.full(rows, np.datetime64("2025-04-01" if shifted else "2025-01-01")),
        "segment": rng.choice(["SMB", "Mid-Market", "Enterprise"], rows),
        "churn": (rng.random(rows) < 0.12).astype(float),
        "expansion": (rng.random(rows) < 0.1).astype(float),
    }
    for name in COUNT_FEATURES:
        columns[name] = rng.poisson(shape.choice([0.5, 5.0, 40.0]), rows).astype(float)
    for name in CHANGE_FEATURES:
        columns[name] = rng.normal(0.0, 30.0, rows)
    for name in FLAG_FEATURES:
        columns[name] = (rng.random(rows) < shape.uniform(0.1, 0.7)).astype(float)
    for name in DAYS_FEATURES:
        columns[name] = np.round(rng.exponential(shape.uniform(20, 400), rows))
    for name in RATIO_FEATURES:
        columns[name] = rng.lognormal(0.0, 0.7, rows)
    for name, levels in CATEGORICAL_FEATURES.items():
        columns[name] = rng.choice(levels, rows).astype(object)
    frame = pd.DataFrame(columns)
    for name in (*CHANGE_FEATURES, "nps_last", "days_since_champion_left", "days_to_first_value"):
        frame.loc[rng.random(rows) < 0.2, name] = np.nan
    if shifted:
        frame["active_users_28d"] *= 0.6
        frame["seat_utilization"] *= 1.5
        frame.loc[rng.random(rows) < 0.3, "ticket_csat_avg_90d"] = np.nan
    return frame


_FAST_PATH = """
import json, resource, sys, time
import pandas as pd
from monitoring.drift import feature_drift
from monitoring.inputs import check_windows
from retain.config import Config
start = time.perf_counter()
reference = pd.read_parquet(sys.argv[1]); current = pd.read_parquet(sys.argv[2])
read = time.perf_counter() - start
start = time.perf_counter()
kinds = check_windows(reference, current)
features = feature_drift(reference, current, kinds, Config())
seconds = time.perf_counter() - start
drifted = sorted(name for name, entry in features.items() if entry["drifted"])
print(json.dumps({"seconds": seconds, "read_seconds": read, "features": len(features),
    "drifted": drifted, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_REPORT = """
import json, resource, sys, time
import pandas as pd
from monitoring.evidently_report import build_report
from monitoring.inputs import check_windows
from retain.config import Config
reference = pd.read_parquet(sys.argv[1]); current = pd.read_parquet(sys.argv[2])
kinds = check_windows(reference, current)
config = Config().drift
start = time.perf_counter()
import evidently  # noqa: F401  (import time is part of a real run, reported apart)
imported = time.perf_counter() - start
start = time.perf_counter()
columns = build_report(reference, current, kinds.numeric, kinds.categorical, config, sys.argv[3])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "import_seconds": imported, "columns": len(columns),
    "sample_rows": config.report_sample_rows,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _measure(script: str, *args: str) -> dict:
    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retain-bench-drift-") as tmp:
        folder = Path(tmp)
        reference_path, current_path = folder / "reference.parquet", folder / "current.parquet"
        synthetic_window(args.rows, 1, shifted=False).to_parquet(reference_path)
        synthetic_window(args.rows, 2, shifted=True).to_parquet(current_path)
        fast = _measure(_FAST_PATH, str(reference_path), str(current_path))
        started = time.perf_counter()
        command = [
            sys.executable, "-m", "retain.cli", "drift", "--reference", str(reference_path),
            "--current", str(current_path), "--out", str(folder / "out"), "--no-report",
            "--no-mlflow",
        ]  # fmt: skip
        exit_code = subprocess.run(command, capture_output=True, check=False).returncode
        command_wall = time.perf_counter() - started
        started = time.perf_counter()
        report = _measure(
            _REPORT, str(reference_path), str(current_path), str(folder / "drift.html")
        )
        report_wall = time.perf_counter() - started
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"rows per window: {args.rows:,}; features: {fast['features']}; load average {load}")
    print(
        f"fast path (PSI + null share, full data): {fast['seconds']:.2f} s "
        f"(+ {fast['read_seconds']:.2f} s reading both parquet files), "
        f"peak memory {fast['peak_mb']:.0f} MB; drifted: {', '.join(fast['drifted'])}"
    )
    print(
        f"`retain drift --no-report --no-mlflow` end to end (imports, reading, fast path, "
        f"drift.json): {command_wall:.2f} s, exit code {exit_code}"
    )
    print(
        f"Evidently report ({report['sample_rows']:,}-row sample per window, "
        f"{report['columns']} columns): {report['seconds']:.2f} s "
        f"(+ {report['import_seconds']:.2f} s importing evidently; "
        f"{report_wall:.2f} s for the whole subprocess), peak memory {report['peak_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
