"""The data source on Spark: the same contract tables, typed the same way, as Spark views.

`SparkSource` has the interface `features.build` uses from `features.source.DataSource`
(`tables`, `has`, `table`, `ibis`, `data_start`, `data_end`, `materialize`, ...), with an Ibis
PySpark backend instead of DuckDB, so `build_features` runs its Ibis expressions unchanged:

- `raw_<table>`: a temporary view of the file (CSV read as text, as on DuckDB);
- `<table>` and `<table>_as_given`: the canonical views, built by
  `features.source.canonical_views` in Spark SQL, the same typing rules as the DuckDB views.

The tables come from a folder of files (`open`) or from a database of the session's catalog
(`open_catalog`, `--data spark:<database>`: Databricks, a Hive metastore).

Materialized steps (spine, usage aggregates) are checkpointed DataFrames held as temporary views,
so each is computed once. `features.validate.check` runs the blocking checks on it as Spark SQL
(`features._checks_spark`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.contract import TABLES, TableSpec
from features.engine import CATALOG_PREFIX
from features.source import AS_GIVEN_SUFFIX, DataSource, _quote_spark, canonical_views
from retain.config import SparkConfig
from retain.errors import RetainError

if TYPE_CHECKING:
    import ibis
    from pyspark.sql import DataFrame, SparkSession

# Spark's type names (`DataType.simpleString`) as the DuckDB names the typing rules expect.
_RAW_TYPES = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "timestamp_ntz": "TIMESTAMP",
    "date": "DATE",
    "double": "DOUBLE",
    "float": "FLOAT",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "boolean": "BOOLEAN",
}

ENABLE_HINT = (
    "Spark needs the `spark` extra (pip install -e '.[spark]') and a Java runtime 17+ "
    "(apt-get install openjdk-17-jre-headless)."
)


def spark_unavailable_reason() -> str | None:
    """Why Spark cannot run here (no pyspark, no java), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return f"pyspark is not installed. {ENABLE_HINT}"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return f"no java on PATH and no JAVA_HOME. {ENABLE_HINT}"
    return None


def spark_session(config: SparkConfig) -> SparkSession:
    """The session of `[spark]`: `master = "active"` reuses the running one (Databricks)."""
    reason = spark_unavailable_reason()
    if reason is not None:
        raise RetainError(reason)
    from pyspark.sql import SparkSession

    if config.master == "active":
        session = SparkSession.getActiveSession()
        if session is None:
            raise RetainError('[spark] master = "active" but no Spark session is running.')
    else:
        builder = (
            SparkSession.builder.master(config.master)
            .appName(config.app_name)
            .config("spark.sql.shuffle.partitions", str(config.shuffle_partitions))
            .config("spark.driver.memory", config.driver_memory)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
        for key, value in dict(config.settings).items():
            builder = builder.config(key, str(value))
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    # Every timestamp of the contract is UTC wall time, as on DuckDB (SET TimeZone = 'UTC').
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    # Spark cannot read parquet TIMESTAMP(NANOS) (pandas' default) as a timestamp; read as a
    # long and converted per column in `_read_parquet`.
    session.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    return session


def _compile_bit_or() -> None:
    """Teach Ibis's PySpark compiler the `bit_or` reduction, which it lacks (its Databricks
    compiler, the same SQL, has it; Spark SQL has had `bit_or` since 3.0). The usage family ORs
    day masks with it: one grouping of the raw rows instead of two."""
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    # Set every time: the base compiler defines a `visit_BitOr` that raises "not defined".
    def visit_BitOr(self: Any, op: Any, *, arg: Any, where: Any, **_: Any) -> Any:
        return self.agg.bit_or(arg, where=where)

    PySparkCompiler.visit_BitOr = visit_BitOr


def _read_parquet(session: SparkSession, path: Path) -> DataFrame:
    """A parquet file as Spark reads it, nanosecond timestamps as microsecond timestamps."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    frame = session.read.parquet(str(path))
    schema = pq.read_schema(path)  # the footer only
    for column in schema:
        if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
            micros = F.floor(F.col(_quote_spark(column.name)) / 1000).cast("long")
            frame = frame.withColumn(column.name, F.timestamp_micros(micros))
    return frame


def _raw_type(simple: str) -> str:
    if simple.startswith("decimal"):
        return "DECIMAL"
    return _RAW_TYPES.get(simple, simple.upper())


@dataclass
class SparkSource:
    """The tables of one data source, as Spark views on `session`."""

    session: SparkSession
    location: str
    raw_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    raw_types: dict[str, dict[str, str]] = field(default_factory=dict)
    data_end_override: pd.Timestamp | None = None
    _prefix: str = field(default_factory=lambda: f"retain_{uuid.uuid4().hex[:8]}")
    _materialized: dict[str, DataFrame] = field(default_factory=dict)

    engine = "spark"

    # The engine-neutral parts of DataSource, shared as they are.
    tables = DataSource.tables
    has = DataSource.has
    extra_account_columns = DataSource.extra_account_columns
    table = DataSource.table
    table_as_given = DataSource.table_as_given

    # -- opening -----------------------------------------------------------------------------

    @staticmethod
    def folder(path: str | os.PathLike[str]) -> Path:
        """`path` when Spark can read it as a source folder; else a RetainError saying why."""
        path = Path(path)
        if path.suffix == ".duckdb":
            raise RetainError(
                f"Spark cannot read a DuckDB database ({path}). Export its tables to a folder of "
                'parquet files and pass that folder: python -c "import duckdb; '
                f"duckdb.connect('{path}', read_only=True).execute("
                '\\"EXPORT DATABASE \'folder\' (FORMAT parquet)\\")"; or use --engine duckdb, '
                "which reads the file itself."
            )
        if not path.is_dir():
            raise RetainError(
                f"Spark reads a folder of <table>.parquet / <table>.csv files or Spark tables "
                f"(--data {CATALOG_PREFIX}<database>); {path} is neither."
            )
        return path

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], session: SparkSession, *, data_end: str | None = None
    ) -> SparkSource:
        """Open a folder of `<table>.parquet` / `<table>.csv` files (Spark reads them)."""
        path = cls.folder(path)
        source = cls(session=session, location=str(path))
        for name in TABLES:
            parquet, csv = path / f"{name}.parquet", path / f"{name}.csv"
            if parquet.exists():
                frame = _read_parquet(session, parquet)
            elif csv.exists():
                # Text, as DuckDB reads CSV (all_varchar): the canonical view parses it.
                frame = session.read.option("header", "true").csv(str(csv))
            else:
                continue
            source._register_raw(name, frame)
        source._finish(data_end)
        return source

    @classmethod
    def open_catalog(
        cls, database: str, session: SparkSession, *, data_end: str | None = None
    ) -> SparkSource:
        """Open the contract tables of a Spark database (`schema` or `catalog.schema`).

        The tables of the session's catalog (a Databricks metastore or Unity Catalog schema, a
        Hive metastore), named as the contract's tables: `<database>.accounts`, ...
        """
        if not database:
            raise RetainError(f"--data {CATALOG_PREFIX}<database> needs a database name.")
        qualified = ".".join(_quote_spark(part) for part in database.split("."))
        if not session.catalog.databaseExists(database):
            raise RetainError(f"Spark has no database {database!r} (--data {CATALOG_PREFIX}...).")
        source = cls(session=session, location=f"{CATALOG_PREFIX}{database}")
        for name in TABLES:
            if session.catalog.tableExists(f"{database}.{name}"):
                source._register_raw(name, session.table(f"{qualified}.{_quote_spark(name)}"))
        source._finish(data_end)
        return source

    @classmethod
    def from_frames(
        cls,
        frames: dict[str, pd.DataFrame],
        session: SparkSession,
        *,
        data_end: str | None = None,
    ) -> SparkSource:
        """A source over in-memory frames (moved to Spark as Arrow)."""
        source = cls(session=session, location="<memory>")
        for name, frame in frames.items():
            if name in TABLES:
                source._register_raw(name, session.createDataFrame(frame))
        source._finish(data_end)
        return source

    def _view(self, name: str) -> str:
        # Views are per source (a prefix) so two sources can share one session.
        return f"{self._prefix}_{name}"

    def _register_raw(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(self._view(f"raw_{name}"))
        self.raw_columns[name] = tuple(f.name for f in frame.schema.fields)
        self.raw_types[name] = {
            f.name: _raw_type(f.dataType.simpleString()) for f in frame.schema.fields
        }

    def _finish(self, data_end: str | None) -> None:
        for name in self.raw_columns:
            self._register_canonical(TABLES[name])
        if data_end is not None:
            self.data_end_override = pd.Timestamp(data_end)

    def _register_canonical(self, spec: TableSpec) -> None:
        raw_types = self.raw_types[spec.name]
        if not set(spec.required_columns) <= set(raw_types):
            return
        extras = self.extra_account_columns() if spec.name == "accounts" else ()
        for view, select in canonical_views(spec, raw_types, extras, "spark").items():
            self.session.sql(
                f"CREATE OR REPLACE TEMP VIEW {self._view(view)} AS "
                f"SELECT {select} FROM {self._view(f'raw_{spec.name}')}"
            )

    # -- reading -----------------------------------------------------------------------------

    @cached_property
    def ibis(self) -> ibis.BaseBackend:
        _compile_bit_or()
        import ibis

        return _PrefixedBackend(ibis.pyspark.connect(self.session), self._view)

    def frame(self, name: str) -> pd.DataFrame:
        return self.table(name).to_pandas()

    @cached_property
    def data_start(self) -> pd.Timestamp | None:
        """The first day of event history, as `DataSource.data_start`."""
        event_columns = {
            "usage": "timestamp",
            "tickets": "created_at",
            "activities": "timestamp",
            "surveys": "timestamp",
        }
        values = [
            self.table(name)[column].min().to_pandas()
            for name, column in event_columns.items()
            if self.has(name)
        ]
        values = [v for v in values if not pd.isna(v)]
        return pd.Timestamp(min(values)).normalize() if values else None

    @cached_property
    def data_end(self) -> pd.Timestamp:
        """The day after the latest event, as `DataSource.data_end`."""
        if self.data_end_override is not None:
            return self.data_end_override
        values = []
        for name in self.tables:
            for column in TABLES[name].columns:
                if (
                    column.type == "timestamp"
                    and not (name == "contracts" and column.name == "end_date")
                    and not (name == "milestones" and column.name == "due_date")
                ):
                    values.append(self.table(name)[column.name].max().to_pandas())
        values = [v for v in values if not pd.isna(v)]
        if not values:
            raise RetainError(f"No dates found in {self.location}; cannot infer the data's end.")
        return pd.Timestamp(max(values)).normalize() + pd.Timedelta(days=1)

    # -- engine --------------------------------------------------------------------------------

    def materialize(self, expression: ibis.Table, name: str) -> ibis.Table:
        """Compute `expression` once (a local checkpoint: no lineage is recomputed)."""
        backend = self.ibis.backend
        backend._run_pre_execute_hooks(expression)  # registers in-memory tables (memtables)
        frame = self.session.sql(backend.compile(expression)).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(self._view(name))
        self._materialized[name] = frame
        return self.ibis.table(name)

    def temporary_tables(self) -> set[str]:
        return set(self._materialized)

    def drop_temporary(self, name: str) -> None:
        frame = self._materialized.pop(name, None)
        self.session.catalog.dropTempView(self._view(name))
        if frame is not None:
            frame.unpersist()

    def close(self) -> None:
        """Drop every view of this source (the session stays: others may use it)."""
        for name in list(self._materialized):
            self.drop_temporary(name)
        for name in self.raw_columns:
            self.session.catalog.dropTempView(self._view(name))
            self.session.catalog.dropTempView(self._view(name + AS_GIVEN_SUFFIX))
            self.session.catalog.dropTempView(self._view(f"raw_{name}"))


class _PrefixedBackend:
    """The Ibis backend, with table names mapped to this source's views."""

    def __init__(self, backend: Any, view: Any) -> None:
        self.backend = backend
        self._view = view

    def table(self, name: str) -> ibis.Table:
        return self.backend.table(self._view(name))
