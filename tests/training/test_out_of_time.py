"""Out of time, recomputed: calibration, bands and the segment booster choice are fitted on the
validation rows, checked by refitting them here on rows chosen by hand, not by reading back
what the model recorded about itself.

The validation rows are the latest `validation_fraction` (20%) of distinct dates of the
target's known date (`churn_known_at`), not of as_of: here odd accounts are far from renewal
(known 400 days after as_of), even ones near it (210 days), over 8 monthly as_of dates, so 16
distinct known dates, round(3.2) = 3 held out: the odd accounts of the last three months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from tests.training.conftest import make_frame
from training import SegmentedModel
from training._split import decision_half
from training.bands import choose_bands
from training.calibration import fit_calibrator

LAST_THREE_MONTHS = pd.Timestamp("2024-06-01")


def staggered_frame() -> pd.DataFrame:
    frame = make_frame(n_accounts=150, n_dates=8, seed=4)
    odd = frame["account_id"].str[-4:].astype(int) % 2 == 1
    for target in ("churn", "expansion", "contraction"):
        days = np.where(odd, 400, 210)
        frame[f"{target}_known_at"] = frame["as_of"] + pd.to_timedelta(days, unit="D")
    return frame


def hand_validation_rows(frame: pd.DataFrame) -> np.ndarray:
    odd = frame["account_id"].str[-4:].astype(int) % 2 == 1
    return (odd & (frame["as_of"] >= LAST_THREE_MONTHS)).to_numpy()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return staggered_frame()


@pytest.fixture(scope="module")
def one_for_all(frame, config) -> SegmentedModel:
    return SegmentedModel("churn", config, segmentation="none").fit(frame, frame["churn"])


def test_the_hand_picked_validation_rows_are_the_models(one_for_all, frame):
    valid = hand_validation_rows(frame)
    assert valid.sum() == 75 * 3
    assert one_for_all.metrics_["__all__"]["valid_rows"] == 225
    assert one_for_all.metrics_["__all__"]["valid_positives"] == int(frame["churn"][valid].sum())
    assert one_for_all.data_window_["valid_from"] == "2024-06-01"


def _beta_on(margin: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Beta calibration fitted here, with scikit-learn alone: logit p = a ln p0 - b ln(1-p0) + c,
    a term with a negative coefficient dropped and the other refitted (Kull et al.'s rule)."""
    log_p, minus_log_q = -np.logaddexp(0.0, -margin), np.logaddexp(0.0, margin)
    features = np.column_stack([log_p, minus_log_q])
    fit = LogisticRegression(C=1e4, max_iter=1000).fit(features, y)
    if (fit.coef_ < 0).any():
        keep = [int(np.argmax(fit.coef_[0]))]
        features = features[:, keep]
        fit = LogisticRegression(C=1e4, max_iter=1000).fit(features, y)
    assert (fit.coef_ > 0).all()  # increasing: not the base-rate fallback
    return fit.predict_proba(features)[:, 1]


def test_calibration_is_refitted_identically_on_the_validation_rows(one_for_all, frame):
    valid = hand_validation_rows(frame)
    y = frame["churn"].to_numpy(int)
    margin = one_for_all.raw_margin(frame)
    p = one_for_all.predict_proba(frame)[:, 1]
    np.testing.assert_allclose(p[valid], _beta_on(margin[valid], y[valid]), atol=1e-6)
    mine = fit_calibrator(margin[valid], y[valid])
    np.testing.assert_allclose(p, mine.predict(margin), atol=1e-9)
    # The check tells the rows apart: a calibrator fitted on the training rows (or on all rows)
    # maps the same margins elsewhere.
    for rows in (~valid, np.ones_like(valid)):
        other = fit_calibrator(margin[rows], y[rows]).predict(margin)
        assert np.abs(other - p).max() > 0.02


def test_bands_are_chosen_on_the_validation_rows(one_for_all, frame, config):
    valid = hand_validation_rows(frame)
    y = frame["churn"].to_numpy(float)
    p = one_for_all.predict_proba(frame)[:, 1]
    mine = choose_bands(y[valid], p[valid], config, spine=frame["spine"].to_numpy()[valid])
    assert one_for_all.bands_ == mine
    for rows in (~valid, np.ones_like(valid)):
        assert choose_bands(y[rows], p[rows], config) != mine


# -- the segment booster choice --------------------------------------------------------------


def opposite_laws(n: int = 4_000, seed: int = 0, flip: float = -2.0) -> pd.DataFrame:
    """Two segments whose churn follows one feature in opposite directions (`flip` < 0) or the
    same way (`flip` > 0); known dates staggered as above."""
    rng = np.random.default_rng(seed)
    segment = np.where(rng.random(n) < 0.5, "Flip", "Base")
    x = rng.normal(0, 1, n)
    logit = np.where(segment == "Flip", flip * x, 2.0 * x) - 1.0
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    months = rng.integers(0, 10, n)
    as_of = pd.to_datetime(
        [pd.Timestamp("2024-01-01") + pd.DateOffset(months=int(m)) for m in months]
    )
    far = rng.random(n) < 0.5
    return pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "as_of": as_of,
            "segment": segment,
            "churn": churn,
            "churn_known_at": as_of + pd.to_timedelta(np.where(far, 400, 100), unit="D"),
            "usage_change": x,
            "noise": rng.normal(0, 1, n),
        }
    )


def recomputed_aucs(model: SegmentedModel, frame: pd.DataFrame, rows: np.ndarray) -> dict:
    """ROC-AUC of the refined and of the global margin on each segment's `rows`, from the
    boosters themselves (LightGBM's raw scores), not from anything the model recorded."""
    from training import _booster

    matrix = model.design_.matrix(frame)
    global_margin = _booster.raw_margin(model.global_booster_, matrix)
    y = frame["churn"].to_numpy(int)
    out = {}
    for segment in ("Base", "Flip"):
        mask = (frame["segment"] == segment).to_numpy() & rows
        refined = global_margin[mask] + _booster.raw_margin(model.boosters_[segment], matrix[mask])
        out[segment] = (
            roc_auc_score(y[mask], refined),
            roc_auc_score(y[mask], global_margin[mask]),
        )
    return out


def _validation_by_hand(frame: pd.DataFrame) -> np.ndarray:
    # 10 months x 2 latencies = 20 distinct known dates; the latest round(4.0) = 4 validate:
    # the far-from-renewal rows of the last four months.
    far = frame["churn_known_at"] - frame["as_of"] > pd.Timedelta(days=200)
    return (far & (frame["as_of"] >= pd.Timestamp("2024-07-01"))).to_numpy()


def test_a_refinement_is_kept_on_its_out_of_time_auc_recomputed_here(config):
    frame = opposite_laws()
    model = SegmentedModel("churn", config).fit(frame, frame["churn"])
    valid = _validation_by_hand(frame)
    assert model.metrics_["__all__"]["valid_rows"] == valid.sum()
    assert model.segment_strategy_ == {"Base": "refined", "Flip": "refined"}
    # The choice is made on the decision half of the validation accounts (the other half is
    # left for comparing candidates): recompute on exactly those rows.
    decide = valid & decision_half(frame["account_id"].to_numpy(), config.training.seed)
    on_valid = recomputed_aucs(model, frame, decide)
    on_train = recomputed_aucs(model, frame, ~valid)
    on_selection_half = recomputed_aucs(model, frame, valid & ~decide)
    for segment, (refined, global_) in on_valid.items():
        recorded = model.segment_auc_[segment]
        assert recorded["refined"] == pytest.approx(refined, abs=1e-12)
        assert recorded["global"] == pytest.approx(global_, abs=1e-12)
        assert refined > global_ + 0.05  # the reason it was kept
        # ... and the recorded AUCs are not the training rows' nor the selection half's (the
        # check can tell them apart).
        assert abs(on_train[segment][0] - refined) > 1e-4
        assert abs(on_selection_half[segment][0] - refined) > 1e-4


def test_a_refinement_that_does_not_beat_the_global_booster_out_of_time_is_dropped(config):
    frame = opposite_laws(flip=2.0, seed=1)
    model = SegmentedModel("churn", config).fit(frame, frame["churn"])
    valid = _validation_by_hand(frame)
    assert model.segment_strategy_ == {"Base": "global", "Flip": "global"}
    assert model.boosters_ == {}
    # The refinement boosters are gone, so the global AUC is what can be recomputed: the model
    # compared on the validation rows, not the training ones.
    from training import _booster

    margin = _booster.raw_margin(model.global_booster_, model.design_.matrix(frame))
    y = frame["churn"].to_numpy(int)
    decide = valid & decision_half(frame["account_id"].to_numpy(), config.training.seed)
    for segment in ("Base", "Flip"):
        rows = (frame["segment"] == segment).to_numpy() & decide
        assert model.segment_auc_[segment]["global"] == pytest.approx(
            roc_auc_score(y[rows], margin[rows]), abs=1e-12
        )
        assert not model.segment_auc_[segment]["difference_low"] > 0


# -- the falling-curve guard -----------------------------------------------------------------


def _falling(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 2, n)
    y = (rng.random(n) < 1 / (1 + np.exp(1.5 * margin))).astype(int)  # risk FALLS with margin
    return margin, y


@pytest.mark.parametrize("rows", [60, 600], ids=["platt", "beta"])
def test_a_falling_curve_never_reverses_the_ranking(rows):
    margin, y = _falling(rows)
    calibrator = fit_calibrator(margin, y)
    grid = np.linspace(-6, 6, 25)
    p = calibrator.predict(grid)
    assert (np.diff(p) >= 0).all()  # never decreasing in the margin
    # Nothing increasing fits a falling law: the base rate, for everyone.
    assert np.ptp(p) == 0.0
    assert p[0] == pytest.approx(y.mean())


def test_a_beta_fit_with_one_falling_tail_drops_that_term_and_stays_increasing():
    # Risk rises with the margin below 0 and falls above it: the ln(1 - p0) term comes out
    # negative; the published fallback refits without it.
    rng = np.random.default_rng(11)
    margin = rng.normal(0, 2, 4_000)
    truth = 1 / (1 + np.exp(-(1.5 * np.minimum(margin, 0.0) - 1.5 * np.maximum(margin, 0.0))))
    y = (rng.random(len(margin)) < truth).astype(int)
    calibrator = fit_calibrator(margin, y)
    assert calibrator.kind == "beta"
    assert min(calibrator.a, calibrator.b) == 0.0 and max(calibrator.a, calibrator.b) > 0.0
    p = calibrator.predict(np.linspace(-8, 8, 81))
    assert (np.diff(p) > 0).all()
