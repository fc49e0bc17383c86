"""`retain score`, `retain report accounts` and `retain serve` preflight, on simulated data."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from retain.cli import app
from retain.errors import RetainError
from serving.store import read_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory):
    from simulator import simulate

    folder = tmp_path_factory.mktemp("sim") / "data"
    simulate(folder, n_accounts=60, months=14, seed=3)
    return folder


def test_score_writes_parquet_csv_and_store(data, trained: dict, tmp_path) -> None:
    out = tmp_path / "out" / "scores.parquet"
    store = tmp_path / "store.duckdb"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "--data",
            str(data),
            "--out",
            str(out),
            "--model-path",
            str(trained["folder"]),
            "--store",
            str(store),
        ],
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(out)
    flat = pd.read_csv(out.with_suffix(".csv"))
    assert len(scored) == len(flat) > 0
    assert scored["account_id"].is_unique
    assert {"risk_reason_1", "expansion_reason_1", "signals", "csm_id"} <= set(flat.columns)
    stored = read_store(store)
    assert set(stored) == set(scored["account_id"])
    assert all(a.result is not None for a in stored.values())


def test_score_at_an_earlier_date_and_a_date_after_the_data(data, trained: dict, tmp_path) -> None:
    args = ["--model-path", str(trained["folder"]), "--store", str(tmp_path / "s.duckdb")]
    out = tmp_path / "early.parquet"
    early = CliRunner().invoke(
        app, ["score", "--data", str(data), "--out", str(out), "--as-of", "2026-03-01", *args]
    )
    assert early.exit_code == 0, early.output
    assert set(pd.read_parquet(out)["as_of"].dt.date.astype(str)) == {"2026-03-01"}
    late = CliRunner().invoke(
        app, ["score", "--data", str(data), "--out", str(out), "--as-of", "2099-01-01", *args]
    )
    assert isinstance(late.exception, RetainError)
    assert "after the end of the data" in str(late.exception)


def test_report_accounts_writes_the_review(data, trained: dict, tmp_path) -> None:
    out = tmp_path / "review.html"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "accounts",
            "--data",
            str(data),
            "--out",
            str(out),
            "--model-path",
            str(trained["folder"]),
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "Weekly account review" in html and "Per segment" in html


def test_serve_refuses_to_start_without_tokens(trained: dict, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("RETAIN_API_TOKENS", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--model-path", str(trained["folder"])])
    assert isinstance(result.exception, RetainError)
    assert "--no-auth" in str(result.exception)


def test_serve_refuses_a_missing_model(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--no-auth", "--model-path", str(tmp_path / "none")])
    assert isinstance(result.exception, RetainError)
    assert "does not exist" in str(result.exception)


def test_serve_reports_an_unreadable_model_cleanly(trained: dict, tmp_path, monkeypatch) -> None:
    import shutil

    broken = tmp_path / "models"
    shutil.copytree(trained["folder"], broken)
    # Same format version, a key missing: what a model saved by a slightly older build looks like.
    saved = json.loads((broken / "churn" / "model.json").read_text())
    del saved["bands"]
    (broken / "churn" / "model.json").write_text(json.dumps(saved))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--no-auth", "--model-path", str(broken)])
    assert isinstance(result.exception, RetainError)
    assert "Cannot load the churn model" in str(result.exception)


def test_serve_refuses_an_unknown_missing_values_mode(trained: dict, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        ["serve", "--no-auth", "--model-path", str(trained["folder"]), "--missing-values", "zero"],
    )
    assert isinstance(result.exception, RetainError)
    assert "missing_values must be one of impute, reject" in str(result.exception)


def test_serve_refuses_a_model_folder_without_a_missing_value_policy(
    trained: dict, tmp_path, monkeypatch
) -> None:
    import shutil

    old = tmp_path / "models"
    shutil.copytree(trained["folder"], old)
    (old / "expansion" / "missing_policy.json").unlink()  # saved before the policy existed
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--no-auth", "--model-path", str(old)])
    assert isinstance(result.exception, RetainError)
    assert "missing_policy.json" in str(result.exception)
