"""Synthetic feature frames shaped like `retain features` output (identity, labels, features)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retain.config import Config

INDUSTRIES = ("software", "retail", "finance", "health")


def feature_frame(rows: int, seed: int, as_of: str = "2025-01-01") -> pd.DataFrame:
    """A window of `rows` snapshots with a few catalogue features and known churn labels."""
    rng = np.random.default_rng(seed)
    seats = rng.integers(5, 200, rows).astype(float)
    active = np.minimum(rng.poisson(seats * 0.6), seats).astype(float)
    days_idle = rng.exponential(6.0, rows)
    days_idle[rng.random(rows) < 0.05] = np.nan
    churn_logit = -1.5 - 2.0 * (active / seats - 0.6) + 0.05 * np.nan_to_num(days_idle)
    churn = (rng.random(rows) < 1 / (1 + np.exp(-churn_logit))).astype(float)
    return pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(rows)],
            "as_of": pd.Timestamp(as_of),
            "spine": "monthly",
            "segment": rng.choice(["SMB", "Mid-Market"], rows),
            "renewal_date": pd.Timestamp(as_of) + pd.Timedelta(days=200),
            "churn": churn,
            "expansion": (rng.random(rows) < 0.1).astype(float),
            "contraction": 0.0,
            "churn_known_at": pd.Timestamp(as_of) + pd.Timedelta(days=210),
            "expansion_known_at": pd.Timestamp(as_of) + pd.Timedelta(days=210),
            "contraction_known_at": pd.Timestamp(as_of) + pd.Timedelta(days=210),
            "arr_at_horizon": np.nan,
            "active_users_28d": active,
            "seat_utilization": active / seats,
            "days_since_last_activity": days_idle,
            "tickets_30d": rng.poisson(0.4, rows).astype(float),
            "arr": np.round(rng.lognormal(10, 1, rows), 2),
            "account_industry": rng.choice(INDUSTRIES, rows),
        }
    )


@pytest.fixture
def reference() -> pd.DataFrame:
    return feature_frame(2_000, seed=1, as_of="2025-01-01")


@pytest.fixture
def current() -> pd.DataFrame:
    return feature_frame(2_000, seed=2, as_of="2025-04-01")


@pytest.fixture(scope="session")
def saved_models(tmp_path_factory) -> Path:
    """A folder with tiny churn/ and expansion/ SegmentedModels trained on five monthly windows."""
    from training.segmented import SegmentedModel

    config = Config().with_overrides(
        {"training": {"num_boost_round": 30, "min_positives_per_segment": 20, "num_threads": 1}}
    )
    frame = pd.concat(
        [feature_frame(400, seed=10 + month, as_of=f"2024-0{month}-01") for month in range(1, 6)],
        ignore_index=True,
    )
    folder = tmp_path_factory.mktemp("models")
    for target in ("churn", "expansion"):
        SegmentedModel(target=target, config=config).fit(frame, frame[target]).save(folder / target)
    return folder


@pytest.fixture(scope="session")
def data_source(tmp_path_factory) -> Path:
    """A tiny data source: 40 accounts; from July 2024 half of them drop from 10 users to 2."""
    folder = tmp_path_factory.mktemp("source")
    ids = [f"a{i:02d}" for i in range(40)]
    pd.DataFrame(
        {"account_id": ids, "created_at": pd.Timestamp("2023-01-01"), "industry": "software"}
    ).to_parquet(folder / "accounts.parquet")
    pd.DataFrame(
        {
            "contract_id": [f"c{i:02d}" for i in range(40)],
            "account_id": ids,
            "start_date": pd.Timestamp("2023-01-01"),
            "end_date": pd.Timestamp("2026-01-01"),
            "arr": 12_000.0,
            "seats": 20.0,
        }
    ).to_parquet(folder / "contracts.parquet")
    rows = []
    for day in pd.date_range("2024-01-01", "2024-12-31", freq="7D"):
        for number, account in enumerate(ids):
            users = 2 if day >= pd.Timestamp("2024-07-01") and number % 2 == 0 else 10
            rows += [(account, day, "login", f"{account}-u{u}") for u in range(users)]
    pd.DataFrame(rows, columns=["account_id", "timestamp", "event", "user_id"]).to_parquet(
        folder / "usage.parquet"
    )
    return folder


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> str:
    """One SQLite MLflow store for the session (creating its tables takes seconds)."""
    import mlflow

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder}/mlflow.db"
    # An explicit artifact folder: the default would be ./mlruns of whatever the cwd is.
    mlflow.MlflowClient(tracking_uri=uri).create_experiment(
        Config().tracking.experiment, artifact_location=str(folder / "artifacts")
    )
    return uri
