"""The score store: a DuckDB file of the latest snapshots and their scores.

`retain score` appends its run to the score ledger (serving.ledger) and derives the store from
it (`build_store`: per account and as_of, the row of the latest run), so the store is the
latest rows of the ledger and the ledger is never edited. The service reads the store once at
start-up and answers `/score_accounts` from memory. Two tables, both keyed by (account_id,
as_of):

- `snapshots`: segment, arr, csm_id, renewal_date, the snapshot's feature values as JSON (text
  categories kept, missing as null) and `stored_at`;
- `scores`: the model names and versions that scored it, probabilities, band, reasons,
  expansion reasons and signals (JSON) and `scored_at`.

A write never edits the live file: it copies the store, upserts into the copy and renames the
copy over the original, so a reader sees either the old store or the new one, never half.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from retain.files import atomic_path
from serving.reasons import json_value
from serving.scoring import ModelPair

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    account_id VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    segment VARCHAR,
    arr DOUBLE,
    csm_id VARCHAR,
    renewal_date DATE,
    features VARCHAR NOT NULL,
    stored_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, as_of)
);
CREATE TABLE IF NOT EXISTS scores (
    account_id VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    churn_model VARCHAR NOT NULL,
    churn_version VARCHAR NOT NULL,
    expansion_model VARCHAR NOT NULL,
    expansion_version VARCHAR NOT NULL,
    churn_probability DOUBLE NOT NULL,
    expansion_probability DOUBLE NOT NULL,
    health_band VARCHAR NOT NULL,
    reasons VARCHAR NOT NULL,
    expansion_reasons VARCHAR NOT NULL,
    signals VARCHAR NOT NULL,
    scored_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, as_of)
);
-- The whole result as JSON: a field a result gains later is stored without a new column.
ALTER TABLE scores ADD COLUMN IF NOT EXISTS result VARCHAR;
"""


@dataclass(frozen=True)
class StoredAccount:
    """One account's latest stored snapshot and, when present, its stored result."""

    account_id: str
    as_of: str
    segment: str | None
    features: dict[str, Any]
    stored_at: pd.Timestamp
    renewal_date: str | None
    csm_id: str | None  # the owner plays recommended on a rescoring go to
    result: dict[str, Any] | None
    churn_version: str | None
    expansion_version: str | None
    scored_at: pd.Timestamp | None

    def is_fresh_for(self, models: ModelPair) -> bool:
        """True when the stored result was made after the snapshot, by the models in `models`."""
        return (
            self.result is not None
            and self.scored_at is not None
            and self.scored_at >= self.stored_at
            and self.churn_version == models.churn_info.version
            and self.expansion_version == models.expansion_info.version
        )


def _features_json(row: dict[str, Any], feature_names: Sequence[str]) -> str:
    return json.dumps({name: json_value(row.get(name)) for name in feature_names})


def _none_if_missing(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    return value


def _snapshot_rows(
    frame: pd.DataFrame, feature_names: Sequence[str], stored_at: pd.Timestamp
) -> pd.DataFrame:
    records = frame.to_dict(orient="records")
    return pd.DataFrame(
        {
            "account_id": [str(r["account_id"]) for r in records],
            "as_of": pd.to_datetime(frame["as_of"]).dt.date.to_numpy(),
            "segment": [_none_if_missing(r.get("segment")) for r in records],
            "arr": pd.to_numeric(frame.get("arr", pd.Series(float("nan"), index=frame.index)))
            .astype(float)
            .to_numpy(),
            "csm_id": [_none_if_missing(r.get("csm_id")) for r in records],
            "renewal_date": pd.to_datetime(
                frame.get("renewal_date", pd.Series(pd.NaT, index=frame.index))
            ).dt.date.to_numpy(),
            "features": [_features_json(r, feature_names) for r in records],
            "stored_at": stored_at,
        }
    )


def _score_rows(
    results: Sequence[dict[str, Any]], models: ModelPair, scored_at: pd.Timestamp
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": [r["account_id"] for r in results],
            "as_of": pd.to_datetime([r["as_of"] for r in results]).date,
            "churn_model": models.churn_info.name,
            "churn_version": models.churn_info.version,
            "expansion_model": models.expansion_info.name,
            "expansion_version": models.expansion_info.version,
            "churn_probability": [r["churn_probability"] for r in results],
            "expansion_probability": [r["expansion_probability"] for r in results],
            "health_band": [r["health_band"] for r in results],
            "reasons": [json.dumps(r["reasons"]) for r in results],
            "expansion_reasons": [json.dumps(r["expansion_reasons"]) for r in results],
            "signals": [json.dumps(r["signals"]) for r in results],
            "scored_at": scored_at,
            "result": [json.dumps(r) for r in results],
        }
    )


def write_store(
    path: str | os.PathLike[str],
    snapshots: pd.DataFrame,
    models: ModelPair,
    results: Sequence[dict[str, Any]] | None = None,
    *,
    now: pd.Timestamp | None = None,
    config: Config | None = None,
) -> Path:
    """Upsert snapshots (and their results, when given) into the store at `path`.

    `snapshots` is a feature frame with `csm_id` where known. Results, when given, belong to the
    same rows. Rows with the same (account_id, as_of) are replaced.

    With `config` and results, this is a scoring run: it is appended to the score ledger
    (`serving.ledger.ledger_folder(config)`; a rerun of the same snapshot and models is a
    no-op), each result gets its `change` since the account's previous ledger row when it has
    none yet, and the store is rebuilt from the ledger (`build_store`).
    """
    path = Path(path)
    now = now or pd.Timestamp.now(tz="UTC").tz_localize(None)
    if config is not None and results is not None:
        return _record_run(path, snapshots, models, list(results), now, config)
    snapshot_rows = _snapshot_rows(snapshots, models.feature_names, now)
    score_rows = _score_rows(results, models, now) if results is not None else None
    with atomic_path(path) as tmp:
        tmp.unlink()  # DuckDB refuses an empty file; it creates its own
        if path.exists():
            shutil.copyfile(path, tmp)
        connection = duckdb.connect(str(tmp))
        try:
            connection.execute(_SCHEMA)
            _upsert(connection, "snapshots", snapshot_rows)
            if score_rows is not None:
                _upsert(connection, "scores", score_rows)
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        wal = tmp.with_name(tmp.name + ".wal")
        if wal.exists():
            wal.unlink()
    return path


def _record_run(
    path: Path,
    snapshots: pd.DataFrame,
    models: ModelPair,
    results: list[dict[str, Any]],
    now: pd.Timestamp,
    config: Config,
) -> Path:
    from serving.ledger import append_run, ledger_folder, ledger_rows
    from serving.movers import add_changes

    # Results from score_snapshot have theirs already; others (Spark) get them here.
    without = [r for r in results if "change" not in r]
    if without:
        add_changes(without, snapshots, models, config)
    folder = ledger_folder(config)
    append_run(folder, ledger_rows(snapshots, results, models, run_at=now))
    return build_store(path, folder)


def build_store(path: str | os.PathLike[str], ledger: str | os.PathLike[str]) -> Path:
    """Write the store at `path` afresh as the latest rows of the ledger in `ledger` (per
    account and as_of, the row of the latest run), in DuckDB straight from the Parquet files;
    the ledger is only read."""
    from serving.ledger import ledger_files

    path = Path(path)
    files = [str(f) for f in ledger_files(ledger)]
    with atomic_path(path) as tmp:
        tmp.unlink()  # DuckDB refuses an empty file; it creates its own
        connection = duckdb.connect(str(tmp))
        try:
            connection.execute(_SCHEMA)
            if files:
                connection.execute(
                    """
                    CREATE TEMP TABLE latest AS
                    SELECT * FROM read_parquet(?, union_by_name = true)
                    QUALIFY row_number() OVER (
                        PARTITION BY account_id, as_of ORDER BY run_at DESC, run_id DESC
                    ) = 1
                    """,
                    [files],
                )
                connection.execute(
                    """
                    INSERT INTO snapshots
                    SELECT account_id, as_of, segment, arr, csm_id, renewal_date, features, run_at
                    FROM latest
                    """
                )
                connection.execute(
                    """
                    INSERT INTO scores
                    SELECT account_id, as_of, churn_model, churn_version, expansion_model,
                           expansion_version, churn_probability, expansion_probability,
                           health_band, reasons, expansion_reasons,
                           coalesce(CAST(json_extract(result, '$.signals') AS VARCHAR), '[]'),
                           run_at, result
                    FROM latest
                    """
                )
                connection.execute("DROP TABLE latest")
            connection.execute("CHECKPOINT")
        except duckdb.Error as error:
            message = f"Cannot build the score store from the ledger {ledger}: {error}"
            raise RetainError(message) from error
        finally:
            connection.close()
        wal = tmp.with_name(tmp.name + ".wal")
        if wal.exists():
            wal.unlink()
    return path


def _upsert(connection: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame) -> None:
    connection.register("_incoming", rows)
    try:
        connection.execute(
            f"DELETE FROM {table} WHERE (account_id, as_of) IN "
            "(SELECT (account_id, as_of) FROM _incoming)"
        )
        columns = ", ".join(rows.columns)
        connection.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _incoming")
    finally:
        connection.unregister("_incoming")


def read_store(
    path: str | os.PathLike[str],
    *,
    as_of: str | None = None,
    account_ids: Sequence[str] | None = None,
) -> dict[str, StoredAccount]:
    """Each account's latest snapshot (or its snapshot at `as_of`) with its stored result.

    `account_ids` limits the read to those accounts (an on-demand look-up of another as_of).
    """
    path = Path(path)
    if not path.is_file():
        raise RetainError(
            f"Score store {path} does not exist; run `retain score --data DIR --out FILE` first "
            "(serving.store_path sets where it lives)"
        )
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise RetainError(f"Cannot open the score store {path}: {error}") from error
    try:
        conditions: list[str] = []
        parameters: list[Any] = []
        if as_of is not None:
            conditions.append("s.as_of = CAST(? AS DATE)")
            parameters.append(as_of)
        if account_ids is not None:
            conditions.append("list_contains(?, s.account_id)")
            parameters.append(list(account_ids))
        where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
        query = f"""
            SELECT s.account_id, CAST(s.as_of AS VARCHAR) AS as_of, s.segment, s.features,
                   CAST(s.renewal_date AS VARCHAR) AS renewal_date, s.csm_id,
                   s.stored_at, c.churn_version, c.expansion_version, c.churn_probability,
                   c.expansion_probability, c.health_band, c.reasons, c.expansion_reasons,
                   c.signals, c.scored_at, c.result
            FROM snapshots s LEFT JOIN scores c USING (account_id, as_of)
            {where}
            QUALIFY row_number() OVER (PARTITION BY s.account_id ORDER BY s.as_of DESC) = 1
        """
        rows = connection.execute(query, parameters).fetchall()
        names = [d[0] for d in connection.description]
    except duckdb.Error as error:
        raise RetainError(f"The score store {path} is not readable: {error}") from error
    finally:
        connection.close()
    accounts: dict[str, StoredAccount] = {}
    for values in rows:
        row = dict(zip(names, values, strict=True))
        result = None
        if row["result"] is not None:
            result = json.loads(row["result"])
        elif row["churn_probability"] is not None:
            result = {
                "account_id": row["account_id"],
                "as_of": row["as_of"],
                "segment": row["segment"],
                "churn_probability": row["churn_probability"],
                "expansion_probability": row["expansion_probability"],
                "health_band": row["health_band"],
                "reasons": json.loads(row["reasons"]),
                "expansion_reasons": json.loads(row["expansion_reasons"]),
                "signals": json.loads(row["signals"]),
            }
        accounts[row["account_id"]] = StoredAccount(
            account_id=row["account_id"],
            as_of=row["as_of"],
            segment=row["segment"],
            features=json.loads(row["features"]),
            stored_at=pd.Timestamp(row["stored_at"]),
            renewal_date=row["renewal_date"],
            csm_id=row["csm_id"],
            result=result,
            churn_version=row["churn_version"],
            expansion_version=row["expansion_version"],
            scored_at=None if row["scored_at"] is None else pd.Timestamp(row["scored_at"]),
        )
    return accounts
