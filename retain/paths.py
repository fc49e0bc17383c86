"""Output paths checked before the work starts: a run of minutes must not end in a traceback
because its output cannot be written.

Nothing is created here: `retain.files.atomic_path` creates missing folders when it writes; this
only proves that it will be able to (the nearest existing folder takes a new file).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from retain.errors import RetainError


def check_output_file(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """`path` can be written as a file (its folder exists or can be created, and takes files)."""
    path = Path(path)
    if path.is_dir():
        raise RetainError(
            f"{option} {path} is a folder; give a file path inside it (e.g. {path / 'out'})."
        )
    _check_folder_writable(path.parent, path, option)
    return path


def check_output_folder(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """`path` can be used as an output folder (it is one, or can be created, and takes files)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RetainError(
            f"{option} {path} is a file, not a folder; give a folder path (created if missing)."
        )
    _check_folder_writable(path, path, option)
    return path


def _check_folder_writable(folder: Path, path: Path, option: str) -> None:
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise RetainError(
            f"{option} {path}: {existing} is a file, so no folder can be made there; "
            "choose another path."
        )
    try:
        # A real probe, not os.access: it also sees read-only mounts and holds for root.
        with tempfile.TemporaryFile(dir=existing, prefix=".retain-write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise RetainError(
            f"{option} {path}: cannot write in {existing} ({reason}); choose a folder you can "
            "write to."
        ) from error
