from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from retain.config import Config
from retain.errors import RetainError
from training import SegmentedModel, labelled_rows
from training.registry import load_registered, log_and_register, model_name, promote


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module; tests keep apart by registered-name prefix."""
    folder = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        yield uri
    mlflow.set_tracking_uri(None)


def _prefixed(prefix: str) -> Config:
    return Config().with_overrides({"tracking": {"registered_model_prefix": prefix}})


@pytest.fixture(scope="module")
def model(frame, config) -> SegmentedModel:
    rows = labelled_rows(frame, "churn")
    return SegmentedModel("churn", config).fit(rows, rows["churn"])


def test_model_name():
    assert model_name("churn") == "retain-churn"
    config = Config().with_overrides({"tracking": {"registered_model_prefix": "acme"}})
    assert model_name("expansion", config) == "acme-expansion"


def test_registered_pyfunc_loads_without_pickle_in_a_fresh_process(store, model, frame, tmp_path):
    ref = log_and_register(model, frame)
    assert (ref.name, ref.version, ref.alias) == ("retain-churn", "1", "challenger")
    local = mlflow.artifacts.download_artifacts(
        artifact_uri="models:/retain-churn/1", dst_path=str(tmp_path / "download")
    )
    names = [p for p in os.listdir(local)] + [
        name for _, _, files in os.walk(local) for name in files
    ]
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".cloudpickle", ".joblib"))]
    with open(os.path.join(local, "artifacts", "segmented_model", "model.json")) as handle:
        assert json.load(handle)["kind"] == "retain.SegmentedModel"

    probe = frame.sample(100, random_state=2)
    probe.to_parquet(tmp_path / "probe.parquet")
    script = textwrap.dedent(
        """
        import sys
        import mlflow, pandas as pd
        model = mlflow.pyfunc.load_model("models:/retain-churn@challenger")
        out = model.predict(pd.read_parquet(sys.argv[1]))
        out.to_parquet(sys.argv[2])
        """
    )
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false"}
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "probe.parquet"), str(tmp_path / "out.pq")],
        env=env,
        check=True,
        cwd=tmp_path,
        timeout=120,
    )
    out = pd.read_parquet(tmp_path / "out.pq")
    np.testing.assert_allclose(out["probability"], model.predict_proba(probe)[:, 1], atol=1e-12)
    np.testing.assert_allclose(out["raw_margin"], model.raw_margin(probe), atol=1e-12)
    assert set(out["band"]) <= {"green", "yellow", "red"}


def test_load_registered_falls_back_to_challenger_then_follows_champion(store, model, frame):
    config = _prefixed("promo")
    with pytest.raises(RetainError, match="No registered model 'promo-churn'"):
        load_registered("churn", config=config)
    log_and_register(model, frame, config=config)
    loaded, ref = load_registered("churn", config=config)
    assert (ref.version, ref.alias) == ("1", "challenger")
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))

    second = log_and_register(model, frame, config=config)
    assert second.version == "2"
    promoted = promote("churn", "1", "backtest beats the scorecard", config)
    assert (promoted.version, promoted.alias) == ("1", "champion")
    _, ref = load_registered("churn", config=config)
    assert (ref.version, ref.alias) == ("1", "champion")
    _, ref = load_registered("churn", alias="challenger", config=config)
    assert ref.version == "2"

    tags = MlflowClient().get_model_version("promo-churn", "1").tags
    assert tags["promoted_by"] == getpass.getuser()
    assert tags["promotion_reason"] == "backtest beats the scorecard"
    assert pd.Timestamp(tags["promoted_at"]).tzinfo is not None


def test_promote_unknown_version_is_a_clear_error(store, model, frame):
    config = _prefixed("unknown")
    log_and_register(model, frame, config=config)
    with pytest.raises(RetainError, match="no version 7"):
        promote("churn", "7", "why not", config)
    with pytest.raises(RetainError, match="reason"):
        promote("churn", "1", " ", config)


def test_registration_records_the_sha256_and_the_missing_policy(store, model, frame):
    from training.registry import SHA256_TAG, ModelRef, digest_of, load_version

    config = _prefixed("hashes")
    ref = log_and_register(model, frame, config=config)
    recorded = json.loads(MlflowClient().get_model_version(ref.name, ref.version).tags[SHA256_TAG])
    assert {"model.json", "missing_policy.json", "boosters/global.txt"} <= set(recorded)
    assert all(len(sha) == 64 for sha in recorded.values())
    loaded = load_version("churn", ModelRef(ref.name, ref.version, "challenger"), config)
    assert loaded.sha256 == digest_of(recorded)
    assert loaded.missing_policy.target == "churn"


def test_a_changed_artifact_file_is_refused_at_load(store, model, frame, tmp_path):
    from training.registry import ModelRef, load_version

    config = _prefixed("tamper")
    ref = log_and_register(model, frame, config=config)
    source = MlflowClient().get_model_version(ref.name, ref.version).source
    location = mlflow.get_logged_model(source.split("/")[-1]).artifact_location
    booster = (
        Path(location.removeprefix("file://"))
        / "artifacts"
        / "segmented_model"
        / "boosters"
        / "global.txt"
    )
    booster.write_bytes(booster.read_bytes() + b"\n")
    with pytest.raises(RetainError, match=r"boosters/global\.txt has SHA-256"):
        load_version("churn", ModelRef(ref.name, ref.version, "challenger"), config)


def test_resolve_alias_needs_leave_to_use_a_challenger(store, model, frame):
    from training.registry import resolve_alias

    config = _prefixed("leave")
    log_and_register(model, frame, config=config)
    with pytest.raises(RetainError, match="--allow-challenger"):
        resolve_alias("churn", "champion", config, allow_challenger=False)
    ref = resolve_alias("churn", "champion", config, allow_challenger=True)
    assert (ref.version, ref.alias) == ("1", "challenger")
    with pytest.raises(RetainError, match="No registered model 'leave-churn' with alias 'x'"):
        resolve_alias("churn", "x", config, allow_challenger=True)
