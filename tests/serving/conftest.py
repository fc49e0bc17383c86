"""Shared fixtures: a small synthetic feature frame and a real SegmentedModel pair trained on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retain.config import Config


def synthetic_frame(n_accounts: int = 240, months: int = 8, seed: int = 0) -> pd.DataFrame:
    """A feature frame with catalogue feature names, three segments, labels known for all rows.

    Churn rises with a usage drop, a departed champion and open escalations; expansion with seat
    utilization above 1: enough structure for the boosters to split on the features the
    signals and reasons read.
    """
    rng = np.random.default_rng(seed)
    segments = np.array(["SMB", "Mid-Market", "Enterprise"])[rng.integers(0, 3, n_accounts)]
    industries = np.array(["Software", "Retail", "Finance"])[rng.integers(0, 3, n_accounts)]
    base_arr = np.round(rng.lognormal(10, 0.8, n_accounts), 2)
    csm = np.array([f"csm_{i % 5}" for i in range(n_accounts)])
    rows = []
    for month in range(months):
        as_of = pd.Timestamp("2024-01-01") + pd.DateOffset(months=month)
        n = n_accounts
        change = np.round(rng.normal(-5, 30, n), 1)
        champion_left = (rng.random(n) < 0.15).astype(float)
        days_since_left = np.where(champion_left == 1, rng.integers(1, 90, n), np.nan)
        open_escalations = rng.poisson(0.3, n).astype(float)
        utilization = np.round(rng.uniform(0.2, 1.4, n), 3)
        stalled = (rng.random(n) < 0.2).astype(float)
        nps = np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 11, n)).astype(float)
        days_to_renewal = rng.integers(5, 365, n).astype(float)
        logit_churn = (
            -2.0
            - 0.04 * change
            + 1.5 * champion_left
            + 0.8 * open_escalations
            + 1.0 * stalled
            - 0.1 * np.nan_to_num(nps, nan=5.0)
        )
        logit_expansion = -2.0 + 3.0 * (utilization - 0.8) + 0.02 * change
        churn = (rng.random(n) < 1 / (1 + np.exp(-logit_churn))).astype(float)
        expansion = (rng.random(n) < 1 / (1 + np.exp(-logit_expansion))).astype(float)
        rows.append(
            pd.DataFrame(
                {
                    "account_id": [f"acc_{i:04d}" for i in range(n)],
                    "as_of": as_of,
                    "spine": "monthly",
                    "segment": segments,
                    "renewal_date": as_of + pd.to_timedelta(days_to_renewal, unit="D"),
                    "churn": churn,
                    "expansion": expansion,
                    "contraction": 0.0,
                    "churn_known_at": as_of + pd.Timedelta(days=210),
                    "expansion_known_at": as_of + pd.Timedelta(days=210),
                    "contraction_known_at": as_of + pd.Timedelta(days=210),
                    "arr_at_horizon": base_arr * (1 - churn),
                    "usage_14d_change_pct": change,
                    "usage_drop_40pct_14d": (change <= -40).astype(float),
                    "seat_utilization": utilization,
                    "champion_left_90d": champion_left,
                    "days_since_champion_left": days_since_left,
                    "open_escalations": open_escalations,
                    "onboarding_stalled": stalled,
                    "nps_last": nps,
                    "days_to_renewal": days_to_renewal,
                    "arr": base_arr,
                    "account_industry": industries,
                    "csm_id": csm,
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    return frame


def tiny_config(tmp: Path) -> Config:
    return Config().with_overrides(
        {
            "training": {
                "num_boost_round": 40,
                "early_stopping_rounds": 10,
                "min_child_samples": 10,
                "min_positives_per_segment": 60,
                "num_threads": 1,
            },
            "serving": {"store_path": str(tmp / "scores.duckdb")},
        }
    )


def train_pair(frame: pd.DataFrame, config: Config, folder: Path) -> Path:
    from serving.scoring import save_model_pair
    from training.segmented import SegmentedModel

    features = frame.drop(columns=["csm_id"])
    churn = SegmentedModel(target="churn", config=config).fit(features, features["churn"])
    expansion = SegmentedModel(target="expansion", config=config).fit(
        features, features["expansion"]
    )
    return save_model_pair(churn, expansion, folder, features)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A saved model pair, its config (model_path set) and the frame it learnt from."""
    tmp = tmp_path_factory.mktemp("serving_models")
    frame = synthetic_frame()
    config = tiny_config(tmp)
    folder = train_pair(frame, config, tmp / "models")
    config = config.with_overrides({"serving": {"model_path": str(folder)}})
    return {"frame": frame, "config": config, "folder": folder, "tmp": tmp}
