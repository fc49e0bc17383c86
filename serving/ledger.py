"""The score ledger: every scoring run, kept for good, one immutable Parquet file per run.

`retain score` and the API's on-demand rescoring append one file per run under the ledger
folder (`serving.ledger_path`, default beside the store), partitioned by the run's date:

    <ledger>/run_date=2026-10-01/run-20261001T060000123456-<run_id>.parquet

A file is written to a temporary name and renamed (retain.files), so a reader sees a whole run
or none of it; no file is ever edited or deleted. Each row holds the account, as_of, per target
the model name, version and artifact SHA-256, the raw margin and the calibrated probability,
the band, the reasons, the feature values used (JSON) and their hash, the whole result (JSON)
and the run's id, time and source (`batch` or `api`).

The key (account_id, as_of, churn_version, expansion_version, feature_hash) makes a rerun of the
same snapshot with the same models a no-op: rows already in the ledger are not appended again
(and readers keep the first row of a key, should two writers race). The score store the API
answers from is derived from the ledger (`serving.store.build_store`), never the other way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from retain.files import atomic_path
from serving.reasons import json_value

if TYPE_CHECKING:
    from serving.scoring import ModelPair

KEY = ("account_id", "as_of", "churn_version", "expansion_version", "feature_hash")
# Result fields the ledger does not repeat: the trend is the ledger's own history.
_NOT_STORED = ("trend",)


@dataclass(frozen=True)
class AppendResult:
    """What an append did: the file written (None for a no-op) and the rows in and skipped."""

    path: Path | None
    appended: int
    skipped: int
    run_id: str


def ledger_folder(config: Config) -> Path:
    """`serving.ledger_path`, else `<store stem>.ledger` beside the score store."""
    if config.serving.ledger_path:
        return Path(config.serving.ledger_path)
    store = Path(config.serving.store_path)
    return store.with_name(store.stem + ".ledger")


def ledger_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The ledger's run files. Only whole runs: a writer's temporary file (in progress, or left
    by a killed writer) ends in .tmp and is never read."""
    folder = Path(folder)
    return sorted(folder.glob("run_date=*/*.parquet")) if folder.is_dir() else []


def feature_hash(segment: object, features_json: str) -> str:
    """SHA-256 of what the models read: the segment and the feature values (the canonical JSON
    of `features_json`, keys sorted)."""
    payload = json.dumps(json_value(segment)) + "\n" + features_json
    return hashlib.sha256(payload.encode()).hexdigest()


def features_json(frame: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """Per row, the JSON object of its values of `names` (keys sorted; numbers as floats that
    read back exactly, NaN and infinity as null, text as text): `json_value` column-wise."""
    present = sorted(n for n in names if n in frame.columns)
    columns: list[list[Any]] = []
    for name in present:
        column = frame[name]
        if column.dtype.kind in "fiub":
            values = column.to_numpy(dtype=np.float64)
            out = values.astype(object)
            out[~np.isfinite(values)] = None
            columns.append(out.tolist())
        else:
            columns.append([json_value(v) for v in column.to_numpy()])
    return (
        [
            json.dumps(dict(zip(present, row, strict=True)), allow_nan=False)
            for row in zip(*columns, strict=True)
        ]
        if present
        else ["{}"] * len(frame)
    )


def feature_names_for(models: ModelPair, frame: pd.DataFrame) -> list[str]:
    """The features a run records: every model feature, plus the signals' inputs at hand."""
    from serving.signals import SIGNAL_FEATURES

    names = list(models.feature_names)
    names += [n for n in SIGNAL_FEATURES if n in frame.columns and n not in set(names)]
    return names


def ledger_rows(
    frame: pd.DataFrame,
    results: Sequence[dict[str, Any]],
    models: ModelPair,
    *,
    run_id: str | None = None,
    run_at: pd.Timestamp | None = None,
    source: str = "batch",
) -> pd.DataFrame:
    """One ledger row per result; `frame` is the feature frame the results were scored from
    (its rows are matched to the results by account_id when not in the same order)."""
    frame = frame.reset_index(drop=True)
    ids = [str(r["account_id"]) for r in results]
    if frame["account_id"].astype(str).tolist() != ids:
        # Results in another order (Spark partitions), or for some of the rows: by account.
        keyed = frame.set_index(frame["account_id"].astype(str))
        missing = [a for a in ids if a not in keyed.index]
        if missing or keyed.index.has_duplicates:
            raise RetainError(
                f"{len(results)} results do not match the {len(frame)} snapshot rows one to one "
                f"(example account {missing[0] if missing else keyed.index[0]!r})"
            )
        frame = keyed.loc[ids].reset_index(drop=True)
    run_id = run_id or uuid.uuid4().hex[:12]
    run_at = run_at or pd.Timestamp.now(tz="UTC").tz_localize(None)
    features = features_json(frame, feature_names_for(models, frame))
    segments = [r.get("segment") for r in results]
    margins = {}
    for target, model, policy in (
        ("churn", models.churn, models.churn_policy),
        ("expansion", models.expansion, models.expansion_policy),
    ):
        filled, _ = policy.impute(frame)
        margins[target] = model.raw_margin(filled) if len(frame) else np.empty(0)
    n = len(results)

    def column(key: str, default: object = None) -> list[Any]:
        return frame[key].tolist() if key in frame.columns else [default] * n

    return pd.DataFrame(
        {
            "run_id": run_id,
            "run_at": pd.Series([run_at] * n, dtype="datetime64[us]"),
            "source": source,
            "account_id": [str(r["account_id"]) for r in results],
            "as_of": pd.to_datetime([r["as_of"] for r in results]).date,
            "segment": pd.Series(segments, dtype=object),
            "csm_id": pd.Series([json_value(v) for v in column("csm_id")], dtype=object),
            "arr": pd.to_numeric(pd.Series(column("arr", np.nan)), errors="coerce").astype(float),
            "renewal_date": pd.to_datetime(pd.Series(column("renewal_date", pd.NaT))).dt.date,
            "churn_model": models.churn_info.name,
            "churn_version": models.churn_info.version,
            "churn_sha256": models.churn_info.sha256,
            "expansion_model": models.expansion_info.name,
            "expansion_version": models.expansion_info.version,
            "expansion_sha256": models.expansion_info.sha256,
            "churn_margin": np.asarray(margins["churn"], dtype=float),
            "expansion_margin": np.asarray(margins["expansion"], dtype=float),
            "churn_probability": [float(r["churn_probability"]) for r in results],
            "expansion_probability": [float(r["expansion_probability"]) for r in results],
            "health_band": [r["health_band"] for r in results],
            "reasons": [json.dumps(r.get("reasons", [])) for r in results],
            "expansion_reasons": [json.dumps(r.get("expansion_reasons", [])) for r in results],
            "features": features,
            "feature_hash": [feature_hash(s, f) for s, f in zip(segments, features, strict=True)],
            "result": [
                json.dumps({k: v for k, v in r.items() if k not in _NOT_STORED}) for r in results
            ],
        }
    )


def _existing_keys(folder: Path, rows: pd.DataFrame) -> set[tuple[str, ...]]:
    files = ledger_files(folder)
    if not files or rows.empty:
        return set()
    import duckdb

    with duckdb.connect() as connection:
        connection.register("_incoming", rows[list(KEY)].drop_duplicates())
        found = connection.execute(
            f"""
            SELECT DISTINCT l.account_id, CAST(l.as_of AS VARCHAR), l.churn_version,
                   l.expansion_version, l.feature_hash
            FROM read_parquet(?, union_by_name = true) l
            JOIN _incoming i USING ({", ".join(KEY)})
            """,
            [[str(f) for f in files]],
        ).fetchall()
    return {tuple(str(v) for v in row) for row in found}


def _key_of(rows: pd.DataFrame) -> list[tuple[str, ...]]:
    return [
        (str(a), str(d), str(c), str(e), str(h))
        for a, d, c, e, h in zip(*(rows[k] for k in KEY), strict=True)
    ]


def append_run(folder: str | os.PathLike[str], rows: pd.DataFrame) -> AppendResult:
    """Append one run's rows as one new file; rows whose key the ledger holds are skipped,
    and a run with nothing new writes nothing."""
    folder = Path(folder)
    run_id = str(rows["run_id"].iloc[0]) if len(rows) else ""
    keys = _key_of(rows)
    fresh = np.ones(len(rows), dtype=bool)
    seen = _existing_keys(folder, rows)
    within: set[tuple[str, ...]] = set()
    for i, key in enumerate(keys):
        if key in seen or key in within:
            fresh[i] = False
        within.add(key)
    new = rows[fresh]
    if new.empty:
        return AppendResult(path=None, appended=0, skipped=len(rows), run_id=run_id)
    run_at = pd.Timestamp(new["run_at"].iloc[0])
    name = f"run-{run_at.strftime('%Y%m%dT%H%M%S%f')}-{run_id}.parquet"
    path = folder / f"run_date={run_at.date().isoformat()}" / name
    if path.exists():
        raise RetainError(f"Ledger file {path} exists already; a run id is used once")
    with atomic_path(path) as tmp:
        # zstd: the JSON columns (features, result) are most of a row and compress ~2x better
        # than with the default snappy.
        new.to_parquet(tmp, index=False, compression="zstd")
    return AppendResult(path=path, appended=len(new), skipped=len(rows) - len(new), run_id=run_id)


def read_history(
    folder: str | os.PathLike[str],
    *,
    account_ids: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every row of the ledger (the first row of each key), oldest run first per account.

    `account_ids` limits the read to those accounts; `columns` to those columns (the key and
    `run_at` are always read). An empty frame when the ledger has no runs yet. JSON columns
    (`reasons`, `expansion_reasons`, `features`, `result`) are text: `json.loads` them.
    """
    files = ledger_files(Path(folder))
    if not files:
        return pd.DataFrame(columns=[*KEY, "run_id", "run_at"])
    import duckdb

    wanted = "*"
    if columns is not None:
        names = dict.fromkeys([*KEY, "run_id", "run_at", *columns])
        wanted = ", ".join(names)
    where = "WHERE list_contains(?, account_id)" if account_ids is not None else ""
    parameters: list[Any] = [[str(f) for f in files]]
    if account_ids is not None:
        parameters.append([str(a) for a in account_ids])
    query = f"""
        SELECT {wanted} FROM read_parquet(?, union_by_name = true, hive_partitioning = true)
        {where}
        QUALIFY row_number() OVER (PARTITION BY {", ".join(KEY)} ORDER BY run_at, run_id) = 1
        ORDER BY account_id, as_of, run_at, run_id
    """
    try:
        with duckdb.connect() as connection:
            frame = connection.execute(query, parameters).df()
    except duckdb.Error as error:
        raise RetainError(f"The score ledger {folder} is not readable: {error}") from error
    if "as_of" in frame:
        frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame.drop(columns=["run_date"], errors="ignore")


def read_previous(
    folder: str | os.PathLike[str],
    current: dict[str, Any],
    *,
    since: str | None = None,
) -> dict[str, pd.Series]:
    """Per account in `current` (account -> its current as_of), the row of the latest run at
    the latest earlier as_of (at or before `since` when given): what a change compares with.
    Read in DuckDB, so a long ledger is never loaded whole."""
    files = ledger_files(Path(folder))
    if not files or not current:
        return {}
    import duckdb

    wanted = pd.DataFrame(
        {
            "account_id": [str(a) for a in current],
            "current_as_of": pd.to_datetime(list(current.values())).date,
        }
    )
    bound = "AND l.as_of <= CAST(? AS DATE)" if since else ""
    parameters: list[Any] = [[str(f) for f in files]] + ([since] if since else [])
    query = f"""
        SELECT l.* EXCLUDE (run_date)
        FROM read_parquet(?, union_by_name = true, hive_partitioning = true) l
        JOIN _current c ON l.account_id = c.account_id AND l.as_of < c.current_as_of {bound}
        QUALIFY row_number() OVER (
            PARTITION BY l.account_id ORDER BY l.as_of DESC, l.run_at DESC, l.run_id DESC
        ) = 1
    """
    try:
        with duckdb.connect() as connection:
            connection.register("_current", wanted)
            frame = connection.execute(query, parameters).df()
    except duckdb.Error as error:
        raise RetainError(f"The score ledger {folder} is not readable: {error}") from error
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return {str(row["account_id"]): row for _, row in frame.iterrows()}


def latest_rows(history: pd.DataFrame) -> pd.DataFrame:
    """Per (account_id, as_of) the row of the latest run: what the store serves."""
    if history.empty:
        return history
    ordered = history.sort_values(["account_id", "as_of", "run_at", "run_id"])
    return ordered.drop_duplicates(["account_id", "as_of"], keep="last").reset_index(drop=True)


def previous_rows(
    history: pd.DataFrame, current: dict[str, dt.date | str], *, since: str | None = None
) -> dict[str, pd.Series]:
    """Per account in `current` (account -> its current as_of), the latest-run row of the
    latest earlier as_of (at or before `since` when given)."""
    if history.empty:
        return {}
    latest = latest_rows(history)
    out: dict[str, pd.Series] = {}
    bound = pd.Timestamp(since) if since else None
    for account_id, rows in latest.groupby("account_id", sort=False):
        if account_id not in current:
            continue
        earlier = rows[rows["as_of"] < pd.Timestamp(current[account_id])]
        if bound is not None:
            earlier = earlier[earlier["as_of"] <= bound]
        if len(earlier):
            out[str(account_id)] = earlier.iloc[-1]
    return out
