from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.errors import RetainError
from training import fit_candidates, labelled_rows


def test_labelled_rows_drop_censored_rows_and_labels_known_after_the_cutoff(frame):
    rows = frame.copy()
    rows.loc[rows.index[:10], "churn"] = np.nan
    assert len(labelled_rows(rows, "churn")) == len(rows) - 10
    cutoff = pd.Timestamp("2025-01-15")
    kept = labelled_rows(rows, "churn", cutoff)
    assert (kept["churn_known_at"] < cutoff).all()
    assert len(kept) == int(((rows["churn_known_at"] < cutoff) & rows["churn"].notna()).sum())
    # A label that becomes known on the cutoff day itself was not known before it.
    on_cutoff = rows.assign(churn_known_at=cutoff)
    assert labelled_rows(on_cutoff, "churn", cutoff).empty


def test_each_target_uses_its_own_known_date(frame):
    cutoff = pd.Timestamp("2025-01-15")
    rows = frame.assign(
        churn_known_at=cutoff + pd.Timedelta(days=1),
        expansion_known_at=cutoff - pd.Timedelta(days=1),
    )
    assert labelled_rows(rows, "churn", cutoff).empty
    assert len(labelled_rows(rows, "expansion", cutoff)) == len(rows)


def test_a_model_never_trains_on_a_label_known_after_the_cutoff(frame, config):
    cutoff = pd.Timestamp("2025-01-15")
    late = frame["churn_known_at"] >= cutoff
    assert late.any() and (~late).any()
    # Poison every row whose label is not yet known at the cutoff: if any leaked into training,
    # the fitted models would differ from models fitted without those rows at all.
    poisoned = frame.copy()
    poisoned.loc[late, "churn"] = 1.0
    poisoned.loc[late, "active_users_28d_change_pct"] = -99.0
    with_poison = fit_candidates(poisoned, "churn", config, cutoff=cutoff)
    clean = fit_candidates(frame[~late], "churn", config)
    probe = frame.sample(200, random_state=0)
    for name in ("chosen", "segmented", "global", "small_data", "logistic", "scorecard"):
        np.testing.assert_array_equal(
            with_poison[name].predict_proba(probe), clean[name].predict_proba(probe), err_msg=name
        )
    window = with_poison["segmented"].data_window_
    assert pd.Timestamp(window["last_as_of"]) + pd.Timedelta(days=210) < cutoff


def test_fit_candidates_returns_every_model_with_the_same_contract(frame, config):
    models = fit_candidates(frame, "expansion", config)
    assert list(models) == ["chosen", "segmented", "global", "small_data", "logistic", "scorecard"]
    # "chosen" is the candidate the selection rule of `retain train` picks on this window.
    assert any(models["chosen"] is models[name] for name in ("segmented", "global", "small_data"))
    for name, model in models.items():
        p = model.predict_proba(frame.head(40))
        assert p.shape == (40, 2), name
        np.testing.assert_allclose(p.sum(axis=1), 1.0, err_msg=name)
        assert ((p >= 0) & (p <= 1)).all(), name


def test_no_known_label_before_the_cutoff_is_a_clear_error(frame, config):
    with pytest.raises(RetainError, match="known 'churn' label before 2020-01-01"):
        fit_candidates(frame, "churn", config, cutoff="2020-01-01")


def test_unknown_target_is_an_error(frame):
    with pytest.raises(RetainError, match="Unknown target"):
        labelled_rows(frame, "upsell")
