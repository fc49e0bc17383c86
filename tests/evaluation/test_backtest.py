"""The rolling backtest with the real candidate models on a small synthetic feature frame."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.backtest import plan_windows, run_backtest
from retain.errors import RetainError
from tests.evaluation.synthetic import make_frame
from training.candidates import fit_candidates


def test_quarterly_cutoffs_need_known_labels_on_both_sides(demo_frame, fast_config) -> None:
    frame, _, data_end = demo_frame
    config = fast_config.with_overrides({"evaluation": {"n_cutoffs": 20}})
    windows, mode, note = plan_windows(frame, config, data_end, "quarterly")
    assert mode == "rolling"
    delay = pd.Timedelta(days=210)
    for window in windows:
        in_window = frame[(frame["as_of"] >= window.start) & (frame["as_of"] < window.end)]
        assert in_window["as_of"].max() + delay <= data_end
        assert (frame["as_of"] + delay < window.start).any()
        assert window.end == window.start + pd.DateOffset(months=3)
    assert [w.name for w in windows] == ["2021-10-01", "2022-01-01", "2022-04-01", "2022-07-01"]
    assert "wanted 20" in note and "Only 4 quarters qualify" in note


def test_explicit_cutoffs_and_bad_dates(demo_frame, fast_config) -> None:
    frame, _, data_end = demo_frame
    windows, _, _ = plan_windows(frame, fast_config, data_end, "2022-06-01,2022-03-01")
    assert [(w.name, str(w.end.date())) for w in windows] == [
        ("2022-03-01", "2022-06-01"),
        ("2022-06-01", "2022-09-01"),
    ]
    with pytest.raises(RetainError, match="Cannot read --cutoffs"):
        plan_windows(frame, fast_config, data_end, "2022-13-45")


def test_no_possible_cutoff_is_a_clear_error(fast_config) -> None:
    frame, _, data_end = make_frame(n_accounts=20, months=8)
    with pytest.raises(RetainError, match="No backtest cutoff is possible"):
        plan_windows(frame, fast_config, data_end, "quarterly")


def test_label_known_after_cutoff_is_never_used(demo_frame, fast_config) -> None:
    frame, _, data_end = demo_frame
    cutoff = pd.Timestamp("2022-04-01")
    # Planted: snapshots whose outcome is only known on or after the cutoff, with labels that
    # contradict the generating process (strong usage growth, yet everyone churns).
    planted = frame[(frame["as_of"] >= "2021-10-01") & (frame["as_of"] < "2022-01-01")].copy()
    planted["account_id"] = "planted-" + planted["account_id"]
    planted["usage_change"] = 3.0
    planted["churn"] = 1.0
    planted["expansion"] = 0.0
    planted["label_known"] = True
    planted["label_known_at"] = cutoff + pd.to_timedelta(np.arange(len(planted)) % 60, "D")
    seen: list[pd.Timestamp] = []

    def recording_fit(rows, target, config, cutoff=None):
        seen.append(pd.to_datetime(rows["label_known_at"]).max())
        assert not rows["account_id"].str.startswith("planted-").any()
        return fit_candidates(rows, target, config, cutoff=cutoff)

    kwargs = dict(cutoffs=["2022-04-01"], data_end=data_end)
    clean = run_backtest(frame, fast_config, fit_candidates=recording_fit, **kwargs)
    dirty = run_backtest(
        pd.concat([frame, planted]), fast_config, fit_candidates=recording_fit, **kwargs
    )
    assert seen and all(t < cutoff for t in seen)
    key = ["model", "account_id", "as_of", "spine"]
    a = clean.predictions.sort_values(key).reset_index(drop=True)
    b = dirty.predictions.sort_values(key).reset_index(drop=True)
    np.testing.assert_allclose(a["p_churn"], b["p_churn"])
    np.testing.assert_allclose(a["p_expansion"], b["p_expansion"])


def test_backtest_outputs_every_model_metric_and_forecast(demo_frame, demo_result) -> None:
    frame, _, _ = demo_frame
    result = demo_result
    summary = result.summary
    assert summary["cutoffs"] == ["2022-04-01", "2022-07-01"]
    assert summary["data"] == "demo" and summary["n_snapshots"] == len(frame)
    for target in ("churn", "expansion"):
        models = summary["targets"][target]["models"]
        assert list(models) == ["segmented", "global", "logistic", "scorecard", "oracle"]
        for values in models.values():
            for metric in ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "top_decile_lift"):
                assert values[metric] is not None and math.isfinite(values[metric])
    churn = summary["targets"]["churn"]["models"]
    # The oracle knows the generating process; the learned models must rank close to it.
    assert churn["oracle"]["roc_auc"] > 0.75
    assert churn["segmented"]["roc_auc"] > churn["oracle"]["roc_auc"] - 0.08
    assert churn["segmented"]["band_renewal_ratio"] > 1.0
    low, high = churn["segmented"]["band_renewal_ratio_ci"]
    assert low <= churn["segmented"]["band_renewal_ratio"] <= high
    assert summary["forecast"]["grr_error_pct"] is not None
    # Scored rows are exactly the windows' snapshots with a known outcome.
    scored = result.predictions[result.predictions["model"] == "segmented"]
    assert scored["as_of"].min() >= pd.Timestamp("2022-04-01")
    assert scored["as_of"].max() < pd.Timestamp("2022-10-01")
    assert scored["churn"].notna().all()
    tidy = result.metrics
    assert list(tidy.columns) == ["cutoff", "model", "target", "segment", "metric", "value"]
    assert {"2022-04-01", "2022-07-01", "pooled"} <= set(tidy["cutoff"])
    assert {"all", "SMB", "Enterprise"} <= set(tidy["segment"])
    assert not result.reasons.empty
    assert set(result.reasons["rank"]) == {1, 2, 3}
    # Bands come from the training side: each model's thresholds are recorded per cutoff.
    assert set(summary["bands"]["2022-04-01"]) == {
        "segmented",
        "global",
        "logistic",
        "scorecard",
        "oracle",
    }


def test_snapshot_only_data_uses_stratified_kfold(fast_config) -> None:
    frame, _, data_end = make_frame(n_accounts=900, months=1)
    frame["label_known"] = True
    frame["label_known_at"] = frame["as_of"]
    rng = np.random.default_rng(1)
    p = 1 / (1 + np.exp(2.0 + 1.5 * frame["usage_change"]))
    frame["churn"] = (rng.random(len(frame)) < p).astype(float)
    frame["expansion"] = 0.0
    frame["arr_at_horizon"] = frame["arr"] * (1 - frame["churn"])
    frame = frame[frame["spine"] == "monthly"].assign(spine="explicit")
    result = run_backtest(frame, fast_config, data_end=data_end)
    summary = result.summary
    assert summary["mode"] == "kfold"
    assert summary["cutoffs"] == ["fold-1", "fold-2", "fold-3"]
    # Every labelled row is scored exactly once across folds.
    scored = result.predictions[result.predictions["model"] == "logistic"]
    assert sorted(scored["account_id"]) == sorted(frame["account_id"])
    assert summary["targets"]["churn"]["models"]["logistic"]["roc_auc"] > 0.7
    assert "expansion" not in summary["targets"]  # one class only: nothing to learn
