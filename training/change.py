"""Why a score moved: exact baseline Shapley values of a later row against an earlier one.

For an account scored at two dates the change in log-odds, f(new) - f(old), is split feature by
feature with the Shapley values of the game v(S) = f(new on S, old elsewhere): the single
reference point is the earlier row ("baseline Shapley"). They add up to the change exactly and
a feature whose value did not change gets exactly zero.

shap's interventional TreeSHAP refuses LightGBM's native categorical splits, so the recursion is
implemented here over `booster.dump_model()`: numerical thresholds, `default_left` with
`missing_type` (NaN, Zero or None: LightGBM's own rule for a missing value), and categorical
splits by their category sets. For one tree and one (x, r) pair every leaf is reached by the
coalitions S that hold A (the path features only x satisfies) and none of B (those only r
satisfies), and by none when a path feature is satisfied by neither; its value v then gives each
i in A `v (|A|-1)! |B|! / (|A|+|B|)!` and each j in B `-v |A|! (|B|-1)! / (|A|+|B|)!`. That is
evaluated for every leaf of every tree at once over rows (numpy), so a batch of accounts costs
about what one does.

SegmentedModel composes its raw margin from the global booster plus, for a refined segment, that
segment's booster (trained on the global score as LightGBM `init_score`), then calibrates per
segment: the log-odds explained are that raw margin, the sum of both ensembles' values. When the
model version or the segment changed between the dates, the move is split in two: "the account
changed" (the earlier model and segment on both rows, attributed feature by feature) and "the
model changed" (earlier vs current model on the new row). Probability points apportion each
part's calibrated change in proportion to its log-odds attributions.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retain.errors import RetainError

if TYPE_CHECKING:
    import lightgbm as lgb

    from training.missing_policy import MissingPolicy
    from training.segmented import SegmentedModel

_MISSING_TYPES = {"None": 0, "Zero": 1, "NaN": 2}
_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| <= this is zero for missing_type Zero
_CHUNK_CELLS = 4_000_000  # rows x leaves x depth per numpy step: bounded memory
_FACTORIAL = np.array([math.factorial(k) for k in range(64)], dtype=np.float64)


@dataclass(frozen=True)
class _Ensemble:
    """Every tree of a booster as flat arrays: its internal nodes and its leaves' paths."""

    n_features: int
    feature: np.ndarray  # per node: the feature index it splits on
    threshold: np.ndarray  # per node: numerical threshold (NaN for a categorical split)
    categorical: np.ndarray  # per node: True for a split by category set
    categories: dict[int, np.ndarray]  # categorical node -> categories going left
    default_left: np.ndarray
    missing: np.ndarray  # 0 None, 1 Zero, 2 NaN
    leaf_value: np.ndarray  # (L,)
    path_node: np.ndarray  # (L, D): nodes on the leaf's path, -1 padding
    path_left: np.ndarray  # (L, D): the direction the path takes there
    path_slot: np.ndarray  # (L, D): which distinct path feature the node tests, -1 padding
    slot_feature: np.ndarray  # (L, D): the feature of each slot, -1 padding
    constant: float  # single-leaf trees: the same value for every row


_CACHE: weakref.WeakKeyDictionary[Any, _Ensemble] = weakref.WeakKeyDictionary()


def parse_booster(booster: lgb.Booster) -> _Ensemble:
    """The booster's trees as `_Ensemble` (cached per booster object)."""
    cached = _CACHE.get(booster)
    if cached is not None:
        return cached
    dumped = booster.dump_model()
    if dumped.get("num_tree_per_iteration", 1) != 1:
        raise RetainError("Score-change attribution supports binary (one tree per round) models")
    if dumped.get("average_output"):
        raise RetainError(
            "Score-change attribution does not support averaged (random forest) output"
        )
    feature: list[int] = []
    threshold: list[float] = []
    categorical: list[bool] = []
    categories: dict[int, np.ndarray] = {}
    default_left: list[bool] = []
    missing: list[int] = []
    leaves: list[tuple[float, list[tuple[int, bool]]]] = []
    constant = 0.0
    for tree in dumped["tree_info"]:
        root = tree["tree_structure"]
        if "leaf_value" in root:
            constant += float(root["leaf_value"])
            continue
        stack: list[tuple[dict[str, Any], list[tuple[int, bool]]]] = [(root, [])]
        while stack:
            node, path = stack.pop()
            if "leaf_value" in node:
                leaves.append((float(node["leaf_value"]), path))
                continue
            index = len(feature)
            feature.append(int(node["split_feature"]))
            is_categorical = node["decision_type"] == "=="
            categorical.append(is_categorical)
            if is_categorical:
                threshold.append(np.nan)
                levels = [int(v) for v in str(node["threshold"]).split("||") if v != ""]
                categories[index] = np.array(sorted(levels), dtype=np.int64)
            else:
                threshold.append(float(node["threshold"]))
            default_left.append(bool(node.get("default_left", True)))
            missing.append(_MISSING_TYPES[str(node.get("missing_type", "None"))])
            stack.append((node["right_child"], [*path, (index, False)]))
            stack.append((node["left_child"], [*path, (index, True)]))
    depth = max((len(p) for _, p in leaves), default=1)
    n_leaves = len(leaves)
    path_node = np.full((n_leaves, depth), -1, dtype=np.int64)
    path_left = np.ones((n_leaves, depth), dtype=bool)
    path_slot = np.full((n_leaves, depth), -1, dtype=np.int64)
    slot_feature = np.full((n_leaves, depth), -1, dtype=np.int64)
    for leaf, (_, path) in enumerate(leaves):
        slots: dict[int, int] = {}
        for j, (node, left) in enumerate(path):
            f = feature[node]
            slot = slots.setdefault(f, len(slots))
            path_node[leaf, j] = node
            path_left[leaf, j] = left
            path_slot[leaf, j] = slot
            slot_feature[leaf, slot] = f
    ensemble = _Ensemble(
        n_features=int(dumped["max_feature_idx"]) + 1,
        feature=np.array(feature, dtype=np.int64),
        threshold=np.array(threshold, dtype=np.float64),
        categorical=np.array(categorical, dtype=bool),
        categories=categories,
        default_left=np.array(default_left, dtype=bool),
        missing=np.array(missing, dtype=np.int64),
        leaf_value=np.array([v for v, _ in leaves], dtype=np.float64),
        path_node=path_node,
        path_left=path_left,
        path_slot=path_slot,
        slot_feature=slot_feature,
        constant=constant,
    )
    _CACHE[booster] = ensemble
    return ensemble


def _goes_left(ensemble: _Ensemble, x: np.ndarray) -> np.ndarray:
    """(rows, nodes): whether each row goes left at each node, by LightGBM's decision rules."""
    values = x[:, ensemble.feature]
    nan = np.isnan(values)
    # Numerical: a NaN is 0.0 unless the split learned a NaN branch; the missing branch is taken
    # by NaN (missing_type NaN) or by zero (missing_type Zero); otherwise value <= threshold.
    numeric = np.where(nan & (ensemble.missing != 2), 0.0, values)
    is_missing = ((ensemble.missing == 1) & (np.abs(numeric) <= _ZERO)) | (
        (ensemble.missing == 2) & np.isnan(numeric)
    )
    with np.errstate(invalid="ignore"):
        left = np.where(is_missing, ensemble.default_left, numeric <= ensemble.threshold)
    # Categorical: NaN and negative values go right; a category in the split's set goes left.
    for node, levels in ensemble.categories.items():
        column = values[:, node]
        ok = ~np.isnan(column) & (column >= 0)
        codes = np.where(ok, column, -1).astype(np.int64)
        left[:, node] = ok & np.isin(codes, levels)
    return left


def tree_margin(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """The booster's raw score by walking the parsed trees (a check of the parse)."""
    ensemble = parse_booster(booster)
    left = _goes_left(ensemble, np.asarray(x, dtype=np.float64))
    pad = ensemble.path_node < 0
    on_path = left[:, np.where(pad, 0, ensemble.path_node)] == ensemble.path_left
    reached = np.all(on_path | pad, axis=2)
    return reached.astype(np.float64) @ ensemble.leaf_value + ensemble.constant


def baseline_shapley(booster: lgb.Booster, x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(rows, features): exact Shapley values of f(x) - f(reference) per row, the reference row
    being the single baseline (interventional with one background row)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    reference = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    if x.shape != reference.shape:
        raise RetainError(f"rows {x.shape} and reference rows {reference.shape} differ in shape")
    ensemble = parse_booster(booster)
    n = len(x)
    out = np.zeros((n, x.shape[1]), dtype=np.float64)
    if n == 0 or len(ensemble.leaf_value) == 0:
        return out
    x_left = _goes_left(ensemble, x)
    r_left = _goes_left(ensemble, reference)
    pad = ensemble.path_node < 0
    nodes = np.where(pad, 0, ensemble.path_node)
    n_leaves, depth = nodes.shape
    valid = ensemble.slot_feature >= 0
    # (leaf, slot) cells per feature. Each row's sum runs over its own cells in a fixed order,
    # so a row gets the same values alone or in a batch of any size (a matrix product would
    # not: BLAS picks its kernel, and so the rounding, by the batch's shape).
    flat_feature = ensemble.slot_feature.reshape(-1)
    groups = [
        (int(f), np.flatnonzero(flat_feature == f))
        for f in np.unique(flat_feature[flat_feature >= 0])
    ]
    chunk = max(1, _CHUNK_CELLS // max(1, n_leaves * depth))
    for start in range(0, n, chunk):
        rows = slice(start, start + chunk)
        x_on = (x_left[rows][:, nodes] == ensemble.path_left) | pad
        r_on = (r_left[rows][:, nodes] == ensemble.path_left) | pad
        # A path feature is satisfied by a row when every split on it along the path is.
        x_ok = np.empty(x_on.shape, dtype=bool)
        r_ok = np.empty(r_on.shape, dtype=bool)
        for slot in range(depth):
            other = ensemble.path_slot != slot
            x_ok[:, :, slot] = np.all(x_on | other, axis=2)
            r_ok[:, :, slot] = np.all(r_on | other, axis=2)
        only_x = x_ok & ~r_ok & valid
        only_r = ~x_ok & r_ok & valid
        dead = np.any(~x_ok & ~r_ok & valid, axis=2)
        a = only_x.sum(axis=2)
        b = only_r.sum(axis=2)
        total = _FACTORIAL[a + b]
        weight_x = np.where(a > 0, _FACTORIAL[np.maximum(a - 1, 0)] * _FACTORIAL[b] / total, 0.0)
        weight_r = np.where(b > 0, _FACTORIAL[a] * _FACTORIAL[np.maximum(b - 1, 0)] / total, 0.0)
        value = np.where(dead, 0.0, ensemble.leaf_value)
        cells = only_x * (value * weight_x)[:, :, None] - only_r * (value * weight_r)[:, :, None]
        flat = cells.reshape(cells.shape[0], -1)
        for f, cells_of_f in groups:
            out[rows, f] = flat[:, cells_of_f].sum(axis=1)
    return out


@dataclass(frozen=True)
class ScoreFunction:
    """A fitted SegmentedModel with the missing-value policy its scores are made with."""

    model: SegmentedModel
    policy: MissingPolicy | None = None

    def _filled(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame if self.policy is None else self.policy.impute(frame)[0]

    def score(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(raw margin, calibrated probability, design matrix) of each row."""
        from training import _booster

        filled = self._filled(frame)
        matrix = self.model.design_.matrix(filled)
        # SegmentedModel.raw_margin's sum, in its order, on the matrix built once here.
        segments = _segments(filled)
        margin = _booster.raw_margin(self.model.global_booster_, matrix)
        for segment in np.unique(segments):
            parts = self.boosters(str(segment))
            if parts == [self.model.global_booster_]:
                continue
            rows = segments == segment
            own = _booster.raw_margin(parts[-1], matrix[rows])
            margin[rows] = margin[rows] + own if len(parts) == 2 else own
        probability = self.model.proba_from_margin(filled, margin)[:, 1]
        return margin, probability, matrix

    def boosters(self, segment: str) -> list[lgb.Booster]:
        """The ensembles whose raw scores add up to the margin of a row of `segment`."""
        model = self.model
        own = model.boosters_.get(segment)
        if own is None:
            return [model.global_booster_]
        if model.segment_strategy_.get(segment) == "own":
            return [own]  # models saved before refinement: a standalone segment booster
        return [model.global_booster_, own]


@dataclass(frozen=True)
class ChangeAttribution:
    """Why each row's score moved from `before` to `after` (one row per account).

    `contributions` (log-odds, rows x features) explain the account part exactly:
    `contributions.sum(axis=1) == account_margin` (within float rounding). `margin_after -
    margin_before == account_margin + model_margin`. `points` apportion `account_probability`
    (calibrated) over the features in proportion to `contributions`; `model_probability` is the
    rest of the calibrated change. `reference` says which model explains the account part.
    """

    features: list[str]
    contributions: pd.DataFrame
    points: pd.DataFrame
    margin_before: np.ndarray
    margin_after: np.ndarray
    probability_before: np.ndarray
    probability_after: np.ndarray
    account_margin: np.ndarray
    account_probability: np.ndarray
    model_margin: np.ndarray
    model_probability: np.ndarray
    model_changed: np.ndarray
    segment_changed: np.ndarray
    reference: str

    @property
    def additivity_error(self) -> np.ndarray:
        """|sum of contributions - the account part of the log-odds change| per row."""
        return np.abs(self.contributions.to_numpy().sum(axis=1) - self.account_margin)


def _segments(frame: pd.DataFrame) -> np.ndarray:
    from training.segmented import segments_of

    return segments_of(frame)


def _attribute(
    function: ScoreFunction, x: np.ndarray, reference: np.ndarray, segments: np.ndarray
) -> np.ndarray:
    out = np.zeros_like(x)
    for segment in np.unique(segments):
        rows = segments == segment
        for booster in function.boosters(str(segment)):
            out[rows] += baseline_shapley(booster, x[rows], reference[rows])
    return out


def explain_change(
    before_rows: pd.DataFrame,
    after_rows: pd.DataFrame,
    after: ScoreFunction,
    before: ScoreFunction | None = None,
    *,
    version_changed: bool | Sequence[bool] = False,
    before_margin: Sequence[float] | None = None,
    before_probability: Sequence[float] | None = None,
) -> ChangeAttribution:
    """Attribute each row's move from `before_rows` (scored by `before`) to the same position
    of `after_rows` (scored by `after`).

    With `before` (the earlier model) the account part is the earlier model, with the earlier
    segment, on both rows; the model part is the current model on the new row minus the earlier
    model on it. Without it (the earlier model is no longer at hand) the account part uses the
    current model on both rows and the model part is the rest, from the recorded
    `before_margin` and `before_probability`.
    """
    if len(before_rows) != len(after_rows):
        raise RetainError(f"{len(before_rows)} earlier rows but {len(after_rows)} later rows")
    before_rows = before_rows.reset_index(drop=True)
    after_rows = after_rows.reset_index(drop=True)
    n = len(after_rows)
    old_segments = _segments(before_rows)
    new_segments = _segments(after_rows)
    segment_changed = old_segments != new_segments
    versions = np.broadcast_to(np.asarray(version_changed, dtype=bool), (n,)).copy()
    margin_after, probability_after, _ = after.score(after_rows)
    if before is not None:
        reference = before
        held = after_rows.assign(segment=before_rows["segment"].to_numpy())
        margin_before, probability_before, old_x = before.score(before_rows)
        margin_between, probability_between, new_x = before.score(held)
        contributions = _attribute(before, new_x, old_x, old_segments)
        account_margin = margin_between - margin_before
        account_probability = probability_between - probability_before
        description = "the earlier model on both rows"
    else:
        if before_margin is None or before_probability is None:
            raise RetainError(
                "Without the earlier model, its recorded margin and probability are needed"
            )
        reference = after
        held = before_rows.assign(segment=after_rows["segment"].to_numpy())
        margin_between, probability_between, old_x = after.score(held)
        _, _, new_x = after.score(after_rows)
        contributions = _attribute(after, new_x, old_x, new_segments)
        margin_before = np.asarray(before_margin, dtype=np.float64)
        probability_before = np.asarray(before_probability, dtype=np.float64)
        account_margin = margin_after - margin_between
        account_probability = probability_after - probability_between
        description = "the current model on both rows (the earlier model is not at hand)"
    changed = versions | segment_changed
    if before is not None and not changed.any():
        # One function on both dates: the model part is zero by construction.
        margin_after, probability_after = margin_between, probability_between
    model_margin = (margin_after - margin_before) - account_margin
    model_probability = (probability_after - probability_before) - account_probability
    model_margin = np.where(changed, model_margin, 0.0)
    model_probability = np.where(changed, model_probability, 0.0)
    names = list(reference.model.feature_names_)
    total = contributions.sum(axis=1)
    share = np.divide(
        contributions,
        total[:, None],
        out=np.zeros_like(contributions),
        where=np.abs(total)[:, None] > 1e-12,
    )
    return ChangeAttribution(
        features=names,
        contributions=pd.DataFrame(contributions, columns=names),
        points=pd.DataFrame(share * account_probability[:, None], columns=names),
        margin_before=margin_before,
        margin_after=margin_after,
        probability_before=probability_before,
        probability_after=probability_after,
        account_margin=account_margin,
        account_probability=account_probability,
        model_margin=model_margin,
        model_probability=model_probability,
        model_changed=changed,
        segment_changed=segment_changed,
        reference=description,
    )
