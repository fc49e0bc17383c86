"""Checks of one table at a time, run as SQL on its raw view (the file as it is).

Each table is scanned by one aggregate query of cheap filtered counts and one for duplicate
keys; an example is fetched only for a defect that is there. A 100M-row usage table costs a
few passes and is never loaded into memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from features._checks_sql import CheckFailed, RawColumn, fetch_one, literal, raw_types, text
from features._defect import Defect
from features.contract import HANDOFF_FIELDS, ColumnSpec, TableSpec
from features.source import DataSource

# Tables whose rows make the spine and the labels: an empty key or date there makes results
# wrong. In the event tables a row without one is simply ignored.
_CORE_TABLES = frozenset({"accounts", "contracts"})
# Dates that lie in the future by design: the next renewal and a planned milestone.
_FUTURE_ALLOWED = frozenset({("contracts", "end_date"), ("milestones", "due_date")})
# (start, end) pairs that must be ordered; only a contract ending before it starts is blocking
# (coverage and labels depend on it).
_ORDERED_PAIRS: dict[str, tuple[str, str, bool]] = {
    "contracts": ("start_date", "end_date", True),
    "tickets": ("created_at", "resolved_at", False),
    "contacts": ("added_at", "left_at", False),
    "plays": ("started_at", "closed_at", False),
}
# Empty here means "not yet" (an open ticket, a contact still there, a milestone not reached, a
# play still running), not missing data.
_EMPTY_MEANS_NOT_YET = frozenset(
    {
        ("tickets", "resolved_at"),
        ("contacts", "left_at"),
        ("milestones", "achieved_at"),
        ("plays", "closed_at"),  # a play still running
        # A handoff field left empty is what completeness measures, not a data defect.
        *(("handoffs", f) for f in HANDOFF_FIELDS),
    }
)
_MAX_LISTED_COLUMNS = 12
# Extra accounts columns become static attributes, seen by every snapshot; one named like an
# outcome (an export's churn flag or status) would hand the label to the model.
_OUTCOME_LIKE = re.compile(r"churn|cancel|outcome|label|target|status", re.IGNORECASE)


@dataclass(frozen=True)
class _Probe:
    """One filtered count (and an example) inside the table's aggregate query."""

    alias: str
    column: str
    condition: str
    example: str  # SQL expression describing an offending row
    message: str
    blocking: bool


def table_defects(
    source: DataSource, spec: TableSpec, data_end: pd.Timestamp | None
) -> list[Defect]:
    """Structure, types, empties, ranges, vocabularies, ordering, future dates and keys."""
    present = source.raw_columns[spec.name]
    relation = f"raw_{spec.name}"
    try:
        types = raw_types(source.connection, relation)
        columns = {c.name: RawColumn(c, types[c.name]) for c in spec.columns if c.name in types}
        probes = list(_probes(spec, columns, data_end))
        counts = ["count(*) AS _rows"] + [
            f"count(*) FILTER (WHERE {probe.condition}) AS {probe.alias}" for probe in probes
        ]
        row = fetch_one(source.connection, f"SELECT {', '.join(counts)} FROM {relation}")
        defects = list(_structure_defects(spec, present, int(row["_rows"])))
        for probe in probes:
            if row[probe.alias]:
                example = fetch_one(
                    source.connection,
                    f"SELECT min({probe.example}) AS e FROM {relation} WHERE {probe.condition}",
                )["e"]
                defects.append(
                    Defect(
                        spec.name,
                        probe.column,
                        int(row[probe.alias]),
                        str(example),
                        probe.message,
                        probe.blocking,
                    )
                )
        defects += _duplicate_key_defects(source, spec, set(present), relation)
        if spec.name == "accounts":
            defects += _outcome_like_attributes(source, spec, present, int(row["_rows"]))
    except CheckFailed as error:
        return [Defect(spec.name, "", 0, "", f"cannot read the table: {error}", True)]
    return defects


def _structure_defects(spec: TableSpec, present: tuple[str, ...], rows: int) -> Iterator[Defect]:
    if rows == 0 and spec.required:
        yield Defect(spec.name, "", 0, "", "the table has no rows", True)
    listed = ", ".join(present[:_MAX_LISTED_COLUMNS]) + (
        " ..." if len(present) > _MAX_LISTED_COLUMNS else ""
    )
    for column in spec.required_columns:
        if column not in present:
            yield Defect(
                spec.name,
                column,
                rows,
                f"columns present: {listed}",
                "required column is missing",
                True,
            )


def _outcome_like_attributes(
    source: DataSource, spec: TableSpec, present: tuple[str, ...], rows: int
) -> list[Defect]:
    known = {c.name for c in spec.columns}
    defects = []
    for column in present:
        if column in known or not _OUTCOME_LIKE.search(column):
            continue
        values = fetch_one(
            source.connection,
            f"SELECT string_agg(DISTINCT v, ', ' ORDER BY v) AS e FROM "
            f"(SELECT {text(column)} AS v FROM raw_{spec.name} WHERE v IS NOT NULL LIMIT 1000)",
        )["e"]
        defects.append(
            Defect(
                spec.name,
                column,
                rows,
                f"values like {str(values)[:60]}",
                "extra column named like an outcome: as a static attribute every snapshot "
                "would see it (label leakage); drop it unless it was known from the start",
                False,
            )
        )
    return defects


def _row_key(spec: TableSpec, present: set[str]) -> str | None:
    """The column that identifies a row in examples: the primary key, else the account."""
    for column in (*spec.primary_key, "account_id"):
        if column in present:
            return column
    return None


def _example(spec: TableSpec, column: str, present: set[str], *, with_value: bool) -> str:
    key = _row_key(spec, present)
    value = f"'''' || {text(column)} || ''''"
    if key is None or key == column:
        return value if with_value else "'(empty)'"
    located = f"{literal(key + '=')} || COALESCE({text(key)}, '(empty)')"
    return f"{value} || ' (' || {located} || ')'" if with_value else located


def _probes(
    spec: TableSpec, columns: dict[str, RawColumn], data_end: pd.Timestamp | None
) -> Iterator[_Probe]:
    present = set(columns)
    for index, column in enumerate(spec.columns):
        if column.name in columns:
            yield from _column_probes(spec, columns[column.name], f"c{index}", present, data_end)
    if spec.name in _ORDERED_PAIRS:
        start, end, blocking = _ORDERED_PAIRS[spec.name]
        if {start, end} <= present:
            start_value, end_value = columns[start].parsed, columns[end].parsed
            key = _row_key(spec, present)
            example = f"{text(start)} || ' -> ' || {text(end)}"
            if key is not None:
                example = f"{example} || ' (' || {literal(key + '=')} || {text(key)} || ')'"
            yield _Probe(
                "ordered",
                end,
                f"{end_value} < {start_value}",
                example,
                f"{end} is before {start}",
                blocking,
            )


def _column_probes(
    spec: TableSpec,
    raw: RawColumn,
    alias: str,
    present: set[str],
    data_end: pd.Timestamp | None,
) -> Iterator[_Probe]:
    column = raw.spec
    name = column.name
    value = raw.parsed
    with_value = _example(spec, name, present, with_value=True)
    if column.required:
        core = spec.name in _CORE_TABLES or name in spec.primary_key
        yield _Probe(
            f"{alias}_empty",
            name,
            raw.empty,
            _example(spec, name, present, with_value=False),
            "required value is empty" + ("" if core else "; these rows are ignored"),
            core,
        )
    elif (spec.name, name) not in _EMPTY_MEANS_NOT_YET:
        filled = "" if column.default is None else f"; filled with the default {column.default}"
        yield _Probe(
            f"{alias}_empty",
            name,
            raw.empty,
            _example(spec, name, present, with_value=False),
            f"optional value is empty{filled}",
            False,
        )
    if raw.unparseable != "FALSE":
        yield _Probe(
            f"{alias}_unparseable",
            name,
            raw.unparseable,
            with_value,
            f"value cannot be read as {_TYPE_WORDS[column.type]}",
            True,
        )
    bounds = []
    if column.min_value is not None:
        bounds.append(f"{value} < {column.min_value}")
    if column.max_value is not None:
        bounds.append(f"{value} > {column.max_value}")
    if bounds:
        negative_arr = spec.name == "contracts" and name == "arr"
        yield _Probe(
            f"{alias}_range",
            name,
            " OR ".join(bounds),
            with_value,
            "negative ARR" if negative_arr else f"value outside {_range_words(column)}",
            negative_arr,
        )
    if column.allowed is not None:
        allowed = ", ".join(literal(v) for v in column.allowed)
        yield _Probe(
            f"{alias}_vocabulary",
            name,
            f"LOWER({value}) NOT IN ({allowed})",
            with_value,
            f"value outside the vocabulary ({', '.join(column.allowed)}); such rows count as none",
            False,
        )
    if (
        column.type == "timestamp"
        and data_end is not None
        and (spec.name, name) not in _FUTURE_ALLOWED
    ):
        yield _Probe(
            f"{alias}_future",
            name,
            f"{value} >= TIMESTAMP {literal(data_end.isoformat(sep=' '))}",
            with_value,
            f"date on or after the data's end ({data_end.date()}); no feature will see it",
            False,
        )


_TYPE_WORDS = {
    "timestamp": "a date or timestamp",
    "float": "a number",
    "int": "an integer",
    "bool": "true/false",
}


def _range_words(column: ColumnSpec) -> str:
    if column.max_value is None:
        return f"the allowed range (>= {column.min_value:g})"
    if column.min_value is None:
        return f"the allowed range (<= {column.max_value:g})"
    return f"the allowed range ({column.min_value:g} to {column.max_value:g})"


def _duplicate_key_defects(
    source: DataSource, spec: TableSpec, present: set[str], relation: str
) -> list[Defect]:
    if not spec.primary_key or not set(spec.primary_key) <= present:
        return []
    key = " || '|' || ".join(f"COALESCE({text(c)}, '')" for c in spec.primary_key)
    query = (
        f"SELECT sum(n) AS rows, min(k) AS example, count(*) AS keys FROM "
        f"(SELECT {key} AS k, count(*) AS n FROM {relation} "
        f"WHERE {' AND '.join(f'{text(c)} IS NOT NULL' for c in spec.primary_key)} "
        f"GROUP BY k HAVING count(*) > 1)"
    )
    try:
        row = fetch_one(source.connection, query)
    except CheckFailed as error:
        return [Defect(spec.name, "", 0, "", f"cannot check the table: {error}", True)]
    return duplicate_key_defects(spec, row)


def duplicate_key_defects(spec: TableSpec, row: dict) -> list[Defect]:
    """The duplicate-primary-key defect from an engine's counts (`rows`, `example`, `keys`)."""
    if not row["keys"]:
        return []
    column = ", ".join(spec.primary_key)
    return [
        Defect(
            spec.name,
            column,
            int(row["rows"]),
            f"{column}={row['example']}",
            f"duplicate primary key ({row['keys']} keys appear more than once)",
            True,
        )
    ]
