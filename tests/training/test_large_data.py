"""The large-book rule of `training._booster`: more leaves at a higher rate and a row budget per
tree at or above `large_data_rows` training rows; smaller books keep the defaults."""

from dataclasses import replace

import numpy as np

from retain.config import TrainingConfig
from training._booster import fit_booster, large_data_params, patience


def test_books_below_the_threshold_keep_every_default():
    config = TrainingConfig()
    assert large_data_params(config.large_data_rows - 1, config) == {}
    assert large_data_params(47_000, config) == {}


def test_each_tree_of_a_large_book_sees_at_most_the_row_budget():
    config = replace(TrainingConfig(), large_data_rows=100, rows_per_tree=150, bagging_fraction=0.8)
    assert large_data_params(600, config)["bagging_fraction"] == 0.25
    # A book just above the threshold keeps the configured fraction: it is the smaller one.
    assert large_data_params(150, config)["bagging_fraction"] == 0.8
    assert large_data_params(100, config) == {
        "learning_rate": 0.1,
        "num_leaves": 15,
        "bagging_fraction": 0.8,
    }


def _params_of(booster) -> str:
    text = booster.model_to_string()
    return text[text.index("parameters:") :]


def _data(n: int = 400):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return x, y


def test_fit_booster_applies_the_rule_and_a_candidate_s_own_settings_win():
    x, y = _data()
    small = replace(TrainingConfig(), num_boost_round=20)
    large = replace(small, large_data_rows=300, rows_per_tree=100)
    names = ["a", "b", "c"]
    default = _params_of(
        fit_booster(x, y, None, None, feature_names=names, categorical=[], config=small)
    )
    assert "[learning_rate: 0.03]" in default and "[num_leaves: 7]" in default
    assert "[bagging_fraction: 0.8]" in default
    ruled = _params_of(
        fit_booster(x, y, None, None, feature_names=names, categorical=[], config=large)
    )
    assert "[learning_rate: 0.1]" in ruled and "[num_leaves: 15]" in ruled
    assert "[bagging_fraction: 0.25]" in ruled
    own = _params_of(
        fit_booster(
            x,
            y,
            None,
            None,
            feature_names=names,
            categorical=[],
            config=large,
            overrides={"num_leaves": 4, "learning_rate": 0.05},
        )
    )
    assert "[num_leaves: 4]" in own and "[learning_rate: 0.05]" in own
    assert "[bagging_fraction: 0.25]" in own


def test_patience_is_the_same_learning_at_the_large_book_rate():
    config = TrainingConfig()  # 50 rounds at 0.03
    small_book = config.large_data_rows - 1
    assert patience({"learning_rate": 0.1}, small_book, config) == 50
    assert patience({"learning_rate": 0.1}, config.large_data_rows, config) == 15
    # A candidate that keeps the slow rate on a large book keeps the long patience.
    assert patience({"learning_rate": 0.03}, config.large_data_rows, config) == 50


def _rounds_past_the_best(config: TrainingConfig, n: int = 400) -> int:
    """Boosting rounds run after the kept best iteration, on labels the features cannot
    predict (the validation loss is best after very few rounds)."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(n, 3)), rng.integers(0, 2, size=n)
    rounds = []
    booster = fit_booster(
        x[:300],
        y[:300],
        x[300:],
        y[300:],
        feature_names=["a", "b", "c"],
        categorical=[],
        config=config,
        callbacks=[lambda env: rounds.append(env.iteration)],
    )
    return len(rounds) - booster.num_trees()


def test_a_large_book_stops_after_the_scaled_patience():
    small = replace(TrainingConfig(), num_boost_round=500, min_child_samples=5)
    assert _rounds_past_the_best(small) == 50
    large = replace(small, large_data_rows=300, rows_per_tree=300)
    assert _rounds_past_the_best(large) == 15
