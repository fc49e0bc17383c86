"""Batch scoring follows the same missing-value policy as /score."""

from __future__ import annotations

import numpy as np
import pytest

from retain.errors import RetainError
from serving.batch import score_snapshot
from serving.scoring import load_model_pair


@pytest.fixture(scope="module")
def snapshot(trained: dict):
    frame = trained["frame"]
    latest = frame[frame["as_of"] == frame["as_of"].max()].head(6).reset_index(drop=True)
    latest.loc[0, "seat_utilization"] = np.nan
    return latest


def test_batch_imputes_and_names_the_feature(trained: dict, snapshot) -> None:
    models = load_model_pair(trained["config"])
    results = score_snapshot(snapshot, models, trained["config"])
    assert "seat_utilization" in results[0]["imputed_features"]
    assert all("seat_utilization" not in r["imputed_features"] for r in results[1:])
    at_median = snapshot.head(1).copy()
    segment = at_median.loc[0, "segment"]
    at_median.loc[0, "seat_utilization"] = models.expansion_policy.values_for(segment)[
        "seat_utilization"
    ]
    expected = score_snapshot(at_median, models, trained["config"])[0]
    assert results[0]["expansion_probability"] == expected["expansion_probability"]


def test_batch_rejects_when_configured(trained: dict, snapshot) -> None:
    config = trained["config"].with_overrides({"serving": {"missing_values": "reject"}})
    models = load_model_pair(config)
    with pytest.raises(RetainError, match=r"seat_utilization \(1 rows\)") as caught:
        score_snapshot(snapshot, models, config)
    assert snapshot.loc[0, "account_id"] in str(caught.value)  # an example to look up
    assert score_snapshot(snapshot.iloc[1:], models, config)  # complete rows still score


def test_an_unknown_mode_is_a_clear_error(trained: dict) -> None:
    config = trained["config"].with_overrides({"serving": {"missing_values": "guess"}})
    with pytest.raises(RetainError, match="missing_values must be one of impute, reject"):
        load_model_pair(config)
