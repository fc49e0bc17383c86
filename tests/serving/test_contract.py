"""The published contract holds: schemathesis, every check, against a real server on localhost."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from serving.batch import score_snapshot
from serving.scoring import load_model_pair
from serving.store import write_store
from tests.serving._server import running_server

pytestmark = pytest.mark.slow

TOKEN = "contract-token"


@pytest.fixture(scope="module")
def server(trained: dict, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("contract")
    store = tmp / "scores.duckdb"
    config = trained["config"].with_overrides({"serving": {"store_path": str(store)}})
    models = load_model_pair(config)
    frame = trained["frame"]
    # Two snapshots through the ledger: the latest results carry their `change`.
    for as_of in sorted(frame["as_of"].unique())[-2:]:
        snapshot = frame[frame["as_of"] == as_of].reset_index(drop=True)
        write_store(
            store, snapshot, models, score_snapshot(snapshot, models, config), config=config
        )
    args = ["--model-path", str(trained["folder"]), "--store", str(store), "--drain-seconds", "0"]
    with running_server(tmp, args, {"RETAIN_API_TOKENS": TOKEN}) as running:
        yield running


def test_schemathesis_finds_no_failure(server, tmp_path) -> None:
    """All checks (server errors, undeclared statuses, response schemas and headers, negative
    data rejected, positive data accepted, auth enforced, ...), a fixed seed, bounded examples."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{server.base}/docs.json",
        "--checks",
        "all",
        "--seed",
        "7",
        "--max-examples",
        "25",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--no-color",
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
    )
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert "No issues found" in run.stdout, summary
    tested = [line for line in run.stdout.splitlines() if "Tested:" in line]
    assert tested and int(tested[0].split()[-1]) >= 7, summary


def test_the_spec_declares_what_the_results_hold(server) -> None:
    """Every field a result carries is in the published AccountResult schema."""
    import httpx

    spec = httpx.get(f"{server.base}/docs.json").json()
    declared = set(spec["components"]["schemas"]["AccountResult"]["properties"])
    answer = httpx.post(
        f"{server.base}/score",
        json={"accounts": [{"account_id": "a", "segment": "SMB", "as_of": "2024-08-01"}]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code == 200
    assert set(answer.json()["results"][0]) <= declared
    assert pd.Timestamp(answer.json()["results"][0]["as_of"]).year == 2024

    stored = httpx.post(
        f"{server.base}/score_accounts",
        json={"account_ids": ["acc_0001"]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()["results"][0]
    assert set(stored) <= declared and "change" in stored
    schemas = spec["components"]["schemas"]
    assert set(stored["change"]) <= set(schemas["ScoreChange"]["properties"])
    assert set(schemas["ScoreChange"]["required"]) <= set(stored["change"])
    assert stored["change"]["movers"]
    assert set(stored["change"]["movers"][0]) == set(schemas["Mover"]["properties"])
