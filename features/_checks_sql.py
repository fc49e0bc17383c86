"""SQL building blocks shared by the table and cross-table checks."""

from __future__ import annotations

from typing import Any

import duckdb

from features.contract import ColumnSpec
from retain.errors import RetainError

_SQL_TYPES = {"timestamp": "TIMESTAMP", "float": "DOUBLE", "int": "BIGINT"}
# The spellings the canonical view accepts for booleans (features.source); anything else is
# unparseable.
TRUE_SPELLINGS = ("true", "t", "yes", "y", "1", "1.0")
FALSE_SPELLINGS = ("false", "f", "no", "n", "0", "0.0")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def text(column: str) -> str:
    """The raw value as trimmed text; empty strings count as missing, as in the canonical view."""
    return f"NULLIF(TRIM(CAST({quote(column)} AS VARCHAR)), '')"


def parsed(spec: ColumnSpec) -> str:
    """The value as the canonical view types it: NULL when it cannot be parsed."""
    raw = text(spec.name)
    if spec.type == "string":
        return raw
    if spec.type == "bool":
        return (
            f"CASE WHEN LOWER({raw}) IN ({_listed(TRUE_SPELLINGS)}) THEN TRUE "
            f"WHEN LOWER({raw}) IN ({_listed(FALSE_SPELLINGS)}) THEN FALSE END"
        )
    return f"TRY_CAST({raw} AS {_SQL_TYPES[spec.type]})"


def unparseable(spec: ColumnSpec) -> str:
    """Condition: a non-empty raw value that the canonical view would turn into NULL."""
    return f"({text(spec.name)} IS NOT NULL AND {parsed(spec)} IS NULL)"


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
