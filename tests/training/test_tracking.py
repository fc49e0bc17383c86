"""MLflow artifacts a person can read: one figure per plot, labelled axes, a model-training
experiment."""

import hashlib

import mlflow
import pytest
from mlflow import MlflowClient

from retain.config import Config
from training.segmented import SegmentedModel
from training.tracking import (
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    calibration_figure,
    configure_mlflow,
    ensure_experiment,
    importance_figure,
    log_model_run,
    shap_summary_figure,
)


@pytest.fixture(scope="module")
def model(frame):
    config = Config().with_overrides(
        {"training": {"num_boost_round": 20, "num_threads": 1, "min_positives_per_segment": 10**6}}
    )
    return SegmentedModel(target="churn", config=config).fit(frame, frame["churn"])


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.chdir(tmp_path)  # the default artifact root is ./mlruns
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return tmp_path


def _figures(model, frame):
    import pandas as pd

    sample = frame.iloc[:300]
    explanation = model.explain(sample)
    values = pd.DataFrame(model.design_.matrix(sample), columns=model.feature_names_)
    y = sample["churn"].to_numpy()
    p = model.predict_proba(sample)[:, 1]
    # The order of train.py: importance first, then the SHAP plot drawn after it.
    return {
        "plots/feature_importance.png": importance_figure(
            model.global_booster_, model.feature_names_
        ),
        "plots/shap_summary.png": shap_summary_figure(explanation.contributions, values),
        "plots/calibration.png": calibration_figure(y, p),
    }


def test_each_plot_is_its_own_figure_with_its_own_axis_labels(model, frame):
    figures = _figures(model, frame)
    assert len({id(figure) for figure in figures.values()}) == 3
    labels = {
        path: (figure.axes[0].get_xlabel(), figure.axes[0].get_ylabel())
        for path, figure in figures.items()
    }
    assert labels["plots/feature_importance.png"] == (
        "total gain (sum over the booster's splits)",
        "feature",
    )
    assert labels["plots/shap_summary.png"][0] == (
        "SHAP value (contribution to the raw score, log-odds)"
    )
    assert labels["plots/calibration.png"] == ("predicted probability", "observed rate")
    # The SHAP axis is in log-odds (a few units), not the gain's tens of thousands.
    low, high = figures["plots/shap_summary.png"].axes[0].get_xlim()
    assert high - low < 50
    import matplotlib.pyplot as plt

    for figure in figures.values():
        plt.close(figure)


def test_logged_plot_files_differ(model, frame, store):
    configure_mlflow(Config())
    mlflow.set_experiment(Config().tracking.experiment)
    with mlflow.start_run(run_name="train"):
        run_id = log_model_run("churn/all", params={}, metrics={}, figures=_figures(model, frame))
    folder = MlflowClient().download_artifacts(run_id, "plots", str(store / "downloaded"))
    hashes = {
        name: hashlib.sha256((store / "downloaded" / "plots" / name).read_bytes()).hexdigest()
        for name in ("feature_importance.png", "shap_summary.png", "calibration.png")
    }
    assert folder.endswith("plots")
    assert len(set(hashes.values())) == 3, hashes


def test_the_experiment_is_created_as_model_training(store):
    configure_mlflow(Config())
    experiment = MlflowClient().get_experiment_by_name(Config().tracking.experiment)
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND == "custom_model_development"


def test_an_existing_experiment_gets_the_tag_and_a_chosen_kind_is_kept(store):
    client = MlflowClient()
    plain = client.create_experiment("plain")
    chosen = client.create_experiment("chosen", tags={EXPERIMENT_KIND_TAG: "genai_development"})
    assert ensure_experiment("plain") == plain
    assert ensure_experiment("chosen") == chosen
    assert client.get_experiment(plain).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    assert client.get_experiment(chosen).tags[EXPERIMENT_KIND_TAG] == "genai_development"


def test_a_page_is_attached_to_the_run_of_the_model_version(model, frame, store):
    from training.registry import log_and_register
    from training.tracking import attach_to_model_run

    configure_mlflow(Config())
    with mlflow.start_run(run_name="train") as run:
        ref = log_and_register(model, frame)
    page = store / "review.html"
    page.write_text("<html>review</html>")
    assert attach_to_model_run(page, ref.name, ref.version, "review") == run.info.run_id
    listed = {a.path for a in MlflowClient().list_artifacts(run.info.run_id, "review")}
    assert listed == {"review/review.html"}
