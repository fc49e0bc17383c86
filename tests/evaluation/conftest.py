"""Shared fixtures: the synthetic frame and a fast config, so the backtest runs the real
candidate models in seconds."""

from __future__ import annotations

import pandas as pd
import pytest

from retain.config import Config
from tests.evaluation.synthetic import make_frame


@pytest.fixture(scope="session")
def fast_config() -> Config:
    return Config().with_overrides(
        {
            "training": {
                "num_boost_round": 40,
                "early_stopping_rounds": 10,
                "min_positives_per_segment": 20,
                "min_child_samples": 20,
                "num_threads": 1,
            },
            "evaluation": {"n_bootstrap": 50, "n_cutoffs": 2, "cv_folds": 3},
        }
    )


@pytest.fixture(scope="session")
def demo_frame() -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    return make_frame()


@pytest.fixture(scope="session")
def demo_result(demo_frame, fast_config):
    """One backtest of the synthetic frame with the oracle, shared by the tests that read it."""
    from evaluation.backtest import run_backtest

    frame, truth, data_end = demo_frame
    return run_backtest(frame, fast_config, truth=truth, data_end=data_end, data_label="demo")
