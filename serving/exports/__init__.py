"""Exports shaped for each CS platform's documented bulk import (issue 18).

`retain export --to <platform>` reads the latest scores (the scores Parquet of `retain score`, or
the score store) and the score ledger's history where it exists, builds one common record per
account (`_record`), and writes the files one platform imports as they are (`gainsight`,
`churnzero`, `vitally`, `planhat`, `totango`: one small module each, citing the platform's
pages), cut to the platform's limits per file or call (`_files`), with a manifest naming them.
Nothing here calls a platform: the files are what an admin uploads or a job pushes. The field
mapping is `[exports]` in retain.toml (retain.config.ExportsConfig).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from retain.config import ExportsConfig
from retain.errors import RetainError
from serving.exports._files import output_folder
from serving.exports._record import ExportRecords, build_records, check_config

PLATFORMS = ("gainsight", "churnzero", "vitally", "planhat", "totango")

__all__ = ["PLATFORMS", "ExportRecords", "build_records", "write_export"]


def write_export(
    platform: str, records: ExportRecords, config: ExportsConfig, out: str | os.PathLike[str]
) -> Path:
    """Write `platform`'s files for `records` into the folder `out`; return the manifest path."""
    if platform not in PLATFORMS:
        raise RetainError(
            f"Unknown platform {platform!r} for --to; choose one of {', '.join(PLATFORMS)}"
        )
    check_config(config)
    module = importlib.import_module(f"serving.exports.{platform}")
    return module.write(records, config, output_folder(out))
