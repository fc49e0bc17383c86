"""Export files cut to a platform's limits, each written atomically, and the manifest naming them.

Files are `<platform>-<kind>-0001.<ext>`, `-0002` ... in the output folder: numbered even when
there is one, so a job can push "every file of the kind, in order". A re-export removes the
higher-numbered parts an earlier, larger export left behind; `<platform>-manifest.json`,
written last, lists the files of this export with their rows and bytes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from retain.files import write_json, write_text


@dataclass(frozen=True)
class Part:
    path: Path
    rows: int
    bytes: int


def _chunks(sizes: Sequence[int], overhead: int, max_rows: int | None, max_bytes: int | None):
    """(start, stop) ranges of items whose count and bytes (plus `overhead`) fit the limits."""
    start, total = 0, overhead
    for i, size in enumerate(sizes):
        full_rows = max_rows is not None and i - start >= max_rows
        full_bytes = max_bytes is not None and i > start and total + size > max_bytes
        if full_rows or full_bytes:
            yield start, i
            start, total = i, overhead
        total += size
    if start < len(sizes) or not sizes:
        yield start, len(sizes)


def part_path(out: Path, platform: str, kind: str, number: int, ext: str) -> Path:
    return out / f"{platform}-{kind}-{number:04d}.{ext}"


def _remove_stale(out: Path, platform: str, kind: str, ext: str, keep: int) -> None:
    pattern = re.compile(rf"{re.escape(platform)}-{re.escape(kind)}-(\d{{4}})\.{ext}")
    for path in out.glob(f"{platform}-{kind}-*.{ext}"):
        match = pattern.fullmatch(path.name)
        if match and int(match.group(1)) > keep:
            path.unlink()


def _clean_text(frame: pd.DataFrame) -> pd.DataFrame:
    # A line break inside a value would split a row across CSV lines (and some importers' row
    # counts); reason texts never need one.
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(
                lambda v: re.sub(r"[\r\n]+", " ", v) if isinstance(v, str) else v
            )
    return frame


def write_csv_parts(
    frame: pd.DataFrame,
    out: Path,
    platform: str,
    kind: str,
    *,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> list[Part]:
    """`frame` as UTF-8 CSV files with a header each, none above `max_rows` rows / `max_bytes`."""
    text = frame.to_csv(index=False, lineterminator="\n")
    if text.count("\n") != len(frame) + 1:  # a value with a line break: clean, then cut
        text = _clean_text(frame).to_csv(index=False, lineterminator="\n")
    header, *lines = text.split("\n")[:-1]
    header_bytes = len(header.encode()) + 1
    sizes = [len(line.encode()) + 1 for line in lines]
    parts: list[Part] = []
    for number, (start, stop) in enumerate(_chunks(sizes, header_bytes, max_rows, max_bytes), 1):
        body = "".join(f"{line}\n" for line in lines[start:stop])
        path = write_text(part_path(out, platform, kind, number, "csv"), f"{header}\n{body}")
        parts.append(Part(path, stop - start, header_bytes + sum(sizes[start:stop])))
    _remove_stale(out, platform, kind, "csv", len(parts))
    return parts


def write_json_parts(
    items: Sequence[dict[str, Any]],
    out: Path,
    platform: str,
    kind: str,
    *,
    max_items: int | None = None,
    max_bytes: int | None = None,
) -> list[Part]:
    """`items` as JSON arrays, one file per API call body: none above `max_items` / `max_bytes`."""
    encoded = [json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in items]
    sizes = [len(e.encode()) + 1 for e in encoded]  # + the comma between items
    parts: list[Part] = []
    for number, (start, stop) in enumerate(_chunks(sizes, 2, max_items, max_bytes), 1):
        body = "[" + ",".join(encoded[start:stop]) + "]\n"
        path = write_text(part_path(out, platform, kind, number, "json"), body)
        parts.append(Part(path, stop - start, len(body.encode())))
    _remove_stale(out, platform, kind, "json", len(parts))
    return parts


def write_manifest(out: Path, platform: str, payload: dict[str, Any]) -> Path:
    def describe(parts: list[Part]) -> Iterator[dict[str, Any]]:
        for part in parts:
            yield {"file": part.path.name, "rows": part.rows, "bytes": part.bytes}

    files = {kind: list(describe(parts)) for kind, parts in payload.pop("files").items()}
    manifest = {"platform": platform, **payload, "files": files}
    return write_json(out / f"{platform}-manifest.json", manifest)


def output_folder(out: str | os.PathLike[str]) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out
