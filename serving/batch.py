"""Batch scoring: the latest snapshot of every active account, scored with reasons and signals.

`retain score` builds the snapshot from a data source (features.build_features at one as_of),
scores it in chunks (LightGBM's prediction and TreeSHAP run on every core), writes a Parquet file
and a flat CSV for a CRM import, and upserts snapshots and scores into the score store the API
answers from.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from retain.files import write_csv, write_parquet
from retain.progress import progress_bar
from serving.plays import add_recommended_plays, recommended_columns
from serving.scoring import ModelPair, score_frame
from serving.survival import add_survival, load_survival_model, survival_at_month

# Rows per chunk: large enough that LightGBM's threads have work, small enough that the progress
# bar moves and memory stays flat on a big customer base.
CHUNK_ROWS = 2_000
# S(t) columns of the scores file (the whole monthly curve is the `survival` JSON column).
SURVIVAL_CSV_MONTHS: tuple[int, ...] = (3, 6, 12, 24)


def build_snapshot(data: str | os.PathLike[str], config: Config, as_of: str | None) -> pd.DataFrame:
    """Feature rows of every account active at `as_of` (default: the data's end), plus csm_id."""
    from features.source import DataSource
    from features.validate import require_valid

    source = DataSource.open(data, data_end=config.features.data_end)
    require_valid(source)
    return snapshot_of(source, config, as_of, data)


def snapshot_of(
    source: Any, config: Config, as_of: str | None, data: str | os.PathLike[str]
) -> pd.DataFrame:
    """The snapshot at `as_of` from an open, validated source on either engine (a
    `features.source.DataSource` or `features._spark.SparkSource`), plus csm_id."""
    from features.build import build_features

    when = pd.Timestamp(as_of) if as_of else source.data_end
    if as_of and when > source.data_end:
        raise RetainError(
            f"--as-of {when.date()} is after the end of the data ({source.data_end.date()}); "
            "a snapshot can only use what was known before its date"
        )
    frame = build_features(source, config, as_of=[when])
    if len(frame) == 0:
        raise RetainError(f"No active accounts at {when.date()} in {data}; nothing to score")
    accounts = source.table("accounts")
    if "csm_id" in accounts.columns and "csm_id" not in frame.columns:
        owners = accounts.select("account_id", "csm_id").to_pandas()
        frame = frame.merge(owners.astype({"account_id": str}), on="account_id", how="left")
    return frame.reset_index(drop=True)


def score_snapshot(
    snapshot: pd.DataFrame,
    models: ModelPair,
    config: Config,
    *,
    with_reasons: bool = True,
    show_progress: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    with_change: bool = True,
) -> list[dict[str, Any]]:
    """`score_frame` over chunks of `snapshot`, with a progress bar when asked; each result
    also gets its time-to-churn curve (serving.survival) when the churn model has one and,
    with `with_change`, when the score ledger holds earlier snapshots of the account, its
    `change` since the previous one and its `trend` (serving.movers; the ledger is only read:
    `serving.store.write_store(..., config=config)` appends the run)."""
    results: list[dict[str, Any]] = []
    starts = range(0, len(snapshot), chunk_rows)
    if not show_progress:
        for start in starts:
            chunk = snapshot.iloc[start : start + chunk_rows]
            results += score_frame(chunk, models, config, with_reasons=with_reasons)
    else:
        with progress_bar() as progress:
            task = progress.add_task("Scoring accounts", total=len(snapshot))
            for start in starts:
                chunk = snapshot.iloc[start : start + chunk_rows]
                results += score_frame(chunk, models, config, with_reasons=with_reasons)
                progress.advance(task, len(chunk))
    add_survival(results, snapshot, load_survival_model(models, config), config)
    if with_change:
        from serving.movers import add_changes

        add_changes(results, snapshot, models, config, with_trend=True)
    add_recommended_plays(results, snapshot, models, config)
    return results


def results_frame(
    snapshot: pd.DataFrame, results: Sequence[dict[str, Any]], models: ModelPair
) -> pd.DataFrame:
    """One row per account: identity, owner, ARR, renewal, scores, reasons/signals as JSON."""
    context = pd.DataFrame(
        {
            "csm_id": snapshot["csm_id"].to_numpy() if "csm_id" in snapshot else None,
            "arr": pd.to_numeric(snapshot["arr"]).to_numpy() if "arr" in snapshot else float("nan"),
            "renewal_date": pd.to_datetime(snapshot["renewal_date"]).to_numpy()
            if "renewal_date" in snapshot
            else pd.NaT,
        }
    )
    frame = pd.DataFrame(
        {
            "account_id": [r["account_id"] for r in results],
            "as_of": pd.to_datetime([r["as_of"] for r in results]),
            "segment": [r["segment"] for r in results],
            "churn_probability": [r["churn_probability"] for r in results],
            "expansion_probability": [r["expansion_probability"] for r in results],
            "health_band": [r["health_band"] for r in results],
        }
    )
    frame = pd.concat([frame, context], axis=1)
    # The date churn_probability refers to (the next renewal, or as_of + the minimum window).
    frame["churn_window_end"] = pd.to_datetime([r.get("churn_window_end") for r in results])
    frame["expected_months_retained"] = [r.get("expected_months_retained") for r in results]
    for month in SURVIVAL_CSV_MONTHS:
        frame[f"survival_{month}m"] = survival_at_month(results, month)
    frame["survival"] = [json.dumps(r.get("survival")) for r in results]
    frame["churn_model_version"] = models.churn_info.version
    frame["expansion_model_version"] = models.expansion_info.version
    for key in ("reasons", "expansion_reasons", "signals", "context", "data_gaps"):
        frame[key] = [json.dumps(r.get(key, [])) for r in results]
    # Since the account's previous ledger snapshot (serving.movers); null on a first run.
    changes = [r.get("change") or {} for r in results]
    frame["previous_as_of"] = pd.to_datetime([c.get("previous_as_of") for c in changes])
    frame["previous_churn_probability"] = [
        c.get("previous_churn_probability", float("nan")) for c in changes
    ]
    frame["change"] = [json.dumps(r.get("change")) for r in results]
    frame["trend"] = [json.dumps(r.get("trend")) for r in results]
    for column, values in recommended_columns(results).items():
        frame[column] = values
    return frame


def flat_csv_frame(scored: pd.DataFrame, k: int) -> pd.DataFrame:
    """The CRM-import view: no JSON, one text column per reason and one for the signals."""
    json_columns = ["reasons", "expansion_reasons", "signals", "survival", "context", "data_gaps"]
    json_columns += ["change", "trend", "recommended_plays"]
    flat = scored.drop(columns=[c for c in json_columns if c in scored.columns]).copy()
    flat["as_of"] = flat["as_of"].dt.date
    if "change" in scored:
        flat["change"] = [(json.loads(c) or {}).get("text", "") for c in scored["change"]]
    for column in ("renewal_date", "churn_window_end", "previous_as_of", "next_play_review_date"):
        if column in flat:
            flat[column] = pd.to_datetime(flat[column]).dt.date
    reasons = [json.loads(r) for r in scored["reasons"]]
    expansion = [json.loads(r) for r in scored["expansion_reasons"]]
    for direction, prefix in (("raises", "risk_reason"), ("lowers", "protective_reason")):
        texts = [[x["text"] for x in row if x["direction"] == direction] for row in reasons]
        for i in range(k):
            flat[f"{prefix}_{i + 1}"] = [t[i] if i < len(t) else "" for t in texts]
    for i in range(k):
        flat[f"expansion_reason_{i + 1}"] = [
            row[i]["text"] if i < len(row) else "" for row in expansion
        ]
    flat["signals"] = ["; ".join(s["text"] for s in json.loads(row)) for row in scored["signals"]]
    if "data_gaps" in scored:
        flat["data_gaps"] = ["; ".join(json.loads(row)) for row in scored["data_gaps"]]
    return flat


def output_paths(out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(parquet, csv): `--out x.parquet` writes x.parquet and x.csv beside it."""
    out = Path(out)
    parquet = out if out.suffix == ".parquet" else out.with_name(out.name + ".parquet")
    return parquet, parquet.with_suffix(".csv")


def write_outputs(scored: pd.DataFrame, out: str | os.PathLike[str], k: int) -> tuple[Path, Path]:
    parquet, csv = output_paths(out)
    write_parquet(parquet, scored)
    write_csv(csv, flat_csv_frame(scored, k))
    return parquet, csv


def parse_as_of(value: str | None, option: str = "--as-of") -> str | None:
    """A date option (`--as-of` unless named) as an ISO date, or a RetainError naming it."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as error:
        raise RetainError(f"{option} must be a date as YYYY-MM-DD (got {value!r})") from error
