"""Totango: an Accounts CSV for the Customer Data Hub, keyed on the account id.

Shape: UTF-8, comma separated, a header row first; `account_id` (the API name of Account ID,
mandatory) then one column per account attribute. Headers equal to the attributes' API names
map themselves in the upload's mapping step; the attributes (number, text, date) are created
first in Settings > Data Management > Data Modeler. Dates ISO 8601. The file is a one-time
local upload (Settings > Customer Data Hub > Data Files > Local File > Accounts) or the file a
recurring integration pulls (SFTP, S3 ...). Account Name is left out: retain has no names, and
an upload with an id Totango does not know would create a nameless account, so upload to an
existing portfolio.

Limits: a local upload cannot exceed 100 MB (browser limit); recurring uploads have no file
size limit. retain cuts files below 100 MB.

Sources:
- https://support.totango.com/hc/en-us/articles/360033534772-Prepare-a-data-file-for-upload-CSV
- https://support.totango.com/hc/en-us/articles/360033536172-Upload-a-local-file
- https://support.totango.com/hc/en-us/articles/204456359-System-and-core-attributes
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from retain.config import ExportsConfig
from serving.exports._files import write_csv_parts, write_manifest
from serving.exports._record import ExportRecords, custom_fields, date_text

PLATFORM = "totango"
KEY = "account_id"
MAX_FILE_BYTES = 100_000_000  # "cannot exceed 100MB" for a local upload; decimal MB to be safe
# Totango's Account ID accepts no special characters but the underscore.
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_]+")


def account_frame(records: ExportRecords, config: ExportsConfig) -> pd.DataFrame:
    fields = custom_fields(records, config)
    fields.insert(0, KEY, records.latest["account_id"].to_numpy())
    return fields


def write(records: ExportRecords, config: ExportsConfig, out: Path) -> Path:
    frame = account_frame(records, config)
    parts = write_csv_parts(frame, out, PLATFORM, "accounts", max_bytes=MAX_FILE_BYTES)
    refused = sum(not _ACCOUNT_ID.fullmatch(a) for a in records.latest["account_id"])
    notes = []
    if refused:
        notes.append(
            f"{refused} account ids have characters Totango's account_id refuses (only letters, "
            "digits and _): map them to Totango's ids before uploading"
        )
    return write_manifest(
        out,
        PLATFORM,
        {
            "as_of": date_text(pd.Series([records.as_of])).iloc[0],
            "accounts": len(frame),
            "object": "Accounts",
            "key_field": KEY,
            "fields": list(frame.columns[1:]),
            "limits": {"max_file_bytes": MAX_FILE_BYTES, "documented": True},
            "notes": notes,
            "files": {"accounts": parts},
        },
    )
