from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from training import labelled_rows
from training._split import time_split, validation_order
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
    return mask


def test_candidates_are_lightgbm_models_of_three_kinds(fitted):
    _, models = fitted
    assert set(models) == {"segmented", "global", "small_data"}
    assert models["global"].boosters_ == {}
    assert models["small_data"].booster_params["num_leaves"] == 7
    assert models["small_data"].global_booster_.params["num_leaves"] == 7
    tuned = candidate_models("churn", models["global"].config, {"__global__": {"num_leaves": 5}})
    assert set(tuned) == {"segmented", "global", "small_data", "tuned"}


def test_the_best_candidate_by_the_primary_metric_on_the_shared_out_of_time_rows(fitted, config):
    rows, models = fitted
    valid = _valid(rows, config)
    y = rows["churn"].to_numpy()[valid]
    expected = {
        name: average_precision_score(y, m.predict_proba(rows[valid])[:, 1])
        for name, m in models.items()
    }
    selection = select_candidate(models, {}, rows, "churn", config)
    assert selection.metric == "pr_auc"
    assert selection.chosen == max(expected, key=expected.get)
    table = selection.table.set_index("model")
    assert table.loc[selection.chosen, "chosen"]
    for name, value in expected.items():
        assert table.loc[name, "pr_auc"] == pytest.approx(value)
        low, high = table.loc[name, ["pr_auc_vs_chosen_low", "pr_auc_vs_chosen_high"]]
        difference = table.loc[name, "pr_auc_vs_chosen"]
        assert difference <= 0
        if name != selection.chosen:
            assert low <= difference + 1e-9 and low <= high
    assert not selection.logistic_beats_every_candidate


def test_it_says_when_logistic_beats_every_candidate(fitted, config):
    rows, models = fitted
    y = rows["churn"].to_numpy()[_valid(rows, config)].astype(float)
    oracle_like = np.clip(y * 0.9 + 0.05, 0, 1)  # ranks every churner first
    selection = select_candidate(models, {"logistic": oracle_like}, rows, "churn", config)
    assert selection.logistic_beats_every_candidate
    assert selection.chosen in models  # only a LightGBM model is ever registered
    assert "logistic" in set(selection.table["model"])
