"""Reading a public export (validated with pandera) and writing a contract data source."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from features._defect import Defect
from features.contract import TABLES
from features.validate import IMPORT_DEFECTS_FILE
from retain.config import CONFIG_FILE_NAME
from retain.errors import RetainError
from retain.files import write_parquet, write_text

_MAX_LISTED_FAILURES = 10


def read_export(path: Path, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Read one CSV of an export as text and coerce it with `schema`.

    A file that cannot be mapped at all (missing column, a date that is not a date) stops the
    import with a RetainError naming the file, column, row count and an example. Defects the
    contract can carry (orphans, odd dates) pass through for `retain validate` to report.
    """
    if not path.is_file():
        raise RetainError(f"Cannot import: {path} does not exist.")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise RetainError(f"Cannot read {path}: {error}") from error
    try:
        return schema.validate(raw, lazy=True)
    except SchemaErrors as errors:
        raise RetainError(_describe_failures(path, errors.failure_cases)) from errors


def _describe_failures(path: Path, failures: pd.DataFrame) -> str:
    lines = [f"Cannot import {path}: it does not match the expected export format."]
    grouped = failures.fillna({"column": ""}).groupby(["column", "check"], sort=False)
    for (column, check), cases in list(grouped)[:_MAX_LISTED_FAILURES]:
        if check == "column_in_dataframe":
            missing = ", ".join(repr(str(c)) for c in cases["failure_case"])
            lines.append(f"  missing column(s) {missing}")
            continue
        example = cases["failure_case"].iloc[0]
        lines.append(f"  column {column!r}: {len(cases)} row(s) fail {check}, e.g. {example!r}")
    return "\n".join(lines)


def write_source(
    out_dir: Path,
    tables: Mapping[str, pd.DataFrame],
    config_toml: str,
    defects: list[Defect],
) -> Path:
    """Write the contract tables, `retain.toml` and the importer's own findings atomically."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise RetainError(f"--out {out_dir} exists and is not a folder.")
    stale = sorted(
        f"{name}.{suffix}"
        for name in TABLES
        if name not in tables
        for suffix in ("parquet", "csv")
        if (out_dir / f"{name}.{suffix}").exists()
    )
    if stale:
        raise RetainError(
            f"--out {out_dir} already holds {', '.join(stale)} from another data source; "
            "they would be read with the imported tables. Choose an empty folder."
        )
    for name, frame in tables.items():
        write_parquet(out_dir / f"{name}.parquet", frame)
    write_text(out_dir / CONFIG_FILE_NAME, config_toml)
    payload = [{k: v for k, v in d.to_dict().items() if k != "blocking"} for d in defects]
    write_text(out_dir / IMPORT_DEFECTS_FILE, json.dumps(payload, indent=2) + "\n")
    return out_dir
