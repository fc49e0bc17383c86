"""Simulator shapes for tests and benchmarks: --billing monthly and --snapshot."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from retain.cli import app
from retain.config import load_config
from retain.errors import RetainError
from simulator import simulate


def _monthly_share(folder) -> float:
    contracts = pd.read_parquet(folder / "contracts.parquet")
    main = contracts[contracts["plan"] != "add-on"]
    days = (main["end_date"] - main["start_date"]).dt.days
    return float((days <= 31).mean())


def test_monthly_billing_is_mostly_month_to_month_terms(tmp_path) -> None:
    mixed = simulate(tmp_path / "mixed", n_accounts=150, months=6, seed=2)
    monthly = simulate(tmp_path / "monthly", n_accounts=150, months=6, seed=2, billing="monthly")
    assert _monthly_share(monthly) > 0.8
    assert _monthly_share(mixed) < 0.6
    # Same accounts otherwise: the billing shape changes terms, not who the customers are.
    accounts = [pd.read_parquet(f / "accounts.parquet") for f in (mixed, monthly)]
    pd.testing.assert_frame_equal(*accounts)


def test_snapshot_names_one_as_of_date_13_months_before_the_end(tmp_path) -> None:
    out = simulate(tmp_path / "snap", n_accounts=20, months=24, seed=1, snapshot=True)
    features = load_config(out, workdir=out).features
    assert features.data_end == "2026-10-01"
    assert features.as_of_dates == ("2025-09-01",)
    short = simulate(tmp_path / "short", n_accounts=5, months=10, seed=1, snapshot=True)
    # Ten months of history: never before the features' lookback (four months in).
    assert load_config(short, workdir=short).features.as_of_dates == ("2026-04-01",)


def test_cli_shapes_and_a_bad_billing_value(tmp_path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--out",
            str(tmp_path / "m"),
            "--accounts",
            "10",
            "--months",
            "6",
            "--billing",
            "monthly",
            "--snapshot",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "monthly billing, one snapshot" in result.output
    with pytest.raises(RetainError, match="--billing must be one of mixed, monthly"):
        simulate(tmp_path / "x", n_accounts=3, months=1, billing="weekly")
