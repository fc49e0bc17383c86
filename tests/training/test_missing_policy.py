"""The missing-value policy: read from real boosters and training rows, saved and read back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.config import Config
from retain.errors import RetainError
from training import SegmentedModel
from training.missing_policy import GLOBAL, MissingPolicy, split_missing_types


def tiny_frame(seed: int = 0) -> pd.DataFrame:
    """`busy` has no missing value in training (LightGBM: zero branch), `nps` has some (learned
    missing branch); churn falls with both, so both get splits."""
    rng = np.random.default_rng(seed)
    rows = []
    for month in range(6):
        n = 300
        segment = np.where(np.arange(n) % 2 == 0, "SMB", "Enterprise")
        busy = rng.uniform(5, 50, n) + np.where(segment == "SMB", 0.0, 100.0)
        nps = rng.integers(0, 11, n).astype(float)
        nps[rng.random(n) < 0.3] = np.nan
        logit = 2.0 - 0.08 * (busy % 100) - 0.2 * np.nan_to_num(nps, nan=5.0)
        rows.append(
            pd.DataFrame(
                {
                    "account_id": [f"a{i}" for i in range(n)],
                    "as_of": pd.Timestamp("2024-01-01") + pd.DateOffset(months=month),
                    "segment": segment,
                    "busy": busy,
                    "nps": nps,
                    "industry": np.array(["x", "y"], dtype=object)[rng.integers(0, 2, n)],
                    "churn": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def fitted() -> tuple[SegmentedModel, pd.DataFrame]:
    frame = tiny_frame()
    config = Config().with_overrides(
        {
            "training": {
                "num_boost_round": 30,
                "min_child_samples": 10,
                "min_positives_per_segment": 10_000,  # every segment borrows the global booster
                "num_threads": 1,
            }
        }
    )
    model = SegmentedModel("churn", config).fit(frame, frame["churn"])
    return model, frame


def test_split_missing_types_come_from_the_booster(fitted) -> None:
    model, _ = fitted
    types = split_missing_types(model.global_booster_)
    assert types["busy"] == {"None"}  # no NaN in training: LightGBM's zero branch
    assert types["nps"] == {"NaN"}  # learned missing branch


def test_policy_imputes_only_features_without_a_learned_branch(fitted) -> None:
    model, frame = fitted
    policy = MissingPolicy.from_model(model, frame)
    assert set(policy.values_for(GLOBAL)) == {"busy"}
    assert "nps" in policy.learned_missing[GLOBAL]
    # The segment's own training median (rows before the validation start), not the global one.
    train = frame[frame["as_of"] < pd.Timestamp(model.data_window_["valid_from"])]
    for segment in ("SMB", "Enterprise"):
        expected = train.loc[train["segment"] == segment, "busy"].median()
        assert policy.values_for(segment)["busy"] == pytest.approx(expected)
    assert policy.values_for("Enterprise")["busy"] > 100 > policy.values_for("SMB")["busy"]
    # A segment the model never saw gets the global median.
    assert policy.values_for("Galactic") == policy.values_for(GLOBAL)


def test_impute_fills_medians_names_them_and_beats_the_zero_branch(fitted) -> None:
    model, frame = fitted
    policy = MissingPolicy.from_model(model, frame)
    rows = pd.DataFrame(
        {
            "account_id": ["m", "z", "k"],
            "as_of": pd.Timestamp("2024-07-01"),
            "segment": ["SMB", "SMB", "SMB"],
            "busy": [np.nan, 0.0, 12.0],
            "nps": [np.nan, np.nan, 3.0],
            "industry": ["x", "x", None],
        }
    )
    filled, names = policy.impute(rows)
    assert names == [["busy"], [], []]
    assert filled.loc[0, "busy"] == pytest.approx(policy.values_for("SMB")["busy"])
    assert np.isnan(filled.loc[0, "nps"])  # learned missing stays missing
    assert filled.loc[2, "industry"] is None  # categories are never imputed
    assert rows.loc[0, "busy"] != rows.loc[0, "busy"]  # the caller's frame is not changed
    # The raw model sends missing `busy` down the zero branch; the imputed row does not.
    raw = model.predict_proba(rows)[:, 1]
    assert raw[0] == raw[1]
    with_median = rows.copy()
    with_median.loc[0, "busy"] = policy.values_for("SMB")["busy"]
    assert model.predict_proba(filled)[0, 1] == model.predict_proba(with_median)[0, 1]
    assert model.predict_proba(filled)[0, 1] != raw[1]
    # A column absent from the frame is missing everywhere.
    _, absent = policy.impute(rows.drop(columns=["busy"]))
    assert absent == [["busy"]] * 3


def test_policy_round_trips_through_json(fitted, tmp_path) -> None:
    model, frame = fitted
    policy = MissingPolicy.from_model(model, frame)
    policy.save(tmp_path)
    assert MissingPolicy.load(tmp_path) == policy
    with pytest.raises(RetainError, match=r"missing_policy\.json"):
        MissingPolicy.load(tmp_path / "elsewhere")


def test_a_training_frame_without_the_feature_is_an_error(fitted) -> None:
    model, frame = fitted
    with pytest.raises(RetainError, match="busy"):
        MissingPolicy.from_model(model, frame.drop(columns=["busy"]))


def test_segment_keys_match_the_models_own() -> None:
    from training.missing_policy import _segment_keys
    from training.segmented import segments_of

    frame = pd.DataFrame({"segment": ["SMB", None, np.nan, "Enterprise", pd.NA]}, dtype=object)
    assert list(_segment_keys(frame)) == list(segments_of(frame))
    assert list(_segment_keys(pd.DataFrame({"x": [1, 2]}))) == ["(none)", "(none)"]
