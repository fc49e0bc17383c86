"""Planhat: company custom fields keyed on `externalId`, and the score as a time-series metric.

Two kinds of file, each the JSON body of one API call:
- `planhat-companies-NNNN.json` for the bulk upsert `PUT https://api.planhat.com/companies`:
  `[{"externalId": ..., "custom": {"<custom field name>": value, ...}}]`. Planhat matches a
  record on its keyables (`_id`, `sourceId`, `externalId`); `custom` holds the company's custom
  fields by name (created first in Planhat, types number / text / date). The same body is what
  Planhat's xlsx file import does (a bulkUpsert).
- `planhat-metrics-NNNN.json` for Metrics (dimension data) `POST https://analytics.planhat.com/
  dimensiondata/<tenant uuid>`: `[{"dimensionId", "value", "externalId", "date"}]`, model
  Company by default. Every score of the ledger is a point at its snapshot date, the latest
  included, so Planhat draws the trend and Health Metrics can use it. `dimensionId` is
  `[exports] planhat_dimension_id` (no spaces or special characters allowed).

Limits: at most 5,000 items per bulk upsert request; a 32 MB hard limit on the body of each
post to the analytics endpoint (about 150,000 items). retain has no account names and Planhat
needs `name` to create a company, so the upsert updates companies that exist.

Sources:
- https://docs.planhat.com (limits: 5,000 items per bulk upsert; 32MB per analytics post)
- https://www.planhat.com/developers/api/bulk-upsert
- https://www.planhat.com/developers/api/company
- https://www.planhat.com/developers/api/metrics
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from retain.config import ExportsConfig
from serving.exports._files import write_json_parts, write_manifest
from serving.exports._record import ExportRecords, custom_fields, date_text, scaled

PLATFORM = "planhat"
MAX_UPSERT_ITEMS = 5_000  # "an upper limit of 5,000 items per request"
MAX_METRICS_BYTES = 32_000_000  # "a hard limit of 32MB on the body of each post"; decimal MB


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def companies(records: ExportRecords, config: ExportsConfig) -> list[dict[str, Any]]:
    fields = custom_fields(records, config)
    names = list(fields.columns)
    ids = records.latest["account_id"].tolist()
    rows = fields.itertuples(index=False, name=None)
    return [
        {
            "externalId": ids[i],
            "custom": {n: _json_value(v) for n, v in zip(names, row, strict=True)},
        }
        for i, row in enumerate(rows)
    ]


def metrics(records: ExportRecords, config: ExportsConfig) -> list[dict[str, Any]]:
    points = records.history
    values = scaled(points[config.score], config).tolist()
    dates = date_text(points["as_of"]).tolist()
    return [
        {
            "dimensionId": config.planhat_dimension_id,
            "value": values[i],
            "externalId": account_id,
            "date": dates[i],
        }
        for i, account_id in enumerate(points["account_id"].tolist())
    ]


def write(records: ExportRecords, config: ExportsConfig, out: Path) -> Path:
    company_parts = write_json_parts(
        companies(records, config), out, PLATFORM, "companies", max_items=MAX_UPSERT_ITEMS
    )
    points = metrics(records, config)
    metric_parts = write_json_parts(points, out, PLATFORM, "metrics", max_bytes=MAX_METRICS_BYTES)
    return write_manifest(
        out,
        PLATFORM,
        {
            "as_of": date_text(pd.Series([records.as_of])).iloc[0],
            "accounts": len(records.latest),
            "metric_points": len(points),
            "endpoints": {
                "companies": "PUT https://api.planhat.com/companies",
                "metrics": "POST https://analytics.planhat.com/dimensiondata/<tenant uuid>",
            },
            "key_field": "externalId",
            "custom_fields": list(custom_fields(records, config).columns),
            "dimension_id": config.planhat_dimension_id,
            "limits": {
                "max_upsert_items": MAX_UPSERT_ITEMS,
                "max_metrics_bytes": MAX_METRICS_BYTES,
                "documented": True,
            },
            "files": {"companies": company_parts, "metrics": metric_parts},
        },
    )
