"""The backtest's bands for a model without bands of its own (the logistic baseline) are chosen
on the training side's out-of-time rows, recomputed here on rows picked by hand, never on the
scored window (whose outcomes the bands would then be graded on) nor on the training rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation._windows import Window
from evaluation.backtest import _score_window
from retain.config import Config
from tests.training.conftest import make_frame
from training.bands import choose_bands
from training.baselines import LogisticBaseline

WINDOW = Window("2024-07-01", pd.Timestamp("2024-07-01"), pd.Timestamp("2024-09-01"))


def staggered() -> pd.DataFrame:
    """8 monthly as_of dates; odd accounts known 400 days after as_of, even ones 210."""
    frame = make_frame(n_accounts=150, n_dates=8, seed=5)
    odd = frame["account_id"].str[-4:].astype(int) % 2 == 1
    frame["churn_known_at"] = frame["as_of"] + pd.to_timedelta(np.where(odd, 400, 210), "D")
    return frame


def test_baseline_bands_come_from_the_training_sides_out_of_time_rows():
    config = Config()
    frame = staggered()
    train = frame[frame["as_of"] < WINDOW.start].reset_index(drop=True)
    scored = frame[frame["as_of"] >= WINDOW.start].reset_index(drop=True)
    fitted: dict[str, LogisticBaseline] = {}

    def fit(rows, target, config, cutoff):
        fitted["logistic"] = LogisticBaseline(target, config).fit(rows, rows[target])
        return fitted

    step = _score_window(train, scored, WINDOW, "churn", config, None, fit, explain=False)
    model = fitted["logistic"]
    # 6 months x 2 latencies = 12 known dates; the latest round(2.4) = 2 are the odd accounts'
    # of May and June.
    odd = train["account_id"].str[-4:].astype(int) % 2 == 1
    side = train[odd & (train["as_of"] >= pd.Timestamp("2024-05-01"))]
    assert len(side) == 150
    p_side = model.predict_proba(side)[:, 1]
    expected = choose_bands(side["churn"], p_side, config, spine=side["spine"].to_numpy())
    assert step.bands["logistic"] == expected
    # The scored window's own outcomes and the whole training side give other thresholds, so
    # the equality above tells the rows apart.
    on_scored = choose_bands(scored["churn"], model.predict_proba(scored)[:, 1], config)
    on_train = choose_bands(train["churn"], model.predict_proba(train)[:, 1], config)
    assert on_scored != expected and on_train != expected
    bands = step.predictions.loc[step.predictions["model"] == "logistic", "band"]
    assert set(bands) <= {"green", "yellow", "red"} and len(bands) == len(scored)
