"""The common export record: one row per account from the latest scores, and its score history.

Every platform module maps these columns onto its own field names; nothing here knows a
platform. The latest scores come from what `retain score` writes: the scores Parquet
(`serving.batch.results_frame`: reasons as JSON) or the score store (`serving.store.read_store`:
each result as JSON). History (earlier scores of the same accounts) comes from the score ledger
when there is one (`serving.exports._history`).

`latest` columns: account_id, as_of, segment, churn_probability, expansion_probability,
health_band, arr, arr_at_risk (churn_probability x ARR), risk_reasons (texts of the drivers
raising the risk, strongest first), next_play (only when the scores carry recommended plays),
previous_as_of and previous_churn_probability / previous_expansion_probability (only with
history). `history`: account_id, as_of, churn_probability, expansion_probability, health_band,
one row per account and snapshot date, the latest scores included, oldest first.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retain.config import ExportsConfig
from retain.errors import RetainError

REQUIRED_COLUMNS = (
    "account_id",
    "as_of",
    "churn_probability",
    "expansion_probability",
    "health_band",
)
HISTORY_COLUMNS = REQUIRED_COLUMNS
SCORES = ("churn_probability", "expansion_probability")
# A result's field holding its plays (retain plays); the first one is the next play.
PLAYS_KEY = "recommended_plays"


@dataclass(frozen=True)
class ExportRecords:
    """What every platform export is made from (see the module docstring for the columns)."""

    latest: pd.DataFrame
    history: pd.DataFrame
    has_history: bool  # an earlier score than the latest exists for at least one account
    has_next_play: bool

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.latest["as_of"].max())


def read_scores_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The scores Parquet `retain score --out FILE` wrote."""
    path = Path(path)
    if not path.is_file():
        raise RetainError(
            f"Scores file {path} does not exist; run `retain score --data DIR --out FILE` first"
        )
    if path.suffix != ".parquet":
        raise RetainError(
            f"--scores takes the Parquet file `retain score` writes (got {path.name}); the flat "
            "CSV beside it has lost the reasons' structure"
        )
    frame = pd.read_parquet(path)
    _check_columns(frame, f"scores file {path}")
    return frame


def scores_from_store(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The latest scored snapshot of every account in the score store, as a scores frame."""
    from serving.store import read_store

    rows: list[dict[str, Any]] = []
    for account in read_store(path).values():
        result = account.result
        if result is None:
            continue  # a snapshot stored without scores (never scored)
        row = {key: result.get(key) for key in (*REQUIRED_COLUMNS, "segment", "reasons")}
        row["account_id"] = account.account_id
        row["as_of"] = account.as_of
        row["arr"] = account.features.get("arr")
        row["renewal_date"] = account.renewal_date
        if PLAYS_KEY in result:
            row[PLAYS_KEY] = result[PLAYS_KEY]
        rows.append(row)
    if not rows:
        raise RetainError(
            f"The score store {path} holds no scores yet; run `retain score --data DIR --out FILE`"
        )
    return pd.DataFrame(rows)


def latest_run(scores: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The accounts scored at the latest snapshot date, and how many are left out.

    `retain score` scores every active account at one date; an account whose latest stored
    score is older was not active at the latest run (churned, or not yet started), and a CS
    platform should not get that old score as if it were current.
    """
    dates = pd.to_datetime(scores["as_of"]).dt.normalize()
    current = dates == dates.max()
    return scores[current.to_numpy()].reset_index(drop=True), int((~current).sum())


def _check_columns(frame: pd.DataFrame, where: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise RetainError(
            f"The {where} has no column {', '.join(missing)}: it is not what `retain score` "
            f"writes (columns found: {', '.join(map(str, frame.columns[:8]))})"
        )
    if len(frame) == 0:
        raise RetainError(f"The {where} holds no scores yet; run `retain score` first")


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = json.loads(value) if value else []
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return list(value)


def _one_line(text: str) -> str:
    # A platform field is one line: a line break would also split a row of a CSV import.
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text


def _risk_reasons(value: Any) -> list[str]:
    return [_one_line(r["text"]) for r in _as_list(value) if r.get("direction") == "raises"]


# The arm of an account held back from a play (retain plays' control group): the platform must
# not get that play, or the CSM runs it and the control group measures nothing.
CONTROL_ARM = "control"


def _first_play(value: Any) -> str:
    for play in _as_list(value):
        # An object naming its play (retain plays, rank order), or from elsewhere a plain name.
        if isinstance(play, dict):
            if play.get("arm") == CONTROL_ARM:
                return ""
            return _one_line(str(play.get("play") or play.get("name") or ""))
        return _one_line(str(play))
    return ""


def read_plays_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The plays.parquet of `retain plays assign` (each account's rank-1 play)."""
    path = Path(path)
    if not path.is_file():
        raise RetainError(
            f"Plays file {path} does not exist; run `retain plays assign --data DIR --out DIR`"
        )
    plays = pd.read_parquet(path)
    missing = [c for c in ("account_id", "as_of", "play") if c not in plays.columns]
    if missing:
        raise RetainError(f"The plays file {path} has no column {', '.join(missing)}")
    return plays


def _plays_by_account(plays: pd.DataFrame, latest: pd.DataFrame) -> pd.Series:
    """Each latest account's next play ("" for none or the control arm) from a plays frame of
    the same snapshot date."""
    plays = plays.copy()
    plays["account_id"] = plays["account_id"].astype(str)
    plays["as_of"] = pd.to_datetime(plays["as_of"]).dt.normalize()
    when = pd.Timestamp(latest["as_of"].max())
    same = plays[plays["as_of"] == when]
    if len(plays) and not len(same):
        dates = ", ".join(sorted(plays["as_of"].dt.strftime("%Y-%m-%d").unique())[:3])
        raise RetainError(
            f"The plays are of {dates}, the scores of {when.date()}: run `retain plays assign` "
            "on the latest scores"
        )
    if "rank" in same.columns:
        same = same.sort_values(["account_id", "rank"], kind="stable")
    first = same.drop_duplicates("account_id")
    if "arm" in first.columns:
        first = first[first["arm"] != CONTROL_ARM]
    names = first.set_index("account_id")["play"].astype(str).map(_one_line)
    return latest["account_id"].map(names).fillna("")


def build_records(
    scores: pd.DataFrame,
    history: pd.DataFrame | None = None,
    *,
    since: str | pd.Timestamp | None = None,
    plays: pd.DataFrame | None = None,
) -> ExportRecords:
    """The export record of each account's latest score, with its history when given.

    `since` keeps the earlier points (time series, Vitally's timestamped messages) from that
    date on, for an export that only adds what the last one did not send; the previous score of
    the trend fields is read from the whole history all the same. `plays` (retain plays
    assign's plays.parquet) gives the next play where the results carry none.
    """
    _check_columns(scores, "scores")
    frame = scores.copy()
    frame["account_id"] = frame["account_id"].astype(str)
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.normalize()
    # One row per account: its latest snapshot (a scores file of several dates is allowed).
    frame = (
        frame.sort_values(["account_id", "as_of"], kind="stable")
        .drop_duplicates("account_id", keep="last")
        .sort_values("account_id", kind="stable")
        .reset_index(drop=True)
    )
    latest = pd.DataFrame(
        {
            "account_id": frame["account_id"],
            "as_of": frame["as_of"],
            "segment": frame.get("segment"),
            "churn_probability": pd.to_numeric(frame["churn_probability"]).astype(float),
            "expansion_probability": pd.to_numeric(frame["expansion_probability"]).astype(float),
            "health_band": frame["health_band"].astype(str),
            "arr": pd.to_numeric(frame["arr"]).astype(float) if "arr" in frame else np.nan,
        }
    )
    latest["arr_at_risk"] = (latest["churn_probability"] * latest["arr"]).round(2)
    reasons = frame["reasons"] if "reasons" in frame else pd.Series([[]] * len(frame))
    latest["risk_reasons"] = [_risk_reasons(r) for r in reasons]
    has_next_play = PLAYS_KEY in frame.columns or plays is not None
    if plays is not None:
        latest["next_play"] = _plays_by_account(plays, latest)
    elif has_next_play:
        latest["next_play"] = [_first_play(p) for p in frame[PLAYS_KEY]]
    points = latest[list(HISTORY_COLUMNS)]
    latest_as_of = latest.set_index("account_id")["as_of"]
    if history is not None and len(history):
        earlier = history[list(HISTORY_COLUMNS)].copy()
        earlier["account_id"] = earlier["account_id"].astype(str)
        earlier["as_of"] = pd.to_datetime(earlier["as_of"]).dt.normalize()
        # The latest scores win over a ledger row of the same snapshot (a rescoring).
        points = pd.concat([earlier, points], ignore_index=True)
        points = points[points["account_id"].isin(latest["account_id"])]
        points = points.drop_duplicates(["account_id", "as_of"], keep="last")
        # Nothing after an account's latest snapshot belongs to this export.
        points = points[points["as_of"] <= points["account_id"].map(latest_as_of)]
    points = points.sort_values(["as_of", "account_id"], kind="stable").reset_index(drop=True)
    before = points[points["as_of"] < points["account_id"].map(latest_as_of)]
    has_history = len(before) > 0
    if has_history:
        previous = before.drop_duplicates("account_id", keep="last").set_index("account_id")
        latest["previous_as_of"] = latest["account_id"].map(previous["as_of"])
        for score in SCORES:
            latest[f"previous_{score}"] = latest["account_id"].map(previous[score])
    if since is not None:
        keep = (points["as_of"] >= pd.Timestamp(since)) | (
            points["as_of"] == points["account_id"].map(latest_as_of)
        )
        points = points[keep].reset_index(drop=True)
    return ExportRecords(
        latest=latest, history=points, has_history=has_history, has_next_play=has_next_play
    )


def check_config(config: ExportsConfig) -> None:
    if config.score not in SCORES:
        raise RetainError(
            f"[exports] score must be one of {', '.join(SCORES)} (got {config.score!r})"
        )
    if config.reasons < 0:
        raise RetainError(f"[exports] reasons must be 0 or more (got {config.reasons})")
    if config.score_scale <= 0:
        raise RetainError(f"[exports] score_scale must be positive (got {config.score_scale})")


def scaled(probability: pd.Series, config: ExportsConfig) -> pd.Series:
    """A probability on the export scale, to 4 decimals of the probability whatever the scale."""
    # round twice: 0.4237 * 100 is 42.370000000000005 in binary floating point
    return (probability.round(4) * config.score_scale).round(10)


def date_text(values: pd.Series) -> pd.Series:
    """ISO dates (YYYY-MM-DD); missing stays missing."""
    dates = pd.to_datetime(values)
    return dates.dt.strftime("%Y-%m-%d").where(dates.notna(), None)


def custom_fields(records: ExportRecords, config: ExportsConfig) -> pd.DataFrame:
    """The mapped fields of each latest record, named as in [exports], in a fixed order.

    Numbers stay numbers (NaN where unknown), texts are "" where there is none (so a re-export
    clears a reason that no longer applies), dates ISO text.
    """
    check_config(config)
    latest = records.latest
    columns: dict[str, pd.Series] = {}

    def put(name: str, values: pd.Series) -> None:
        if name:
            columns[name] = values.reset_index(drop=True)

    put(config.score_field, scaled(latest[config.score], config))
    put(config.band_field, latest["health_band"])
    put(config.expansion_field, scaled(latest["expansion_probability"], config))
    put(config.arr_at_risk_field, latest["arr_at_risk"])
    if config.reason_field:
        for i in range(config.reasons):
            texts = [r[i] if i < len(r) else "" for r in latest["risk_reasons"]]
            put(f"{config.reason_field} {i + 1}", pd.Series(texts, dtype=object))
    if records.has_next_play:
        put(config.next_play_field, latest["next_play"])
    put(config.scored_on_field, date_text(latest["as_of"]))
    if records.has_history:
        previous = scaled(latest[f"previous_{config.score}"], config)
        put(config.previous_score_field, previous)
        put(config.score_change_field, (scaled(latest[config.score], config) - previous).round(2))
    return pd.DataFrame(columns)
