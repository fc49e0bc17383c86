"""Vitally: account messages of the Analytics API, traits keyed on `accountId`, timestamped.

Shape: each file is the JSON body of one `POST https://<subdomain>.api.vitally.io/analytics/v1/
batch` call: an array of messages `{"type": "account", "accountId", "traits", "timestamp",
"messageId"}`. `accountId` is the account's id in your system; `timestamp` (ISO 8601 UTC) makes
Vitally keep the history of the account's traits over time, so every earlier score in the
ledger is sent as its own message at its own date before the latest one (push the files in
order); `messageId` de-duplicates, and is a hash of account, date and values, so pushing the
same export twice changes nothing. Trait keys are camelCase forms of the [exports] field names
("Retain Churn Risk" -> `retainChurnRisk`); dates ISO 8601.

Limits: at most 100 messages per batch call.
Not confirmed: Vitally asks every account message to carry at least a `name` trait (older
pages); retain has no account names, so the messages only update accounts Vitally already
has (docs/exports.md).

Sources:
- https://docs.vitally.io/en/articles/9874151-vitally-s-https-analytics-api-batch
- https://docs.vitally.io/pushing-data-to-vitally/using-the-vitally-api/https-analytics-api/analytics-api-account
- http://docs.vitally.io/en/articles/39-analytics-api-account (timestamp keeps trait history)
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from retain.config import ExportsConfig
from serving.exports._files import write_json_parts, write_manifest
from serving.exports._record import ExportRecords, custom_fields, date_text, scaled

PLATFORM = "vitally"
MAX_MESSAGES = 100  # "The maximum number of messages in a batch is 100."


def trait_key(name: str) -> str:
    """camelCase of a field name: "Retain Risk Reason 1" -> "retainRiskReason1"."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    if not words:
        return name
    return words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _message(account_id: str, as_of: str, traits: dict[str, Any]) -> dict[str, Any]:
    # repr of str / float / None is stable across runs and Python versions, and 3x cheaper
    # than a second JSON encoding of every message.
    identity = repr((account_id, as_of, list(traits.items())))
    return {
        "type": "account",
        "accountId": account_id,
        "traits": traits,
        "timestamp": f"{as_of}T00:00:00Z",
        "messageId": hashlib.sha256(identity.encode()).hexdigest()[:32],
    }


def messages(records: ExportRecords, config: ExportsConfig) -> list[dict[str, Any]]:
    """Earlier scores (score, band, expansion) first, oldest first, then each latest record."""
    items: list[dict[str, Any]] = []
    latest_dates = records.latest.set_index("account_id")["as_of"]
    earlier = records.history[
        records.history["as_of"] < records.history["account_id"].map(latest_dates)
    ]
    if len(earlier):
        names = [
            (config.score_field, scaled(earlier[config.score], config)),
            (config.band_field, earlier["health_band"]),
            (config.expansion_field, scaled(earlier["expansion_probability"], config)),
            (config.scored_on_field, date_text(earlier["as_of"])),
        ]
        columns = [(trait_key(n), v.tolist()) for n, v in names if n]
        dates = date_text(earlier["as_of"]).tolist()
        for i, account_id in enumerate(earlier["account_id"]):
            traits = {key: _json_value(values[i]) for key, values in columns}
            items.append(_message(account_id, dates[i], traits))
    fields = custom_fields(records, config)
    keys = [trait_key(name) for name in fields.columns]
    dates = date_text(records.latest["as_of"]).tolist()
    ids = records.latest["account_id"].tolist()
    for i, row in enumerate(fields.itertuples(index=False, name=None)):
        traits = {key: _json_value(value) for key, value in zip(keys, row, strict=True)}
        items.append(_message(ids[i], dates[i], traits))
    return items


def write(records: ExportRecords, config: ExportsConfig, out: Path) -> Path:
    items = messages(records, config)
    parts = write_json_parts(items, out, PLATFORM, "batch", max_items=MAX_MESSAGES)
    return write_manifest(
        out,
        PLATFORM,
        {
            "as_of": date_text(pd.Series([records.as_of])).iloc[0],
            "accounts": len(records.latest),
            "messages": len(items),
            "endpoint": "POST https://<subdomain>.api.vitally.io/analytics/v1/batch",
            "key_field": "accountId",
            "traits": [trait_key(name) for name in custom_fields(records, config).columns],
            "limits": {"max_messages_per_call": MAX_MESSAGES, "documented": True},
            "files": {"batch": parts},
        },
    )
