"""A server with one worker that takes one request at a time and refuses to impute."""

from __future__ import annotations

import math
import threading

import httpx
import pytest

from tests.serving._server import running_server

pytestmark = pytest.mark.slow

AUTH = {"Authorization": "Bearer limits-token"}


@pytest.fixture(scope="module")
def server(trained: dict, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("limits")
    args = [
        "--model-path",
        str(trained["folder"]),
        "--store",
        str(tmp / "none.duckdb"),
        "--workers",
        "1",
        "--max-concurrency",
        "1",
        "--missing-values",
        "reject",
        "--drain-seconds",
        "0",
    ]
    with running_server(tmp, args, {"RETAIN_API_TOKENS": "limits-token"}) as running:
        yield running


def _accounts(trained: dict, n: int) -> list[dict]:
    frame = trained["frame"]
    latest = frame[frame["as_of"] == frame["as_of"].max()].head(n)
    names = [c for c in latest.columns if c in _FEATURES]
    accounts = []
    for _, row in latest.iterrows():
        features = {}
        for name in names:
            value = row[name]
            features[name] = None if isinstance(value, float) and math.isnan(value) else value
        accounts.append(
            {"account_id": row["account_id"], "segment": row["segment"], "features": features}
        )
    return accounts


_FEATURES = {
    "usage_14d_change_pct",
    "usage_drop_40pct_14d",
    "seat_utilization",
    "champion_left_90d",
    "days_since_champion_left",
    "open_escalations",
    "onboarding_stalled",
    "nps_last",
    "days_to_renewal",
    "arr",
    "account_industry",
}


def test_reject_mode_names_each_missing_feature(server, trained: dict) -> None:
    complete = _accounts(trained, 2)
    answer = httpx.post(f"{server.base}/score", json={"accounts": complete}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    partial = [dict(complete[0]), dict(complete[1])]
    partial[1]["features"] = {
        k: v for k, v in partial[1]["features"].items() if k != "seat_utilization"
    }
    refused = httpx.post(f"{server.base}/score", json={"accounts": partial}, headers=AUTH)
    assert refused.status_code == 400
    locs = [d["loc"] for d in refused.json()["detail"]]
    assert ["accounts", 1, "features", "seat_utilization"] in locs
    assert all(loc[1] == 1 for loc in locs)  # the complete account is not blamed


def test_a_burst_above_max_concurrency_gets_429_with_a_json_body(server, trained: dict) -> None:
    body = {"accounts": _accounts(trained, 200)}
    barrier = threading.Barrier(12)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def call() -> None:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            barrier.wait()
            answer = client.post("/score", json=body, headers=AUTH)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    probe = httpx.get(f"{server.base}/readyz", timeout=60)  # probes are never limited
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) == {200, 429}, statuses
    assert probe.status_code == 200
    for answer in answers:
        if answer.status_code == 429:
            payload = answer.json()
            assert set(payload) == {"error", "detail", "request_id"}
            assert "max_concurrency" in payload["error"]
            assert answer.headers["retry-after"] == "1"
            assert payload["request_id"] == answer.headers["x-request-id"]
