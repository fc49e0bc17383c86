"""The rolling backtest with the real candidate models on a small synthetic feature frame."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.backtest import MODELS, plan_backtest, run_backtest
from retain.errors import RetainError
from tests.evaluation.synthetic import make_frame
from training.candidates import fit_candidates


def test_origins_train_only_on_labels_known_before_them(demo_frame, fast_config) -> None:
    frame, _, data_end = demo_frame
    config = fast_config.with_overrides({"evaluation": {"n_cutoffs": 20}})
    plans = plan_backtest(frame, config, data_end, "auto")
    churn = plans["churn"]
    assert churn.scheme == "rolling" and churn.spacing == "quarterly"
    for window in churn.windows:
        train, scored = churn.masks(frame, window)
        assert (frame.loc[train, "churn_known_at"] < window.start).all()
        assert frame.loc[scored, "churn"].notna().all()
        assert (frame.loc[scored, "as_of"] >= window.start).all()
        assert window.end == window.start + pd.DateOffset(months=3)
    # Expansion is known 210 days after as_of, churn 120: churn's origins reach later.
    assert churn.windows[-1].start > plans["expansion"].windows[-1].start


def test_explicit_cutoffs_and_bad_dates(demo_frame, fast_config) -> None:
    frame, _, data_end = demo_frame
    windows = plan_backtest(frame, fast_config, data_end, "2022-06-01,2022-03-01")["churn"].windows
    assert [(w.name, str(w.end.date())) for w in windows] == [
        ("2022-03-01", "2022-06-01"),
        ("2022-06-01", "2022-09-01"),
    ]
    with pytest.raises(RetainError, match="Cannot read --cutoffs"):
        plan_backtest(frame, fast_config, data_end, "2022-13-45")


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
    for target in ("churn", "expansion"):
        planted[f"{target}_known_at"] = cutoff + pd.to_timedelta(np.arange(len(planted)) % 60, "D")
    seen: list[pd.Timestamp] = []

    def recording_fit(rows, target, config, cutoff=None):
        seen.append(pd.to_datetime(rows[f"{target}_known_at"]).max())
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
    assert summary["targets"]["churn"]["evaluation"]["windows"] == ["2022-10-01", "2023-01-01"]
    assert summary["targets"]["expansion"]["evaluation"]["windows"] == ["2022-07-01", "2022-10-01"]
    assert summary["cutoffs"] == ["2022-07-01", "2022-10-01", "2023-01-01"]
    assert summary["schemes"] == {"churn": "rolling", "expansion": "rolling"}
    assert summary["data"] == "demo" and summary["n_snapshots"] == len(frame)
    for target in ("churn", "expansion"):
        models = summary["targets"][target]["models"]
        assert list(models) == list(MODELS)
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
    for model, values in churn.items():
        low, high = values["roc_auc_ci"]
        assert low <= values["roc_auc"] <= high, model
        # Paired differences are to the model the summary speaks of: the chosen candidate.
        assert ("roc_auc_vs_headline_ci" in values) == (model != "chosen")
    evidence = summary["targets"]["churn"]["evidence"]
    assert evidence["headline"] == "chosen" and summary["forecast"]["model"] == "chosen"
    assert evidence["windows"] == 2 and evidence["scored_accounts"] == 240
    assert "The churn figures rest on 2 quarterly origins" in evidence["sentence"]
    assert summary["forecast"]["grr_error_pct"] is not None
    # Scored rows are exactly the windows' snapshots with a known outcome.
    scored = result.predictions[result.predictions["model"] == "segmented"]
    churn_scored = scored[scored["p_churn"].notna()]
    assert churn_scored["as_of"].min() >= pd.Timestamp("2022-10-01")
    assert churn_scored["as_of"].max() < pd.Timestamp("2023-04-01")
    assert churn_scored["churn"].notna().all()
    expansion_scored = scored[scored["p_expansion"].notna()]
    assert expansion_scored["expansion"].notna().all()
    assert expansion_scored["as_of"].min() >= pd.Timestamp("2022-07-01")
    # In the window both targets scored, a snapshot is one row with both probabilities.
    both = scored[scored["cutoff"] == "2022-10-01"]
    assert not both.duplicated(["account_id", "as_of", "spine"]).any()
    assert both["p_churn"].notna().any() and both["p_expansion"].notna().any()
    tidy = result.metrics
    assert list(tidy.columns) == ["cutoff", "model", "target", "segment", "metric", "value"]
    assert {"2022-07-01", "2022-10-01", "2023-01-01", "pooled"} <= set(tidy["cutoff"])
    assert {"all", "SMB", "Enterprise"} <= set(tidy["segment"])
    assert not result.reasons.empty
    assert set(result.reasons["rank"]) == {1, 2, 3}
    # Bands come from the training side: each model's thresholds are recorded per cutoff.
    assert set(summary["bands"]["2022-10-01"]) == set(MODELS)


def test_snapshot_only_data_uses_stratified_kfold(fast_config) -> None:
    frame, _, data_end = make_frame(n_accounts=900, months=1)
    for target in ("churn", "expansion"):
        frame[f"{target}_known_at"] = frame["as_of"]
    rng = np.random.default_rng(1)
    p = 1 / (1 + np.exp(2.0 + 1.5 * frame["usage_change"]))
    frame["churn"] = (rng.random(len(frame)) < p).astype(float)
    frame["expansion"] = 0.0
    frame["arr_at_horizon"] = frame["arr"] * (1 - frame["churn"])
    frame = frame[frame["spine"] == "monthly"].assign(spine="explicit")
    result = run_backtest(frame, fast_config, data_end=data_end)
    summary = result.summary
    assert summary["mode"] == "kfold"
    assert summary["schemes"]["churn"] == "stratified k-fold"
    assert summary["cutoffs"] == ["fold-1", "fold-2", "fold-3"]
    # Every labelled row is scored exactly once across folds.
    scored = result.predictions[result.predictions["model"] == "logistic"]
    assert sorted(scored["account_id"]) == sorted(frame["account_id"])
    assert summary["targets"]["churn"]["models"]["logistic"]["roc_auc"] > 0.7
    # One class only: nothing to learn, and the summary says why instead of failing.
    assert summary["targets"]["expansion"]["models"] == {}
    assert summary["targets"]["expansion"]["evaluation"]["scheme"] == "none"


def test_data_no_target_can_be_evaluated_on_is_reported_not_refused(fast_config, tmp_path) -> None:
    from evaluation.outputs import save_backtest

    frame, _, data_end = make_frame(n_accounts=60, months=12)
    frame["churn"] = frame["churn"].where(frame["churn"].isna(), 0.0)  # nobody ever churns
    frame["expansion"] = frame["expansion"].where(frame["expansion"].isna(), 0.0)
    result = run_backtest(frame, fast_config, data_end=data_end)
    for target in ("churn", "expansion"):
        block = result.summary["targets"][target]
        assert block["models"] == {} and block["evaluation"]["scheme"] == "none"
        assert "two folds need at least two of each" in block["evaluation"]["note"]
    paths = save_backtest(result, tmp_path / "out")
    assert "No model could be evaluated" in paths["report"].read_text()
