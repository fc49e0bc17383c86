"""The latest scores of a score store (`retain score`'s DuckDB file), read-only.

The store's `snapshots` table holds the owner (csm_id), ARR and renewal date beside the
features, its `scores` table the probabilities, band, reasons and signals; this reads both for
one snapshot date (by default the latest the store holds: an account that stopped being
scored, because it churned, keeps old rows that are not today's book).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pandas as pd

from retain.errors import RetainError

_QUERY = """
    SELECT s.account_id, s.as_of, s.segment, s.arr, s.csm_id, s.renewal_date, s.features,
           c.churn_probability, c.expansion_probability, c.health_band, c.reasons, c.signals,
           c.expansion_version AS expansion_model_version
    FROM snapshots s JOIN scores c USING (account_id, as_of)
    WHERE s.as_of = coalesce(CAST(? AS DATE), (SELECT max(as_of) FROM scores))
    ORDER BY s.account_id
"""


def read_latest(
    path: str | os.PathLike[str], as_of: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores, features) of the store's snapshot at `as_of` (default: its latest)."""
    path = Path(path)
    if not path.is_file():
        raise RetainError(
            f"Score store {path} does not exist; run `retain score --data DIR --out FILE` "
            "first, or pass --store (or --scores for a scores file)"
        )
    try:
        connection = duckdb.connect(str(path), read_only=True)
        try:
            frame = connection.execute(_QUERY, [as_of]).df()
        finally:
            connection.close()
    except duckdb.Error as error:
        raise RetainError(f"The score store {path} is not readable: {error}") from error
    if frame.empty:
        when = f"at {as_of}" if as_of else "at all"
        raise RetainError(f"The score store {path} holds no scored accounts {when}")
    features = pd.DataFrame([json.loads(text) for text in frame["features"]])
    features.insert(0, "account_id", frame["account_id"].to_numpy())
    return frame.drop(columns=["features"]), features
