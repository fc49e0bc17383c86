"""A small feature frame with exactly the columns of docs/architecture.md and a learnable signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.config import Config


def make_frame(n_accounts: int = 150, n_dates: int = 8, seed: int = 0) -> pd.DataFrame:
    """Monthly snapshots of `n_accounts` accounts in 3 segments; "Enterprise" has few positives.

    Churn risk rises with a falling usage trend, a missing champion and open escalations;
    expansion with seat utilization above 1. Some features are NaN (a missing signal), and
    `account_industry` is categorical.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=n_dates, freq="MS")
    segments = np.array(["SMB", "Mid-Market", "Enterprise"])[
        rng.choice(3, size=n_accounts, p=[0.5, 0.35, 0.15])
    ]
    industries = np.array(["software", "retail", "health", None], dtype=object)[
        rng.integers(0, 4, n_accounts)
    ]
    rows = []
    for as_of in dates:
        n = n_accounts
        usage_change = rng.normal(0, 30, n)
        usage_change[rng.random(n) < 0.1] = np.nan
        champion = (rng.random(n) < 0.7).astype(float)
        escalations = rng.poisson(0.5, n).astype(float)
        utilization = rng.uniform(0.1, 1.3, n)
        nps = rng.integers(0, 11, n).astype(float)
        nps[rng.random(n) < 0.3] = np.nan
        logit = (
            -1.5
            - 0.04 * np.nan_to_num(usage_change, nan=20.0)
            - 1.2 * champion
            + 0.6 * escalations
            - 1.5 * (segments == "Enterprise")
        )
        churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
        expansion = (rng.random(n) < 1 / (1 + np.exp(-(3 * (utilization - 0.9))))) & (churn == 0)
        rows.append(
            pd.DataFrame(
                {
                    "account_id": [f"A{i:04d}" for i in range(n)],
                    "as_of": as_of,
                    "spine": "monthly",
                    "segment": segments,
                    "renewal_date": as_of + pd.Timedelta(days=200),
                    "churn": churn,
                    "expansion": expansion.astype(float),
                    "contraction": 0.0,
                    "churn_known_at": as_of + pd.Timedelta(days=210),
                    "expansion_known_at": as_of + pd.Timedelta(days=210),
                    "contraction_known_at": as_of + pd.Timedelta(days=210),
                    "arr_at_horizon": np.where(churn == 1, 0.0, 20_000.0),
                    "active_users_28d_change_pct": usage_change,
                    "seat_utilization": utilization,
                    "champion_present": champion,
                    "escalated_tickets_90d": escalations,
                    "open_escalations": np.minimum(escalations, 1.0),
                    "onboarding_completion_pct": rng.uniform(0, 100, n),
                    "nps_last": nps,
                    "arr": rng.lognormal(10, 1, n),
                    "account_industry": industries,
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    frame["account_industry"] = frame["account_industry"].astype("object")
    return frame


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="session")
def config() -> Config:
    # Few rounds and small leaves keep the tests fast; 30 positives separates "own" from "global".
    return Config().with_overrides(
        {
            "training": {
                "num_boost_round": 60,
                "early_stopping_rounds": 10,
                "min_child_samples": 10,
                "min_positives_per_segment": 30,
                "num_threads": 1,
            }
        }
    )


@pytest.fixture(scope="session")
def _e2e_run(tmp_path_factory):
    """`retain train --target all --tune 2` on a small simulated dataset, into fresh SQLite
    MLflow and Optuna stores, once per worker; (folder, CLI result)."""
    import mlflow
    from typer.testing import CliRunner

    from retain.cli import app
    from simulator import simulate

    folder = tmp_path_factory.mktemp("e2e")
    simulate(folder / "data", n_accounts=150, months=24, seed=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
        # Small data: a short boosting budget keeps the test quick; the code path is the same.
        (folder / "retain.toml").write_text(
            "[training]\nnum_boost_round = 80\nearly_stopping_rounds = 15\n"
            "min_positives_per_segment = 40\n"
        )
        result = CliRunner().invoke(
            app,
            ["train", "--data", "data", "--target", "all", "--tune", "2", "--experiment", "e2e"],
        )
    mlflow.set_tracking_uri(None)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return folder, result


@pytest.fixture
def e2e(_e2e_run, monkeypatch):
    """The e2e run's folder as the working directory and its store as MLFLOW_TRACKING_URI, for
    this test only: a store the session kept set would be undone by whichever module fixture
    of another store closes first (xdist interleaves modules in one worker; test_train then
    read test_registry's store and found no "candidate" tag on version 1)."""
    folder, _ = _e2e_run
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
    return _e2e_run
