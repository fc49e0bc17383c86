"""The blocking checks of the input contract as Spark SQL, for sources too large for DuckDB.

`retain validate --engine spark` and `retain features --engine spark` on Spark tables run these
on the cluster, over the raw views of a `features._spark.SparkSource` (the tables as they are),
typing values exactly as the Spark canonical views do. They find the defects that stop every
command on DuckDB (`features.validate`), with the same messages:

- a required table or column missing, a required table without rows;
- values that cannot be read as their type (dates, numbers, booleans);
- empty keys and empty required values of accounts and contracts, and empty primary keys;
- duplicate primary keys, a contract ending before it starts, negative ARR;
- orphan rows (no such account) above `[features] max_orphan_share` of a table's rows, with the
  hint when the ids differ only by type or zero padding;
- a table Spark cannot read.

The warnings (vocabularies, ranges, dates after the data's end, coverage, accounts without a
contract) are not checked here: `features.validate.SPARK_NOTE` says so on every report. Each
table costs one aggregate scan (counts and examples together), one for duplicate keys and one
join to the account ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from features._checks_cross import orphan_defect
from features._checks_sql import FALSE_SPELLINGS, TRUE_SPELLINGS, RawColumn
from features._checks_tables import (
    _CORE_TABLES,
    _TYPE_WORDS,
    _structure_defects,
    duplicate_key_defects,
)
from features._defect import Defect
from features.contract import TABLES, TableSpec

if TYPE_CHECKING:
    from features._spark import SparkSource

_SPARK_TYPES = {"timestamp": "TIMESTAMP", "float": "DOUBLE", "int": "BIGINT"}


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def literal(value: object) -> str:
    """A Spark SQL string literal (backslash escapes, Spark's default)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _text(column: str) -> str:
    """The raw value as trimmed text; empty strings count as missing (the canonical view)."""
    return f"NULLIF(TRIM(CAST({quote(column)} AS STRING)), '')"


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(literal(v) for v in values)


def _parsed(raw: RawColumn) -> str:
    """The typed value, NULL when empty or unparseable: the canonical view's rules."""
    column = quote(raw.spec.name)
    kind = raw.spec.type
    if raw.native:
        return column if kind in ("string", "bool") else f"CAST({column} AS {_SPARK_TYPES[kind]})"
    text = _text(raw.spec.name)
    if kind == "string":
        return text
    if kind == "bool":
        return (
            f"CASE WHEN LOWER({text}) IN ({_listed(TRUE_SPELLINGS)}) THEN TRUE "
            f"WHEN LOWER({text}) IN ({_listed(FALSE_SPELLINGS)}) THEN FALSE END"
        )
    return f"TRY_CAST({text} AS {_SPARK_TYPES[kind]})"


def _empty(raw: RawColumn) -> str:
    if raw.native and raw.spec.type != "string":
        return f"{quote(raw.spec.name)} IS NULL"
    return f"{_text(raw.spec.name)} IS NULL"


def _unparseable(raw: RawColumn) -> str | None:
    if raw.native or raw.spec.type == "string":
        return None
    return f"({_text(raw.spec.name)} IS NOT NULL AND {_parsed(raw)} IS NULL)"


def _fetch_one(source: SparkSource, query: str) -> dict[str, Any]:
    return source.session.sql(query).collect()[0].asDict()


def spark_defects(source: SparkSource, max_orphan_share: float) -> list[Defect]:
    """The blocking defects of every table present, then the orphans (see the module doc)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    failures = (PySparkException, Py4JJavaError)
    defects: list[Defect] = []
    for name in source.raw_columns:
        try:
            defects += _table_defects(source, TABLES[name])
        except failures as error:
            defects.append(Defect(name, "", 0, "", f"cannot read the table: {_first(error)}", True))
    if source.has("accounts"):
        for name in source.tables:
            if name == "accounts":
                continue
            try:
                defects += _orphan_defects(source, name, max_orphan_share)
            except failures as error:
                message = f"cannot check: {_first(error)}"
                defects.append(Defect(name, "account_id", 0, "", message, True))
    return defects


def _first(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _probes(spec: TableSpec, columns: dict[str, RawColumn]) -> Iterator[tuple[str, str, str, str]]:
    """(column, condition, example, message) of each blocking probe of the table."""
    key = next((c for c in (*spec.primary_key, "account_id") if c in columns), None)

    def located(column: str, with_value: bool) -> str:
        value = f"concat(chr(39), {_text(column)}, chr(39))"
        if key is None or key == column:
            return value if with_value else "'(empty)'"
        where = f"concat({literal(key + '=')}, COALESCE({_text(key)}, '(empty)'))"
        return f"concat({value}, ' (', {where}, ')')" if with_value else where

    for column in spec.columns:
        raw = columns.get(column.name)
        if raw is None:
            continue
        if column.required and (spec.name in _CORE_TABLES or column.name in spec.primary_key):
            yield column.name, _empty(raw), located(column.name, False), "required value is empty"
        unparseable = _unparseable(raw)
        if unparseable is not None:
            message = f"value cannot be read as {_TYPE_WORDS[column.type]}"
            yield column.name, unparseable, located(column.name, True), message
    if spec.name == "contracts":
        if {"start_date", "end_date"} <= set(columns):
            start, end = _parsed(columns["start_date"]), _parsed(columns["end_date"])
            example = f"concat({_text('start_date')}, ' -> ', {_text('end_date')})"
            if key is not None:
                example = f"concat({example}, ' (', {literal(key + '=')}, {_text(key)}, ')')"
            yield "end_date", f"{end} < {start}", example, "end_date is before start_date"
        if "arr" in columns:
            yield "arr", f"{_parsed(columns['arr'])} < 0", located("arr", True), "negative ARR"


def _table_defects(source: SparkSource, spec: TableSpec) -> list[Defect]:
    present = source.raw_columns[spec.name]
    relation = source._view(f"raw_{spec.name}")
    types = source.raw_types[spec.name]
    columns = {c.name: RawColumn(c, types[c.name]) for c in spec.columns if c.name in types}
    probes = list(_probes(spec, columns))
    selects = ["count(*) AS _rows"]
    for index, (_, condition, example, _) in enumerate(probes):
        selects.append(f"count(CASE WHEN {condition} THEN 1 END) AS p{index}")
        selects.append(f"min(CASE WHEN {condition} THEN {example} END) AS e{index}")
    row = _fetch_one(source, f"SELECT {', '.join(selects)} FROM {relation}")
    defects = list(_structure_defects(spec, present, int(row["_rows"])))
    for index, (column, _, _, message) in enumerate(probes):
        if row[f"p{index}"]:
            rows, example = int(row[f"p{index}"]), str(row[f"e{index}"])
            defects.append(Defect(spec.name, column, rows, example, message, True))
    return defects + _duplicate_keys(source, spec, set(present), relation)


def _duplicate_keys(
    source: SparkSource, spec: TableSpec, present: set[str], relation: str
) -> list[Defect]:
    if not spec.primary_key or not set(spec.primary_key) <= present:
        return []
    parts = ", ".join(f"COALESCE({_text(c)}, '')" for c in spec.primary_key)
    key = f"concat_ws('|', {parts})"
    filled = " AND ".join(f"{_text(c)} IS NOT NULL" for c in spec.primary_key)
    row = _fetch_one(
        source,
        f"SELECT sum(n) AS rows, min(k) AS example, count(*) AS keys FROM "
        f"(SELECT {key} AS k, count(*) AS n FROM {relation} WHERE {filled} "
        f"GROUP BY {key} HAVING count(*) > 1)",
    )
    return duplicate_key_defects(spec, row)


def _normalized(expression: str) -> str:
    """An id with its type and zero padding ignored: 7, 7.0, "7" and "0007" all become "7"."""
    unpadded = f"regexp_replace(regexp_replace(trim({expression}), '\\\\.0+$', ''), '^0+', '')"
    return f"coalesce(nullif({unpadded}, ''), '0')"


def _orphan_defects(source: SparkSource, name: str, max_orphan_share: float) -> list[Defect]:
    accounts = source._view("raw_accounts")
    rows = source._view(f"raw_{name}")
    account = _text("account_id")
    row = _fetch_one(
        source,
        f"""
        WITH acc AS (SELECT DISTINCT {account} AS account_id FROM {accounts}
                     WHERE {account} IS NOT NULL),
        acc_keys AS (SELECT {_normalized("account_id")} AS k, min(account_id) AS twin
                     FROM acc GROUP BY {_normalized("account_id")}),
        per_account AS (
            SELECT {account} AS account_id, count(*) AS n FROM {rows}
            WHERE {account} IS NOT NULL GROUP BY {account}
        ),
        orphans AS (
            SELECT p.account_id, p.n, k.twin
            FROM per_account AS p
            LEFT JOIN acc ON acc.account_id = p.account_id
            LEFT JOIN acc_keys AS k ON k.k = {_normalized("p.account_id")}
            WHERE acc.account_id IS NULL
        )
        SELECT
            (SELECT sum(n) FROM per_account) AS rows,
            sum(n) AS orphan_rows,
            count(*) AS orphan_accounts,
            min(account_id) AS orphan_example,
            count(twin) AS normalized_matches,
            min(CASE WHEN twin IS NOT NULL THEN account_id END) AS matched_example
        FROM orphans
        """,
    )
    if not row["orphan_rows"]:
        return []

    def twin_of(matched: str) -> str:
        return _fetch_one(
            source,
            f"SELECT min(account_id) AS id FROM (SELECT {account} AS account_id FROM {accounts}) "
            f"WHERE {_normalized('account_id')} = {_normalized(literal(matched))}",
        )["id"]

    types = (
        source.raw_types[name].get("account_id", "?"),
        source.raw_types["accounts"].get("account_id", "?"),
    )
    return [orphan_defect(name, row, max_orphan_share, twin_of, types)]
