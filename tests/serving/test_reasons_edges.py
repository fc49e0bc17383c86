"""serving.reasons at its edges: no features at all, a value column of the wrong length, a
feature absent from the values, a data gap the model gave no weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serving.reasons import data_gaps, top_reasons


def test_no_features_give_no_reasons_and_no_gaps():
    empty = pd.DataFrame(index=range(2))
    assert top_reasons(empty, {}, k=3) == [[], []]
    assert data_gaps(empty, {}) == [[], []]


def test_a_value_column_of_another_length_is_an_error_naming_it():
    contributions = pd.DataFrame({"nps_last": [0.4, -0.2]})
    with pytest.raises(ValueError, match=r"^nps_last has 3 values for 2 rows$"):
        top_reasons(contributions, {"nps_last": np.array([1.0, 2.0, 3.0])}, k=3)
    with pytest.raises(ValueError, match=r"^nps_last has 1 values for 2 rows$"):
        data_gaps(contributions, {"nps_last": np.array([1.0])})


def test_a_feature_without_values_is_missing_for_every_row():
    contributions = pd.DataFrame({"nps_last": [0.4, -0.2, 0.1]})
    assert top_reasons(contributions, {}, k=3) == [[], [], []]
    assert data_gaps(contributions, {}) == [["No NPS response on record"]] * 3


def test_a_gap_the_model_gave_no_weight_is_not_listed():
    contributions = pd.DataFrame({"nps_last": [0.0, 1.0, -1.0]})
    gaps = data_gaps(contributions, {"nps_last": np.array([np.nan, np.nan, np.nan])})
    assert gaps == [[], ["No NPS response on record"], ["No NPS response on record"]]
