"""Open a data source (a folder of parquet/CSV files or a DuckDB database) as DuckDB views.

Every table of the contract that is present gets two relations on one DuckDB connection:

- `raw_<table>`: the file as it is (CSV read as text, so nothing fails while reading);
- `<table>`: the canonical view: contract columns cast to their logical types with TRY_CAST
  (a value that cannot be parsed becomes NULL here, and `features.validate` reports it from the
  raw relation), text trimmed of spaces (empty text is NULL), vocabularies lower-cased, defaults
  filled for absent optional columns, and every extra column of `accounts` passed through as
  text for static attributes;
- `<table>_as_given`: the same, except that free text (keys and names) is as stored. Grouping
  hundreds of millions of usage rows on it and canonicalizing the few groups afterwards
  (`features.text_keys`) costs less than canonicalizing every row first.

Nothing is loaded into memory: the feature pipeline runs Ibis expressions on these views, so the
same code works on a 100M-row usage table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from features.contract import TABLES, ColumnSpec, TableSpec
from retain.errors import RetainError

if TYPE_CHECKING:
    import ibis

_SQL_TYPES = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "float": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_spark(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# How the canonical view's SQL differs between engines: identifier quoting and the text type.
_DIALECTS = {"duckdb": (_quote, "VARCHAR"), "spark": (_quote_spark, "STRING")}


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


_NUMERIC_RAW_TYPES = (
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)


def _already_typed(logical: str, raw_type: str) -> bool:
    """Whether a raw column already holds the logical type (parquet, DuckDB): cast directly.

    Going through text for typed columns would cost a string round trip per value on tables of
    100M rows, for nothing: a typed value cannot be unparseable.
    """
    raw_type = raw_type.upper()
    if logical == "timestamp":
        return raw_type.startswith(("TIMESTAMP", "DATE"))
    if logical in ("float", "int"):
        return raw_type.startswith(_NUMERIC_RAW_TYPES)
    if logical == "bool":
        return raw_type == "BOOLEAN"
    return False


def canonical_expression(
    spec: ColumnSpec, raw_type: str | None, dialect: str = "duckdb", *, text_as_given: bool = False
) -> str:
    """The SQL of one canonical column from its raw column (`raw_type` in DuckDB's names, None
    when absent), for DuckDB or Spark SQL: the same typing rules on either engine.

    `text_as_given`: free text (no vocabulary) is only cast to text, not trimmed; the view of
    `<table>_as_given`.
    """
    quote, text_type = _DIALECTS[dialect]
    sql_type = text_type if spec.type == "string" else _SQL_TYPES[spec.type]
    if raw_type is None:
        return f"CAST({_literal(spec.default)} AS {sql_type}) AS {quote(spec.name)}"
    column = quote(spec.name)
    if _already_typed(spec.type, raw_type):
        expression = f"CAST({column} AS {sql_type})"
    elif spec.type == "string" and text_as_given and spec.allowed is None:
        expression = f"CAST({column} AS {text_type})"
    elif spec.type == "string":
        text = f"CAST({column} AS {text_type})"
        # The same value as NULLIF(TRIM(text), ''), which both engines define as trimming
        # spaces only. TRIM builds a new string for every row; the ends are tested first
        # because almost no value needs it (a users grouping over 17.6M usage rows: 3.4-3.8 s
        # CPU trimmed, 1.5-1.9 s tested, 1.0-1.2 s untouched).
        expression = (
            f"CASE WHEN {text} = '' OR {text} LIKE ' %' OR {text} LIKE '% ' "
            f"THEN NULLIF(TRIM({text}), '') ELSE {text} END"
        )
        if spec.allowed is not None:
            expression = f"LOWER({expression})"
    elif spec.type == "bool":
        # Accept the spellings exports use: true/false, yes/no, 1/0.
        text = f"LOWER(TRIM(CAST({column} AS {text_type})))"
        expression = (
            f"CASE WHEN {text} IN ('true','t','yes','y','1','1.0') THEN TRUE "
            f"WHEN {text} IN ('false','f','no','n','0','0.0') THEN FALSE ELSE NULL END"
        )
    elif spec.type == "timestamp":
        expression = f"TRY_CAST(NULLIF(TRIM(CAST({column} AS {text_type})), '') AS TIMESTAMP)"
    else:
        expression = f"TRY_CAST(NULLIF(TRIM(CAST({column} AS {text_type})), '') AS {sql_type})"
    if spec.type == "float":
        # NaN is a value to DuckDB (one NaN makes a SUM NaN); the contract means "missing".
        # DuckDB folds isnan to false when a parquet file's statistics (wrongly) claim no NaN,
        # so the families that aggregate floats also apply `features.windows.nan_as_null` (a
        # text test, too costly for every row of every float column here).
        expression = f"CASE WHEN isnan({expression}) THEN NULL ELSE {expression} END"
    if spec.default is not None:
        expression = f"COALESCE({expression}, {_literal(spec.default)})"
    return f"CAST({expression} AS {sql_type}) AS {quote(spec.name)}"


AS_GIVEN_SUFFIX = "_as_given"


def canonical_views(
    spec: TableSpec,
    raw_types: dict[str, str],
    extra_text_columns: tuple[str, ...],
    dialect: str,
) -> dict[str, str]:
    """The SELECT lists of a table's two views, by view name: `<table>` (canonical) and
    `<table>_as_given` (free text as stored). Extra columns pass through as text."""
    quote, text_type = _DIALECTS[dialect]
    extras = [f"CAST({quote(c)} AS {text_type}) AS {quote(c)}" for c in extra_text_columns]
    return {
        spec.name + suffix: ", ".join(
            [
                *(
                    canonical_expression(
                        c, raw_types.get(c.name), dialect, text_as_given=bool(suffix)
                    )
                    for c in spec.columns
                ),
                *extras,
            ]
        )
        for suffix in ("", AS_GIVEN_SUFFIX)
    }


def _connect() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    # DuckDB 2.0's partitioned execution splits a grouping of a parquet file on a text column as
    # stored into one full scan per partition: the usage groupings on `usage_as_given` took 3.5x
    # the CPU (at 100k accounts, 214-236 CPU s for the whole build against 104-124 without it).
    connection.execute("SET disabled_optimizers = 'partitioned_execution'")
    return connection


_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def _check_location(path: Path) -> None:
    """A clear message, before anything is read, for a path that cannot be a data source."""
    if not path.exists():
        raise RetainError(
            f"Data source {path} does not exist; give a folder of <table>.parquet/.csv files "
            "or a .duckdb file."
        )
    if path.is_dir():
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as error:
        raise RetainError(f"Cannot read the data source {path}: {error.strerror}.") from error
    if header[8:12] == _DUCKDB_MAGIC:
        return
    if path.suffix.lower() in (".csv", ".parquet"):
        raise RetainError(
            f"Data source {path} is a file; give the folder that holds the tables instead "
            f"(--data {path.parent})."
        )
    raise RetainError(
        f"Data source {path} is neither a folder of <table>.parquet/.csv files nor a DuckDB "
        "database; give one of those."
    )


def _check_csv(csv: Path, name: str) -> None:
    # DuckDB reads an empty file as one column named "column0", which validation would report
    # as every required column missing.
    with csv.open("rb") as handle:
        start = handle.read(4096)
    if not start.strip():
        raise RetainError(
            f"{csv} is empty (no header row); export the {name} table with its header, or "
            "remove the file if the table is optional."
        )


@dataclass
class DataSource:
    """The tables of one data source, as DuckDB relations on `connection`."""

    connection: duckdb.DuckDBPyConnection
    location: str
    raw_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    raw_types: dict[str, dict[str, str]] = field(default_factory=dict)
    data_end_override: pd.Timestamp | None = None

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, data_end: str | None = None) -> DataSource:
        """Open a folder of `<table>.parquet`/`<table>.csv` files or a `.duckdb` database."""
        path = Path(path)
        _check_location(path)
        connection = _connect()
        source = cls(connection=connection, location=str(path))
        if path.is_dir():
            for name in TABLES:
                parquet, csv = path / f"{name}.parquet", path / f"{name}.csv"
                if parquet.exists():
                    relation = f"read_parquet({_literal(str(parquet))})"
                elif csv.exists():
                    _check_csv(csv, name)
                    relation = f"read_csv({_literal(str(csv))}, all_varchar = true, header = true)"
                else:
                    continue
                source._register_raw(name, f"SELECT * FROM {relation}")
        else:
            try:
                connection.execute(f"ATTACH {_literal(str(path))} AS src (READ_ONLY)")
            except duckdb.Error as error:
                raise RetainError(f"Cannot open {path} as a DuckDB database: {error}") from error
            present = {
                row[0]
                for row in connection.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src'"
                ).fetchall()
            }
            for name in TABLES:
                if name in present:
                    source._register_raw(name, f"SELECT * FROM src.main.{_quote(name)}")
        source._finish(data_end)
        return source

    @classmethod
    def from_frames(
        cls, frames: dict[str, pd.DataFrame], *, data_end: str | None = None
    ) -> DataSource:
        """A source over in-memory frames (tests, importers). Frames are not modified."""
        connection = _connect()
        source = cls(connection=connection, location="<memory>")
        for name, frame in frames.items():
            if name not in TABLES:
                continue
            connection.register(f"_frame_{name}", frame)
            source._register_raw(name, f"SELECT * FROM _frame_{name}")
        source._finish(data_end)
        return source

    def _register_raw(self, name: str, select_sql: str) -> None:
        try:
            self.connection.execute(f"CREATE OR REPLACE VIEW raw_{name} AS {select_sql}")
            described = self.connection.execute(f"DESCRIBE SELECT * FROM raw_{name}").fetchall()
        except duckdb.Error as error:
            message = f"Cannot read table {name!r} from {self.location}: {error}"
            raise RetainError(message) from error
        self.raw_columns[name] = tuple(row[0] for row in described)
        self.raw_types[name] = {row[0]: str(row[1]) for row in described}

    def _finish(self, data_end: str | None) -> None:
        for name in self.raw_columns:
            self._register_canonical(TABLES[name])
        if data_end is not None:
            self.data_end_override = pd.Timestamp(data_end)

    def _register_canonical(self, spec: TableSpec) -> None:
        raw_types = self.raw_types[spec.name]
        if not set(spec.required_columns) <= set(raw_types):
            return  # validation reports the missing columns; no canonical view without them
        extras = self.extra_account_columns() if spec.name == "accounts" else ()
        for view, select in canonical_views(spec, raw_types, extras, "duckdb").items():
            self.connection.execute(
                f"CREATE OR REPLACE VIEW {view} AS SELECT {select} FROM raw_{spec.name}"
            )

    # -- reading -----------------------------------------------------------------------------

    @property
    def tables(self) -> tuple[str, ...]:
        """Contract tables present with all their required columns (canonical views exist)."""
        return tuple(
            name
            for name in self.raw_columns
            if set(TABLES[name].required_columns) <= set(self.raw_columns[name])
        )

    def has(self, name: str) -> bool:
        return name in self.tables

    def extra_account_columns(self) -> tuple[str, ...]:
        known = {c.name for c in TABLES["accounts"].columns}
        return tuple(c for c in self.raw_columns.get("accounts", ()) if c not in known)

    def sql(self, query: str) -> pd.DataFrame:
        return self.connection.execute(query).df()

    def frame(self, name: str) -> pd.DataFrame:
        """The canonical table as pandas (small tables only; usage can be huge)."""
        if not self.has(name):
            raise RetainError(f"Table {name!r} is not available in {self.location}.")
        return self.sql(f"SELECT * FROM {name}")

    @cached_property
    def ibis(self) -> ibis.BaseBackend:
        import ibis

        return ibis.duckdb.from_connection(self.connection)

    def table(self, name: str) -> ibis.Table:
        """The canonical table as an Ibis expression on the shared DuckDB connection."""
        if not self.has(name):
            raise RetainError(f"Table {name!r} is not available in {self.location}.")
        return self.ibis.table(name)

    def table_as_given(self, name: str) -> ibis.Table:
        """The canonical table, except that free text is as stored (see the module docstring):
        for groupings of large tables that canonicalize their keys afterwards."""
        self.table(name)  # the same error for an absent table
        return self.ibis.table(name + AS_GIVEN_SUFFIX)

    # -- engine: what `features.build` needs beyond Ibis expressions --------------------------

    engine = "duckdb"

    def materialize(self, expression: ibis.Table, name: str) -> ibis.Table:
        """Compute `expression` once into the temporary table `name`; return it as Ibis."""
        self.ibis.create_table(name, expression, temp=True)
        return self.ibis.table(name)

    def temporary_tables(self) -> set[str]:
        rows = self.connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary"
        ).fetchall()
        return {row[0] for row in rows}

    def drop_temporary(self, name: str) -> None:
        self.connection.execute(f"DROP TABLE IF EXISTS {_quote(name)}")

    @cached_property
    def data_start(self) -> pd.Timestamp | None:
        """The first day of event history (usage, tickets, activities, surveys), or None.

        Accounts and contracts often go back further than the event export; a snapshot before
        the events begin would read "no usage" where the truth is "no data".
        """
        event_columns = {
            "usage": "timestamp",
            "tickets": "created_at",
            "activities": "timestamp",
            "surveys": "timestamp",
        }
        parts = [
            f"SELECT MIN({_quote(column)}) AS t FROM {name}"
            for name, column in event_columns.items()
            if self.has(name)
        ]
        if not parts:
            return None
        query = f"SELECT MIN(t) FROM ({' UNION ALL '.join(parts)})"
        earliest = self.connection.execute(query).fetchall()[0][0]
        return None if earliest is None else pd.Timestamp(earliest).normalize()

    @cached_property
    def data_end(self) -> pd.Timestamp:
        """The last date the data describes: the override, else the latest event date seen.

        Contract end dates are excluded: they lie in the future (the next renewal) by design.
        """
        if self.data_end_override is not None:
            return self.data_end_override
        parts = []
        for name in self.tables:
            spec = TABLES[name]
            for column in spec.columns:
                if (
                    column.type == "timestamp"
                    and not (name == "contracts" and column.name == "end_date")
                    and not (name == "milestones" and column.name == "due_date")
                ):
                    parts.append(f"SELECT MAX({_quote(column.name)}) AS t FROM {name}")
        value = self.connection.execute(f"SELECT MAX(t) FROM ({' UNION ALL '.join(parts)})")
        # fetchall, not fetchone: DuckDB 2.0 blocks the connection while a result is half read.
        latest = value.fetchall()[0][0]
        if latest is None:
            raise RetainError(f"No dates found in {self.location}; cannot infer the data's end.")
        return pd.Timestamp(latest).normalize() + pd.Timedelta(days=1)
