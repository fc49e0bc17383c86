"""The input contract's validation: a data-quality report for a data source.

`check(source)` runs every check as SQL on the source's DuckDB connection, so it scales to a
100M-row usage table without loading it. On a Spark source (`retain validate --engine spark`,
Spark tables too large for one machine) it runs the blocking checks as Spark SQL instead
(`features._checks_spark`, same messages) and says that the warnings were not checked. It
reads the raw views (the files as they are) and types their values exactly as the canonical
views do, skipping the round trip through text for columns the file already stores in their
type. It finds:

- blocking defects, which make every result wrong and stop every command: a missing required
  table or column, values that cannot be read as their type (dates, numbers, booleans; a raw
  value that is not empty but whose TRY_CAST is NULL), empty keys and empty required values of
  accounts and contracts, duplicate primary keys, a contract ending before it starts, negative
  ARR, an unreadable file;
- blocking too: orphan rows (no such account) above `[features] max_orphan_share` of a table's
  rows (default 20%), with a hint when the ids differ only by type or zero padding;
- warnings: fewer orphan rows, rows dated before their account was created, usage
  before the account's first contract, usage or activities more than 30 days after contract
  coverage ended (churned accounts still active), empty optional values, values outside a
  vocabulary or a range, dates on or after the data's end (except a contract's end and a
  milestone's due date, which lie in the future by design), accounts without a contract,
  extra accounts columns named like an outcome (churn, status: label leakage as attributes).

Importers can add warnings about the original export that the contract tables can no longer
show (for example two sources of churn that disagree): they write them to `import_defects.json`
beside the tables, and `check` reports them with the rest.

Pandera is not used here: its Ibis backend ignores `Column(unique=True)` and materialises every
failing row, while one aggregate scan per table is what scales to 100M rows. The importers
validate the small public exports with pandera before mapping them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from features._checks_cross import cross_table_defects
from features._checks_tables import table_defects
from features._defect import Defect
from features.contract import REQUIRED_TABLES, TABLES
from features.engine import CATALOG_PREFIX
from features.handoffs import mapping_defects
from features.source import DataSource
from retain.config import Config, load_config
from retain.errors import RetainError

if TYPE_CHECKING:
    from features._spark import SparkSource

IMPORT_DEFECTS_FILE = "import_defects.json"
# What a report of a Spark source leaves out (`features._checks_spark`).
SPARK_NOTE = (
    "Checked on Spark: the blocking defects only. The warnings (vocabularies, ranges, dates "
    "after the data's end, contract coverage) are checked by `retain validate` on DuckDB, over "
    "files or a sample exported from these tables."
)
_TABLE_ORDER = {name: index for index, name in enumerate(TABLES)}
_BRIEF_WARNINGS = 5

__all__ = ["IMPORT_DEFECTS_FILE", "Defect", "ValidationReport", "check", "require_valid"]


@dataclass
class ValidationReport:
    """The defects of one data source, blocking ones first."""

    defects: list[Defect] = field(default_factory=list)
    location: str = ""
    note: str = ""  # what was not checked (a Spark source), printed with the verdict

    @property
    def blocking(self) -> list[Defect]:
        return [d for d in self.defects if d.blocking]

    @property
    def warnings(self) -> list[Defect]:
        return [d for d in self.defects if not d.blocking]

    @property
    def ok(self) -> bool:
        return not self.blocking

    def verdict(self) -> str:
        if not self.ok:
            return (
                f"INVALID: {len(self.blocking)} blocking defect(s), {len(self.warnings)} "
                f"warning(s) in {self.location}; fix the blocking ones and run again."
            )
        if self.warnings:
            return f"VALID with {len(self.warnings)} warning(s): {self.location}"
        return f"VALID: no defects in {self.location}"

    def table(self, defects: list[Defect] | None = None) -> Table:
        """The defects as a rich table (all of them unless given)."""
        grid = Table(title=f"Data quality: {self.location}", show_lines=False)
        for name, justify in (
            ("severity", "left"),
            ("table", "left"),
            ("column", "left"),
            ("rows", "right"),
            ("example", "left"),
            ("message", "left"),
        ):
            grid.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for defect in self.defects if defects is None else defects:
            style = "bold red" if defect.blocking else "yellow"
            # Text, not markup: examples are user data and may contain brackets.
            grid.add_row(
                Text(defect.severity, style=style),
                Text(defect.table),
                Text(defect.column),
                Text(f"{defect.rows:,}"),
                Text(defect.example),
                Text(defect.message),
            )
        return grid

    def render(self, console: Console) -> None:
        """Print the report (a table of every defect) and the one-line verdict."""
        if self.defects:
            console.print(self.table())
        style = "bold red" if not self.ok else ("yellow" if self.warnings else "green")
        console.print(Text(self.verdict(), style=style))
        if self.note:
            console.print(Text(self.note))

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "ok": self.ok,
            "blocking": len(self.blocking),
            "warnings": len(self.warnings),
            "defects": [d.to_dict() for d in self.defects],
            **({"note": self.note} if self.note else {}),
        }


def check(source: DataSource | SparkSource, config: Config | None = None) -> ValidationReport:
    """Every contract check on `source`; never raises for bad data, it reports it.

    `config` defaults to the data's own settings (`load_config(source.location)`). A Spark
    source gets the blocking checks as Spark SQL (`features._checks_spark`).
    """
    if config is None:
        location = Path(source.location)
        config = load_config(location if location.is_dir() else None)
    defects: list[Defect] = [
        Defect(
            name,
            "",
            0,
            f"a Spark table {source.location.removeprefix(CATALOG_PREFIX)}.{name}"
            if source.location.startswith(CATALOG_PREFIX)
            else f"{name}.parquet, {name}.csv or a DuckDB table {name}",
            "required table is missing",
            True,
        )
        for name in REQUIRED_TABLES
        if name not in source.raw_columns
    ]
    note = ""
    if source.engine == "spark":
        from features._checks_spark import spark_defects

        defects += spark_defects(source, config.features.max_orphan_share)  # type: ignore[arg-type]
        note = SPARK_NOTE
    else:
        data_end = _data_end(source)
        for name in source.raw_columns:
            defects += table_defects(source, TABLES[name], data_end)
        defects += cross_table_defects(source, config.features.max_orphan_share)
        defects += mapping_defects(source, config)  # [handoffs] accounts columns
    defects += _import_defects(source)
    defects.sort(key=lambda d: (not d.blocking, _TABLE_ORDER.get(d.table, 99), d.table, d.column))
    return ValidationReport(defects=defects, location=source.location, note=note)


def require_valid(
    source: DataSource | SparkSource,
    *,
    console: Console | None = None,
    config: Config | None = None,
) -> ValidationReport:
    """Check `source`; print warnings briefly; raise RetainError on blocking defects.

    Every command that reads a data source calls this first.
    """
    console = console or Console(stderr=True)
    report = check(source, config)
    warnings = report.warnings
    if warnings:
        console.print(
            Text(f"{len(warnings)} data-quality warning(s) in {source.location}:", style="yellow")
        )
        for defect in warnings[:_BRIEF_WARNINGS]:
            console.print(
                Text(f"  {defect.table}.{defect.column}: {defect.message} ({defect.rows:,} rows)")
            )
        if len(warnings) > _BRIEF_WARNINGS:
            console.print(
                Text(f"  ... and {len(warnings) - _BRIEF_WARNINGS} more (see `retain validate`)")
            )
    if not report.ok:
        buffer = io.StringIO()
        Console(file=buffer, width=140, no_color=True).print(report.table(report.blocking))
        raise RetainError(
            f"{source.location} has {len(report.blocking)} blocking data defect(s); nothing was "
            f"computed.\n{buffer.getvalue()}Run `retain validate --data {source.location}"
            f"{' --engine spark' if source.engine == 'spark' else ''}` for the full report.",
            exit_code=1,
        )
    return report


def _data_end(source: DataSource) -> pd.Timestamp | None:
    try:
        return source.data_end
    except (RetainError, duckdb.Error):  # no dates or unreadable: other checks say why
        return None


def _import_defects(source: DataSource) -> list[Defect]:
    """Warnings an importer left about the original export (see the module docstring)."""
    path = Path(source.location) / IMPORT_DEFECTS_FILE
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return [
            Defect(
                table=str(e["table"]),
                column=str(e["column"]),
                rows=int(e["rows"]),
                example=str(e["example"]),
                message=str(e["message"]),
                blocking=False,
            )
            for e in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [Defect(IMPORT_DEFECTS_FILE, "", 0, "", f"cannot read: {error}", False)]
