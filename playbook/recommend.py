"""`recommend`: the plays of a playbook for a frame of scored accounts.

One row per account and play that fires, ranked by the play's priority within the account
(rank 1 is the account's play; the others are listed with it). Each row carries the owner, the
due and review dates, the reason that opened it, the ARR at stake and the arm of the control
group. Plain pandas over the scores: the review page, the API and `retain plays assign` all call
this, so every surface recommends the same play for the same scores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from playbook.assign import arr_at_stake, date_after, owner_of
from playbook.control import arms, assignment_of
from playbook.triggers import days_to_renewal, play_fires
from retain.config import Config, PlayConfig
from retain.errors import RetainError

PLAY_COLUMNS: tuple[str, ...] = (
    "account_id",
    "as_of",
    "play",
    "kind",
    "rank",
    "priority",
    "owner",
    "owner_role",
    "due_date",
    "review_date",
    "reason",
    "arm",
    "assignment",
    "control_share",
    "health_band",
    "churn_probability",
    "expansion_probability",
    "arr_at_stake",
    "renewal_date",
    "description",
)
# The fields of each entry of an API result's `recommended_plays` (dates as ISO strings).
RECOMMENDED_FIELDS: tuple[str, ...] = (
    "play",
    "kind",
    "rank",
    "owner",
    "owner_role",
    "due_date",
    "review_date",
    "reason",
    "arm",
    "arr_at_stake",
    "description",
)
REQUIRED_SCORE_COLUMNS = (
    "account_id",
    "as_of",
    "health_band",
    "churn_probability",
    "expansion_probability",
)
KINDS = ("risk", "expansion")
BANDS = ("green", "yellow", "red")
# Columns a features frame may supply when the scores lack them.
_FROM_FEATURES = ("csm_id", "arr", "renewal_date", "days_to_renewal")


def expansion_ready_from(
    config: Config, expansion_bands: Mapping[str, Any] | None = None
) -> tuple[float | None, str]:
    """The "ready to expand" threshold and where it comes from.

    `[playbook] expansion_ready_from` when set, else the expansion model's own top band
    (`SegmentedModel.bands_["red_from"]` of the expansion model: the largest group of most
    likely accounts whose out-of-time expansion rate reached 1 - `[bands]
    red_max_renewal_rate`, or the top `red_share` when none did, chosen as the health bands
    are); None when neither is known.
    """
    if config.playbook.expansion_ready_from is not None:
        return float(config.playbook.expansion_ready_from), "[playbook] expansion_ready_from"
    if expansion_bands and expansion_bands.get("red_from") is not None:
        basis = expansion_bands.get("basis", {})
        how = basis.get("red", "") if isinstance(basis, Mapping) else str(basis)
        return float(expansion_bands["red_from"]), f"expansion model's top band ({how})".replace(
            " ()", ""
        )
    return None, "unknown"


def check_playbook(plays: Sequence[PlayConfig], signal_names: Sequence[str] = ()) -> None:
    """RetainError naming the play and the field for a playbook that cannot work as written.

    `signal_names`, when given, are the signals that exist: a misspelt one would never fire.
    """
    names = [p.name for p in plays]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RetainError(f"[[playbook.plays]] names must be unique: {', '.join(duplicated)}")
    for play in plays:
        where = f"[[playbook.plays]] {play.name!r}"
        if play.kind not in KINDS:
            raise RetainError(f"{where}: kind must be one of {', '.join(KINDS)}, not {play.kind!r}")
        unknown_bands = sorted(set(play.bands) - set(BANDS))
        if unknown_bands:
            raise RetainError(
                f"{where}: bands must be among {', '.join(BANDS)}; got {', '.join(unknown_bands)}"
            )
        unknown_signals = sorted(set(play.signals) - set(signal_names)) if signal_names else []
        if unknown_signals:
            raise RetainError(
                f"{where}: unknown signal(s) {', '.join(unknown_signals)}; the signals are "
                f"{', '.join(signal_names)}"
            )
        if not (play.signals or play.drivers or play.expansion_ready or play.bands) and (
            play.renewal_within_days is None
        ):
            raise RetainError(
                f"{where} has no trigger: give signals, drivers, expansion_ready, bands or "
                "renewal_within_days"
            )
        if not 0.0 <= play.control_share < 1.0:
            raise RetainError(f"{where}: control_share must be in [0, 1), got {play.control_share}")
        for field in ("due_days", "review_days"):
            if getattr(play, field) < 0:
                raise RetainError(f"{where}: {field} must be 0 or more")


def _parsed(value: object) -> list[dict]:
    """A JSON list (the scores file's text) or a list (a result's field) as a list."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return list(value)  # type: ignore[call-overload]


def scored_accounts(scores: pd.DataFrame, features: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per scored account with what the triggers read (see `playbook.triggers`).

    `features` (a feature frame with `account_id`, and `as_of` when it has several dates)
    supplies `csm_id`, `arr`, `renewal_date` and `days_to_renewal` where the scores lack them.
    """
    missing = [c for c in REQUIRED_SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise RetainError(
            f"The scores have no {', '.join(missing)} column(s) ({len(scores)} rows); "
            "recommend needs the output of `retain score` (or its results)"
        )
    frame = scores.reset_index(drop=True).copy()
    frame["account_id"] = frame["account_id"].astype(str)
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    if features is not None:
        extra = [c for c in _FROM_FEATURES if c in features.columns and c not in frame.columns]
        if extra:
            keys = ["account_id"] + (["as_of"] if "as_of" in features.columns else [])
            side = features[[*keys, *extra]].copy()
            side["account_id"] = side["account_id"].astype(str)
            if "as_of" in keys:
                side["as_of"] = pd.to_datetime(side["as_of"]).astype("datetime64[ns]")
            frame = frame.merge(side.drop_duplicates(keys), on=keys, how="left")
    for column in ("csm_id", "arr", "renewal_date", "days_to_renewal"):
        if column not in frame.columns:
            frame[column] = None
    frame["renewal_date"] = pd.to_datetime(frame["renewal_date"]).astype("datetime64[ns]")
    frame["days_to_renewal"] = days_to_renewal(
        frame["as_of"], frame["renewal_date"], frame["days_to_renewal"]
    )
    for column in ("signals", "reasons"):
        frame[column] = (
            frame[column].map(_parsed) if column in frame.columns else [[] for _ in frame.index]
        )
    return frame


def recommend(
    scores: pd.DataFrame,
    features: pd.DataFrame | None = None,
    config: Config | None = None,
    *,
    expansion_ready_from: float | None = None,
) -> pd.DataFrame:
    """Every play that fires for each scored account, ranked; columns `PLAY_COLUMNS`.

    `scores`: the scores file of `retain score` or a frame of scoring results (reasons and
    signals as JSON text or lists). `expansion_ready_from`: the expansion model's top band
    (`expansion_ready_from(config, model.bands_)`); `[playbook] expansion_ready_from` wins.
    An account no play fires for has no row.
    """
    config = config or Config()
    playbook = config.playbook
    check_playbook(playbook.plays)
    if playbook.expansion_ready_from is not None:
        expansion_ready_from = float(playbook.expansion_ready_from)
    if expansion_ready_from is None and any(p.expansion_ready for p in playbook.plays):
        needing = ", ".join(p.name for p in playbook.plays if p.expansion_ready)
        raise RetainError(
            f"Play(s) {needing} need the 'ready to expand' threshold: set [playbook] "
            "expansion_ready_from, or pass the expansion model's top band"
        )
    accounts = scored_accounts(scores, features)
    owners = owner_of(accounts["csm_id"], playbook.unassigned_owner)
    parts = []
    for play in sorted(playbook.plays, key=lambda p: p.priority):
        fires, reason = play_fires(play, accounts, expansion_ready_from)
        if not fires.any():
            continue
        hit = accounts[fires]
        parts.append(
            pd.DataFrame(
                {
                    "account_id": hit["account_id"],
                    "as_of": hit["as_of"],
                    "play": play.name,
                    "kind": play.kind,
                    "priority": play.priority,
                    "owner": owners[fires],
                    "owner_role": play.owner_role,
                    "due_date": date_after(hit["as_of"], play.due_days),
                    "review_date": date_after(hit["as_of"], play.review_days),
                    "reason": reason[fires],
                    "arm": arms(hit["account_id"], play.name, hit["as_of"], play.control_share),
                    "assignment": assignment_of(play.control_share),
                    "control_share": float(play.control_share),
                    "health_band": hit["health_band"],
                    "churn_probability": hit["churn_probability"].astype(float),
                    "expansion_probability": hit["expansion_probability"].astype(float),
                    "arr_at_stake": arr_at_stake(hit["arr"]),
                    "renewal_date": hit["renewal_date"],
                    "description": play.description,
                }
            )
        )
    if not parts:
        return _empty()
    plays = pd.concat(parts, ignore_index=True)
    # Stable: plays of equal priority keep the playbook's order.
    plays = plays.sort_values(["account_id", "priority"], kind="stable").reset_index(drop=True)
    plays["rank"] = plays.groupby("account_id").cumcount() + 1
    return plays[list(PLAY_COLUMNS)]


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in PLAY_COLUMNS})
    for column in ("as_of", "due_date", "review_date", "renewal_date"):
        frame[column] = pd.Series(dtype="datetime64[ns]")
    for column in ("churn_probability", "expansion_probability", "arr_at_stake", "control_share"):
        frame[column] = pd.Series(dtype=float)
    for column in ("rank", "priority"):
        frame[column] = pd.Series(dtype="int64")
    return frame


def primary(plays: pd.DataFrame) -> pd.DataFrame:
    """Each account's play (rank 1), with `other_plays`: the names of the others that fired."""
    others = (
        plays[plays["rank"] > 1].groupby("account_id")["play"].agg(lambda names: "; ".join(names))
    )
    first = plays[plays["rank"] == 1].reset_index(drop=True)
    first["other_plays"] = first["account_id"].map(others).fillna("")
    return first


def _json_value(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date().isoformat()
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()  # type: ignore[union-attr]
    return value


def recommended_plays(plays: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """account_id -> its plays in rank order as JSON-ready dicts (`RECOMMENDED_FIELDS`).

    An account without a play is absent: callers use `.get(account_id, [])`.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for record in plays.sort_values(["account_id", "rank"]).to_dict(orient="records"):
        entry = {field: _json_value(record[field]) for field in RECOMMENDED_FIELDS}
        out.setdefault(str(record["account_id"]), []).append(entry)
    return out
