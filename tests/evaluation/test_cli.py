"""`retain backtest` end to end on a small simulated customer base (real features, real models,
real MLflow store in a temp folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from evaluation.backtest import MODELS
from retain.cli import app

RETAIN = Path(sys.executable).with_name("retain")
# Small boosting budgets keep the end-to-end run short; the data folder's retain.toml is the
# documented place for settings about one data set.
FAST_SETTINGS = """
[training]
num_boost_round = 40
early_stopping_rounds = 10
min_positives_per_segment = 15
num_threads = 1

[evaluation]
n_cutoffs = 2
n_bootstrap = 50
"""


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    from simulator import simulate

    data = tmp_path_factory.mktemp("demo")
    # 30 months: spines start 90 days into the event history and outcomes take 210 days, so
    # this is what two quarterly cutoffs need.
    simulate(data, n_accounts=200, months=30, seed=1)
    with (data / "retain.toml").open("a", encoding="utf-8") as handle:
        handle.write(FAST_SETTINGS)
    return data


@pytest.mark.slow
def test_backtest_command_writes_every_output(small_demo, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "backtest"
    result = CliRunner().invoke(app, ["backtest", "--data", str(small_demo), "--out", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "Pooled backtest metrics" in result.output
    assert f"Report: {out / 'report.html'}" in result.output
    summary = json.loads((out / "metrics.json").read_text())
    assert len(summary["cutoffs"]) == 2
    churn = summary["targets"]["churn"]["models"]
    assert set(churn) == set(MODELS)
    assert summary["targets"]["churn"]["evaluation"]["scheme"] in ("rolling", "grouped k-fold")
    assert "How much the evidence weighs" in (out / "report.html").read_text()
    assert summary["n_snapshots"] > 0 and summary["data"] == str(small_demo)
    tidy = pd.read_parquet(out / "backtest.parquet")
    assert set(tidy["cutoff"]) == {*summary["cutoffs"], "pooled"}
    html = (out / "report.html").read_text()
    assert all(model in html for model in churn)


def test_bad_cutoffs_exit_cleanly(small_demo, tmp_path) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    completed = subprocess.run(
        [
            str(RETAIN),
            "backtest",
            "--data",
            str(small_demo),
            "--out",
            str(tmp_path / "o"),
            "--cutoffs",
            "2025-02-30",
            "--no-track",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert completed.returncode == 1
    assert "Cannot read --cutoffs" in completed.stderr
    assert "Traceback" not in completed.stderr
