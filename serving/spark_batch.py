"""Batch scoring on Spark: the snapshot scored on the executors, as `serving.batch` scores it.

`retain score --engine spark` builds the snapshot with `features.build_features` on a
`features._spark.SparkSource`, then scores it with `mapInPandas`: every executor rebuilds the
model pair from the saved artifact files (LightGBM text models, the missing-value policies and
the survival model as JSON), which travel as bytes in one broadcast, never as pickled model
objects. Each Arrow batch goes through the DuckDB path's own functions
(`serving.batch.score_snapshot`, so every per-row step it has: scores, reasons, survival curves,
recommended plays; then `results_frame` and `flat_csv_frame`), so the two engines give the same
rows. The change since the last run reads the ledger: it is added on the driver.

Spark writes the scores and the CRM file as folders of part files (`x.parquet/`, `x.csv/`, one
header per part), with the columns of the DuckDB path's files. The score store stays a DuckDB
file on the driver (the API reads it from one machine): the results come back to the driver
once, as JSON, and are upserted by `serving.store.write_store`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from serving.batch import flat_csv_frame, output_paths, results_frame, score_snapshot
from serving.scoring import ModelInfo, ModelPair
from serving.survival import SURVIVAL_FOLDER

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

    from training.survival import SurvivalModel

# The whole result as JSON, beside the scores columns: the store keeps it (never written to the
# scores file, whose columns are the DuckDB path's).
RESULT_COLUMN = "_result"
# Columns of the scores that are numbers, or missing where there is no survival model (the
# DuckDB path leaves them as None objects; on Spark they are doubles with nulls).
_NUMERIC_OBJECTS = ("expected_months_retained",)


@dataclass(frozen=True)
class ScoringJob:
    """What the executors need to score: plain data, no model object."""

    files: Mapping[str, bytes]  # relative path -> bytes of the saved model folder
    digest: str  # of `files`: each Python worker loads a model pair once per digest
    churn_info: ModelInfo
    expansion_info: ModelInfo
    config: Config
    with_reasons: bool


def scoring_session(config: Config) -> SparkSession:
    """The session of `[spark]`, with Python workers running this interpreter.

    PySpark starts its workers with `python3` from PATH unless told otherwise; a worker without
    retain's dependencies (or another Python) cannot run the scoring function. Set only when
    not already set, and only before the session's context exists.
    """
    from features._spark import spark_session

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return spark_session(config.spark)


def model_files(models: ModelPair, survival: SurvivalModel | None) -> dict[str, bytes]:
    """The model pair (and its survival model) saved as `serving.model_path` lays it out,
    as {relative path: bytes}: what travels to the executors."""
    with tempfile.TemporaryDirectory(prefix="retain-spark-pack-") as tmp:
        root = Path(tmp)
        for target, model, policy in (
            ("churn", models.churn, models.churn_policy),
            ("expansion", models.expansion, models.expansion_policy),
        ):
            policy.save(model.save(root / target))
        if survival is not None:
            survival.save(root / SURVIVAL_FOLDER)
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }


def files_digest(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(files[name])
    return digest.hexdigest()


# Per Python worker: the model pair of each job digest and the config that points at its
# folder, read once (a worker scores many batches). The folder lives as long as the worker.
_LOADED: dict[str, tuple[ModelPair, Config]] = {}


def _load_job_models(job: ScoringJob) -> tuple[ModelPair, Config]:
    """Rebuild the boosters and policies from the job's files, in a folder laid out as
    `serving.model_path` (the survival model is read from it by `serving.batch`)."""
    if job.digest in _LOADED:
        return _LOADED[job.digest]
    import atexit

    from training.missing_policy import MissingPolicy
    from training.segmented import SegmentedModel

    root = Path(tempfile.mkdtemp(prefix="retain-spark-models-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for name, content in job.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    pair = ModelPair(
        churn=SegmentedModel.load(root / "churn"),
        expansion=SegmentedModel.load(root / "expansion"),
        churn_info=job.churn_info,
        expansion_info=job.expansion_info,
        churn_policy=MissingPolicy.load(root / "churn"),
        expansion_policy=MissingPolicy.load(root / "expansion"),
    )
    config = job.config.with_overrides({"serving": {"model_path": str(root)}})
    _LOADED[job.digest] = (pair, config)
    return pair, config


def score_pandas(
    snapshot: pd.DataFrame, models: ModelPair, config: Config, *, with_reasons: bool = True
) -> pd.DataFrame:
    """The scores rows of `snapshot` (`serving.batch.results_frame` columns, numbers typed)
    plus RESULT_COLUMN: what one Spark batch becomes. `serving.batch.score_snapshot` itself
    (every per-row step of the DuckDB path), without the change since the last run, which
    needs the ledger and is added on the driver."""
    results = score_snapshot(
        snapshot.reset_index(drop=True),
        models,
        config,
        with_reasons=with_reasons,
        with_change=False,
    )
    scored = results_frame(snapshot.reset_index(drop=True), results, models)
    for column in scored.columns:
        if column in _NUMERIC_OBJECTS or column.startswith("survival_"):
            scored[column] = pd.to_numeric(scored[column], errors="coerce").astype(np.float64)
        elif column.endswith("_date") and scored[column].dtype.kind == "O":
            # Dates as Python objects (None where there is none): one Spark type per column,
            # whatever the first row holds.
            scored[column] = pd.to_datetime(scored[column])
    scored[RESULT_COLUMN] = [json.dumps(r) for r in results]
    return scored


def _score_batches(batches: Iterator[pd.DataFrame], job: Any) -> Iterator[pd.DataFrame]:
    """The mapInPandas function: runs on the executors."""
    job = job.value  # the broadcast ScoringJob
    models, config = _load_job_models(job)
    for batch in batches:
        if len(batch):
            yield score_pandas(batch, models, config, with_reasons=job.with_reasons)


def _flat_batches(batches: Iterator[pd.DataFrame], k: int) -> Iterator[pd.DataFrame]:
    for batch in batches:
        if len(batch):
            yield flat_csv_frame(batch, k)


# -- Spark types of pandas frames -----------------------------------------------------------------


def spark_schema(frame: pd.DataFrame, dates: tuple[str, ...] = ()) -> StructType:
    """The Spark schema of a pandas frame: floats double, integers long, datetimes timestamps
    without time zone (wall time, as the contract's), `dates` as dates, other objects text."""
    from pyspark.sql import types as T

    fields = []
    for name in frame.columns:
        kind = frame[name].dtype.kind
        if name in dates:
            spark_type: Any = T.DateType()
        elif kind == "f":
            spark_type = T.DoubleType()
        elif kind in "iu":
            spark_type = T.LongType()
        elif kind == "b":
            spark_type = T.BooleanType()
        elif kind == "M":
            spark_type = T.TimestampNTZType()
        else:
            values = frame[name].dropna()
            if len(values) and isinstance(values.iloc[0], dt.date):
                spark_type = T.DateType()
            else:
                spark_type = T.StringType()
        fields.append(T.StructField(str(name), spark_type, nullable=True))
    return T.StructType(fields)


def _as_text(frame: pd.DataFrame, schema: StructType) -> pd.DataFrame:
    """Object columns Spark is told are text hold text (or None): a mixed column fails in Arrow."""
    from pyspark.sql import types as T

    frame = frame.copy()
    for field in schema.fields:
        if isinstance(field.dataType, T.StringType) and frame[field.name].dtype.kind == "O":
            frame[field.name] = [
                None
                if value is None or (isinstance(value, float) and np.isnan(value))
                else str(value)
                for value in frame[field.name]
            ]
    return frame


# -- the job ----------------------------------------------------------------------------------


def spark_snapshot(data: str | os.PathLike[str], config: Config, as_of: str | None) -> pd.DataFrame:
    """`serving.batch.build_snapshot` with the features built on Spark: a folder validated on
    DuckDB first, Spark tables (`spark:<database>`) on Spark (`features.engine.open_validated`),
    csm_id from the accounts. Call `scoring_session` first (the workers' Python)."""
    from features.engine import open_validated
    from serving.batch import snapshot_of

    source = open_validated(data, config, "spark")
    try:
        return snapshot_of(source, config, as_of, data)
    finally:
        source.close()


def snapshot_dataframe(session: SparkSession, snapshot: pd.DataFrame) -> DataFrame:
    """A pandas snapshot as a Spark DataFrame (Arrow), with an explicit schema."""
    schema = spark_schema(snapshot)
    return session.createDataFrame(_as_text(snapshot, schema), schema=schema)


def score_dataframe(
    snapshot: DataFrame,
    models: ModelPair,
    survival: SurvivalModel | None,
    config: Config,
    *,
    with_reasons: bool = True,
) -> DataFrame:
    """The scores of a Spark snapshot (lazy): `results_frame` columns plus RESULT_COLUMN.

    The output schema comes from scoring the first row here on the driver with the same
    functions the executors run.
    """
    session = snapshot.sparkSession
    sample = snapshot.limit(1).toPandas()
    if len(sample) == 0:
        raise RetainError("The snapshot has no rows; nothing to score")
    schema = spark_schema(score_pandas(sample, models, config, with_reasons=with_reasons))
    files = model_files(models, survival)
    job = ScoringJob(
        files=files,
        digest=files_digest(files),
        churn_info=models.churn_info,
        expansion_info=models.expansion_info,
        config=config,
        with_reasons=with_reasons,
    )
    broadcast = session.sparkContext.broadcast(job)

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _score_batches(batches, broadcast)

    return snapshot.mapInPandas(score, schema=schema)


def scores_columns(scored: DataFrame) -> list[str]:
    return [c for c in scored.columns if c != RESULT_COLUMN]


def csv_dataframe(scores: DataFrame, k: int) -> DataFrame:
    """The CRM view of the scores (`serving.batch.flat_csv_frame` on each batch)."""
    from pyspark.sql import types as T

    sample = scores.limit(1).toPandas()
    flat = flat_csv_frame(sample, k)
    # Every timestamp of the scores is a date in the CSV (as_of, renewal_date, previous_as_of,
    # ...), whether or not the sample row has one.
    stamps = {f.name for f in scores.schema.fields if isinstance(f.dataType, T.TimestampNTZType)}
    schema = spark_schema(flat, dates=tuple(c for c in flat.columns if c in stamps))

    def flatten(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _flat_batches(batches, k)

    return scores.mapInPandas(flatten, schema=schema)


def _publish(write: Any, destination: Path) -> None:
    """Let Spark write a folder beside `destination`, then swap it in: a crash leaves the old
    output (or none), never a half-written folder under the final name."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.tmp")
    write(str(staging))
    old = None
    if destination.exists():
        old = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(destination, old)
    os.replace(staging, destination)
    if old is not None:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()


def write_spark_outputs(
    scored: DataFrame, out: str | os.PathLike[str], k: int
) -> tuple[Path, Path]:
    """(parquet, csv) folders, named as `serving.batch.output_paths` names the files."""
    parquet, csv = output_paths(out)
    scores = scored.select(*scores_columns(scored))
    _publish(lambda path: scores.write.mode("overwrite").parquet(path), parquet)
    flat = csv_dataframe(scores, k)
    _publish(
        lambda path: (
            flat.write.mode("overwrite").option("header", "true").option("emptyValue", "").csv(path)
        ),
        csv,
    )
    return parquet, csv


def collect_results(scored: DataFrame, snapshot: pd.DataFrame) -> list[dict[str, Any]]:
    """The results in the order of `snapshot`'s rows (for the score store)."""
    rows = scored.select("account_id", "as_of", RESULT_COLUMN).toLocalIterator()
    by_key = {(str(r[0]), pd.Timestamp(r[1])): json.loads(r[2]) for r in rows}
    keys = zip(snapshot["account_id"].astype(str), pd.to_datetime(snapshot["as_of"]), strict=True)
    return [by_key[key] for key in keys]


def spark_failure(error: Exception) -> RetainError | None:
    """A RetainError raised on an executor (e.g. missing values under "reject"), as the
    RetainError the user would get from the DuckDB path; None for anything else."""
    text = str(error)
    if "RESULT_COLUMN_NAMES_MISMATCH" in text:
        return RetainError(
            "The Spark executors' scores have other columns than the driver's: they run "
            "another version of retain; install the same version on the driver and executors"
        )
    for marker in ("MissingValuesError: ", "RetainError: "):
        if marker in text:
            message = text.split(marker, 1)[1].strip().splitlines()[0]
            return RetainError(message)
    return None


@dataclass(frozen=True)
class SparkScoring:
    """What `score_on_spark` did: the snapshot, its results (snapshot order), the files."""

    snapshot: pd.DataFrame
    results: list[dict[str, Any]]
    parquet: Path
    csv: Path
    bands: dict[str, int]


def score_on_spark(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    models: ModelPair,
    survival: SurvivalModel | None,
    config: Config,
    *,
    as_of: str | None = None,
    with_reasons: bool = True,
    session: SparkSession | None = None,
) -> SparkScoring:
    """`retain score --engine spark` without the store: features on Spark, scores on the
    executors, the scores and CRM folders written; the results come back for the store."""
    from pyspark import StorageLevel

    session = session or scoring_session(config)
    snapshot = spark_snapshot(data, config, as_of)
    scored = score_dataframe(
        snapshot_dataframe(session, snapshot), models, survival, config, with_reasons=with_reasons
    )
    # Scored once: the parquet, the CSV, the band counts and the store read the same rows.
    scored = scored.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        try:
            results = collect_results(scored, snapshot)
        except Exception as error:
            known = spark_failure(error)
            if known is None:
                raise
            raise known from None
        # The change since each account's previous ledger row is read on the driver, as the
        # score store is: the ledger is one folder (and its models the registry's).
        with_changes = _with_changes(scored, snapshot, results, models, config)
        parquet, csv = write_spark_outputs(with_changes, out, config.serving.top_k_reasons)
        bands = {r[0]: int(r[1]) for r in scored.groupBy("health_band").count().collect()}
    finally:
        scored.unpersist()
    return SparkScoring(snapshot=snapshot, results=results, parquet=parquet, csv=csv, bands=bands)


# The scores columns `serving.batch.results_frame` derives from a result's change and trend.
CHANGE_COLUMNS = ("previous_as_of", "previous_churn_probability", "change", "trend")


def _with_changes(
    scored: DataFrame,
    snapshot: pd.DataFrame,
    results: list[dict[str, Any]],
    models: ModelPair,
    config: Config,
) -> DataFrame:
    """`scored` with the change columns of `serving.movers.add_changes` (which also gives
    `results` their change and trend, as `serving.batch.score_snapshot` does). Unchanged on a
    first run: the executors already wrote the empty change columns."""
    from pyspark.sql import functions as F

    from serving.movers import add_changes

    add_changes(results, snapshot, models, config, with_trend=True)
    moved = [i for i, r in enumerate(results) if r.get("change") or r.get("trend")]
    if not moved or not set(CHANGE_COLUMNS) <= set(scored.columns):
        return scored
    rows = snapshot.iloc[moved].reset_index(drop=True)
    changes = results_frame(rows, [results[i] for i in moved], models)
    changes = changes[["account_id", "as_of", *CHANGE_COLUMNS]]
    schema = spark_schema(changes)
    frame = scored.sparkSession.createDataFrame(changes, schema=schema)
    order = scored.columns
    joined = scored.drop(*CHANGE_COLUMNS).join(frame, on=["account_id", "as_of"], how="left")
    # Rows with no change hold what results_frame writes for them: JSON null, no date.
    for column in ("change", "trend"):
        joined = joined.withColumn(column, F.coalesce(F.col(column), F.lit("null")))
    return joined.select(*order)
