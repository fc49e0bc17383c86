"""features.engine: the engine switch, and feature code that stays engine-neutral."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.engine import open_source
from retain.cli import app
from retain.config import Config
from retain.errors import RetainError

FEATURES = Path(__file__).resolve().parents[2] / "features"
# The modules whose expressions `build_features` runs on either engine.
ENGINE_NEUTRAL = (
    "account",
    "build",
    "commercial",
    "handoffs",
    "labels",
    "outcome",
    "plays",
    "relationship",
    "segments",
    "sentiment",
    "spine",
    "support",
    "usage",
    "windows",
)
# Constructs that run on DuckDB only: as-of joins (no PySpark support in Ibis), the source's
# DuckDB connection, and SQL text (DuckDB's dialect).
DUCKDB_ONLY = re.compile(r"asof_join|\.connection\b|source\.sql\(|ibis\.to_sql\(|\.execute\(")


def test_feature_modules_use_no_duckdb_only_construct():
    found = {
        name: DUCKDB_ONLY.findall((FEATURES / f"{name}.py").read_text(encoding="utf-8"))
        for name in ENGINE_NEUTRAL
    }
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_check_sees_a_duckdb_only_construct():
    assert DUCKDB_ONLY.search("joined = spine.asof_join(events, on=...)")
    assert DUCKDB_ONLY.search('rows = source.connection.execute("SELECT 1")')


def test_an_unknown_engine_is_a_clear_error(tmp_path):
    with pytest.raises(RetainError, match="--engine must be one of duckdb, spark"):
        open_source(tmp_path, Config(), "polars")
    result = CliRunner().invoke(
        app,
        [
            "features",
            "--data",
            str(tmp_path),
            "--out",
            str(tmp_path / "f.parquet"),
            "--engine",
            "polars",
        ],
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, RetainError)
    assert "--engine must be one of duckdb, spark, not 'polars'" in str(result.exception)


def test_spark_tables_need_the_spark_engine():
    with pytest.raises(RetainError, match="names Spark tables: add --engine spark"):
        open_source("spark:crm", Config(), "duckdb")


def test_a_duckdb_file_on_spark_says_how_to_export_it_before_anything_runs(tmp_path):
    path = tmp_path / "crm.duckdb"
    path.touch()  # not even a database: the engine check comes before any read or session
    with pytest.raises(RetainError, match="Spark cannot read a DuckDB database"):
        open_source(path, Config(), "spark")
    out = tmp_path / "f.parquet"
    arguments = ["features", "--data", str(path), "--out", str(out), "--engine", "spark"]
    result = CliRunner().invoke(app, arguments)
    assert isinstance(result.exception, RetainError)
    assert "EXPORT DATABASE 'folder' (FORMAT parquet)" in str(result.exception)
    assert not out.exists()


def test_a_spark_database_without_the_required_tables_says_which_tables():
    pytest.importorskip("pyspark")
    from features._spark import SparkSource
    from features.validate import SPARK_NOTE, check

    # No table at all: nothing to query, so no session is needed.
    report = check(SparkSource(session=None, location="spark:crm"), Config())  # type: ignore[arg-type]
    assert [(d.table, d.example, d.message) for d in report.blocking] == [
        ("accounts", "a Spark table crm.accounts", "required table is missing"),
        ("contracts", "a Spark table crm.contracts", "required table is missing"),
    ]
    assert report.note == SPARK_NOTE and not report.ok
