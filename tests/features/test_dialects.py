"""Every feature expression compiles for Snowflake and BigQuery through Ibis (issue 15).

Compile only, no connection: `ibis.to_sql(expr, dialect=...)` unbinds each expression (the table
names stay, the backend goes) and compiles it with that dialect's Ibis compiler. The expressions
are built the way `features.build.build_features` composes them, over the fixture data on
DuckDB, whose canonical tables have the contract's schema (checked first): a few steps read a
value or materialize a table on the way (the spine's dates, the usage aggregates), and
`_CompilingSource` compiles every expression before it is materialized, so the dialects see the
spine and the usage aggregates as well as each family's final expression.

A family fails here when it uses an operation a dialect cannot compile (Ibis raises) or one
sqlglot can only translate approximately (sqlglot logs "unsupported"; caught as a failure).
"""

from __future__ import annotations

import logging

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pytest

from features.build import FAMILIES, families_for
from features.contract import TABLES
from features.labels import label_table
from features.source import DataSource
from features.spine import snapshot_spine
from features.windows import SNAPSHOT_ID
from retain.config import Config
from tests.features.fixtures_data import DATA_END, base_frames

DIALECTS = ("snowflake", "bigquery")
_CONTRACT_TYPES = {
    "string": dt.string,
    "timestamp": dt.Timestamp(scale=6),  # microseconds: DuckDB's TIMESTAMP, Spark's, BigQuery's
    "float": dt.float64,
    "int": dt.int64,
    "bool": dt.boolean,
}


class _SqlglotWarnings(logging.Handler):
    """sqlglot logs (instead of raising) what a dialect cannot express exactly."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def compile_for(expression: ir.Expr, dialect: str) -> str:
    """The SQL of `expression` in `dialect`; raises on anything that does not compile cleanly."""
    handler = _SqlglotWarnings()
    logger = logging.getLogger("sqlglot")
    logger.addHandler(handler)
    try:
        sql = ibis.to_sql(expression, dialect=dialect)
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        raise AssertionError(f"{dialect}: sqlglot could not translate exactly: {handler.messages}")
    return str(sql)


class _CompilingSource:
    """The DuckDB source, compiling every expression for each dialect before materializing it."""

    def __init__(self, source: DataSource) -> None:
        self._source = source
        self.compiled: dict[str, dict[str, str]] = {}

    def __getattr__(self, name: str):
        return getattr(self._source, name)

    def compile(self, expression: ir.Expr, step: str) -> None:
        self.compiled[step] = {d: compile_for(expression, d) for d in DIALECTS}

    def materialize(self, expression: ir.Table, name: str) -> ir.Table:
        # The step's name without the prefix and random suffix of `features.windows.materialize`.
        self.compile(expression, f"materialized {name.removeprefix('_retain_').rsplit('_', 1)[0]}")
        return self._source.materialize(expression, name)


def _frames():
    frames = base_frames()
    # An extra accounts column: the attribute features compile too.
    frames["accounts"] = frames["accounts"].assign(plan=["pro", "basic"])
    return frames


def contract_schema(name: str, extra: tuple[str, ...] = ()) -> ibis.Schema:
    spec = TABLES[name]
    columns = {c.name: _CONTRACT_TYPES[c.type] for c in spec.columns}
    return ibis.schema({**columns, **{c: dt.string for c in extra}})


@pytest.fixture(scope="module")
def source() -> DataSource:
    return DataSource.from_frames(_frames(), data_end=DATA_END)


def test_the_tables_compiled_have_the_contract_schema(source):
    assert set(source.tables) == set(TABLES)
    for name in TABLES:
        extra = source.extra_account_columns() if name == "accounts" else ()
        assert source.table(name).schema() == contract_schema(name, extra), name


@pytest.mark.parametrize("spine", ["monthly", "renewals"])
def test_every_feature_family_compiles_for_snowflake_and_bigquery(source, spine):
    config = Config()
    compiling = _CompilingSource(source)
    spine_expr = snapshot_spine(compiling, config, spine=spine)
    # As build_features types and numbers the spine before materializing it.
    spine_expr = spine_expr.mutate(
        as_of=spine_expr.as_of.cast("timestamp"),
        **{
            SNAPSHOT_ID: ibis.row_number()
            .over(order_by=["account_id", "as_of", "spine"])
            .cast("int64")
        },
    )
    before = source.temporary_tables()
    try:
        snapshots = compiling.materialize(spine_expr, "_retain_spine_0")
        assert snapshots.count().to_pandas() > 0  # the families below see real snapshots
        compiling.compile(label_table(compiling, config, snapshots), "labels")
        assert families_for(compiling) == list(FAMILIES)  # every family is compiled
        for family in FAMILIES:
            expression = family.build(snapshots, compiling, config)
            assert expression is not None, family.name
            compiling.compile(expression, family.name)
    finally:
        for name in source.temporary_tables() - before:
            source.drop_temporary(name)
    materialized = {f"materialized {name}" for name in ("spine", "usage", "weekly_activity")}
    steps = {*materialized, "labels", *(f.name for f in FAMILIES)}
    assert set(compiling.compiled) == steps
    # Attributes came through (the extra accounts column), in each dialect's quoting.
    assert '"attr_plan"' in compiling.compiled["account"]["snowflake"]
    assert "`attr_plan`" in compiling.compiled["account"]["bigquery"]


def test_a_construct_a_dialect_cannot_compile_fails(source):
    tickets = source.table("tickets")
    # BigQuery has no exact median (Ibis defines no rule): the check must catch it.
    with pytest.raises(ibis.common.exceptions.OperationNotDefinedError):
        compile_for(tickets.aggregate(m=tickets.csat.median()), "bigquery")
    assert "MEDIAN(" in compile_for(tickets.aggregate(m=tickets.csat.median()), "snowflake")
