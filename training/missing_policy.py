"""What a model does with a missing feature value, recorded at training, saved beside the model.

LightGBM learns a branch for missing values only for a feature that had missing values in its
training rows (`missing_type=NaN` in the booster's splits). For every other numeric feature it
turns a missing value into 0 and sends it down the zero branch (`missing_type=None`), so a
missing `active_users_28d` would score exactly like an account with no active users at all.

`MissingPolicy.from_model(model, frame)` reads each booster's splits and the training rows:

- a feature that the booster of a segment splits on with a learned missing branch stays missing;
- a numeric feature that the booster splits on without one is imputed with the segment's
  training median (all training rows for segments the model did not see, the global median for
  a segment that has no value of the feature);
- a feature the booster never splits on cannot change the score, missing or not.

Categorical features are never imputed: LightGBM sends a missing category down the same branch
as a level never seen in training, not the branch of any known level.

The policy is plain JSON (`missing_policy.json` in the model's folder), read back with
`MissingPolicy.load`; `impute(frame)` applies it and says which features of which rows it filled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retain.errors import RetainError
from retain.files import write_json

if TYPE_CHECKING:
    import lightgbm as lgb

    from training.segmented import SegmentedModel

POLICY_FILE = "missing_policy.json"
FORMAT_VERSION = 1
# The key of the global booster and of every segment the model did not see at fit time.
GLOBAL = "__global__"


def split_missing_types(booster: lgb.Booster) -> dict[str, set[str]]:
    """Feature name -> the `missing_type`s of every split the booster makes on it."""
    dumped = booster.dump_model()
    names = dumped["feature_names"]
    found: dict[str, set[str]] = {}
    stack = [tree["tree_structure"] for tree in dumped["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" not in node:
            continue
        found.setdefault(names[node["split_feature"]], set()).add(str(node["missing_type"]))
        stack += [node["left_child"], node["right_child"]]
    return found


def _zero_branch_features(booster: lgb.Booster, categorical: Iterable[str]) -> list[str]:
    """Numeric features some split of `booster` treats missing as zero (no learned branch)."""
    skip = set(categorical)
    return sorted(
        name
        for name, types in split_missing_types(booster).items()
        if name not in skip and types != {"NaN"}
    )


def _segment_keys(frame: pd.DataFrame) -> np.ndarray:
    """`training.segmented.segments_of` without its pandas string casts (10x faster on the
    one-row frames of /score): the segment as text, "(none)" when missing."""
    if "segment" not in frame.columns:
        return np.full(len(frame), "(none)", dtype=object)
    return np.array(
        ["(none)" if value is None or pd.isna(value) else str(value) for value in frame["segment"]],
        dtype=object,
    )


@dataclass(frozen=True)
class MissingPolicy:
    """Per segment key (a fitted segment or GLOBAL): the features to impute and their medians."""

    target: str
    impute_values: dict[str, dict[str, float]] = field(default_factory=dict)
    # Features the segment's booster splits on with a learned missing branch (for /metadata).
    learned_missing: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_model(cls, model: SegmentedModel, frame: pd.DataFrame) -> MissingPolicy:
        """The policy of a fitted `model` from its training rows `frame` (rows on or after the
        model's validation start are left out when the frame holds them)."""
        from training.segmented import segments_of

        rows = frame
        valid_from = (getattr(model, "data_window_", None) or {}).get("valid_from")
        if valid_from and "as_of" in frame.columns:
            before = pd.to_datetime(frame["as_of"]) < pd.Timestamp(valid_from)
            if before.any():
                rows = frame[before.to_numpy()]
        categorical = set(model.categories_)
        segments = segments_of(rows)
        keys = [GLOBAL, *model.segments_]
        impute: dict[str, dict[str, float]] = {}
        learned: dict[str, list[str]] = {}
        global_medians: dict[str, float] = {}
        for key in keys:
            booster = model.boosters_.get(key, model.global_booster_)
            types = split_missing_types(booster)
            learned[key] = sorted(n for n, t in types.items() if t == {"NaN"})
            names = _zero_branch_features(booster, categorical)
            missing = [n for n in names if n not in rows.columns]
            if missing:
                raise RetainError(
                    f"Cannot record the missing-value policy of the {model.target} model: the "
                    f"training frame ({len(rows)} rows) lacks column(s) {', '.join(missing[:5])}"
                )
            in_key = np.ones(len(rows), dtype=bool) if key == GLOBAL else segments == key
            values: dict[str, float] = {}
            for name in names:
                column = pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=np.float64)
                median = np.nanmedian(column[in_key]) if np.isfinite(column[in_key]).any() else None
                if median is None:
                    median = global_medians.get(name)
                if median is None:
                    median = float(np.nanmedian(column)) if np.isfinite(column).any() else 0.0
                values[name] = float(median)
            if key == GLOBAL:
                global_medians = dict(values)
            impute[key] = values
        return cls(target=model.target, impute_values=impute, learned_missing=learned)

    # -- applying -------------------------------------------------------------------------------

    def values_for(self, segment: str) -> dict[str, float]:
        """Feature -> median to fill for a row of `segment` (GLOBAL's for an unseen segment)."""
        return self.impute_values.get(segment, self.impute_values.get(GLOBAL, {}))

    def impute(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[list[str]]]:
        """A copy of `frame` with the policy's medians filled in, and the filled names per row
        (`frame` itself when nothing is missing). One pass over the columns concerned: it runs
        on every /score request."""
        n = len(frame)
        filled: list[list[str]] = [[] for _ in range(n)]
        if n == 0:
            return frame, filled
        segments = _segment_keys(frame)
        groups = [(str(s), segments == s) for s in np.unique(segments)]
        needed = sorted({name for segment, _ in groups for name in self.values_for(segment)})
        columns: dict[str, np.ndarray] = {}
        for name in needed:
            if name not in frame.columns:
                columns[name] = np.full(n, np.nan)
            elif frame[name].dtype == np.float64:
                columns[name] = frame[name].to_numpy(dtype=np.float64, copy=True)
            else:
                converted = pd.to_numeric(frame[name], errors="coerce")
                columns[name] = converted.to_numpy(dtype=np.float64, na_value=np.nan)
        changed: list[str] = []
        for segment, rows in groups:
            for name, median in self.values_for(segment).items():
                column = columns[name]
                holes = rows & np.isnan(column)
                if holes.any():
                    column[holes] = median
                    if name not in changed:
                        changed.append(name)
                    for i in np.flatnonzero(holes):
                        filled[i].append(name)
        filled = [sorted(names) for names in filled]
        if not changed:
            return frame, filled
        out = frame.copy()
        floats = [c for c in changed if c in out.columns and out[c].dtype == np.float64]
        if floats:
            # One block assignment: column by column costs ~50 us a column.
            positions = [out.columns.get_loc(c) for c in floats]
            out.iloc[:, positions] = np.column_stack([columns[c] for c in floats])
        for name in changed:
            if name not in floats:
                out[name] = columns[name]
        return out, filled

    # -- persistence ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "retain.MissingPolicy",
            "target": self.target,
            "impute_values": self.impute_values,
            "learned_missing": self.learned_missing,
        }

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> MissingPolicy:
        if payload.get("format_version") != FORMAT_VERSION:
            raise RetainError(
                f"Missing-value policy format {payload.get('format_version')!r}; this version "
                f"of retain reads format {FORMAT_VERSION}"
            )
        return cls(
            target=str(payload["target"]),
            impute_values={
                k: {n: float(v) for n, v in values.items()}
                for k, values in payload["impute_values"].items()
            },
            learned_missing={k: list(v) for k, v in payload.get("learned_missing", {}).items()},
        )

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / POLICY_FILE
        write_json(path, self.to_json())
        return path

    @classmethod
    def load(cls, directory: str | Path) -> MissingPolicy:
        path = Path(directory) / POLICY_FILE
        if not path.is_file():
            raise RetainError(
                f"No missing-value policy in {directory} (missing {POLICY_FILE}); the model was "
                "saved by an older retain: register or save it again"
            )
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
