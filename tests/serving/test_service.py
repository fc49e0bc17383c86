"""The real service: `retain serve` in a subprocess on a free port, answered over HTTP."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd
import pytest

from serving.batch import score_snapshot
from serving.scoring import frame_from_features, load_model_pair, score_frame
from serving.store import write_store

pytestmark = pytest.mark.slow

TOKEN = "test-token-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STALE_ACCOUNT = "acc_0003"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(trained: dict, tmp_path_factory: pytest.TempPathFactory):
    """A store written by the batch scorer (one account's snapshot newer than its scores) and
    a server over it; always terminated."""
    tmp = tmp_path_factory.mktemp("service")
    config = trained["config"]
    models = load_model_pair(config)
    frame = trained["frame"]
    store = tmp / "scores.duckdb"
    july = frame[frame["as_of"] == pd.Timestamp("2024-07-01")].reset_index(drop=True)
    write_store(store, july, models, score_snapshot(july, models, config))
    latest = frame[frame["as_of"] == frame["as_of"].max()].reset_index(drop=True)
    results = score_snapshot(latest, models, config)
    write_store(store, latest, models, results, now=pd.Timestamp("2024-08-02 09:00"))
    # A newer snapshot of one account, with different values, stored after its scores.
    stale = latest[latest["account_id"] == STALE_ACCOUNT].copy()
    stale["open_escalations"] = 3.0
    stale["champion_left_90d"] = 1.0
    write_store(store, stale, models, None, now=pd.Timestamp("2024-08-02 10:00"))

    port = free_port()
    env = {**os.environ, "RETAIN_API_TOKENS": f"{TOKEN},other-token"}
    command = [
        sys.executable,
        "-m",
        "retain.cli",
        "serve",
        "--port",
        str(port),
        "--model-path",
        str(trained["folder"]),
        "--store",
        str(store),
    ]
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed in the finalizer
    process = subprocess.Popen(
        command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 90
            ready_codes = []
            while time.monotonic() < deadline:
                assert process.poll() is None, (tmp / "server.log").read_text()
                try:
                    response = client.get("/readyz")
                    ready_codes.append(response.status_code)
                    if response.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            else:
                raise AssertionError((tmp / "server.log").read_text())
            yield {
                "client": client,
                "base": base,
                "models": models,
                "config": config,
                "latest": latest,
                "results": {r["account_id"]: r for r in results},
                "stale": stale,
                "july": july,
            }
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def post(server: dict, path: str, body: object, headers: dict | None = None) -> httpx.Response:
    content = body if isinstance(body, str) else json.dumps(body)
    return server["client"].post(
        path,
        content=content,
        headers={"Content-Type": "application/json", **(AUTH if headers is None else headers)},
    )


def features_of(row: pd.Series, models) -> dict:
    out = {}
    for name in models.feature_names:
        value = row[name]
        out[name] = None if isinstance(value, float) and math.isnan(value) else value
    return out


def test_probes(server: dict) -> None:
    client = server["client"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert {"/score", "/score_accounts"} <= set(docs.json()["paths"])


def test_metadata(server: dict) -> None:
    answer = server["client"].get("/metadata", headers=AUTH)
    assert answer.status_code == 200
    body = answer.json()
    assert body["model"] == server["models"].info()
    assert body["features"] == server["models"].feature_names
    assert set(body["bands"]) == {"green_below", "red_from", "basis"}
    assert body["bands"]["green_below"] <= body["bands"]["red_from"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
def test_auth_is_required(server: dict, headers: dict) -> None:
    answer = post(server, "/score_accounts", {"account_ids": ["acc_0001"]}, headers=headers)
    assert answer.status_code == 401
    assert "acc_0001" not in answer.text
    assert server["client"].get("/metadata", headers=headers).status_code == 401


def test_every_configured_token_works(server: dict) -> None:
    answer = post(
        server,
        "/score_accounts",
        {"account_ids": ["acc_0001"]},
        headers={"Authorization": "Bearer other-token"},
    )
    assert answer.status_code == 200


def test_stored_scores_equal_the_batch_scorer(server: dict) -> None:
    ids = ["acc_0001", "acc_0002", "acc_0010"]
    answer = post(server, "/score_accounts", {"account_ids": ids})
    assert answer.status_code == 200
    body = answer.json()
    assert len(body["request_id"]) == 32
    assert body["model"] == server["models"].info()
    assert body["results"] == [server["results"][i] for i in ids]


def test_caller_features_equal_the_batch_scorer(server: dict) -> None:
    latest = server["latest"]
    rows = latest.head(4)
    accounts = [
        {
            "account_id": row["account_id"],
            "as_of": "2024-08-01",
            "segment": row["segment"],
            "features": features_of(row, server["models"]),
        }
        for _, row in rows.iterrows()
    ]
    answer = post(server, "/score", {"accounts": accounts})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"] == [server["results"][a] for a in rows["account_id"]]
    # Feature order in the request does not matter.
    for account in accounts:
        names = list(account["features"])
        order = np.random.default_rng(1).permutation(len(names))
        account["features"] = {names[i]: account["features"][names[i]] for i in order}
    again = post(server, "/score", {"accounts": accounts})
    assert again.json()["results"] == answer.json()["results"]


def test_a_snapshot_newer_than_its_scores_is_scored_on_demand(server: dict) -> None:
    answer = post(server, "/score_accounts", {"account_ids": [STALE_ACCOUNT]})
    result = answer.json()["results"][0]
    expected = score_frame(server["stale"], server["models"], server["config"])[0]
    assert result == expected
    assert result != server["results"][STALE_ACCOUNT]
    assert {"champion_left", "open_escalation"} <= {s["name"] for s in result["signals"]}


def test_an_earlier_as_of_comes_from_the_store(server: dict) -> None:
    answer = post(server, "/score_accounts", {"account_ids": ["acc_0001"], "as_of": "2024-07-01"})
    result = answer.json()["results"][0]
    july = server["july"]
    expected = score_frame(
        july[july["account_id"] == "acc_0001"], server["models"], server["config"]
    )
    assert result == expected[0]
    assert result["as_of"] == "2024-07-01"


def test_unknown_accounts_are_per_account_errors(server: dict) -> None:
    answer = post(server, "/score_accounts", {"account_ids": ["acc_0001", "nobody"]})
    assert answer.status_code == 200
    first, second = answer.json()["results"]
    assert first == server["results"]["acc_0001"]
    assert second["account_id"] == "nobody"
    assert "unknown account" in second["error"]
    missing_date = post(
        server, "/score_accounts", {"account_ids": ["acc_0001"], "as_of": "2020-01-01"}
    )
    assert "as_of" in missing_date.json()["results"][0]["error"]


SECRET = "do-not-echo-7731"


@pytest.mark.parametrize(
    ("path", "body", "status", "loc"),
    [
        ("/score_accounts", {"account_ids": []}, 400, ["account_ids"]),
        ("/score_accounts", {"account_ids": ["a"], SECRET: 1}, 400, [SECRET]),
        ("/score_accounts", {"account_ids": [12345]}, 400, ["account_ids", 0]),
        ("/score_accounts", {"account_ids": ["a"], "as_of": SECRET}, 400, ["as_of"]),
        ("/score_accounts", {"account_ids": ["a"] * 1001}, 413, ["account_ids"]),
        ("/score", {"accounts": []}, 400, ["accounts"]),
        (
            "/score",
            '{"accounts": [{"account_id": "a", "features": {"arr": NaN}}]}',
            400,
            ["accounts", 0, "features", "arr"],
        ),
        (
            "/score",
            '{"accounts": [{"account_id": "a", "features": {"arr": -Infinity}}]}',
            400,
            ["accounts", 0, "features", "arr"],
        ),
        (
            "/score",
            {"accounts": [{"account_id": "a", "features": {"arr": SECRET}}]},
            400,
            ["accounts", 0, "features", "arr"],
        ),
        (
            "/score",
            {"accounts": [{"account_id": "a", "features": {"no_such_feature": 1.0}}]},
            400,
            ["accounts", 0, "features", "no_such_feature"],
        ),
        (
            "/score",
            {"accounts": [{"account_id": "a", "plan": SECRET}]},
            400,
            ["accounts", 0, "plan"],
        ),
        ("/score", {"accounts": [{"account_id": "a"}] * 1001}, 413, ["accounts"]),
        ("/score", f'{{"accounts": [{{"account_id": "{SECRET}"', 400, []),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    server: dict, path: str, body: object, status: int, loc: list
) -> None:
    answer = post(server, path, body)
    assert answer.status_code == status
    payload = answer.json()
    assert "error" in payload
    locs = [d["loc"][: len(loc)] for d in payload["detail"]]
    assert loc in locs
    # A field name (the caller's key) may come back to say which field; a value never does.
    if SECRET not in loc:
        assert SECRET not in answer.text
    assert "Traceback" not in answer.text


def test_32_concurrent_requests_answer_like_sequential_ones(server: dict) -> None:
    latest = server["latest"]
    bodies = []
    for i in range(32):
        row = latest.iloc[i]
        if i % 2:
            bodies.append(("/score_accounts", {"account_ids": [row["account_id"], "acc_0000"]}))
        else:
            account = {
                "account_id": row["account_id"],
                "segment": row["segment"],
                "features": features_of(row, server["models"]),
            }
            bodies.append(("/score", {"accounts": [account]}))
    sequential = [post(server, path, body).json()["results"] for path, body in bodies]

    def call(item: tuple[str, dict]) -> list:
        path, body = item
        with httpx.Client(base_url=server["base"], timeout=30) as client:
            answer = client.post(path, json=body, headers=AUTH)
            assert answer.status_code == 200
            return answer.json()["results"]

    with ThreadPoolExecutor(max_workers=32) as pool:
        concurrent = list(pool.map(call, bodies))
    assert concurrent == sequential


def test_frame_from_features_matches_what_the_server_scored(server: dict) -> None:
    """The on-demand path and the plain function agree for a partial feature set."""
    partial = {"seat_utilization": 1.3, "open_escalations": 2.0}
    answer = post(
        server, "/score", {"accounts": [{"account_id": "p", "segment": "SMB", "features": partial}]}
    )
    expected = score_frame(
        frame_from_features(
            [{"account_id": "p", "segment": "SMB", "features": partial}], server["models"]
        ),
        server["models"],
        server["config"],
    )
    assert answer.json()["results"] == expected
    assert {s["name"] for s in expected[0]["signals"]} == {"open_escalation", "over_licensed_seats"}
