import math

import pytest

from playbook.multiplicity import adjust_estimates, holm, randomized_p_value, wald_p_value


def test_randomized_p_value_is_the_score_test_of_two_proportions() -> None:
    # 10/100 vs 20/100: pooled rate 0.15, score variance 0.15 * 0.85 * (1/100 + 1/100) with the
    # Miettinen-Nurminen factor 200/199, z = -0.1 / sqrt(0.0025628) = -1.9753, two-sided p 0.0482.
    assert randomized_p_value(10, 100, 20, 100) == pytest.approx(0.0482, abs=1e-4)
    assert randomized_p_value(0, 50, 0, 40) == 1.0  # no events anywhere: no difference
    assert math.isnan(randomized_p_value(3, 10, 0, 0))


def test_wald_p_value() -> None:
    assert wald_p_value(0.0196, 0.01) == pytest.approx(0.05, abs=1e-4)
    assert math.isnan(wald_p_value(0.1, 0.0))


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.04, made monotone -> 0.03, 0.06, 0.06
    rejected, adjusted = holm([0.01, 0.04, 0.03, math.nan])
    assert rejected.tolist() == [True, False, False, False]
    assert adjusted[:3].tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(adjusted[3])


def _estimate(play: str, segment: str, p: float, effect: float | None = -0.1) -> dict:
    return {"play": play, "segment": segment, "effect": effect, "p_value": p, "conclusive": True}


def test_a_lone_significant_estimate_among_many_is_not_conclusive() -> None:
    # The demo's case: one truly useless play at p 0.014 among eight overall estimates.
    overall = [_estimate("useful", "all", 0.0001), _estimate("useless", "all", 0.014)]
    overall += [_estimate(f"other{i}", "all", 0.3 + i / 20) for i in range(6)]
    adjusted = {e["play"]: e for e in adjust_estimates(overall)}
    assert adjusted["useful"]["conclusive"] and adjusted["useful"]["p_adjusted"] == 0.0008
    assert not adjusted["useless"]["conclusive"]
    assert adjusted["useless"]["p_adjusted"] == pytest.approx(0.014 * 7)


def test_segments_are_their_own_family_and_estimates_without_effect_are_untouched() -> None:
    estimates = [
        _estimate("a", "all", 0.02),
        _estimate("a", "SMB", 0.001),
        _estimate("a", "Enterprise", 0.04),
        {"play": "b", "segment": "all", "effect": None, "conclusive": False},
    ]
    out = adjust_estimates(estimates)
    # Overall: alone in its family, 0.02 stays 0.02; the segment estimates never weaken it.
    assert out[0]["p_adjusted"] == pytest.approx(0.02) and out[0]["conclusive"]
    assert out[0]["family"] == "overall" and out[1]["family"] == "per segment"
    assert out[1]["p_adjusted"] == pytest.approx(0.002) and out[1]["conclusive"]
    assert out[2]["p_adjusted"] == pytest.approx(0.04) and out[2]["conclusive"]
    assert out[3] == estimates[3] and "family" not in out[3]
    assert estimates[0]["conclusive"] is True and "p_adjusted" not in estimates[0]  # copies
