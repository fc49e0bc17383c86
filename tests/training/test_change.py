"""Exact score-change attribution: the tree recursion against LightGBM, brute force and shap."""

from __future__ import annotations

import itertools
import math

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from training.change import (
    ScoreFunction,
    baseline_shapley,
    explain_change,
    tree_margin,
)
from training.segmented import SegmentedModel


def _booster(x, y, categorical=(), rounds=8, **params) -> lgb.Booster:
    settings = {
        "objective": "binary",
        "num_leaves": 6,
        "min_data_in_leaf": 5,
        "min_data_per_group": 5,
        "cat_smooth": 1.0,
        "max_cat_to_onehot": 1,  # category-set splits, not one-vs-rest
        "verbosity": -1,
        "seed": 0,
        "deterministic": True,
        **params,
    }
    data = lgb.Dataset(x, label=y, categorical_feature=list(categorical) or "auto")
    return lgb.train(settings, data, num_boost_round=rounds)


def _mixed_data(seed: int = 0, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Two categorical columns (codes 0-5 and 0-3), three numeric, NaN in several."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.integers(0, 6, n).astype(float),
            rng.normal(size=n),
            rng.integers(0, 4, n).astype(float),
            rng.exponential(size=n),
            rng.normal(size=n),
        ]
    )
    x[rng.random(n) < 0.1, 1] = np.nan
    x[rng.random(n) < 0.1, 0] = np.nan
    x[rng.random(n) < 0.1, 2] = np.nan
    logit = np.isin(x[:, 0], (1, 3, 4)) * 1.5 + np.nan_to_num(x[:, 1]) - (x[:, 2] == 2) + x[:, 3]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit + 1.5))).astype(int)
    return x, y


def _decision_types(booster: lgb.Booster) -> set[str]:
    found: set[str] = set()
    stack = [tree["tree_structure"] for tree in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "decision_type" in node:
            found.add(node["decision_type"])
            stack += [node["left_child"], node["right_child"]]
    return found


def _brute_force(booster: lgb.Booster, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Shapley values of v(S) = f(x on S, r elsewhere) by enumerating every coalition, each
    value predicted by LightGBM itself."""
    k = len(x)
    masks = np.array(list(itertools.product([0, 1], repeat=k)), dtype=bool)
    hybrids = np.where(masks, x, r)
    values = dict(zip(map(tuple, masks), booster.predict(hybrids, raw_score=True), strict=True))
    phi = np.zeros(k)
    for i in range(k):
        for mask in masks:
            if mask[i]:
                continue
            with_i = mask.copy()
            with_i[i] = True
            size = int(mask.sum())
            weight = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            phi[i] += weight * (values[tuple(with_i)] - values[tuple(mask)])
    return phi


def test_parsed_trees_score_exactly_as_lightgbm_with_categories_and_missing() -> None:
    x, y = _mixed_data()
    booster = _booster(x, y, categorical=(0, 2), rounds=20)
    assert "==" in _decision_types(booster), "no category-set split: the test means nothing"
    probe = _mixed_data(seed=1, n=300)[0]
    probe[:5, 3] = np.nan  # never missing in training: missing_type None sends NaN as 0.0
    probe[5:8, 0] = 7.0  # a category never seen in training
    probe[8:10, 0] = -1.0  # a negative code goes right
    assert np.allclose(tree_margin(booster, probe), booster.predict(probe, raw_score=True))


def test_zero_as_missing_splits_follow_lightgbm() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 2))
    x[rng.random(500) < 0.3, 0] = 0.0
    y = ((x[:, 0] == 0) | (x[:, 1] > 0.5)).astype(int)
    booster = _booster(x, y, zero_as_missing=True)
    probe = np.vstack([x[:50], [[0.0, 0.1], [np.nan, 0.1], [1e-40, 0.1]]])
    assert np.allclose(tree_margin(booster, probe), booster.predict(probe, raw_score=True))


def test_attributions_equal_brute_force_shapley_on_categorical_trees() -> None:
    x, y = _mixed_data()
    booster = _booster(x, y, categorical=(0, 2), rounds=6)
    assert "==" in _decision_types(booster)
    rows = _mixed_data(seed=5, n=12)[0]
    new, old = rows[:6], rows[6:]
    old[0] = new[0]  # an unchanged row
    old[1, [1, 3]] = new[1, [1, 3]]  # two unchanged features
    old[2, 0] = new[2, 0] = np.nan  # missing at both dates: unchanged
    phi = baseline_shapley(booster, new, old)
    for i in range(len(new)):
        assert np.allclose(phi[i], _brute_force(booster, new[i], old[i]), atol=1e-12)
    change = booster.predict(new, raw_score=True) - booster.predict(old, raw_score=True)
    assert np.max(np.abs(phi.sum(axis=1) - change)) < 1e-9
    assert np.all(phi[0] == 0.0)
    assert phi[1, 1] == 0.0 and phi[1, 3] == 0.0
    assert phi[2, 0] == 0.0


def test_hand_worked_single_tree() -> None:
    # One stump-like tree learnt on a literal table: f0 <= 0.5 splits, then f1 by category.
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 25)
    y = np.array([0, 0, 0, 1] * 25)
    booster = _booster(x, y, categorical=(1,), rounds=1, num_leaves=3, learning_rate=1.0)
    x_new, x_old = np.array([[1.0, 1.0]]), np.array([[0.0, 0.0]])
    leaf = {
        tuple(row): value
        for row, value in zip(x[:4].tolist(), booster.predict(x[:4], raw_score=True), strict=True)
    }
    # v(both) - v(none) split by the two orders: each feature gets the average of its
    # marginal contributions (hand-derived for two players).
    v11, v00, v10, v01 = leaf[(1.0, 1.0)], leaf[(0.0, 0.0)], leaf[(1.0, 0.0)], leaf[(0.0, 1.0)]
    expected = [0.5 * ((v10 - v00) + (v11 - v01)), 0.5 * ((v01 - v00) + (v11 - v10))]
    assert np.allclose(baseline_shapley(booster, x_new, x_old)[0], expected, atol=1e-12)


def test_matches_shap_interventional_on_a_numeric_model() -> None:
    shap = pytest.importorskip("shap")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(800, 5))
    x[rng.random(800) < 0.1, 2] = np.nan
    y = (x[:, 0] + x[:, 1] * x[:, 3] + rng.normal(size=800) > 0).astype(int)
    booster = _booster(x, y, rounds=30, num_leaves=8)
    reference = x[:1]
    rows = x[1:21]
    explainer = shap.TreeExplainer(
        booster, data=reference, feature_perturbation="interventional", model_output="raw"
    )
    expected = explainer.shap_values(rows)
    phi = baseline_shapley(booster, rows, np.repeat(reference, len(rows), axis=0))
    assert np.max(np.abs(phi - expected)) < 1e-6


@pytest.fixture(scope="module")
def segmented(frame: pd.DataFrame) -> pd.DataFrame:
    """The shared frame with a churn that depends on onboarding in opposite directions by
    segment: the global booster cannot see it, so every segment keeps its refinement."""
    rng = np.random.default_rng(1)
    sign = np.where(frame["segment"] == "SMB", 1.0, -1.0)
    logit = sign * (frame["onboarding_completion_pct"].to_numpy() - 50) / 5
    churn = (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(float)
    return frame.assign(churn=churn)


@pytest.fixture(scope="module")
def two_models(segmented: pd.DataFrame, config):
    """Two fitted versions of the churn model (different boosting settings), refined."""
    frame = segmented
    first = SegmentedModel(target="churn", config=config).fit(frame, frame["churn"])
    second = SegmentedModel(
        target="churn", config=config, booster_params={"num_leaves": 4, "learning_rate": 0.1}
    ).fit(frame, frame["churn"])
    assert set(first.segment_strategy_.values()) == {"refined"}
    return first, second


def _pair(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    dates = sorted(frame["as_of"].unique())
    before = frame[frame["as_of"] == dates[-2]].head(40).reset_index(drop=True)
    after = frame[frame["as_of"] == dates[-1]].head(40).reset_index(drop=True)
    return before, after


def test_same_model_explains_the_whole_move(segmented: pd.DataFrame, two_models) -> None:
    # The margin of a refined segment is global + refinement: both ensembles are attributed.
    model = two_models[0]
    before, after = _pair(segmented)
    after.loc[0, after.columns[after.columns.get_loc("segment") + 1 :]] = before.iloc[0][
        after.columns[after.columns.get_loc("segment") + 1 :]
    ]  # account 0 did not change at all
    function = ScoreFunction(model)
    change = explain_change(before, after, function, function)
    total = model.raw_margin(after) - model.raw_margin(before)
    assert np.max(np.abs(change.contributions.sum(axis=1) - total)) < 1e-6
    assert np.max(change.additivity_error) < 1e-6
    assert np.all(change.model_margin == 0.0) and not change.model_changed.any()
    assert np.all(change.contributions.iloc[0] == 0.0)
    p = model.predict_proba(after)[:, 1] - model.predict_proba(before)[:, 1]
    assert np.allclose(change.points.sum(axis=1), p, atol=1e-12)
    # Points follow the log-odds attributions' proportions.
    row = int(np.argmax(np.abs(total)))
    ratio = change.points.iloc[row] / change.contributions.iloc[row]
    assert np.allclose(ratio.dropna()[change.contributions.iloc[row] != 0], p[row] / total[row])


def test_model_and_segment_changes_are_split_from_the_account_change(
    segmented: pd.DataFrame, two_models
) -> None:
    old, new = two_models
    before, after = _pair(segmented)
    after.loc[1, "segment"] = "Enterprise" if before.loc[1, "segment"] != "Enterprise" else "SMB"
    change = explain_change(
        before, after, ScoreFunction(new), ScoreFunction(old), version_changed=True
    )
    held = after.assign(segment=before["segment"].to_numpy())
    account = old.raw_margin(held) - old.raw_margin(before)
    model = new.raw_margin(after) - old.raw_margin(held)
    assert np.max(np.abs(change.contributions.sum(axis=1) - account)) < 1e-6
    assert np.allclose(change.model_margin, model, atol=1e-12)
    assert np.allclose(
        change.account_margin + change.model_margin,
        new.raw_margin(after) - old.raw_margin(before),
        atol=1e-12,
    )
    p_total = new.predict_proba(after)[:, 1] - old.predict_proba(before)[:, 1]
    assert np.allclose(change.account_probability + change.model_probability, p_total)
    assert change.segment_changed[1] and change.model_changed.all()

    # Same version, only the segment moved: only that row has a model part.
    same = explain_change(before, after, ScoreFunction(old), ScoreFunction(old))
    assert same.model_changed.tolist() == [i == 1 for i in range(len(after))]
    assert np.all(same.model_margin[np.arange(len(after)) != 1] == 0.0)
    assert same.model_margin[1] != 0.0


def test_without_the_earlier_model_the_current_model_explains_the_account(
    segmented: pd.DataFrame, two_models
) -> None:
    old, new = two_models
    before, after = _pair(segmented)
    recorded_margin = old.raw_margin(before)
    recorded_p = old.predict_proba(before)[:, 1]
    change = explain_change(
        before,
        after,
        ScoreFunction(new),
        None,
        version_changed=True,
        before_margin=recorded_margin,
        before_probability=recorded_p,
    )
    account = new.raw_margin(after) - new.raw_margin(before)
    assert np.max(np.abs(change.contributions.sum(axis=1) - account)) < 1e-6
    assert np.allclose(change.model_margin, new.raw_margin(before) - recorded_margin)
    assert "not at hand" in change.reference
