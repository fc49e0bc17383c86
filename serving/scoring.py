"""Score a feature frame: probabilities, health band, reasons and signals per snapshot.

Plain functions over a loaded model pair; the batch scorer, the HTTP service and the account
review all call these, so every surface gives the same answer for the same snapshot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.frame import TARGETS
from retain.config import Config
from retain.errors import RetainError
from serving.reasons import context_of, data_gaps, top_reasons
from serving.signals import SIGNAL_FEATURES, signals_of

if TYPE_CHECKING:
    from training.missing_policy import MissingPolicy
    from training.segmented import SegmentedModel

MISSING_VALUE_MODES = ("impute", "reject")


class MissingValuesError(RetainError):
    """Missing values the policy would impute, under `serving.missing_values = "reject"`.

    `missing[i]` lists the features row i lacks; the API turns it into a 400 naming each field.
    """

    def __init__(self, message: str, missing: list[list[str]]) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class ModelInfo:
    """Which model answered: the registry name, its version and the alias it was loaded by."""

    name: str
    version: str
    alias: str
    sha256: str | None = None  # of the model's artifact files, verified when loaded

    def as_dict(self) -> dict[str, str]:
        out = {"name": self.name, "version": self.version, "alias": self.alias}
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        return out


@dataclass(frozen=True)
class ModelPair:
    churn: SegmentedModel
    expansion: SegmentedModel
    churn_info: ModelInfo
    expansion_info: ModelInfo
    churn_policy: MissingPolicy
    expansion_policy: MissingPolicy

    @property
    def feature_names(self) -> list[str]:
        """Every feature either model reads, churn's order first."""
        names = list(self.churn.feature_names_)
        names += [n for n in self.expansion.feature_names_ if n not in set(names)]
        return names

    @property
    def bands(self) -> dict[str, Any]:
        return dict(self.churn.bands_)

    def info(self) -> dict[str, dict[str, str]]:
        return {"churn": self.churn_info.as_dict(), "expansion": self.expansion_info.as_dict()}

    @property
    def known_segments(self) -> set[str]:
        """Segments both models were fitted on (any other is scored by the global booster)."""
        return set(self.churn.segments_) & set(self.expansion.segments_)

    def policies(self) -> tuple[MissingPolicy, MissingPolicy]:
        return self.churn_policy, self.expansion_policy


def _folder_digest(folder: Path) -> str:
    """A content hash of a saved model folder: the version of a model that has no registry."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def save_model_pair(
    churn: SegmentedModel, expansion: SegmentedModel, folder: Path, frame: pd.DataFrame
) -> Path:
    """Save both models, each with the missing-value policy of its training rows `frame`, in
    the layout `load_model_pair(model_path=...)` reads."""
    from training.missing_policy import MissingPolicy

    folder = Path(folder)
    for target, model in (("churn", churn), ("expansion", expansion)):
        saved = model.save(folder / target)
        MissingPolicy.from_model(model, frame).save(saved)
    return folder


def resolve_versions(config: Config) -> dict[str, Any]:
    """target -> the registry ModelRef that `serving.model_alias` points at now.

    A missing champion is replaced by the challenger only with `serving.allow_challenger`.
    """
    from training.registry import resolve_alias

    return {
        target: resolve_alias(
            target,
            config.serving.model_alias,
            config,
            allow_challenger=config.serving.allow_challenger,
        )
        for target in TARGETS
    }


def pinned_versions(models: ModelPair) -> dict[str, dict[str, str | None]]:
    """What `load_model_pair(..., pinned=...)` needs to load exactly these models again."""
    return {
        target: {"version": info.version, "alias": info.alias, "sha256": info.sha256}
        for target, info in (("churn", models.churn_info), ("expansion", models.expansion_info))
    }


def load_model_pair(
    config: Config, pinned: Mapping[str, Mapping[str, str | None]] | None = None
) -> ModelPair:
    """The models to serve: `serving.model_path` when set, else the registry alias.

    `pinned` (from `pinned_versions`) loads exactly those versions, whatever the alias points
    at now, and refuses files whose SHA-256 differs. Each model comes with its missing-value
    policy (training.missing_policy); LightGBM text models plus JSON are read, never a pickle.
    """
    from training.missing_policy import MissingPolicy
    from training.registry import artifact_digests, digest_of
    from training.segmented import SegmentedModel

    if config.serving.missing_values not in MISSING_VALUE_MODES:
        raise RetainError(
            f"serving.missing_values must be one of {', '.join(MISSING_VALUE_MODES)} "
            f"(got {config.serving.missing_values!r})"
        )
    models: dict[str, SegmentedModel] = {}
    policies: dict[str, MissingPolicy] = {}
    infos: dict[str, ModelInfo] = {}
    if config.serving.model_path:
        root = Path(config.serving.model_path)
        for target in TARGETS:
            folder = root / target
            if not folder.is_dir():
                raise RetainError(
                    f"Model folder {folder} does not exist: serving.model_path must hold "
                    f"'churn' and 'expansion' folders written by SegmentedModel.save"
                )
            try:
                models[target] = SegmentedModel.load(folder)
                policies[target] = MissingPolicy.load(folder)
            except (KeyError, ValueError, TypeError, OSError) as error:
                # A folder saved by another version of retain, or a damaged one.
                raise RetainError(
                    f"Cannot load the {target} model in {folder} ({type(error).__name__}: "
                    f"{error}); save it again with this version of retain"
                ) from error
            infos[target] = ModelInfo(
                name=f"{config.tracking.registered_model_prefix}-{target}",
                version=f"path:{_folder_digest(folder)}",
                alias="path",
                sha256=digest_of(artifact_digests(folder)),
            )
    else:
        from training.registry import ModelRef, load_version, model_name

        if pinned:
            refs = {
                target: ModelRef(
                    name=model_name(target, config),
                    version=str(pinned[target]["version"]),
                    alias=str(pinned[target]["alias"]),
                )
                for target in TARGETS
            }
        else:
            refs = resolve_versions(config)
        for target, ref in refs.items():
            loaded = load_version(target, ref, config)
            models[target] = loaded.model
            policies[target] = loaded.missing_policy
            infos[target] = ModelInfo(
                name=str(ref.name),
                version=str(ref.version),
                alias=str(ref.alias or config.serving.model_alias),
                sha256=loaded.sha256,
            )
    for target in TARGETS if pinned else ():
        expected = pinned[target].get("sha256")  # type: ignore[index]
        if expected and infos[target].sha256 != expected:
            raise RetainError(
                f"The {target} model's files changed since `retain serve` pinned them "
                f"(SHA-256 {infos[target].sha256} instead of {expected}); refusing to serve a "
                "different model from the other workers"
            )
    return ModelPair(
        churn=models["churn"],
        expansion=models["expansion"],
        churn_info=infos["churn"],
        expansion_info=infos["expansion"],
        churn_policy=policies["churn"],
        expansion_policy=policies["expansion"],
    )


def _iso_date(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    return None if pd.isna(stamp) else stamp.date().isoformat()


def score_frame(
    frame: pd.DataFrame,
    models: ModelPair,
    config: Config,
    *,
    with_reasons: bool = True,
) -> list[dict[str, Any]]:
    """One result per row of `frame` (a feature frame: account_id, as_of, segment, features).

    Reasons come from the exact contributions of each model's explanation; signals from the
    same row. Missing feature columns are missing (NaN), never zero.
    """
    if len(frame) == 0:
        return []
    frame = frame.reset_index(drop=True)
    from training.bands import band_of

    # Each model gets the frame its missing-value policy fills; reasons and signals read the
    # caller's own values (an imputed feature shows as not recorded, and is listed).
    churn_frame, churn_filled = models.churn_policy.impute(frame)
    expansion_frame, expansion_filled = models.expansion_policy.impute(frame)
    imputed = [sorted({*a, *b}) for a, b in zip(churn_filled, expansion_filled, strict=True)]
    if config.serving.missing_values == "reject" and any(imputed):
        raise _missing_values_error(frame, imputed)

    k = config.serving.top_k_reasons
    churn_reasons: Sequence[list[dict[str, Any]]]
    expansion_reasons: Sequence[list[dict[str, Any]]]
    n = len(frame)
    # Column arrays, not a reindexed copy or row dicts: a wide frame's per-row pandas access
    # costs more than the model on a one-account request.
    present = set(frame.columns)
    values = {name: frame[name].to_numpy() for name in models.feature_names if name in present}
    segment_values = frame["segment"].to_numpy() if "segment" in present else [None] * n
    peers = getattr(models.churn, "healthy_peers_", {})
    if with_reasons:
        # explain() computes the raw margin too: calibrate that instead of predicting again.
        explained = models.churn.explain(churn_frame)
        churn_p = models.churn.proba_from_margin(churn_frame, explained.raw_margin)[:, 1]
        churn_reasons = top_reasons(
            explained.contributions, values, k=k, segments=segment_values, peers=peers
        )
        gaps = data_gaps(explained.contributions, values)
        explained = models.expansion.explain(expansion_frame)
        expansion_p = models.expansion.proba_from_margin(expansion_frame, explained.raw_margin)[
            :, 1
        ]
        expansion_reasons = top_reasons(
            explained.contributions,
            values,
            k=k,
            directions=("raises",),
            segments=segment_values,
            peers=peers,
        )
        context = context_of(values, n)
    else:
        churn_p = models.churn.predict_proba(churn_frame)[:, 1]
        expansion_p = models.expansion.predict_proba(expansion_frame)[:, 1]
        churn_reasons = expansion_reasons = context = [[] for _ in range(n)]
        gaps = [[] for _ in range(n)]
    renewal_dates, window_ends = _risk_dates(frame, config)
    bands = band_of(churn_p, models.bands)
    signal_columns = {name: frame[name].to_numpy() for name in SIGNAL_FEATURES if name in present}
    account_ids = frame["account_id"].to_numpy()
    as_ofs = frame["as_of"].to_numpy() if "as_of" in present else [None] * n
    segments = segment_values
    known_segments = models.known_segments
    results = []
    for i in range(n):
        segment = segments[i]
        segment = None if segment is None or pd.isna(segment) else str(segment)
        results.append(
            {
                "account_id": str(account_ids[i]),
                "as_of": _iso_date(as_ofs[i]),
                "segment": segment,
                # A segment the models were not fitted on (or none) is scored by the global
                # booster and calibration: say so rather than pass it off as a segment score.
                "segment_unknown": segment not in known_segments,
                "imputed_features": imputed[i],
                "churn_probability": float(churn_p[i]),
                "expansion_probability": float(expansion_p[i]),
                "health_band": str(bands[i]),
                # The date the renewal risk refers to: the next renewal, or as_of + the
                # minimum risk window when that comes sooner.
                "renewal_date": _iso_date(renewal_dates[i]),
                "churn_window_end": _iso_date(window_ends[i]),
                "reasons": churn_reasons[i],
                "expansion_reasons": expansion_reasons[i],
                "context": context[i],
                "data_gaps": gaps[i],
                "signals": signals_of({k: v[i] for k, v in signal_columns.items()}, config),
            }
        )
    return results


def _risk_dates(frame: pd.DataFrame, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """(renewal_date, churn_window_end) per row; the window end derived when not given:
    T = max(renewal date, as_of + min_risk_days), as the label defines it."""
    n = len(frame)
    renewal = pd.to_datetime(frame.get("renewal_date", pd.Series([pd.NaT] * n)))
    if "churn_window_end" in frame.columns:
        return renewal.to_numpy(), pd.to_datetime(frame["churn_window_end"]).to_numpy()
    as_of = pd.to_datetime(frame.get("as_of", pd.Series([pd.NaT] * n)))
    shortest = as_of + pd.Timedelta(days=config.labels.min_risk_days)
    window_end = renewal.where(renewal > shortest, shortest)
    window_end = window_end.where(renewal.notna() & as_of.notna())
    return renewal.to_numpy(), window_end.to_numpy()


def _missing_values_error(frame: pd.DataFrame, imputed: list[list[str]]) -> MissingValuesError:
    rows = [i for i, names in enumerate(imputed) if names]
    counts: dict[str, int] = {}
    for i in rows:
        for name in imputed[i]:
            counts[name] = counts.get(name, 0) + 1
    worst = sorted(counts, key=lambda name: (-counts[name], name))
    example = str(frame["account_id"].iloc[rows[0]]) if "account_id" in frame else str(rows[0])
    listed = ", ".join(f"{name} ({counts[name]} rows)" for name in worst[:5])
    return MissingValuesError(
        f"{len(rows)} of {len(frame)} accounts lack features the model has no missing branch "
        f"for: {listed}{' ...' if len(worst) > 5 else ''} (example account {example}); "
        'serving.missing_values = "reject" refuses to impute them (set it to "impute" to use '
        "the segment's training median)",
        imputed,
    )


def frame_from_features(accounts: Sequence[dict[str, Any]], models: ModelPair) -> pd.DataFrame:
    """A feature frame from caller-sent `{account_id, segment, as_of?, features}` records.

    Every feature the models or the signals read becomes a column; a feature the caller did
    not send is NaN. Numeric features form one float64 block (even when every value is
    missing), so the model never sees an all-None object column and column access stays cheap.
    """
    names = models.feature_names
    names += [name for name in SIGNAL_FEATURES if name not in set(names)]
    categorical = categorical_features(models)
    numeric = [name for name in names if name not in categorical]
    block = np.full((len(accounts), len(numeric)), np.nan, dtype=np.float64)
    position = {name: j for j, name in enumerate(numeric)}
    texts: dict[str, list[Any]] = {
        name: [None] * len(accounts) for name in names if name in categorical
    }
    for i, account in enumerate(accounts):
        for name, value in (account.get("features") or {}).items():
            if value is None:
                continue
            if name in position:
                block[i, position[name]] = value
            elif name in texts:
                texts[name][i] = value
    identity = pd.DataFrame(
        {
            "account_id": [str(a["account_id"]) for a in accounts],
            "as_of": [a.get("as_of") for a in accounts],
            "segment": [a.get("segment") for a in accounts],
            # Not a feature: the date the renewal risk refers to is derived from it.
            "renewal_date": pd.to_datetime([a.get("renewal_date") for a in accounts]),
            # Not a feature either: the owner of the plays recommended on the result.
            "csm_id": pd.Series([a.get("csm_id") for a in accounts], dtype=object),
        }
    )
    parts = [identity, pd.DataFrame(block, columns=numeric)]
    if texts:
        parts.append(pd.DataFrame({name: pd.Series(v, dtype=object) for name, v in texts.items()}))
    return pd.concat(parts, axis=1)


def categorical_features(models: ModelPair) -> set[str]:
    """Features either model reads as categories (text), from their saved design."""
    names: set[str] = set()
    for model in (models.churn, models.expansion):
        design = getattr(model, "design_", None)
        names |= set(getattr(design, "categories", {}) or {})
    return names
