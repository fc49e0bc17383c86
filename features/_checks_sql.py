"""SQL building blocks shared by the table and cross-table checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from features.contract import ColumnSpec, TableSpec
from retain.errors import RetainError

_SQL_TYPES = {"timestamp": "TIMESTAMP", "float": "DOUBLE", "int": "BIGINT"}
# The spellings the canonical view accepts for booleans (features.source); anything else is
# unparseable.
TRUE_SPELLINGS = ("true", "t", "yes", "y", "1", "1.0")
FALSE_SPELLINGS = ("false", "f", "no", "n", "0", "0.0")
_INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
# Raw column types that already hold the logical type: no value can be unparseable, and the
# round trip through text (which costs most of a scan of a typed 100M-row table) is skipped.
_NATIVE_TYPES = {
    "timestamp": frozenset(
        {
            "DATE",
            "TIMESTAMP",
            "TIMESTAMP_S",
            "TIMESTAMP_MS",
            "TIMESTAMP_NS",
            "TIMESTAMP WITH TIME ZONE",
        }
    ),
    "float": _INTEGER_TYPES | {"FLOAT", "DOUBLE"},
    "int": _INTEGER_TYPES,
    "bool": frozenset({"BOOLEAN"}),
    "string": frozenset({"VARCHAR"}),
}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def text(column: str) -> str:
    """The raw value as trimmed text; empty strings count as missing, as in the canonical view."""
    return f"NULLIF(TRIM(CAST({quote(column)} AS VARCHAR)), '')"


def raw_types(connection: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> DuckDB type of a raw view (no scan)."""
    described = connection.execute(f"SELECT * FROM {relation} LIMIT 0").description
    return {column[0]: str(column[1]).upper() for column in described}


@dataclass(frozen=True)
class RawColumn:
    """SQL for one contract column of a raw view, typed the way the canonical view types it."""

    spec: ColumnSpec
    raw_type: str

    @property
    def native(self) -> bool:
        return self.raw_type in _NATIVE_TYPES[self.spec.type] or (
            self.spec.type == "float" and self.raw_type.startswith("DECIMAL")
        )

    @property
    def text(self) -> str:
        return text(self.spec.name)

    @property
    def parsed(self) -> str:
        """The typed value: NULL when empty or unparseable."""
        column = quote(self.spec.name)
        if self.native:
            if self.spec.type == "string":
                return f"NULLIF(TRIM({column}), '')"
            if self.spec.type == "bool":
                return column
            return f"CAST({column} AS {_SQL_TYPES[self.spec.type]})"
        if self.spec.type == "string":
            return self.text
        if self.spec.type == "bool":
            return (
                f"CASE WHEN LOWER({self.text}) IN ({_listed(TRUE_SPELLINGS)}) THEN TRUE "
                f"WHEN LOWER({self.text}) IN ({_listed(FALSE_SPELLINGS)}) THEN FALSE END"
            )
        return f"TRY_CAST({self.text} AS {_SQL_TYPES[self.spec.type]})"

    @property
    def empty(self) -> str:
        if self.native and self.spec.type != "string":
            return f"{quote(self.spec.name)} IS NULL"
        return f"{self.text} IS NULL"

    @property
    def unparseable(self) -> str:
        """Condition: a non-empty raw value that the canonical view would turn into NULL."""
        if self.native or self.spec.type == "string":
            return "FALSE"
        return f"({self.text} IS NOT NULL AND {self.parsed} IS NULL)"


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(literal(value) for value in values)


class CheckFailed(Exception):
    """A check query failed on the data itself (unreadable file, malformed rows)."""


def fetch_one(connection: duckdb.DuckDBPyConnection, query: str) -> dict[str, Any]:
    """Run an aggregate query and return its single row by column name."""
    try:
        cursor = connection.execute(query)
        row = cursor.fetchone()
    except (duckdb.Error, RetainError) as error:
        raise CheckFailed(str(error).splitlines()[0]) from error
    names = [column[0] for column in cursor.description]
    return dict(zip(names, row or [None] * len(names), strict=True))


def typed(connection: duckdb.DuckDBPyConnection, spec: TableSpec, columns: tuple[str, ...]) -> str:
    """A subquery of `columns` of a raw view, typed as the canonical view types them.

    The same values as the canonical view, without its round trip through text for columns
    the file already stores in their type.
    """
    relation = f"raw_{spec.name}"
    types = raw_types(connection, relation)
    selects = ", ".join(
        f"{RawColumn(spec.column(name), types[name]).parsed} AS {quote(name)}" for name in columns
    )
    return f"(SELECT {selects} FROM {relation})"
