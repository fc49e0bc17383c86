"""Which engine runs the feature expressions: DuckDB (one machine) or Spark (a cluster).

The feature families are Ibis expressions over a source's canonical tables; a source of either
engine (`features.source.DataSource`, `features._spark.SparkSource`) gives them the same tables
and the few engine operations `features.build` needs (`materialize`, temporary tables).

Where validation runs (`open_validated`): files are validated on DuckDB, every check and warning,
whatever the engine builds on (DuckDB reads the same files); Spark tables (`--data
spark:<database>`), which DuckDB cannot read, get the blocking checks as Spark SQL.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from retain.config import Config
from retain.errors import RetainError

if TYPE_CHECKING:
    from features._spark import SparkSource
    from features.source import DataSource

ENGINES = ("duckdb", "spark")
# `--data spark:<database>`: the contract tables of a database in the Spark session's catalog.
CATALOG_PREFIX = "spark:"


def spark_database(path: str | os.PathLike[str]) -> str | None:
    """The database named by `--data spark:<database>`, or None for a file or folder."""
    location = os.fspath(path)
    return location[len(CATALOG_PREFIX) :] if location.startswith(CATALOG_PREFIX) else None


def open_source(
    path: str | os.PathLike[str], config: Config, engine: str = "duckdb"
) -> DataSource | SparkSource:
    """The data source at `path` on `engine` (Spark's session from `config.spark`)."""
    if engine not in ENGINES:
        raise RetainError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}.")
    database = spark_database(path)
    data_end = config.features.data_end
    if engine == "duckdb":
        if database is not None:
            raise RetainError(f"--data {os.fspath(path)} names Spark tables: add --engine spark.")
        from features.source import DataSource

        return DataSource.open(path, data_end=data_end)
    from features._spark import SparkSource, spark_session

    if database is None:
        SparkSource.folder(path)  # a clear error before a JVM starts
    session = spark_session(config.spark)
    if database is not None:
        return SparkSource.open_catalog(database, session, data_end=data_end)
    return SparkSource.open(path, session, data_end=data_end)


def open_validated(
    path: str | os.PathLike[str], config: Config, engine: str = "duckdb"
) -> DataSource | SparkSource:
    """The source at `path` on `engine`, validated first (RetainError on blocking defects)."""
    from features.validate import require_valid

    if engine == "spark" and spark_database(path) is None:
        from features._spark import SparkSource

        SparkSource.folder(path)  # before DuckDB validates what Spark cannot read
    if engine == "spark" and spark_database(path) is not None:
        source = open_source(path, config, engine)
        require_valid(source, config=config)
        return source
    duckdb_source = open_source(path, config, "duckdb")
    require_valid(duckdb_source, config=config)
    return duckdb_source if engine == "duckdb" else open_source(path, config, engine)
