"""One small simulated data set shared by the simulator tests (300 accounts x 24 months)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simulator import simulate

TABLE_NAMES = (
    "accounts",
    "contracts",
    "usage",
    "tickets",
    "contacts",
    "activities",
    "milestones",
    "surveys",
    "plays",
    "handoffs",
    "truth",
)


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("sim") / "data", n_accounts=300, months=24, seed=7)


@pytest.fixture(scope="session")
def tables(sim_dir: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(sim_dir / f"{name}.parquet") for name in TABLE_NAMES}


@pytest.fixture(scope="session")
def data_end(sim_dir: Path) -> pd.Timestamp:
    from retain.config import load_config

    return pd.Timestamp(load_config(sim_dir, workdir=sim_dir).features.data_end)


@pytest.fixture(scope="session")
def main_contracts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    contracts = tables["contracts"]
    return contracts[contracts["plan"] != "add-on"].sort_values(["account_id", "start_date"])
