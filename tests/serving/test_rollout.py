"""Rollout safety against a real MLflow registry (SQLite in a temp dir) and a real server:
one pinned version per server, verified artifacts, no silent challenger."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import mlflow
import pytest
from typer.testing import CliRunner

from retain.cli import app
from retain.config import Config
from retain.errors import RetainError
from tests.serving._server import running_server, tracked_worker_pids

pytestmark = pytest.mark.slow

TOKEN = "rollout-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _config(prefix: str = "retain") -> Config:
    return Config().with_overrides({"tracking": {"registered_model_prefix": prefix}})


@pytest.fixture(scope="module")
def registry(trained: dict, tmp_path_factory: pytest.TempPathFactory):
    """Two registered versions of each model: champion -> 1, challenger -> 2; and a prefix
    "fresh" with a challenger only."""
    from training.registry import log_and_register, promote
    from training.segmented import SegmentedModel

    home = tmp_path_factory.mktemp("rollout")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        uri = f"sqlite:///{home / 'mlflow.db'}"
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        frame = trained["frame"].drop(columns=["csm_id"])
        for target in ("churn", "expansion"):
            model = SegmentedModel.load(trained["folder"] / target)
            for _ in range(2):
                log_and_register(model, frame, config=_config())
            promote(target, "1", "vetted by the gate", _config())
            log_and_register(model, frame, config=_config("fresh"))
        yield {"home": home, "uri": uri, "frame": frame, "folder": trained["folder"]}
    mlflow.set_tracking_uri(None)


def _serve_args(registry: dict) -> list[str]:
    return ["--store", str(registry["home"] / "none.duckdb"), "--drain-seconds", "0"]


@pytest.fixture(scope="module")
def server(registry: dict):
    env = {"RETAIN_API_TOKENS": TOKEN, "MLFLOW_TRACKING_URI": registry["uri"]}
    with running_server(registry["home"], _serve_args(registry), env) as running:
        yield running


def _kill_a_worker_and_wait(server, done) -> list[int]:
    """SIGKILL the first worker the readiness tracks; collect /readyz codes until
    `done(codes)` (or for 180 s)."""
    import psutil

    victim = psutil.Process(tracked_worker_pids(server)[0])
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    codes: list[int] = []
    deadline = time.monotonic() + 180  # a worker restart loads MLflow and the models: ~20 s
    with httpx.Client(base_url=server.base, timeout=5) as client:
        while time.monotonic() < deadline and not done(codes):
            try:
                codes.append(client.get("/readyz").status_code)
            except httpx.TransportError:
                codes.append(0)
            time.sleep(0.1)
    return codes


def _runs(codes: list[int]) -> list[tuple[int, int]]:
    """[200, 200, 503] -> [(200, 2), (503, 1)]: a failure message that shows the whole story."""
    runs: list[tuple[int, int]] = []
    for code in codes:
        if runs and runs[-1][0] == code:
            runs[-1] = (code, runs[-1][1] + 1)
        else:
            runs.append((code, 1))
    return runs


def _versions_served(server, n: int = 24) -> set[tuple[str, str]]:
    body = {"accounts": [{"account_id": "a", "segment": "SMB"}]}
    seen = set()
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for _ in range(n):
            answer = client.post("/score", json=body, headers=AUTH)
            assert answer.status_code == 200, answer.text
            model = answer.json()["model"]
            seen.add((model["churn"]["version"], model["expansion"]["version"]))
    return seen


def test_the_alias_is_pinned_even_when_it_moves_and_a_worker_restarts(server, registry) -> None:
    from training.registry import set_alias

    assert _versions_served(server) == {("1", "1")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
        for target in ("churn", "expansion"):
            set_alias(target, "champion", "2", _config())
    codes = _kill_a_worker_and_wait(server, lambda c: bool(c) and c[-1] == 200 and 503 in c)
    # Not ready while a worker restarts, then ready again: readiness is the server's.
    assert 503 in codes and codes[-1] == 200, (_runs(codes), server.log.read_text()[-3000:])
    assert _versions_served(server) == {("1", "1")}  # both workers, still version 1
    metadata = httpx.get(f"{server.base}/metadata", headers=AUTH).json()
    assert metadata["model"]["churn"]["version"] == "1"
    assert metadata["model"]["churn"]["alias"] == "champion"
    assert len(metadata["model"]["churn"]["sha256"]) == 64


def _artifact_file(registry: dict, target: str, version: str, name: str) -> Path:
    from mlflow import MlflowClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
        mlflow.set_tracking_uri(registry["uri"])
        client = MlflowClient()
        source = client.get_model_version(f"retain-{target}", version).source
        location = mlflow.get_logged_model(source.split("/")[-1]).artifact_location
    folder = Path(location.removeprefix("file://")) / "artifacts" / "segmented_model"
    path = folder / name
    assert path.is_file(), sorted(p.name for p in folder.rglob("*"))
    return path


def test_a_tampered_artifact_makes_a_restarted_worker_refuse(server, registry) -> None:
    booster = _artifact_file(registry, "churn", "1", "boosters/global.txt")
    booster.write_text(booster.read_text().replace("learning_rate", "learning_rate ", 1))
    refused = "changed after registration"
    seen: list[int] = []

    def refused_then_ten_probes(codes: list[int]) -> bool:
        if not seen and refused in server.log.read_text():
            seen.append(len(codes))
        return bool(seen) and len(codes) >= seen[0] + 10

    codes = _kill_a_worker_and_wait(server, refused_then_ten_probes)
    assert seen, server.log.read_text()[-3000:]
    assert codes[seen[0] :] == [503] * (len(codes) - seen[0]), codes  # never ready again
    log = server.log.read_text()
    assert "boosters/global.txt has SHA-256" in log
    assert "changed after registration" in log


def test_serve_refuses_a_tampered_artifact_before_starting(registry, monkeypatch) -> None:
    from training.registry import set_alias

    monkeypatch.chdir(registry["home"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
    policy = _artifact_file(registry, "expansion", "2", "missing_policy.json")
    saved = json.loads(policy.read_text())
    first = next(iter(saved["impute_values"]["__global__"]))
    saved["impute_values"]["__global__"][first] = 0.0  # a quiet edit: the zero branch again
    policy.write_text(json.dumps(saved))
    for target in ("churn", "expansion"):
        set_alias(target, "edited", "2", _config())
    result = CliRunner().invoke(app, ["serve", "--no-auth", "--model-alias", "edited"])
    assert isinstance(result.exception, RetainError)
    assert "missing_policy.json has SHA-256" in str(result.exception)


def test_no_champion_means_no_silent_challenger(registry, monkeypatch) -> None:
    from serving.scoring import load_model_pair

    monkeypatch.chdir(registry["home"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
    (registry["home"] / "retain.toml").write_text('[tracking]\nregistered_model_prefix = "fresh"\n')
    try:
        result = CliRunner().invoke(app, ["serve", "--no-auth"])
        assert isinstance(result.exception, RetainError)
        assert "--allow-challenger" in str(result.exception)
        assert "no champion" in str(result.exception)
        scored = CliRunner().invoke(
            app, ["score", "--data", "nowhere", "--out", "x.parquet", "--model-alias", "champion"]
        )
        assert isinstance(scored.exception, RetainError)
        assert "--allow-challenger" in str(scored.exception)
        allowed = _config("fresh").with_overrides({"serving": {"allow_challenger": True}})
        models = load_model_pair(allowed)
        assert models.churn_info.alias == "challenger"
    finally:
        (registry["home"] / "retain.toml").unlink()


def test_the_review_page_is_attached_to_the_run_of_the_model_that_scored_it(
    registry, tmp_path
) -> None:
    from mlflow import MlflowClient

    from simulator import simulate
    from training.registry import log_and_register, promote
    from training.segmented import SegmentedModel

    data = tmp_path / "data"
    simulate(data, n_accounts=40, months=14, seed=5)
    # A champion of its own (prefix "review"): the other tests move and tamper with theirs.
    (data / "retain.toml").write_text('[tracking]\nregistered_model_prefix = "review"\n')
    out = tmp_path / "review.html"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
        patch.chdir(registry["home"])
        for target in ("churn", "expansion"):
            model = SegmentedModel.load(registry["folder"] / target)
            log_and_register(model, registry["frame"], config=_config("review"))
            promote(target, "1", "for the review page", _config("review"))
        result = CliRunner().invoke(
            app, ["report", "accounts", "--data", str(data), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert "Attached to MLflow run" in result.output
        client = MlflowClient()
        run_id = client.get_model_version("review-churn", "1").run_id
        names = [a.path for a in client.list_artifacts(run_id, "review")]
    assert names == ["review/review.html"]
