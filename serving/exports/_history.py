"""Earlier scores for the trend fields and time series, from the score ledger when it exists.

The ledger (issue 17, `serving.ledger`) keeps every scoring run; `read_history(folder)` gives its
rows. Without a ledger module, or without a ledger folder, an export has the latest scores only:
no previous score, no change, one time-series point per account.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from retain.errors import RetainError
from serving.exports._record import HISTORY_COLUMNS

# Columns a ledger may order its runs by: the latest run of a snapshot is its score.
_RUN_TIME_COLUMNS = ("run_at", "scored_at", "run_time")


def ledger_reader() -> Callable[..., object] | None:
    """`serving.ledger.read_history` when the ledger module is installed, else None."""
    try:
        module = importlib.import_module("serving.ledger")
    except ImportError:
        return None
    return getattr(module, "read_history", None)


def read_history(folder: str | os.PathLike[str] | None) -> pd.DataFrame | None:
    """Every ledger row of `folder` as (account_id, as_of, scores, band), or None without one."""
    if folder is None:
        return None
    reader = ledger_reader()
    if reader is None or not Path(folder).exists():
        return None
    rows = reader(folder)
    if rows is None or len(rows) == 0:
        return None
    rows = pd.DataFrame(rows)
    missing = [c for c in HISTORY_COLUMNS if c not in rows.columns]
    if missing:
        raise RetainError(
            f"The score ledger {folder} has no column {', '.join(missing)}; cannot read its "
            "history for the export"
        )
    order = [c for c in _RUN_TIME_COLUMNS if c in rows.columns]
    if order:
        rows = rows.sort_values(order, kind="stable")
    return rows[list(HISTORY_COLUMNS)]
