"""The expansion reasons are the EXPANSION model's own arithmetic: each reason's contribution is
that model's exact SHAP contribution, the contributions plus the base value add up to its raw
score (recomputed here from its LightGBM boosters), and the reasons are its largest positive
drivers. The churn model's contributions on the same rows are different numbers, so reasons
taken from the wrong model fail every one of these checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serving.catalogue import is_driver
from serving.scoring import load_model_pair, score_frame


@pytest.fixture(scope="module")
def models(trained: dict):
    return load_model_pair(trained["config"])


@pytest.fixture(scope="module")
def rows(trained: dict) -> pd.DataFrame:
    frame = trained["frame"]
    return frame[frame["as_of"] == frame["as_of"].max()].head(60).reset_index(drop=True)


def lightgbm_raw_score(model, frame: pd.DataFrame) -> np.ndarray:
    """The raw score straight from the boosters: global, plus the segment's refinement."""
    matrix = model.design_.matrix(frame)
    score = model.global_booster_.predict(matrix, raw_score=True)
    segments = frame["segment"].astype(str).to_numpy()
    for segment, booster in model.boosters_.items():
        mask = segments == segment
        if mask.any():
            score[mask] += booster.predict(matrix[mask], raw_score=True)
    return score


def test_expansion_contributions_add_up_to_the_expansion_raw_score(models, rows):
    explained = models.expansion.explain(rows)
    total = explained.contributions.sum(axis=1).to_numpy() + explained.base_value
    raw = lightgbm_raw_score(models.expansion, rows)
    np.testing.assert_allclose(total, raw, atol=1e-9)
    # The churn model's do not (else the check could not tell the models apart).
    churn = models.churn.explain(rows)
    churn_total = churn.contributions.sum(axis=1).to_numpy() + churn.base_value
    assert np.abs(churn_total - raw).max() > 0.1


def test_expansion_reasons_are_the_expansion_models_largest_positive_drivers(
    models, rows, trained: dict
):
    results = score_frame(rows, models, trained["config"])
    explained = models.expansion.explain(rows)
    churn = models.churn.explain(rows)
    k = trained["config"].serving.top_k_reasons
    differs_from_churn = 0
    for row, result in enumerate(results):
        contributions = explained.contributions.iloc[row]
        for reason in result["expansion_reasons"]:
            assert reason["contribution"] == contributions[reason["feature"]]
            assert reason["direction"] == "raises"
            differs_from_churn += reason["contribution"] != churn.contributions.iloc[row].get(
                reason["feature"], 0.0
            )
        recorded = [
            name
            for name in contributions.index
            if is_driver(name) and not pd.isna(rows.iloc[row].get(name, np.nan))
        ]
        expected = [
            name
            for name in sorted(recorded, key=lambda n: -contributions[n])[:k]
            if contributions[name] > 0
        ]
        assert [r["feature"] for r in result["expansion_reasons"]] == expected
    assert differs_from_churn > 0
    # The probability comes from the same margin, calibrated by the expansion model.
    p = models.expansion.proba_from_margin(rows, lightgbm_raw_score(models.expansion, rows))[:, 1]
    np.testing.assert_allclose([r["expansion_probability"] for r in results], p, atol=1e-12)
