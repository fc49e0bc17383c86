"""SurvivalModel on a small synthetic book whose true hazard is known, and point in time."""

import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from features.frame import feature_columns
from features.person_months import DAYS_PER_MONTH, time_covariates
from features.source import DataSource
from retain.config import Config
from retain.errors import RetainError
from training.survival import (
    SurvivalModel,
    anchor_to_churn,
    expected_months_retained,
    survival_at,
)

AS_OF = pd.Timestamp("2024-01-01")
N_MONTHS = 24


def _true_hazard(health: np.ndarray, to_renewal: np.ndarray) -> np.ndarray:
    """(n, 24): 0.2% a month off renewal; at an annual renewal, a logistic in health."""
    k = np.arange(1, N_MONTHS + 1)[None, :]
    renewal_month = np.ceil(np.maximum(to_renewal, 1) / DAYS_PER_MONTH)[:, None]
    at_renewal = (k == renewal_month) | (k == renewal_month + 12)
    risk = 1 / (1 + np.exp(-(-1.2 - 1.5 * health)))[:, None]
    return np.where(at_renewal, risk, 0.002)


def _book(n: int = 900, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    health = rng.normal(size=n)
    to_renewal = rng.uniform(5, 360, n).round()
    frame = pd.DataFrame(
        {
            "account_id": [f"A{i:04d}" for i in range(n)],
            "as_of": AS_OF,
            "segment": "SMB",
            "health": health,
            "noise": rng.normal(size=n),
            "days_to_renewal": to_renewal,
            "contract_term_days": 365.0,
        }
    )
    hazard = _true_hazard(health, to_renewal)
    churned = rng.random(hazard.shape) < hazard
    first = np.where(churned.any(axis=1), churned.argmax(axis=1) + 1, N_MONTHS + 1)
    censor = rng.integers(6, N_MONTHS + 1, n)
    outcome = pd.DataFrame({"duration": np.minimum(first, censor), "event": first <= censor})
    return frame, outcome, np.cumprod(1 - hazard, axis=1)


@pytest.fixture(scope="module")
def fitted():
    frame, outcome, truth = _book()
    config = Config().with_overrides({"training": {"num_boost_round": 200}})
    model = SurvivalModel(config, n_months=N_MONTHS, far_month_share=0.5).fit(frame, outcome)
    return model, frame, truth


def test_curves_are_survival_functions_that_rank_by_health(fitted):
    model, frame, truth = fitted
    curves = model.predict_survival(frame)
    assert curves.shape == (len(frame), N_MONTHS)
    assert ((curves > 0) & (curves <= 1)).all()
    assert (np.diff(curves, axis=1) <= 1e-12).all()
    healthy = frame["health"].to_numpy() > 0.5
    sick = frame["health"].to_numpy() < -0.5
    assert curves[healthy, 11].mean() > curves[sick, 11].mean() + 0.2
    # Close to the generating process on average (censored, subsampled training data).
    assert np.abs(curves[:, 11] - truth[:, 11]).mean() < 0.1
    assert model.metrics_["events"] > 50


def test_the_hazard_peaks_in_the_renewal_month(fitted):
    model, frame, _ = fitted
    hazard = model.predict_hazard(frame)
    renewal_month = np.ceil(frame["days_to_renewal"].to_numpy() / DAYS_PER_MONTH).astype(int)
    rows = np.arange(len(frame))
    at_renewal = hazard[rows, renewal_month - 1]
    off = hazard[rows, np.where(renewal_month > 6, 0, 23)]
    assert np.median(at_renewal / off) > 5


def test_save_and_load_round_trip_without_pickle(fitted, tmp_path):
    model, frame, _ = fitted
    model.save(tmp_path / "survival")
    files = sorted(p.name for p in (tmp_path / "survival").iterdir())
    assert files == ["hazard.txt", "survival_model.json"]
    loaded = SurvivalModel.load(tmp_path / "survival")
    np.testing.assert_allclose(loaded.predict_survival(frame), model.predict_survival(frame))
    assert loaded.n_months_ == N_MONTHS


def test_fit_refuses_outcomes_without_churn():
    frame, outcome, _ = _book(n=60)
    outcome["event"] = False
    with pytest.raises(RetainError, match="both outcomes"):
        SurvivalModel(n_months=N_MONTHS).fit(frame, outcome)


def test_anchoring_matches_the_churn_probability_at_the_window_end():
    curves = np.array([[0.99, 0.98, 0.80, 0.79, 0.78, 0.60], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    window = np.array([2.96, 3.0])
    p = np.array([0.3, 0.1])
    anchored = anchor_to_churn(curves, window, p)
    np.testing.assert_allclose(1 - survival_at(anchored, window), p, atol=1e-9)
    assert (np.diff(anchored, axis=1) <= 1e-12).all()
    # After the window's month, the raw curve's conditional survival S(6) / S(3) is kept.
    assert anchored[0, 5] / anchored[0, 2] == pytest.approx(curves[0, 5] / curves[0, 2])
    # A raw curve flat in the window gets the risk spread evenly over it.
    assert anchored[1, 0] == pytest.approx(0.9 ** (1 / 3))


def test_expected_months_retained_is_the_area_under_the_curve():
    flat = np.ones((1, 24))
    assert expected_months_retained(flat)[0] == pytest.approx(24.0)
    gone = np.zeros((1, 24))
    assert expected_months_retained(gone)[0] == pytest.approx(0.5)  # lost within month 1
    with pytest.raises(RetainError):
        expected_months_retained(np.ones((1, 12)))


def _source(planted: bool) -> DataSource:
    contracts = [
        ("c1", "a1", "2023-06-01", "2024-06-01"),
        ("c2", "a2", "2022-06-01", "2025-06-01"),
    ]
    usage = [("a1", pd.Timestamp("2024-02-10 09:00"), "login", "u1")]
    if planted:
        # A renewal starting exactly on as_of and one after it, and usage on and after as_of.
        contracts += [
            ("c3", "a1", "2024-03-01", "2025-03-01"),
            ("c4", "a2", "2024-04-01", "2027-04-01"),
        ]
        usage += [
            ("a1", pd.Timestamp("2024-03-01 00:00"), "login", "u1"),
            ("a1", pd.Timestamp("2024-05-01 09:00"), "login", "u2"),
        ]
    frames = {
        "accounts": pd.DataFrame(
            {"account_id": ["a1", "a2"], "created_at": pd.Timestamp("2022-01-01")}
        ),
        "contracts": pd.DataFrame(
            [
                {"contract_id": c, "account_id": a, "start_date": s, "end_date": e, "arr": 1e4}
                for c, a, s, e in contracts
            ]
        ).astype({"start_date": "datetime64[ns]", "end_date": "datetime64[ns]"}),
        "usage": pd.DataFrame(usage, columns=["account_id", "timestamp", "event", "user_id"]),
    }
    return DataSource.from_frames(frames, data_end="2024-06-01")


def test_planted_future_rows_do_not_change_what_the_survival_model_reads():
    """Its inputs are the snapshot's features plus time covariates made from them."""
    before = build_features(_source(False), Config(), as_of=["2024-03-01"])
    after = build_features(_source(True), Config(), as_of=["2024-03-01"])
    columns = feature_columns(before)
    assert {"days_to_renewal", "contract_term_days"} <= set(columns)
    assert columns == feature_columns(after)
    pd.testing.assert_frame_equal(before[columns], after[columns])
    a, b = time_covariates(before, 36), time_covariates(after, 36)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.slow
def test_retain_train_saves_the_survival_model_with_the_churn_model_version(e2e):
    """`retain train` (conftest.e2e) logs the curve next to the churn model it is anchored to."""
    from training.registry import load_registered, load_survival

    folder, result = e2e
    assert "time to churn: S(t) for t = 1.." in result.output
    _, ref = load_registered("churn", "challenger")
    survival = load_survival(ref)
    assert survival is not None and survival.n_months_ >= 24
    _, expansion_ref = load_registered("expansion", "challenger")
    assert load_survival(expansion_ref) is None  # only the churn model carries one
    frame = build_features(DataSource.open(folder / "data"), Config(), spine="monthly")
    curves = survival.predict_survival(frame.tail(50))
    assert curves.shape == (50, survival.n_months_)
    assert (np.diff(curves, axis=1) <= 1e-12).all()


@pytest.mark.slow
def test_train_without_months_to_learn_from_keeps_the_churn_model(
    frame, config, tmp_path, monkeypatch
):
    """A survival fit that cannot happen (here: no coverage in force, every month a churn) is a
    note, not a failed `retain train`."""
    from training.train import train

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    no_coverage = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    result = train(frame, ("churn",), config, experiment="no-survival", coverage_end=no_coverage)
    assert "churn" in result.refs
    assert result.survival is None
    assert "both outcomes" in result.survival_note


def test_registry_round_trip_refuses_a_changed_survival_artifact(fitted, tmp_path, monkeypatch):
    """log_survival records the files' SHA-256 on the churn version; load_survival checks it."""
    from pathlib import Path
    from urllib.parse import urlparse

    import mlflow
    from mlflow import MlflowClient

    from training.registry import ModelRef, load_survival, log_survival
    from training.tracking import configure_mlflow

    model, frame, _ = fitted
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    configure_mlflow(Config())  # tracking and registry both in tmp_path
    mlflow.set_experiment("survival-registry")
    client = MlflowClient()
    client.create_registered_model("retain-churn")
    with mlflow.start_run() as run:
        version = client.create_model_version(
            "retain-churn", source=f"{run.info.artifact_uri}/churn_model", run_id=run.info.run_id
        ).version
        ref = ModelRef(name="retain-churn", version=str(version))
        log_survival(model, ref)
    loaded = load_survival(ref)
    np.testing.assert_allclose(loaded.predict_survival(frame), model.predict_survival(frame))
    hazard = Path(urlparse(run.info.artifact_uri).path) / "survival_model" / "hazard.txt"
    hazard.write_text(hazard.read_text() + "\n", encoding="utf-8")
    with pytest.raises(RetainError, match=r"hazard\.txt has SHA-256"):
        load_survival(ref)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
