import math

import numpy as np
import pandas as pd
import pytest

from monitoring.psi import CategoryLevels, NumericBins, PsiReference, numeric_psi, psi_from_counts


def test_psi_of_two_known_mixes_matches_the_formula():
    # (0.9 - 0.5) ln(0.9 / 0.5) + (0.1 - 0.5) ln(0.1 / 0.5)
    expected = 0.4 * math.log(1.8) + (-0.4) * math.log(0.2)
    assert psi_from_counts(np.array([50.0, 50.0]), np.array([90.0, 10.0])) == pytest.approx(
        expected
    )


def test_identical_mixes_have_zero_psi_even_with_empty_bins():
    counts = np.array([10.0, 0.0, 30.0, 0.0])
    assert psi_from_counts(counts, counts * 3) == 0.0


def test_a_bin_that_appears_from_nothing_gives_a_large_finite_psi():
    value = psi_from_counts(np.array([100.0, 0.0]), np.array([50.0, 50.0]))
    assert math.isfinite(value)
    assert value > 1.0


def test_numeric_bins_put_nan_in_their_own_last_bin_and_out_of_range_values_at_the_ends():
    bins = NumericBins.fit(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]), n_bins=4)
    counts = bins.counts(pd.Series([-10.0, 3.0, 100.0, np.nan, np.nan]))
    assert counts[-1] == 2  # the missing values
    assert counts[0] == 1  # below the reference minimum
    assert counts[-2] == 1  # above the reference maximum
    assert counts.sum() == 5


def test_a_shifted_numeric_feature_has_high_psi_and_a_resample_has_low_psi():
    rng = np.random.default_rng(0)
    reference = pd.Series(rng.normal(0, 1, 5_000))
    assert numeric_psi(reference, pd.Series(rng.normal(0, 1, 5_000)), 10) < 0.02
    assert numeric_psi(reference, pd.Series(rng.normal(1, 1, 5_000)), 10) > 0.5


def test_null_jump_moves_psi_and_is_reported_as_null_share():
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"nps_last": rng.normal(0, 1, 2_000)})
    current = pd.DataFrame({"nps_last": rng.normal(0, 1, 2_000)})
    current.loc[:799, "nps_last"] = np.nan
    result = PsiReference.fit(reference, ["nps_last"], [], 10).compare(current)["nps_last"]
    assert result.null_share_reference == 0.0
    assert result.null_share_current == pytest.approx(0.4)
    assert result.psi > 0.2


def test_constant_and_empty_columns_do_not_crash():
    reference = pd.DataFrame(
        {"seats": [10.0] * 50, "nps_last": [np.nan] * 50, "account_region": [None] * 50}
    )
    same = PsiReference.fit(reference, ["seats", "nps_last"], ["account_region"], 10).compare(
        reference
    )
    assert {name: r.psi for name, r in same.items()} == {
        "seats": 0.0,
        "nps_last": 0.0,
        "account_region": 0.0,
    }
    assert same["nps_last"].null_share_reference == 1.0

    moved = reference.assign(seats=[10.0] * 25 + [20.0] * 25, nps_last=[7.0] * 50)
    result = PsiReference.fit(reference, ["seats", "nps_last"], [], 10).compare(moved)
    assert result["seats"].psi > 0.2
    assert result["nps_last"].psi > 0.2
    assert result["nps_last"].null_share_current == 0.0


def test_lower_values_than_a_constant_reference_are_seen():
    reference = pd.DataFrame({"seats": [10.0] * 50})
    current = pd.DataFrame({"seats": [1.0] * 50})
    assert PsiReference.fit(reference, ["seats"], [], 10).compare(current)["seats"].psi > 0.2


def test_categorical_psi_counts_unseen_levels_as_other():
    levels = CategoryLevels.fit(pd.Series(["retail", "software", None]))
    assert levels.levels == ("retail", "software")
    counts = levels.counts(pd.Series(["retail", "mining", "mining", None]))
    assert counts.tolist() == [1.0, 0.0, 2.0, 1.0]

    reference = pd.DataFrame({"account_industry": ["retail", "software"] * 100})
    current = pd.DataFrame({"account_industry": ["retail", "mining"] * 100})
    result = PsiReference.fit(reference, [], ["account_industry"], 10).compare(current)
    assert result["account_industry"].psi > 0.2


def test_a_feature_missing_from_the_current_window_counts_as_all_missing():
    reference = pd.DataFrame({"arr": np.arange(100.0)})
    result = PsiReference.fit(reference, ["arr"], [], 10).compare(pd.DataFrame(index=range(10)))
    assert result["arr"].null_share_current == 1.0
    assert result["arr"].psi > 0.2


def test_inputs_are_not_mutated():
    reference = pd.DataFrame({"arr": [1.0, np.nan, 3.0], "account_industry": ["a", None, "b"]})
    before = reference.copy()
    PsiReference.fit(reference, ["arr"], ["account_industry"], 10).compare(reference)
    pd.testing.assert_frame_equal(reference, before)


def test_bin_counts_follow_the_bin_definition_with_ties_and_nan():
    rng = np.random.default_rng(3)
    reference = pd.Series(rng.poisson(2.0, 500).astype(float))
    current = pd.Series(np.append(rng.poisson(3.0, 400).astype(float), [np.nan] * 7 + [-1.0]))
    bins = NumericBins.fit(reference, n_bins=10)
    finite = reference.to_numpy()
    np.testing.assert_array_equal(bins.edges, np.unique(np.quantile(finite, np.linspace(0, 1, 11))))

    def bin_of(x: float) -> int:
        if np.isnan(x):
            return bins.edges.size + 2
        if x < bins.edges[0]:
            return 0
        return 1 + int(np.sum(bins.edges < x))  # edges[i-1] < x <= edges[i]

    expected = np.bincount([bin_of(x) for x in current], minlength=bins.edges.size + 3)
    np.testing.assert_array_equal(bins.counts(current), expected)
