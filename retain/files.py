"""Atomic writes: a crash never leaves half a file behind.

Every output file of retain goes through `atomic_path`: the caller writes to a temporary file in
the destination folder, and only a complete file is renamed over the destination.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `destination`; rename it over `destination` on success."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; outputs are shared artefacts, so honour the umask instead.
        umask = os.umask(0)
        os.umask(umask)
        if tmp.exists():
            tmp.chmod(0o666 & ~umask)
        os.replace(tmp, destination)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(destination: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(destination) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(destination)


def write_json(destination: str | os.PathLike[str], payload: Any) -> Path:
    return write_text(destination, json.dumps(payload, indent=2, sort_keys=False, default=str))


def write_parquet(destination: str | os.PathLike[str], frame: pd.DataFrame) -> Path:
    with atomic_path(destination) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(destination)


def write_csv(destination: str | os.PathLike[str], frame: pd.DataFrame) -> Path:
    with atomic_path(destination) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(destination)
