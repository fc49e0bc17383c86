"""The report renders, is self-contained, and shows every model; outputs land on disk and in
MLflow."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evaluation.outputs import log_backtest, save_backtest
from evaluation.report import plain_summary, render_report


@pytest.fixture()
def result(demo_result):
    return demo_result


def test_report_contains_every_model_and_section(result) -> None:
    html = render_report(result)
    for model in ("segmented", "global", "logistic", "scorecard", "oracle"):
        assert f'<td class="text">{model}</td>' in html
    for section in (
        "In short",
        "ROC curves",
        "Precision-recall curves",
        "Calibration",
        "Lift",
        "Health bands over time",
        "Renewal forecast vs actual",
        "Per segment",
    ):
        assert f"<h2>{section}" in html
    assert html.count("data:image/png;base64,") >= 6
    assert "http://" not in html and "https://" not in html  # no CDN, works offline
    assert plain_summary(result.summary)[0] in html


def test_plain_summary_reads_like_a_sentence(result) -> None:
    churn = result.summary["targets"]["churn"]["models"]["chosen"]  # the headline model
    first = plain_summary(result.summary)[0]
    assert first.startswith("Across 2 backtest quarters, accounts the model scored green renewed")
    assert f"{churn['renewal_rate_green'] * 100:.0f}%" in first
    assert f"{churn['band_renewal_ratio']:.1f}x" in first


def test_outputs_written_and_logged(result, fast_config, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    paths = save_backtest(result, tmp_path / "out")
    assert {p.name for p in paths.values()} == {
        "metrics.json",
        "backtest.parquet",
        "predictions.parquet",
        "forecast.parquet",
        "reasons.parquet",
        "report.html",
    }
    summary = json.loads(paths["metrics"].read_text())
    assert summary["targets"]["churn"]["models"]["oracle"]["roc_auc"] > 0.5
    assert {"grr_error_pct", "nrr_error_pct"} <= set(summary["forecast"])
    tidy = pd.read_parquet(paths["backtest"])
    assert list(tidy.columns) == ["cutoff", "model", "target", "segment", "metric", "value"]

    import mlflow

    run_id = log_backtest(paths, result.summary, fast_config)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = mlflow.get_run(run_id)
    assert run.data.metrics["churn.segmented.roc_auc"] == pytest.approx(
        summary["targets"]["churn"]["models"]["segmented"]["roc_auc"], abs=1e-6
    )
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "backtest")}
    assert "backtest/report.html" in artifacts and "backtest/metrics.json" in artifacts


def test_report_states_the_scheme_and_how_much_the_evidence_weighs(result) -> None:
    html = render_report(result)
    assert "<h2>How much the evidence weighs</h2>" in html
    assert "<h3>churn: rolling (quarterly)</h3>" in html
    evidence = result.summary["targets"]["churn"]["evidence"]
    assert evidence["sentence"] in html
    # Two origins with n_cutoffs = 2: thin, and the summary for the CS leader says so.
    assert evidence["thin"] and "Read these figures with care" in plain_summary(result.summary)[-1]
    low, high = result.summary["targets"]["churn"]["models"]["segmented"]["roc_auc_ci"]
    assert f"[{low:.2f}, {high:.2f}]" in html  # the pooled table shows the interval
