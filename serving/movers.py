"""What moved an account's score since its previous ledger row, in sentences a CSM reads.

Both rows come from the ledger (serving.ledger): the feature values each run recorded and the
models that made each score. `training.change.explain_change` attributes the log-odds move
exactly; the sentences here give probability points, which apportion the calibrated change in
proportion to the log-odds attributions ("Risk up 18 points since 2026-09-01: weekly active
users fell from 41 to 23 (+11 points); champion left (+6 points)"). `retain score`, the API's
`change` field, `retain explain-change` and the account review all call `changes_for`, so they
say the same thing about the same pair of rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from serving.catalogue import CATALOGUE, describe, feature_label, short_value

if TYPE_CHECKING:
    from serving.scoring import ModelPair
    from training.change import ScoreFunction

TREND_POINTS = 12  # the review's trend: the last 12 scored points of an account
METHOD = (
    "Exact baseline Shapley values of this snapshot against the previous one, in log-odds of "
    "the model's raw score; points apportion the calibrated change in proportion to them."
)
_SUBJECT = {"churn": "Risk", "expansion": "Expansion chance"}


@dataclass
class ModelResolver:
    """The scoring function (model and missing-value policy) behind a ledger row's version:
    the loaded pair when the versions match, else the registry's copy (SHA-256 checked), else
    None (a saved model folder that is not the current one)."""

    config: Config
    models: ModelPair | None = None
    _cache: dict[tuple[str, str], ScoreFunction | None] = field(default_factory=dict)

    def get(self, target: str, name: str, version: str, sha256: str | None) -> ScoreFunction | None:
        from training.change import ScoreFunction

        key = (target, version)
        if key in self._cache:
            return self._cache[key]
        found: ScoreFunction | None = None
        if self.models is not None:
            info = self.models.churn_info if target == "churn" else self.models.expansion_info
            if info.version == version:
                model = self.models.churn if target == "churn" else self.models.expansion
                policy = (
                    self.models.churn_policy if target == "churn" else self.models.expansion_policy
                )
                found = ScoreFunction(model, policy)
        if found is None and not str(version).startswith("path:"):
            found = self._registered(target, name, version, sha256)
        self._cache[key] = found
        return found

    def _registered(
        self, target: str, name: str, version: str, sha256: str | None
    ) -> ScoreFunction | None:
        from training.change import ScoreFunction
        from training.registry import ModelRef, load_version

        try:
            loaded = load_version(
                target, ModelRef(name=name, version=version, alias=None), self.config
            )
        except Exception:  # no registry, no such version, files changed: not at hand
            return None
        if sha256 and loaded.sha256 != sha256:
            return None
        return ScoreFunction(loaded.model, loaded.missing_policy)


def frame_from_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """A feature frame from ledger rows: account_id, as_of, segment and the recorded values."""
    values = [json.loads(text) for text in rows["features"]]
    features = pd.DataFrame.from_records(values, index=range(len(values)))
    identity = pd.DataFrame(
        {
            "account_id": rows["account_id"].astype(str).to_numpy(),
            "as_of": pd.to_datetime(rows["as_of"]).to_numpy(),
            "segment": rows["segment"].to_numpy(),
        }
    )
    for name in features.columns:
        column = features[name]
        if column.dtype == object and not column.map(lambda v: isinstance(v, str)).any():
            features[name] = pd.to_numeric(column, errors="coerce").astype(float)
    return pd.concat([identity, features.drop(columns=identity.columns, errors="ignore")], axis=1)


def _points_text(points: float) -> str:
    value = points * 100
    if abs(value) < 0.95:
        return f"{value:+.1f} points"
    return f"{value:+.0f} point{'' if round(abs(value)) == 1 else 's'}"


def _lower_first(text: str) -> str:
    # "Champion left" -> "champion left"; "NPS up" and "QBRs" keep their capitals.
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def mover_text(feature: str, before: object, after: object) -> str:
    """ "weekly active users fell from 41 to 23", "champion left in the last 90 days"."""
    label = _lower_first(feature_label(feature))
    if _missing(before) and not _missing(after):
        return f"{label} now {short_value(feature, after)} (not recorded before)"
    if _missing(after) and not _missing(before):
        # "no champion has left (was 29 days)", "last NPS not recorded (was 8)"
        return f"{_lower_first(describe(feature, None))} (was {short_value(feature, before)})"
    if isinstance(before, str) or isinstance(after, str):
        return f"{label} changed from {before} to {after}"
    entry = CATALOGUE.get(feature)
    if entry is not None and entry.unit == "flag":
        return _lower_first(describe(feature, after))
    try:
        rose = float(after) > float(before)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"{label} changed from {before} to {after}"
    verb = "rose" if rose else "fell"
    return f"{label} {verb} from {short_value(feature, before)} to {short_value(feature, after)}"


def _model_text(target: str, before: str, after: str, segment_before: Any, segment_after: Any):
    if before != after and segment_before != segment_after:
        return (
            f"model changed ({before} to {after}) and segment {segment_before} to {segment_after}"
        )
    if before != after:
        return f"model changed ({before} to {after})"
    return f"segment changed from {segment_before} to {segment_after}"


def changes_for(
    current: pd.DataFrame,
    previous: Mapping[str, pd.Series],
    resolver: ModelResolver,
    *,
    target: str = "churn",
    top: int | None = 3,
) -> dict[str, dict[str, Any]]:
    """account_id -> its `change` since its previous ledger row, for the rows of `current`
    (ledger rows) that have one. `top` movers are listed (None: every feature that moved)."""
    from training.change import explain_change

    out: dict[str, dict[str, Any]] = {}
    if current.empty or not previous:
        return out
    current = current.reset_index(drop=True)
    have = [i for i, a in enumerate(current["account_id"].astype(str)) if a in previous]
    if not have:
        return out
    after_rows = current.iloc[have].reset_index(drop=True)
    before_rows = pd.DataFrame([previous[str(a)] for a in after_rows["account_id"]]).reset_index(
        drop=True
    )
    version = f"{target}_version"
    groups = before_rows.groupby(
        [before_rows[version].astype(str), after_rows[version].astype(str)], sort=False
    ).indices
    for (old_version, new_version), index in groups.items():
        index = np.asarray(index)
        after_rows_g = after_rows.iloc[index].reset_index(drop=True)
        before_rows_g = before_rows.iloc[index].reset_index(drop=True)
        first_after, first_before = after_rows_g.iloc[0], before_rows_g.iloc[0]
        after_function = resolver.get(
            target,
            str(first_after[f"{target}_model"]),
            new_version,
            first_after.get(f"{target}_sha256"),
        )
        if after_function is None:
            raise RetainError(
                f"The {target} model version {new_version} that made the latest score is not at "
                "hand (neither loaded nor in the registry); explain with the model that scored it"
            )
        before_function = (
            after_function
            if old_version == new_version
            else resolver.get(
                target,
                str(first_before[f"{target}_model"]),
                old_version,
                first_before.get(f"{target}_sha256"),
            )
        )
        explained = explain_change(
            frame_from_rows(before_rows_g),
            frame_from_rows(after_rows_g),
            after_function,
            before_function,
            version_changed=old_version != new_version,
            before_margin=before_rows_g[f"{target}_margin"].to_numpy(dtype=float),
            before_probability=before_rows_g[f"{target}_probability"].to_numpy(dtype=float),
        )
        for j in range(len(after_rows_g)):
            out[str(after_rows_g.loc[j, "account_id"])] = _payload(
                explained, j, before_rows_g.iloc[j], after_rows_g.iloc[j], target, top
            )
    return out


def _payload(
    explained: Any, j: int, before: pd.Series, after: pd.Series, target: str, top: int | None
) -> dict[str, Any]:
    before_values = json.loads(before["features"])
    after_values = json.loads(after["features"])
    contributions = explained.contributions.iloc[j]
    points = explained.points.iloc[j]
    moved = [f for f in explained.features if contributions[f] != 0.0]
    moved.sort(key=lambda f: (-abs(points[f]), -abs(contributions[f]), f))
    listed = moved if top is None else moved[:top]
    movers = []
    for name in listed:
        text = mover_text(name, before_values.get(name), after_values.get(name))
        movers.append(
            {
                "feature": name,
                "before": before_values.get(name),
                "after": after_values.get(name),
                "log_odds": float(contributions[name]),
                "points": float(points[name]) * 100,
                "text": f"{text} ({_points_text(float(points[name]))})",
            }
        )
    p_before = float(explained.probability_before[j])
    p_after = float(explained.probability_after[j])
    total = p_after - p_before
    since = pd.Timestamp(before["as_of"]).date().isoformat()
    subject = _SUBJECT.get(target, target.capitalize())
    if abs(total * 100) < 0.5:
        head = f"{subject} unchanged since {since} ({_points_text(total)})"
    else:
        direction = "up" if total > 0 else "down"
        size = round(abs(total * 100))
        head = f"{subject} {direction} {size} point{'s' if size != 1 else ''} since {since}"
    parts = [m["text"] for m in movers if abs(m["points"]) >= 0.05]
    model_points = None
    if bool(explained.model_changed[j]):
        model_points = float(explained.model_probability[j]) * 100
        parts.append(
            _model_text(
                target,
                str(before[f"{target}_version"]),
                str(after[f"{target}_version"]),
                before["segment"],
                after["segment"],
            )
            + f" ({_points_text(float(explained.model_probability[j]))})"
        )
    other = float(points.sum() - sum(points[n] for n in listed)) * 100
    return {
        "previous_as_of": since,
        f"previous_{target}_probability": p_before,
        f"{target}_probability": p_after,
        "points": total * 100,
        "log_odds_change": float(explained.margin_after[j] - explained.margin_before[j]),
        "account_log_odds": float(explained.account_margin[j]),
        "model_changed": bool(explained.model_changed[j]),
        "model_points": model_points,
        "model_log_odds": float(explained.model_margin[j]) if model_points is not None else None,
        "movers": movers,
        "other_points": other,
        "text": head + (": " + "; ".join(parts) if parts else ""),
        "explained_with": explained.reference,
        "method": METHOD,
    }


def trends(latest: pd.DataFrame, results: list[dict[str, Any]]) -> dict[str, list[dict]]:
    """account_id -> its last `TREND_POINTS` scored points: the earlier as_of dates of the
    ledger (`latest`: one row per account and as_of) and then the current result."""
    earlier: dict[str, list[dict[str, Any]]] = {}
    if not latest.empty:
        wanted = {str(r["account_id"]) for r in results}
        rows = latest[latest["account_id"].isin(wanted)]
        for account_id, as_of, p, band in zip(
            rows["account_id"],
            rows["as_of"],
            rows["churn_probability"],
            rows["health_band"],
            strict=True,
        ):
            earlier.setdefault(str(account_id), []).append(
                {
                    "as_of": pd.Timestamp(as_of).date().isoformat(),
                    "churn_probability": float(p),
                    "health_band": str(band),
                }
            )
    out = {}
    for result in results:
        account_id = str(result["account_id"])
        points = [p for p in earlier.get(account_id, []) if p["as_of"] < str(result["as_of"])]
        points.append(
            {
                "as_of": result["as_of"],
                "churn_probability": float(result["churn_probability"]),
                "health_band": str(result["health_band"]),
            }
        )
        out[account_id] = points[-TREND_POINTS:]
    return out


def add_changes(
    results: list[dict[str, Any]],
    snapshot: pd.DataFrame,
    models: ModelPair,
    config: Config,
    *,
    with_trend: bool = False,
) -> None:
    """Give each result its `change` since the account's previous ledger row (when it has
    one) and, with `with_trend`, its `trend`; the ledger is only read."""
    from serving.ledger import latest_rows, ledger_folder, ledger_rows, read_history, read_previous

    if not results:
        return
    folder = ledger_folder(config)
    previous = read_previous(folder, {str(r["account_id"]): r["as_of"] for r in results})
    if not previous:
        return  # a first run: nothing to compare with, no trend yet
    if with_trend:
        light = ["as_of", "churn_probability", "health_band"]
        history = read_history(folder, account_ids=list(previous), columns=light)
        points = trends(latest_rows(history), results)
        for result in results:
            result["trend"] = points[str(result["account_id"])]
    rows = ledger_rows(snapshot, results, models)
    changes = changes_for(
        rows, previous, ModelResolver(config, models), top=config.serving.top_k_reasons
    )
    for result in results:
        change = changes.get(str(result["account_id"]))
        if change is not None:
            result["change"] = change
