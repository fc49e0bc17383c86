import numpy as np
import pandas as pd
import pytest

from serving.catalogue import is_driver
from serving.scoring import (
    ModelInfo,
    frame_from_features,
    load_model_pair,
    score_frame,
)


@pytest.fixture(scope="module")
def models(trained: dict):
    return load_model_pair(trained["config"])


@pytest.fixture(scope="module")
def latest(trained: dict) -> pd.DataFrame:
    frame = trained["frame"]
    return frame[frame["as_of"] == frame["as_of"].max()].head(40).reset_index(drop=True)


def test_models_load_from_a_path_with_a_content_version(models, trained: dict) -> None:
    assert models.churn_info.alias == "path"
    assert models.churn_info.version.startswith("path:")
    assert models.churn_info != models.expansion_info
    again = load_model_pair(trained["config"])
    assert again.info() == models.info()
    assert ModelInfo("n", "1", "champion").as_dict() == {
        "name": "n",
        "version": "1",
        "alias": "champion",
    }


def test_results_have_the_response_fields(models, latest, trained: dict) -> None:
    results = score_frame(latest, models, trained["config"])
    assert len(results) == len(latest)
    first = results[0]
    assert set(first) == {
        "account_id",
        "as_of",
        "segment",
        "churn_probability",
        "expansion_probability",
        "health_band",
        "reasons",
        "expansion_reasons",
        "signals",
        "segment_unknown",
        "imputed_features",
        "renewal_date",
        "churn_window_end",
        "context",
        "data_gaps",
    }
    assert first["as_of"] == "2024-08-01"
    # Context is beside the reasons, never one of them.
    from serving.catalogue import CONTEXT_FEATURES

    assert not {r["feature"] for res in results for r in res["reasons"]} & CONTEXT_FEATURES
    assert all(r["value"] is not None for res in results for r in res["reasons"])
    assert {r["health_band"] for r in results} <= {"green", "yellow", "red"}
    p = models.churn.predict_proba(latest)[:, 1]
    np.testing.assert_allclose([r["churn_probability"] for r in results], p)
    assert all(r["direction"] == "raises" for res in results for r in res["expansion_reasons"])


def test_reason_contributions_plus_base_equal_the_raw_margin(models, latest, trained: dict) -> None:
    """The reasons are exact: contributions + base value = margin, and each reason is one."""
    explained = models.churn.explain(latest)
    total = explained.contributions.sum(axis=1).to_numpy() + explained.base_value
    np.testing.assert_allclose(total, explained.raw_margin, atol=1e-9)
    np.testing.assert_allclose(explained.raw_margin, models.churn.raw_margin(latest), atol=1e-9)
    results = score_frame(latest, models, trained["config"])
    for row, result in enumerate(results):
        for reason in result["reasons"]:
            exact = explained.contributions.iloc[row][reason["feature"]]
            assert reason["contribution"] == exact
        raising = [r["contribution"] for r in result["reasons"] if r["direction"] == "raises"]
        # The largest positive contributions among the drivers whose value is recorded.
        contributions = explained.contributions.iloc[row]
        drivers = [
            name
            for name in contributions.index
            if is_driver(name) and not pd.isna(latest.iloc[row].get(name, np.nan))
        ]
        positives = sorted(contributions[drivers].clip(lower=0), reverse=True)
        assert raising == [c for c in positives[: len(raising)] if c > 0]


def test_shuffled_feature_order_gives_identical_results(models, latest, trained: dict) -> None:
    columns = list(latest.columns)
    shuffled = latest[list(np.random.default_rng(3).permutation(columns))]
    assert score_frame(shuffled, models, trained["config"]) == score_frame(
        latest, models, trained["config"]
    )


def test_caller_features_score_like_the_frame(models, latest, trained: dict) -> None:
    row = latest.iloc[0]
    features = {
        name: (None if isinstance(row[name], float) and np.isnan(row[name]) else row[name])
        for name in models.feature_names
    }
    frame = frame_from_features(
        [
            {
                "account_id": row["account_id"],
                "as_of": "2024-08-01",
                "segment": row["segment"],
                "features": features,
            }
        ],
        models,
    )
    from_features = score_frame(frame, models, trained["config"])[0]
    from_frame = score_frame(latest.head(1), models, trained["config"])[0]
    # The caller sends features only; the renewal dates come from the data source's frame.
    dates = ("renewal_date", "churn_window_end")
    assert {k: v for k, v in from_features.items() if k not in dates} == {
        k: v for k, v in from_frame.items() if k not in dates
    }


def test_missing_features_are_missing_not_zero(models, trained: dict) -> None:
    frame = frame_from_features([{"account_id": "x", "segment": "SMB", "features": {}}], models)
    numeric = [n for n in models.feature_names if n != "account_industry"]
    assert frame[numeric].isna().all(axis=None)
    zeros = frame.copy()
    zeros[numeric] = 0.0
    assert models.churn.predict_proba(frame)[0, 1] != models.churn.predict_proba(zeros)[0, 1]


def test_one_row_scores_like_the_batch(models, latest, trained: dict) -> None:
    batch = score_frame(latest, models, trained["config"])
    alone = [score_frame(latest.iloc[[i]], models, trained["config"])[0] for i in range(5)]
    assert alone == batch[:5]


def test_without_reasons(models, latest, trained: dict) -> None:
    results = score_frame(latest, models, trained["config"], with_reasons=False)
    assert all(r["reasons"] == [] and r["expansion_reasons"] == [] for r in results)
    assert score_frame(latest.head(0), models, trained["config"]) == []
