"""Turn a feature frame into the numeric matrix a model was trained on.

The feature list, its order and the levels of every categorical column are part of the model:
`DesignSpec.matrix` rebuilds exactly that layout from any frame, whatever its column order, with
NaN for a missing feature or an unseen level (never silently zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.frame import categorical_feature_columns, feature_columns
from retain.errors import RetainError


@dataclass(frozen=True)
class DesignSpec:
    feature_names: tuple[str, ...]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> DesignSpec:
        names = tuple(feature_columns(frame))
        if not names:
            raise RetainError(
                f"The feature frame has no feature columns (columns: {', '.join(frame.columns)})"
            )
        categorical = categorical_feature_columns(frame)
        categories = {
            column: tuple(sorted(str(v) for v in frame[column].dropna().unique()))
            for column in categorical
        }
        return cls(feature_names=names, categories=categories)

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, name in enumerate(self.feature_names) if name in self.categories]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Float64 matrix in the model's feature order; categoricals as level codes."""
        out = np.full((len(frame), len(self.feature_names)), np.nan, dtype=np.float64)
        # Float64 columns go in one block copy: column by column costs ~1 ms each, which is most
        # of an on-demand /score request.
        floats = [
            (i, name)
            for i, name in enumerate(self.feature_names)
            if name in frame.columns
            and name not in self.categories
            and frame[name].dtype == np.float64
        ]
        if floats:
            indices, names = zip(*floats, strict=True)
            out[:, list(indices)] = frame[list(names)].to_numpy(dtype=np.float64)
        done = {name for _, name in floats}
        for i, name in enumerate(self.feature_names):
            if name not in frame.columns or name in done:
                continue
            column = frame[name]
            if name in self.categories:
                levels = pd.Index(self.categories[name])
                codes = levels.get_indexer(column.astype("string").fillna("\0missing"))
                out[:, i] = np.where(codes >= 0, codes, np.nan)
            else:
                out[:, i] = _numeric(column, name)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "feature_names": list(self.feature_names),
            "categories": {k: list(v) for k, v in self.categories.items()},
        }

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> DesignSpec:
        return cls(
            feature_names=tuple(payload["feature_names"]),
            categories={k: tuple(v) for k, v in payload["categories"].items()},
        )


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column):
        return column.astype("float64").to_numpy()
    converted = pd.to_numeric(column, errors="coerce")
    bad = converted.isna() & column.notna()
    if bad.any():
        example = column[bad].iloc[0]
        raise RetainError(
            f"Feature column {name!r} should be numeric but {int(bad.sum())} row(s) are not "
            f"(example: {example!r})"
        )
    return converted.astype("float64").to_numpy()


def labels_array(y: Any, target: str) -> np.ndarray:
    """0/1 labels as int; NaN (a censored outcome) is an error, not a negative."""
    values = pd.to_numeric(pd.Series(np.asarray(y, dtype=object)), errors="coerce").to_numpy(float)
    missing = np.isnan(values)
    if missing.any():
        raise RetainError(
            f"{int(missing.sum())} row(s) of the {target!r} labels are missing (censored); "
            "select rows with training.labelled_rows(frame, target) first"
        )
    if not np.isin(values, (0.0, 1.0)).all():
        bad = values[~np.isin(values, (0.0, 1.0))][0]
        raise RetainError(f"The {target!r} labels must be 0 or 1 (found {bad!r})")
    return values.astype(np.int64)
