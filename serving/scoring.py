"""Score a feature frame: probabilities, health band, reasons and signals per snapshot.

Plain functions over a loaded model pair; the batch scorer, the HTTP service and the account
review all call these, so every surface gives the same answer for the same snapshot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.frame import TARGETS
from retain.config import Config
from retain.errors import RetainError
from serving.reasons import top_reasons
from serving.signals import SIGNAL_FEATURES, signals_of

if TYPE_CHECKING:
    from training.segmented import SegmentedModel


@dataclass(frozen=True)
class ModelInfo:
    """Which model answered: the registry name, its version and the alias it was loaded by."""

    name: str
    version: str
    alias: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "alias": self.alias}


@dataclass(frozen=True)
class ModelPair:
    churn: SegmentedModel
    expansion: SegmentedModel
    churn_info: ModelInfo
    expansion_info: ModelInfo

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


def _folder_digest(folder: Path) -> str:
    """A content hash of a saved model folder: the version of a model that has no registry."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def save_model_pair(churn: SegmentedModel, expansion: SegmentedModel, folder: Path) -> Path:
    """Save both models in the layout `load_model_pair(model_path=...)` reads."""
    folder = Path(folder)
    churn.save(folder / "churn")
    expansion.save(folder / "expansion")
    return folder


def load_model_pair(config: Config) -> ModelPair:
    """The models to serve: `serving.model_path` when set, else the registry alias.

    The registry falls back from `champion` to `challenger` (training.registry); LightGBM text
    models plus JSON are read, never a pickle.
    """
    from training.segmented import SegmentedModel

    models: dict[str, SegmentedModel] = {}
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
            )
    else:
        from training.registry import load_registered

        for target in TARGETS:
            model, ref = load_registered(target, config.serving.model_alias, config)
            models[target] = model
            infos[target] = ModelInfo(
                name=str(ref.name),
                version=str(ref.version),
                alias=str(ref.alias or config.serving.model_alias),
            )
    return ModelPair(
        churn=models["churn"],
        expansion=models["expansion"],
        churn_info=infos["churn"],
        expansion_info=infos["expansion"],
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

    k = config.serving.top_k_reasons
    churn_reasons: Sequence[list[dict[str, Any]]]
    expansion_reasons: Sequence[list[dict[str, Any]]]
    n = len(frame)
    # Column arrays, not a reindexed copy or row dicts: a wide frame's per-row pandas access
    # costs more than the model on a one-account request.
    present = set(frame.columns)
    values = {name: frame[name].to_numpy() for name in models.feature_names if name in present}
    if with_reasons:
        # explain() computes the raw margin too: calibrate that instead of predicting again.
        explained = models.churn.explain(frame)
        churn_p = models.churn.proba_from_margin(frame, explained.raw_margin)[:, 1]
        churn_reasons = top_reasons(explained.contributions, values, k=k)
        explained = models.expansion.explain(frame)
        expansion_p = models.expansion.proba_from_margin(frame, explained.raw_margin)[:, 1]
        expansion_reasons = top_reasons(
            explained.contributions, values, k=k, directions=("raises",)
        )
    else:
        churn_p = models.churn.predict_proba(frame)[:, 1]
        expansion_p = models.expansion.predict_proba(frame)[:, 1]
        churn_reasons = expansion_reasons = [[] for _ in range(n)]
    bands = band_of(churn_p, models.bands)
    signal_columns = {name: frame[name].to_numpy() for name in SIGNAL_FEATURES if name in present}
    account_ids = frame["account_id"].to_numpy()
    as_ofs = frame["as_of"].to_numpy() if "as_of" in present else [None] * n
    segments = frame["segment"].to_numpy() if "segment" in present else [None] * n
    results = []
    for i in range(n):
        segment = segments[i]
        results.append(
            {
                "account_id": str(account_ids[i]),
                "as_of": _iso_date(as_ofs[i]),
                "segment": None if segment is None or pd.isna(segment) else str(segment),
                "churn_probability": float(churn_p[i]),
                "expansion_probability": float(expansion_p[i]),
                "health_band": str(bands[i]),
                "reasons": churn_reasons[i],
                "expansion_reasons": expansion_reasons[i],
                "signals": signals_of({k: v[i] for k, v in signal_columns.items()}, config),
            }
        )
    return results


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
