import pytest

from monitoring.importance import gain_shares, importance_by_feature
from training.segmented import SegmentedModel


def test_gain_shares_sum_to_one_and_follow_the_boosters(saved_models):
    model = SegmentedModel.load(saved_models / "churn")
    shares = gain_shares(model)
    assert set(shares) == set(model.feature_names_)
    assert sum(shares.values()) == pytest.approx(1.0)
    gain = model.global_booster_.feature_importance(importance_type="gain")
    for booster in model.boosters_.values():
        gain = gain + booster.feature_importance(importance_type="gain")
    expected = dict(zip(model.feature_names_, gain / gain.sum(), strict=True))
    assert shares == pytest.approx(expected)


def test_importance_by_feature_is_per_target_and_none_without_boosters(saved_models):
    models = {t: SegmentedModel.load(saved_models / t) for t in ("churn", "expansion")}
    by_feature = importance_by_feature(models)
    assert set(by_feature["seat_utilization"]) == {"churn", "expansion"}
    assert importance_by_feature({"churn": object()}) is None
    assert importance_by_feature({}) is None
