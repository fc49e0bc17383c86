from __future__ import annotations

import numpy as np

from training import GlobalModel, SegmentedModel, labelled_rows


def test_global_model_is_one_calibrated_score_for_all_segments(frame, config):
    rows = labelled_rows(frame, "churn")
    model = GlobalModel("churn", config).fit(rows, rows["churn"])
    assert "segment" not in model.feature_names_
    assert model.metrics_["__all__"]["roc_auc"] > 0.6
    p = model.predict_proba(frame)
    assert p.shape == (len(frame), 2)
    assert ((p >= 0) & (p <= 1)).all()
    shuffled = frame[frame.columns[::-1]]
    np.testing.assert_array_equal(model.predict_proba(shuffled), p)
    # Segments do not matter to it: the same account scores the same in any segment.
    np.testing.assert_array_equal(model.predict_proba(frame.assign(segment="SMB")), p)


def test_from_segmented_reuses_the_segmented_models_global_booster(frame, config):
    rows = labelled_rows(frame, "churn")
    fitted = GlobalModel("churn", config).fit(rows, rows["churn"])
    segmented = SegmentedModel("churn", config).fit(rows, rows["churn"])
    reused = GlobalModel.from_segmented(segmented)
    np.testing.assert_array_equal(reused.predict_proba(frame), fitted.predict_proba(frame))
    assert reused.metrics_ == fitted.metrics_


def test_explain_adds_up_to_the_margin_and_equals_an_unsegmented_model(frame, config):
    rows = labelled_rows(frame, "churn")
    model = GlobalModel("churn", config).fit(rows, rows["churn"])
    explanation = model.explain(frame)
    np.testing.assert_allclose(
        explanation.contributions.sum(axis=1) + explanation.base_value,
        model.raw_margin(frame),
        atol=1e-9,
    )
    np.testing.assert_allclose(explanation.raw_margin, model.raw_margin(frame))
    # The same booster inside a SegmentedModel explains every row identically.
    segmented = SegmentedModel("churn", config, segmentation="none").fit(rows, rows["churn"])
    np.testing.assert_allclose(
        segmented.explain(frame).contributions.to_numpy(),
        explanation.contributions.to_numpy(),
    )
