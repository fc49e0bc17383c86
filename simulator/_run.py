"""`simulate`: run the customer base chunk by chunk and write the dataset."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from features.contract import TABLES
from retain.config import CONFIG_FILE_NAME, LabelsConfig
from retain.errors import RetainError
from retain.files import atomic_path, write_json, write_text
from simulator import _params as P
from simulator._calendar import Window
from simulator._engine import run_chunk
from simulator._handoffs import STREAM as HANDOFF_STREAM
from simulator._handoffs import draw_handoffs, handoff_tables, with_effect
from simulator._plays import truth_document as plays_truth_document
from simulator._population import draw_population
from simulator._tables import chunk_tables, schema

# Accounts simulated together: large enough for numpy to pay off, small enough that a chunk's
# usage rows (a few million) stay well inside memory. Part of the seed's meaning: changing it
# changes the data a seed produces.
CHUNK_ACCOUNTS = 5_000
# The contract tables the simulated base produces (plays: simulator._plays), and beside them
# what the generating process knew: truth (the oracle) and plays_truth (each play's true effect).
_WRITTEN = ("accounts", "contracts", "usage", "tickets", "contacts", "activities")
SIMULATED_TABLES: tuple[str, ...] = tuple(
    name for name in TABLES if name in (*_WRITTEN, "milestones", "surveys", "plays", "handoffs")
)
# handoffs_truth: each account's handoff effect on its onboarding (simulator._handoffs).
OUTPUT_TABLES: tuple[str, ...] = (*SIMULATED_TABLES, "truth", "plays_truth", "handoffs_truth")
PLAYS_TRUTH_FILE = "plays_truth.json"
# --snapshot: a year's term plus the grace month before the data ends.
SNAPSHOT_MONTHS_BEFORE_END = 13

Progress = Callable[[int, int], None]


def simulate(
    out_dir: str | os.PathLike[str],
    *,
    n_accounts: int = 2000,
    months: int = 36,
    seed: int = 0,
    start: str | pd.Timestamp | None = None,
    billing: str = "mixed",
    snapshot: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write the eight contract tables, `truth.parquet` and `retain.toml` into `out_dir`.

    `start` is the first simulated day (default: `months` before 2026-10-01). `billing`: "mixed"
    (each segment's own term mix) or "monthly" (mostly month-to-month terms, `_params.
    BILLING_TERMS`). `snapshot`: the retain.toml names one snapshot date (`features.as_of_dates`,
    `snapshot_date`), so every stage sees one snapshot per account, like a CRM export; the tables
    are the same. `progress` is called with (chunks done, chunks in total) after each chunk. Same
    arguments, same bytes.
    """
    if n_accounts < 1:
        raise RetainError(f"--accounts must be at least 1 (got {n_accounts}).")
    if months < 1:
        raise RetainError(f"--months must be at least 1 (got {months}).")
    if seed < 0:
        raise RetainError(f"--seed must be a non-negative integer (got {seed}).")
    if billing not in P.BILLING_TERMS:
        raise RetainError(
            f"--billing must be one of {', '.join(P.BILLING_TERMS)} (got {billing!r})."
        )
    try:
        window = Window.of(start, months)
    except ValueError as error:
        raise RetainError(f"--start {start!r} is not a date: {error}") from error
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RetainError(f"--out {out} exists and is not a folder.")
    out.mkdir(parents=True, exist_ok=True)
    labels = LabelsConfig()

    n_chunks = -(-n_accounts // CHUNK_ACCOUNTS)
    with contextlib.ExitStack() as stack:
        writers = {}
        for table in OUTPUT_TABLES:
            tmp = stack.enter_context(atomic_path(out / f"{table}.parquet"))
            writer = pq.ParquetWriter(tmp, schema(table), store_schema=False)
            stack.callback(writer.close)
            writers[table] = writer
        for chunk in range(n_chunks):
            first = chunk * CHUNK_ACCOUNTS
            size = min(CHUNK_ACCOUNTS, n_accounts - first)
            rng = np.random.default_rng([seed, chunk])
            population = draw_population(rng, size, first, window, billing=billing)
            handoff_rng = np.random.default_rng([seed, chunk, HANDOFF_STREAM])
            handoffs = draw_handoffs(handoff_rng, population, window)
            result = run_chunk(rng, with_effect(population, handoffs), window)
            tables = chunk_tables(
                result,
                window,
                horizon_days=labels.horizon_days,
                lead_days=labels.lead_days,
                min_risk_days=labels.min_risk_days,
            )
            handoff_schemas = {t: schema(t) for t in ("handoffs", "handoffs_truth")}
            tables.update(handoff_tables(handoffs, population, window, handoff_schemas))
            for table, frame in tables.items():
                writers[table].write_table(frame)
            if progress is not None:
                progress(chunk + 1, n_chunks)
    write_json(out / PLAYS_TRUTH_FILE, plays_truth_document())
    key_events = ", ".join(f'"{event}"' for event in P.KEY_EVENTS)
    snapshot_line = f'as_of_dates = ["{snapshot_date(window)}"]\n' if snapshot else ""
    write_text(
        out / CONFIG_FILE_NAME,
        "# Written by `retain simulate`: facts about this data set.\n"
        f'[features]\nkey_events = [{key_events}]\ndata_end = "{window.end}"\n{snapshot_line}',
    )
    return out


def snapshot_date(window: Window) -> np.datetime64:
    """The one snapshot of `--snapshot`: the month start 13 months before the data's end, so an
    annual term running then has its renewal decided (and graced) inside the data; never earlier
    than four months after the first day (the features' 90-day lookback)."""
    earliest = window.start.astype("datetime64[M]") + 4
    latest = window.end.astype("datetime64[M]") - SNAPSHOT_MONTHS_BEFORE_END
    return max(earliest, latest).astype("datetime64[D]")
