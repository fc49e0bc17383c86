"""Recommended plays on every scoring result: the playbook (package `playbook`) applied to the
results of one scoring run, so the scores file, the score store, `/score_accounts` and the
review page recommend the same play as `retain plays assign` for the same scores.

Serving composes: the playbook reads scores and features and never imports serving.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from retain.config import Config
from serving.scoring import ModelPair

# What the playbook's triggers read from a snapshot when the results lack it.
_SNAPSHOT_COLUMNS = ("csm_id", "arr")


def add_recommended_plays(
    results: list[dict[str, Any]], snapshot: pd.DataFrame, models: ModelPair, config: Config
) -> None:
    """Give each scored result its `recommended_plays` (rank order; [] when no play fires).

    "Ready to expand" is the expansion model's own top band unless `[playbook]
    expansion_ready_from` sets it. Results carrying an `error` get no plays.
    """
    from playbook import expansion_ready_from, recommend, recommended_plays

    scored = [r for r in results if not r.get("error") and r.get("health_band") is not None]
    for result in results:
        result["recommended_plays"] = []
    if not scored:
        return
    today = dt.datetime.now(dt.UTC).date().isoformat()
    frame = pd.DataFrame(
        {
            "account_id": [str(r["account_id"]) for r in scored],
            # /score without as_of scores "now": its plays are due from today.
            "as_of": [r.get("as_of") or today for r in scored],
            "health_band": [r["health_band"] for r in scored],
            "churn_probability": [r["churn_probability"] for r in scored],
            "expansion_probability": [r["expansion_probability"] for r in scored],
            "renewal_date": [r.get("renewal_date") for r in scored],
            "signals": [json.dumps(r.get("signals", [])) for r in scored],
            "reasons": [json.dumps(r.get("reasons", [])) for r in scored],
        }
    )
    features = _snapshot_context(snapshot)
    ready, _ = expansion_ready_from(config, models.expansion.bands_)
    plays = recommend(frame, features, config, expansion_ready_from=ready)
    by_account = recommended_plays(plays)
    for result in scored:
        result["recommended_plays"] = by_account.get(str(result["account_id"]), [])


def _snapshot_context(snapshot: pd.DataFrame) -> pd.DataFrame | None:
    """Owner, ARR and renewal of each snapshot row, keyed by account and as_of."""
    present = [c for c in _SNAPSHOT_COLUMNS if c in snapshot.columns]
    if "account_id" not in snapshot.columns or not present:
        return None
    keys = ["account_id"] + (["as_of"] if "as_of" in snapshot.columns else [])
    side = snapshot[[*keys, *present]].copy()
    side["account_id"] = side["account_id"].astype(str)
    return side


def recommended_columns(results: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """The scores file's play columns: the account's play (rank 1), its owner and review date,
    and every recommended play as JSON."""
    first = [(r.get("recommended_plays") or [{}])[0] for r in results]
    return {
        "next_play": [p.get("play") for p in first],
        "next_play_owner": [p.get("owner") for p in first],
        "next_play_review_date": [p.get("review_date") for p in first],
        "next_play_arm": [p.get("arm") for p in first],
        "recommended_plays": [json.dumps(r.get("recommended_plays", [])) for r in results],
    }
