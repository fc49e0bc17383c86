"""ChurnZero: the account CSV of ChurnZero's batch import, keyed on `accountExternalId`.

Shape: a header row; `accountExternalId` (required: the account's id in your systems and CRM)
and custom fields as `cf_<field name>`. A custom field must already exist in ChurnZero (Admin >
Custom Fields): a CSV cannot create one. Values as ChurnZero's data input formats: numbers
without spaces or thousands separators, dates ISO 8601. The file is what an admin attaches in
Admin > Imports (entity Account) or a job POSTs as multipart `data` to
`https://<your vanity domain>.app.churnzero.net/batchAccountsCsv?appKey=...`.
Standard fields (name, nextRenewalDate, totalContractAmount ...) stay untouched: they belong to
the CRM sync, and an import also writes back to a bi-directionally synced CRM.

Not confirmed: whether `cf_` takes the field's display name or another internal name (the
pages say "the custom field to be updated prefixed by cf_"); no size limit per file or call is
stated, so retain cuts at 50 MB as a precaution (docs/exports.md).

Sources:
- https://support.churnzero.com/hc/en-us/articles/360004339852-Batch-Imports-via-CSV
- https://support.churnzero.net/hc/en-us/articles/360038655332-CSV-Imports
- https://support.churnzero.com/hc/en-us/articles/360003036972-Data-Input-Formats
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from retain.config import ExportsConfig
from serving.exports._files import write_csv_parts, write_manifest
from serving.exports._record import ExportRecords, custom_fields, date_text

PLATFORM = "churnzero"
KEY = "accountExternalId"
CUSTOM_PREFIX = "cf_"
MAX_FILE_BYTES = 50_000_000  # not a documented ChurnZero limit: retain's precaution


def account_frame(records: ExportRecords, config: ExportsConfig) -> pd.DataFrame:
    fields = custom_fields(records, config)
    fields.columns = [f"{CUSTOM_PREFIX}{name}" for name in fields.columns]
    fields.insert(0, KEY, records.latest["account_id"].to_numpy())
    return fields


def write(records: ExportRecords, config: ExportsConfig, out: Path) -> Path:
    frame = account_frame(records, config)
    parts = write_csv_parts(frame, out, PLATFORM, "accounts", max_bytes=MAX_FILE_BYTES)
    return write_manifest(
        out,
        PLATFORM,
        {
            "as_of": date_text(pd.Series([records.as_of])).iloc[0],
            "accounts": len(frame),
            "entity": "Account",
            "key_field": KEY,
            "fields": list(frame.columns[1:]),
            "limits": {"max_file_bytes": MAX_FILE_BYTES, "documented": False},
            "files": {"accounts": parts},
        },
    )
