"""`retain plays evaluate` on a small real simulated book (CliRunner, SQLite MLflow)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from retain.cli import app
from retain.errors import RetainError
from simulator import simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("plays") / "data", n_accounts=300, months=30, seed=5)


@pytest.fixture(scope="module")
def evaluated(book: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("eval")
    uri = f"sqlite:///{out / 'mlflow.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    try:
        result = runner.invoke(
            app,
            ["plays", "evaluate", "--data", str(book), "--out", str(out), "--n-bootstrap", "200"],
        )
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    return out, result.output, uri


def _matched_known(book: Path, outcome: str) -> pd.DataFrame:
    """Play rows with the frame's snapshot at or before the start (45 days at most) and a known
    outcome, found row by row (not by the estimator's merge)."""
    from features.build import build_features
    from features.source import DataSource
    from retain.config import load_config

    source = DataSource.open(book)
    frame = build_features(source, load_config(book), spine="monthly")
    end = source.data_end
    plays = source.frame("plays")
    kept = []
    for row in plays.itertuples():
        snaps = frame[
            (frame["account_id"] == row.account_id)
            & (frame["as_of"] <= row.started_at)
            & (frame["as_of"] >= row.started_at - pd.Timedelta(days=45))
        ]
        if snaps.empty:
            continue
        snap = snaps.sort_values("as_of").iloc[-1]
        if pd.notna(snap[outcome]) and snap[f"{outcome}_known_at"] < end:
            kept.append({"play": row.play, "arm": row.arm, "y": snap[outcome]})
    return pd.DataFrame(kept)


def test_every_play_is_estimated_with_its_design(book, evaluated):
    out, output, _ = evaluated
    text = (out / "plays_effects.json").read_text()
    assert "NaN" not in text  # strict JSON
    result = json.loads(text)
    truth = json.loads((book / "plays_truth.json").read_text())
    designs = {p["play"]: p["design"] for p in result["plays"]}
    expected = {
        p["play"]: "randomized" if p["assignment"] == "random" else "observational"
        for p in truth["plays"]
    }
    assert designs == expected
    headline = [e for e in result["estimates"] if e["segment"] == "all"]
    assert {(e["play"], e["outcome"]) for e in headline} == {
        (p, o) for p in expected for o in ("churn", "expansion")
    }
    for e in result["estimates"]:
        if e["design"] == "observational":
            assert e["label"].startswith("observational estimate")
            assert "overlap" in e or e["effect"] is None
        if e.get("effect") is not None:
            assert e["ci_low"] <= e["effect"] <= e["ci_high"]
            assert e["effect"] == pytest.approx(e["treated_rate"] - e["control_rate"])
    assert "adoption_review on churn (randomized)" in output


def test_randomized_counts_and_rates_match_a_row_by_row_recount(book, evaluated):
    out, _, _ = evaluated
    result = json.loads((out / "plays_effects.json").read_text())
    rows = _matched_known(book, "churn")
    for e in result["estimates"]:
        if e["design"] != "randomized" or e["segment"] != "all" or e["outcome"] != "churn":
            continue
        mine = rows[rows["play"] == e["play"]]
        treated, control = mine[mine["arm"] == "treated"], mine[mine["arm"] == "control"]
        assert (e["treated_n"], e["control_n"]) == (len(treated), len(control))
        if e.get("effect") is not None:
            assert e["treated_rate"] == pytest.approx(treated["y"].mean())
            assert e["control_rate"] == pytest.approx(control["y"].mean())


def test_report_and_mlflow_run(evaluated):
    import mlflow

    out, _, uri = evaluated
    html = (out / "plays_effects.html").read_text()
    assert "Which plays work" in html and "data:image/png;base64," in html
    result = json.loads((out / "plays_effects.json").read_text())
    run_id = result["mlflow"]["run_id"]
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.data.tags["retain.stage"] == "plays_evaluate"
    first = next(e for e in result["estimates"] if e.get("effect") is not None)
    key = f"{first['play']}.{first['outcome']}.{first['segment']}.effect".replace(" ", "_")
    assert run.data.metrics[key] == pytest.approx(first["effect"])


def test_data_without_plays_is_a_clear_error(book, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(book, data)
    (data / "plays.parquet").unlink()
    result = runner.invoke(
        app, ["plays", "evaluate", "--data", str(data), "--out", str(tmp_path / "o"), "--no-mlflow"]
    )
    # retain.cli.main prints a RetainError's message; CliRunner calls the app, so it is here.
    assert isinstance(result.exception, RetainError)
    assert "has no plays table" in str(result.exception)
