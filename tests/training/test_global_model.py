from __future__ import annotations

import numpy as np

from training import GlobalModel, labelled_rows


def test_global_model_uses_segment_as_a_feature_and_is_calibrated(frame, config):
    rows = labelled_rows(frame, "churn")
    model = GlobalModel("churn", config).fit(rows, rows["churn"])
    assert model.feature_names_[-1] == "segment"
    assert model.metrics_["__all__"]["roc_auc"] > 0.6
    p = model.predict_proba(frame)
    assert p.shape == (len(frame), 2)
    assert ((p >= 0) & (p <= 1)).all()
    shuffled = frame[frame.columns[::-1]]
    np.testing.assert_array_equal(model.predict_proba(shuffled), p)
