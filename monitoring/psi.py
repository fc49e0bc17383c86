"""Population stability index: the fast path that decides the exit code on the full data.

Reference bins are computed once from the reference window (quantile edges per numeric feature,
category levels per categorical feature); the current window is then only counted into them,
which is a `searchsorted` or a dictionary lookup per column. Missing values get a bin of their
own, so a jump in the share of nulls moves PSI as well as the separate null-share check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Empty bins would make ln(current / reference) infinite; smoothing both sides with a tiny share
# keeps PSI finite while a bin that appears from nothing still contributes a large amount.
EPSILON = 1e-4
OTHER = "__other__"


@dataclass(frozen=True)
class NumericBins:
    """Quantile edges of a numeric feature in the reference window.

    Bins: below the reference minimum, the minimum itself, then edges[i-1] < x <= edges[i], then
    above the reference maximum (so values outside the reference range show up), and NaN last.
    """

    edges: np.ndarray

    @classmethod
    def fit(cls, values: pd.Series, n_bins: int) -> NumericBins:
        return cls.from_sorted(_sorted_present(values)[0], n_bins)

    @classmethod
    def from_sorted(cls, present: np.ndarray, n_bins: int) -> NumericBins:
        if present.size == 0:
            return cls(edges=np.empty(0))
        # np.quantile's default (linear) rule, read off the sorted values without a second pass.
        positions = np.linspace(0.0, 1.0, n_bins + 1) * (present.size - 1)
        low = np.floor(positions).astype(int)
        high = np.minimum(low + 1, present.size - 1)
        fraction = positions - low
        quantiles = present[low] + fraction * (present[high] - present[low])
        return cls(edges=np.unique(quantiles))

    def counts(self, values: pd.Series) -> np.ndarray:
        return self.counts_sorted(*_sorted_present(values))

    def counts_sorted(self, present: np.ndarray, missing: int) -> np.ndarray:
        # Counting by binary search of the edges in sorted values: one sort per column is
        # cheaper than searching every value among the edges (the fast path's main cost).
        if self.edges.size == 0:
            return np.array([float(present.size), 0.0, float(missing)])
        at_most = np.searchsorted(present, self.edges, side="right")
        below = np.searchsorted(present, self.edges[:1], side="left")
        cumulative = np.concatenate([[0], below, at_most, [present.size]])
        return np.append(np.diff(cumulative), missing).astype(float)


@dataclass(frozen=True)
class CategoryLevels:
    """The category levels of the reference window; unseen levels count as `other`."""

    levels: tuple[str, ...]

    @classmethod
    def fit(cls, values: pd.Series) -> CategoryLevels:
        return cls(levels=tuple(sorted(_level_counts(values).index)))

    def counts(self, values: pd.Series) -> np.ndarray:
        level_counts = _level_counts(values)
        known = level_counts.reindex(list(self.levels), fill_value=0).to_numpy(dtype=float)
        other = float(level_counts.sum() - known.sum())
        return np.concatenate([known, [other, float(values.isna().sum())]])


@dataclass(frozen=True)
class FeaturePsi:
    """PSI of one feature, and the share of missing values on each side."""

    psi: float
    null_share_reference: float
    null_share_current: float


@dataclass(frozen=True)
class PsiReference:
    """Reference bins for every feature: fit once on the reference, apply to any current frame."""

    bins: dict[str, NumericBins | CategoryLevels]
    reference_counts: dict[str, np.ndarray]

    @classmethod
    def fit(
        cls,
        reference: pd.DataFrame,
        numeric: list[str],
        categorical: list[str],
        n_bins: int,
    ) -> PsiReference:
        bins: dict[str, NumericBins | CategoryLevels] = {}
        counts: dict[str, np.ndarray] = {}
        for name in numeric:
            present, missing = _sorted_present(_column(reference, name))
            numeric_bins = NumericBins.from_sorted(present, n_bins)
            bins[name] = numeric_bins
            counts[name] = numeric_bins.counts_sorted(present, missing)
        for name in categorical:
            levels = CategoryLevels.fit(_column(reference, name))
            bins[name] = levels
            counts[name] = levels.counts(_column(reference, name))
        return cls(bins=bins, reference_counts=counts)

    def compare(self, current: pd.DataFrame) -> dict[str, FeaturePsi]:
        result: dict[str, FeaturePsi] = {}
        for name, binning in self.bins.items():
            reference_counts = self.reference_counts[name]
            current_counts = binning.counts(_column(current, name))
            result[name] = FeaturePsi(
                psi=psi_from_counts(reference_counts, current_counts),
                null_share_reference=_share(reference_counts[-1], reference_counts.sum()),
                null_share_current=_share(current_counts[-1], current_counts.sum()),
            )
        return result


def psi_from_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """PSI = sum((c - r) * ln(c / r)) over bins, on smoothed shares; 0 for identical mixes."""
    reference_share = _smoothed_shares(reference_counts)
    current_share = _smoothed_shares(current_counts)
    value = float(
        np.sum((current_share - reference_share) * np.log(current_share / reference_share))
    )
    # Rounding noise of identical distributions must not read as a tiny negative drift.
    return max(value, 0.0)


def numeric_psi(reference: pd.Series, current: pd.Series, n_bins: int) -> float:
    """PSI of one numeric series against a reference series (used for score distributions)."""
    bins = NumericBins.fit(reference, n_bins)
    return psi_from_counts(bins.counts(reference), bins.counts(current))


def _smoothed_shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    shares = counts / total if total > 0 else np.zeros_like(counts)
    shares = np.clip(shares, EPSILON, None)
    return shares / shares.sum()


def _share(part: float, total: float) -> float:
    return float(part / total) if total > 0 else 0.0


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    # A feature absent from one window counts as entirely missing there (a schema change is drift).
    if name in frame.columns:
        return frame[name]
    return pd.Series(np.nan, index=frame.index, dtype=float)


def _sorted_present(values: pd.Series) -> tuple[np.ndarray, int]:
    array = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(array)
    present = array[~missing]
    present.sort()
    return present, int(missing.sum())


def _level_counts(values: pd.Series) -> pd.Series:
    counts = values.value_counts(dropna=True)
    # Levels are compared as text, so 1 and "1" (csv vs parquet) are the same level.
    counts.index = counts.index.map(str)
    if counts.index.has_duplicates:
        counts = counts.groupby(level=0).sum()
    return counts
