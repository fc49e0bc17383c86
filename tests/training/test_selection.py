from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from training import labelled_rows
from training._split import decision_half, time_split, validation_order
from training.selection import candidate_models, select_candidate


@pytest.fixture(scope="module")
def fitted(frame, config):
    rows = labelled_rows(frame, "churn")
    models = candidate_models("churn", config)
    return rows, {name: model.fit(rows, rows["churn"]) for name, model in models.items()}


def _valid(rows, config):
    mask, _ = time_split(
        validation_order(rows, "churn"), config.training.validation_fraction, config.training.seed
    )
    # Compared on the selection half of the out-of-time accounts: the decision half kept and
    # calibrated the refinements.
    return mask & ~decision_half(rows["account_id"].to_numpy(), config.training.seed)


def test_candidates_are_lightgbm_models_of_three_kinds(fitted):
    _, models = fitted
    assert set(models) == {"segmented", "global", "small_data"}
    assert models["global"].boosters_ == {}
    assert models["small_data"].booster_params["num_leaves"] == 7
    assert models["small_data"].boosters_ == {}  # one score for all, regularized
    assert models["small_data"].global_booster_.params["num_leaves"] == 7
    tuned = candidate_models("churn", models["global"].config, {"__global__": {"num_leaves": 5}})
    assert set(tuned) == {"segmented", "global", "small_data", "tuned"}


class _Fixed:
    """A stand-in candidate with given out-of-time probabilities (selection only predicts)."""

    def __init__(self, rows, valid, p_valid) -> None:
        self.index = rows.index[valid]
        self.p = p_valid

    def predict_proba(self, X):
        p = self.p[self.index.get_indexer(X.index)]
        return np.column_stack([1 - p, p])


def test_global_stays_unless_a_candidate_beats_it_beyond_the_noise(fitted, config):
    rows, models = fitted
    valid = _valid(rows, config)
    y = rows["churn"].to_numpy()[valid]
    expected = {
        name: average_precision_score(y, m.predict_proba(rows[valid])[:, 1])
        for name, m in models.items()
    }
    selection = select_candidate(models, {}, rows, "churn", config)
    assert selection.metric == "pr_auc"
    table = selection.table.set_index("model")
    assert table.loc[selection.chosen, "chosen"]
    for name, value in expected.items():
        assert table.loc[name, "pr_auc"] == pytest.approx(value)
    if selection.chosen == "global":
        assert "global" in selection.note
    else:  # chosen only when the interval against global lies below zero for global
        assert table.loc["global", "pr_auc_vs_chosen_high"] < 0

    # A candidate better beyond any noise replaces global; one within the noise does not.
    global_p = models["global"].predict_proba(rows[valid])[:, 1]
    sharp = _Fixed(rows, valid, np.clip(0.8 * y + 0.1, 0, 1))
    # Jitter that happens to raise the point estimate a little: better, but within the noise.
    global_value = average_precision_score(y, global_p)
    # (Noise large enough to reorder many accounts: a near-copy of global's ranking would have
    # an almost deterministic paired difference, beyond the noise however small.)
    for seed in range(200):
        jitter = np.random.default_rng(seed).normal(0, 0.05, len(y))
        jittered = np.clip(global_p + jitter, 0, 1)
        if average_precision_score(y, jittered) > global_value:
            break
    assert average_precision_score(y, jittered) > global_value
    noisy = _Fixed(rows, valid, jittered)
    chosen = select_candidate(
        {"global": models["global"], "noisy": noisy}, {}, rows, "churn", config
    )
    assert chosen.chosen == "global" and "beyond the bootstrap noise" in chosen.note
    chosen = select_candidate(
        {"global": models["global"], "noisy": noisy, "sharp": sharp}, {}, rows, "churn", config
    )
    assert chosen.chosen == "sharp"
    assert "sharp has the best out-of-time pr_auc" in chosen.note


def test_it_says_when_logistic_beats_every_candidate(fitted, config):
    rows, models = fitted
    y = rows["churn"].to_numpy()[_valid(rows, config)].astype(float)
    oracle_like = np.clip(y * 0.9 + 0.05, 0, 1)  # ranks every churner first
    selection = select_candidate(models, {"logistic": oracle_like}, rows, "churn", config)
    assert selection.logistic_beats_every_candidate
    assert selection.chosen in models  # only a LightGBM model is ever registered
    assert "logistic" in set(selection.table["model"])
