from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.errors import RetainError
from training import SegmentedModel, labelled_rows


@pytest.fixture(scope="module")
def model(frame, config) -> SegmentedModel:
    rows = labelled_rows(frame, "churn")
    return SegmentedModel("churn", config).fit(rows, rows["churn"])


def test_one_model_per_segment_and_few_positives_fall_back_to_global(model):
    assert model.segments_ == ["Enterprise", "Mid-Market", "SMB"]
    assert model.segment_strategy_["Enterprise"] == "global"
    assert "< 30" in model.segment_reasons_["Enterprise"]
    refined = {s for s, strategy in model.segment_strategy_.items() if strategy == "refined"}
    assert set(model.boosters_) == refined
    assert set(model.calibrators_) == set(model.segments_)
    for segment in model.segments_:
        assert 0.5 < model.metrics_[segment]["roc_auc"] <= 1.0
    total = model.metrics_["__all__"]
    assert total["valid_rows"] + total["train_rows"] == 1200


def test_contributions_plus_base_value_equal_raw_margin(model, frame):
    rows = frame.sample(300, random_state=1)
    explanation = model.explain(rows)
    assert list(explanation.contributions.columns) == model.feature_names_
    total = explanation.contributions.sum(axis=1).to_numpy() + explanation.base_value
    np.testing.assert_allclose(total, explanation.raw_margin, atol=1e-6, rtol=0)
    np.testing.assert_allclose(explanation.raw_margin, model.raw_margin(rows), atol=1e-12)


def test_calibrated_probabilities_are_bounded_and_monotone_in_raw_score(model, frame):
    p = model.predict_proba(frame)
    assert p.shape == (len(frame), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert ((p >= 0) & (p <= 1)).all()
    margin = model.raw_margin(frame)
    for segment in model.segments_:
        rows = (frame["segment"] == segment).to_numpy()
        order = np.argsort(margin[rows], kind="stable")
        assert (np.diff(p[rows, 1][order]) >= -1e-12).all(), segment


def test_shuffled_column_order_gives_identical_predictions(model, frame):
    columns = list(frame.columns)
    np.random.default_rng(3).shuffle(columns)
    np.testing.assert_array_equal(model.predict_proba(frame[columns]), model.predict_proba(frame))


def test_missing_feature_is_nan_not_zero(model, frame):
    rows = frame.head(200).copy()
    as_nan = rows.assign(active_users_28d_change_pct=np.nan)
    as_zero = rows.assign(active_users_28d_change_pct=0.0)
    assert not np.allclose(model.raw_margin(as_nan), model.raw_margin(as_zero))
    # A feature column absent from the frame is missing, exactly like NaN.
    np.testing.assert_array_equal(
        model.raw_margin(rows.drop(columns="active_users_28d_change_pct")),
        model.raw_margin(as_nan),
    )


def test_unseen_category_level_is_missing(model, frame):
    rows = frame.head(50)
    unseen = rows.assign(account_industry="mining")
    missing = rows.assign(account_industry=None)
    np.testing.assert_array_equal(model.raw_margin(unseen), model.raw_margin(missing))
    assert model.categories_["account_industry"] == ["health", "retail", "software"]


def test_unseen_segment_uses_the_global_booster(model, frame):
    rows = frame.head(20).assign(segment="Public Sector")
    from training import _booster

    expected = _booster.raw_margin(model.global_booster_, model.design_.matrix(rows))
    np.testing.assert_allclose(model.raw_margin(rows), expected)
    p = model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(p, model.global_calibrator_.predict(expected))


def test_save_and_load_round_trip_without_pickle(model, frame, tmp_path):
    model.save(tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").rglob("*") if p.is_file())
    segment_files = [f"segment_{i}.txt" for i in range(len(model.boosters_))]
    assert files == ["global.txt", "model.json", *segment_files]
    loaded = SegmentedModel.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    assert loaded.segment_strategy_ == model.segment_strategy_
    assert loaded.bands_ == model.bands_
    assert loaded.feature_names_ == model.feature_names_
    e1, e2 = loaded.explain(frame.head(10)), model.explain(frame.head(10))
    pd.testing.assert_frame_equal(e1.contributions, e2.contributions)


def test_bands_split_the_out_of_time_predictions(model):
    assert 0 < model.bands_["green_below"] <= model.bands_["red_from"] < 1


def test_censored_labels_are_an_error(frame, config):
    rows = frame.head(300).copy()
    rows.loc[rows.index[:5], "churn"] = np.nan
    with pytest.raises(RetainError, match="5 row"):
        SegmentedModel("churn", config).fit(rows, rows["churn"])


def test_missing_segment_column_is_an_error(frame, config):
    rows = frame.drop(columns="segment")
    with pytest.raises(RetainError, match="segment"):
        SegmentedModel("churn", config).fit(rows, rows["churn"])


def test_a_segment_keeps_its_refinement_only_when_it_ranks_its_out_of_time_rows_better(model):
    compared = 0
    for segment in ("Mid-Market", "SMB"):  # both have enough positives for a refinement
        reason = model.segment_reasons_[segment]
        auc = model.segment_auc_[segment]
        assert f"{auc['refined']:.3f}" in reason and f"{auc['global']:.3f}" in reason
        if model.segment_strategy_[segment] == "refined":
            assert auc["difference_low"] > 0 and auc["refined"] > auc["global"]
        else:
            assert reason.startswith("global booster: the refinement does not beat it")
            assert not auc["difference_low"] > 0
        compared += 1
    assert compared == 2


def _opposite_law_frame(n: int = 6_000, seed: int = 0, flip: float = -2.0) -> pd.DataFrame:
    """Two segments whose churn follows the same feature in opposite directions: a booster that
    does not see the segment cannot learn it, a refinement per segment can."""
    rng = np.random.default_rng(seed)
    segment = np.where(rng.random(n) < 0.5, "Flip", "Base")
    x = rng.normal(0, 1, n)
    noise = rng.normal(0, 1, n)
    logit = np.where(segment == "Flip", flip * x, 2.0 * x) - 1.0
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    as_of = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n), "D")
    return pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "as_of": as_of,
            "segment": segment,
            "churn": churn,
            "churn_known_at": as_of + pd.Timedelta(days=120),
            "usage_change": x,
            "noise": noise,
        }
    )


def test_init_score_refinement_learns_what_a_segment_does_differently(config):
    frame = _opposite_law_frame()
    model = SegmentedModel("churn", config).fit(frame, frame["churn"])
    assert model.segment_strategy_ == {"Base": "refined", "Flip": "refined"}
    # The refinement starts from the global raw score: the margin is the sum of both boosters.
    from training import _booster

    matrix = model.design_.matrix(frame)
    flip = (frame["segment"] == "Flip").to_numpy()
    expected = _booster.raw_margin(model.global_booster_, matrix[flip]) + _booster.raw_margin(
        model.boosters_["Flip"], matrix[flip]
    )
    np.testing.assert_allclose(model.raw_margin(frame)[flip], expected)
    explained = model.explain(frame.head(200))
    total = explained.contributions.sum(axis=1).to_numpy() + explained.base_value
    np.testing.assert_allclose(total, model.raw_margin(frame.head(200)), atol=1e-6)
    from sklearn.metrics import roc_auc_score

    one_for_all = SegmentedModel("churn", config, segmentation="none").fit(frame, frame["churn"])
    assert one_for_all.boosters_ == {}
    refined_auc = roc_auc_score(frame["churn"], model.predict_proba(frame)[:, 1])
    assert refined_auc > roc_auc_score(frame["churn"], one_for_all.predict_proba(frame)[:, 1]) + 0.1


def test_a_refinement_within_the_noise_is_not_kept(config):
    # One law for both segments: whatever the refinements learn is noise. A refinement is kept
    # only when the 95% interval of its ROC-AUC gain over the global booster (accounts
    # resampled) lies above zero, so here the global booster stays.
    frame = _opposite_law_frame(flip=2.0)
    model = SegmentedModel("churn", config).fit(frame, frame["churn"])
    for segment, strategy in model.segment_strategy_.items():
        auc = model.segment_auc_[segment]
        assert (strategy == "refined") == (auc["difference_low"] > 0), segment
    assert model.segment_strategy_ == {"Base": "global", "Flip": "global"}
