"""Earlier scores for the trend fields and time series, from the score ledger (serving.ledger).

The ledger keeps every scoring run; per (account, as_of) the row of the latest run is that
snapshot's score (`serving.ledger.latest_rows`, what the store serves too). Without a ledger
folder, or with an empty one, an export has the latest scores only: no previous score, no
change, one time-series point per account.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from retain.config import Config
from serving.exports._record import HISTORY_COLUMNS


def read_history(
    config: Config, folder: str | os.PathLike[str] | None = None
) -> pd.DataFrame | None:
    """Each account's score per snapshot date in the ledger at `folder` (default: the ledger
    of `config`, `serving.ledger_path` or beside the store), or None when there is none."""
    from serving import ledger

    folder = Path(folder) if folder is not None else ledger.ledger_folder(config)
    if not folder.is_dir():
        return None
    columns = [c for c in HISTORY_COLUMNS if c not in ("account_id", "as_of")]
    rows = ledger.read_history(folder, columns=columns)
    if rows.empty:
        return None
    return ledger.latest_rows(rows)[list(HISTORY_COLUMNS)]
