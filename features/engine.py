"""Which engine runs the feature expressions: DuckDB (one machine) or Spark (a cluster).

The feature families are Ibis expressions over a source's canonical tables; a source of either
engine (`features.source.DataSource`, `features._spark.SparkSource`) gives them the same tables
and the few engine operations `features.build` needs (`materialize`, temporary tables).
Validation always runs on DuckDB over the same files (`features.validate`), before the build.
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


def open_source(
    path: str | os.PathLike[str], config: Config, engine: str = "duckdb"
) -> DataSource | SparkSource:
    """The data source at `path` on `engine` (Spark's session from `config.spark`)."""
    if engine not in ENGINES:
        raise RetainError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}.")
    if engine == "duckdb":
        from features.source import DataSource

        return DataSource.open(path, data_end=config.features.data_end)
    from features._spark import SparkSource, spark_session

    return SparkSource.open(path, spark_session(config.spark), data_end=config.features.data_end)
