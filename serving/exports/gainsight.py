"""Gainsight CS: a Company CSV for a Gainsight Bulk API job that upserts on an external id.

Shape (Gainsight Bulk API, Connectors 2.0): the admin creates a Bulk API connection and a data
job on the Company object from a sample of this CSV, maps its headers to Company fields in the
UI and picks the upsert key ("Update Keys"); the job's cURL command then loads each file. Custom
fields are created at Administration > Company (API names get a `__gc` suffix). The key column
is `[exports] gainsight_key_field` ("External ID"): a Company field the admin marks as the key.
retain has no account names, and Company requires Name to insert, so this updates companies
Gainsight already has; a row with an unknown id fails in the job's error log instead of creating
a nameless company.

Limits: asynchronous (Bulk) calls are limited to 10 per hour and 100 per day, and Gainsight
recommends at most 4 Bulk API jobs per hour, so the export is one file while it fits.
No per-file size limit is stated on the pages below (not confirmed); the 50 MB cut is
retain's precaution (docs/exports.md).

Sources:
- https://support.gainsight.com/gainsight_nxt/Connectors/API_Integrations/Gainsight_Bulk_API
- https://support.gainsight.com/SFDC_Edition/API_and_Developer_Docs/Bulk_API/Gainsight_Bulk_API
  (API limits: synchronous 100/min, asynchronous 10/hour and 100/day)
- https://support.gainsight.com/Gainsight_NXT/02Data_Management/Objects/Gainsight_Company_Object
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from retain.config import ExportsConfig
from serving.exports._files import write_csv_parts, write_manifest
from serving.exports._record import ExportRecords, custom_fields, date_text

PLATFORM = "gainsight"
MAX_FILE_BYTES = 50_000_000  # not a documented Gainsight limit: retain's precaution


def company_frame(records: ExportRecords, config: ExportsConfig) -> pd.DataFrame:
    fields = custom_fields(records, config)
    fields.insert(0, config.gainsight_key_field, records.latest["account_id"].to_numpy())
    return fields


def write(records: ExportRecords, config: ExportsConfig, out: Path) -> Path:
    frame = company_frame(records, config)
    parts = write_csv_parts(frame, out, PLATFORM, "companies", max_bytes=MAX_FILE_BYTES)
    return write_manifest(
        out,
        PLATFORM,
        {
            "as_of": date_text(pd.Series([records.as_of])).iloc[0],
            "accounts": len(frame),
            "object": "Company",
            "operation": "UPSERT on the key field (companies must exist: retain has no names)",
            "key_field": config.gainsight_key_field,
            "fields": list(frame.columns[1:]),
            "limits": {"max_file_bytes": MAX_FILE_BYTES, "documented": False},
            "files": {"companies": parts},
        },
    )
