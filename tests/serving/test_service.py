"""The real service: `retain serve` in a subprocess on a free port, answered over HTTP."""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd
import pytest

from serving.batch import score_snapshot
from serving.scoring import frame_from_features, load_model_pair, score_frame
from serving.signals import SIGNAL_FEATURES
from serving.store import write_store
from tests.serving._server import running_server, worker_processes

pytestmark = pytest.mark.slow

TOKEN = "test-token-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STALE_ACCOUNT = "acc_0003"
STALE_OWNER = "csm-ada"


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
    stale["csm_id"] = STALE_OWNER
    write_store(store, stale, models, None, now=pd.Timestamp("2024-08-02 10:00"))

    args = ["--model-path", str(trained["folder"]), "--store", str(store), "--drain-seconds", "0"]
    env = {"RETAIN_API_TOKENS": f"{TOKEN},other-token"}
    with (
        running_server(tmp, args, env) as running,
        httpx.Client(base_url=running.base, timeout=10) as client,
    ):
        yield {
            "client": client,
            "base": running.base,
            "process": running,
            "models": models,
            "config": config,
            "latest": latest,
            "results": {r["account_id"]: r for r in results},
            "stale": stale,
            "july": july,
        }


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
    # Readiness is the server's, not one worker's: once 200, every probe says 200 (the audit
    # saw 7 of 60 answers 503 after the first 200, from a worker still loading).
    assert [client.get("/readyz").status_code for _ in range(60)] == [200] * 60
    spec = client.get("/docs.json")
    assert spec.status_code == 200
    assert {"/score", "/score_accounts", "/metadata", "/readyz"} <= set(spec.json()["paths"])


def test_metadata(server: dict) -> None:
    answer = server["client"].get("/metadata", headers=AUTH)
    assert answer.status_code == 200
    body = answer.json()
    assert body["model"] == server["models"].info()
    assert body["features"] == server["models"].feature_names
    assert set(body["bands"]) == {"green_below", "red_from", "basis"}
    assert body["bands"]["green_below"] <= body["bands"]["red_from"]
    # Versions and the SHA-256 of the files each worker verified and serves.
    for target in ("churn", "expansion"):
        assert len(body["model"][target]["sha256"]) == 64
        assert body["model"][target]["version"].startswith("path:")
    assert body["model"]["churn"]["sha256"] != body["model"]["expansion"]["sha256"]
    assert body["max_body_bytes"] == 1_048_576
    assert "seat_utilization" in body["imputed_when_missing"]["expansion"]


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

    # The caller sends features only; the renewal dates come with the data source's snapshot,
    # and the plays' owners and ARR at stake with its csm_id and ARR (tests/serving/test_plays).
    def without_dates(result: dict) -> dict:
        skip = ("renewal_date", "churn_window_end", "recommended_plays")
        return {k: v for k, v in result.items() if k not in skip}

    assert [without_dates(r) for r in answer.json()["results"]] == [
        without_dates(server["results"][a]) for a in rows["account_id"]
    ]
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
    plays = result.pop("recommended_plays")
    assert result == expected
    assert result != server["results"][STALE_ACCOUNT]
    assert {"champion_left", "open_escalation"} <= {s["name"] for s in result["signals"]}
    # Rescored on demand, the account gets the play its new signals open, owned by its CSM.
    assert "executive_sponsor_outreach" in {p["play"] for p in plays}
    assert {p["owner"] for p in plays} == {STALE_OWNER}


def test_an_earlier_as_of_comes_from_the_store(server: dict) -> None:
    answer = post(server, "/score_accounts", {"account_ids": ["acc_0001"], "as_of": "2024-07-01"})
    result = answer.json()["results"][0]
    july = server["july"]
    expected = score_frame(
        july[july["account_id"] == "acc_0001"], server["models"], server["config"]
    )
    assert isinstance(result.pop("recommended_plays"), list)
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
    results = answer.json()["results"]
    plays = results[0].pop("recommended_plays")
    assert results == expected
    assert {s["name"] for s in expected[0]["signals"]} == {"open_escalation", "over_licensed_seats"}
    # Plays fire on /score too; without a csm_id in the request the owner is unassigned.
    assert plays and all(p["owner"] == "unassigned" for p in plays)


# -- issue 13: partial and wrong input, and a contract that tells the truth --------------------


def _one(server: dict, account: dict) -> dict:
    answer = post(server, "/score", {"accounts": [account]})
    assert answer.status_code == 200, answer.text
    return answer.json()["results"][0]


def test_a_missing_value_is_the_segments_median_never_zero(server: dict) -> None:
    """seat_utilization never misses in training: LightGBM would send null down the zero branch
    (old behaviour: null and 0 scored identically). The policy scores the segment's median."""
    models = server["models"]
    row = server["latest"].iloc[5]
    segment = row["segment"]
    median = models.expansion_policy.values_for(segment)["seat_utilization"]
    assert median > 0.3  # far from 0 in this data, so 0 and the median score differently
    features = features_of(row, models)

    def with_utilization(value: object) -> dict:
        return {
            "account_id": "m",
            "segment": segment,
            "features": {**features, "seat_utilization": value},
        }

    missing = _one(server, with_utilization(None))
    omitted = _one(
        server,
        {
            "account_id": "m",
            "segment": segment,
            "features": {k: v for k, v in features.items() if k != "seat_utilization"},
        },
    )
    zero = _one(server, with_utilization(0.0))
    at_median = _one(server, with_utilization(median))
    assert "seat_utilization" in missing["imputed_features"]
    assert omitted["imputed_features"] == missing["imputed_features"]
    assert at_median["imputed_features"] == zero["imputed_features"] == []
    assert missing["expansion_probability"] == at_median["expansion_probability"]
    assert missing["expansion_probability"] != zero["expansion_probability"]
    # The reason (if any) on the feature says it was not recorded: the caller's value.
    for reason in missing["expansion_reasons"]:
        if reason["feature"] == "seat_utilization":
            assert reason["value"] is None


def test_a_learned_missing_value_stays_missing(server: dict) -> None:
    """nps_last is often missing in training: its missing branch is the model's own."""
    models = server["models"]
    learned = set(models.churn_policy.learned_missing["__global__"])
    assert "nps_last" in learned
    assert "nps_last" not in models.churn_policy.values_for("SMB")
    result = _one(
        server,
        {"account_id": "n", "segment": "SMB", "features": {"nps_last": None, "arr": 1000.0}},
    )
    assert "nps_last" not in result["imputed_features"]


def test_an_unknown_or_missing_segment_is_scored_globally_and_flagged(server: dict) -> None:
    features = features_of(server["latest"].iloc[2], server["models"])
    galactic = _one(server, {"account_id": "g", "segment": "Galactic", "features": features})
    none = _one(server, {"account_id": "g", "features": features})
    smb = _one(server, {"account_id": "g", "segment": "SMB", "features": features})
    assert galactic["segment_unknown"] is True
    assert none["segment_unknown"] is True
    assert smb["segment_unknown"] is False
    # Both fall to the global booster and calibration.
    assert galactic["churn_probability"] == none["churn_probability"]
    assert galactic["expansion_probability"] == none["expansion_probability"]


@pytest.mark.parametrize(
    ("feature", "value"),
    [
        ("arr", -5.0),
        ("open_escalations", -1.0),
        ("seat_utilization", -0.01),
        ("usage_14d_change_pct", -100.5),
    ],
)
def test_an_impossible_value_is_a_400_naming_the_field(
    server: dict, feature: str, value: float
) -> None:
    answer = post(
        server,
        "/score",
        {"accounts": [{"account_id": "x", "segment": "SMB", "features": {feature: value}}]},
    )
    assert answer.status_code == 400
    body = answer.json()
    assert [d["loc"] for d in body["detail"]] == [["accounts", 0, "features", feature]]
    assert "at least" in body["detail"][0]["msg"]
    assert str(value) not in answer.text


def test_a_category_sent_as_a_number_is_a_400(server: dict) -> None:
    answer = post(
        server,
        "/score",
        {"accounts": [{"account_id": "x", "features": {"account_industry": 3.0}}]},
    )
    assert answer.status_code == 400
    assert answer.json()["detail"][0]["loc"] == ["accounts", 0, "features", "account_industry"]


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",  # no boundary: BentoML answered 500
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/x-www-form-urlencoded",
    ],
)
def test_a_body_that_is_not_json_is_a_415_object(server: dict, content_type: str) -> None:
    answer = server["client"].post(
        "/score",
        content=b'{"accounts": [{"account_id": "a"}]}',
        headers={**AUTH, "Content-Type": content_type},
    )
    assert answer.status_code == 415
    body = answer.json()
    assert isinstance(body, dict)
    assert set(body) == {"error", "detail", "request_id"}


def test_the_request_id_is_echoed_or_generated(server: dict) -> None:
    client = server["client"]
    body = {"account_ids": ["acc_0001"]}
    sent = post(server, "/score_accounts", body, headers={**AUTH, "X-Request-ID": "trace-42.a"})
    assert sent.headers["x-request-id"] == "trace-42.a"
    assert sent.json()["request_id"] == "trace-42.a"
    made = post(server, "/score_accounts", body)
    assert len(made.headers["x-request-id"]) == 32
    assert made.json()["request_id"] == made.headers["x-request-id"]
    failed = post(
        server, "/score_accounts", {"account_ids": []}, headers={**AUTH, "X-Request-ID": "r-9"}
    )
    assert failed.status_code == 400
    assert failed.headers["x-request-id"] == failed.json()["request_id"] == "r-9"
    quoted = post(server, "/score_accounts", body, headers={**AUTH, "X-Request-ID": 'a"}\\x'})
    assert quoted.json()["request_id"] == 'a"}\\x'  # escaped in the JSON body
    unusable = client.get("/metadata", headers={**AUTH, "X-Request-ID": "has space"})
    assert unusable.headers["x-request-id"] != "has space"
    assert unusable.json()["request_id"] == unusable.headers["x-request-id"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/no-such-path", AUTH, 404),
        ("GET", "/score", AUTH, 405),
        ("PUT", "/score_accounts", AUTH, 405),
        ("GET", "/metadata", {}, 401),
        ("POST", "/score", AUTH, 400),
    ],
)
def test_every_error_is_one_json_object(
    server: dict, method: str, path: str, headers: dict, status: int
) -> None:
    answer = server["client"].request(
        method, path, content=b"{}", headers={**headers, "Content-Type": "application/json"}
    )
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert isinstance(body, dict) and isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], list)
    assert all(set(d) == {"loc", "msg"} for d in body["detail"])
    assert body["request_id"] == answer.headers["x-request-id"]


def test_docs_page_works_offline_and_the_spec_tells_the_truth(server: dict) -> None:
    from importlib.metadata import version

    client = server["client"]
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "swagger-ui-bundle.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, no validator
    for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"):
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 10_000
    spec = client.get("/docs.json").json()
    assert spec["info"]["title"] == "retain scoring API"
    assert spec["info"]["version"] == version("retain")
    assert "imputed_features" in spec["info"]["description"]
    assert client.get("/").text == page.text  # not BentoML's stock page
    assert set(spec["paths"]) == {
        "/",
        "/score",
        "/score_accounts",
        "/metadata",
        "/healthz",
        "/livez",
        "/readyz",
        "/docs",
        "/docs.json",
    }
    assert set(spec["paths"]["/score"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "413",
        "415",
        "429",
        "503",
    }
    features = spec["components"]["schemas"]["AccountFeatures"]["properties"]["features"]
    assert set(features["properties"]) == set(server["models"].feature_names) | set(SIGNAL_FEATURES)
    assert features["additionalProperties"] is False
    assert features["properties"]["arr"]["anyOf"][0]["minimum"] == 0
    result = spec["components"]["schemas"]["AccountResult"]["properties"]
    assert {"segment_unknown", "imputed_features"} <= set(result)


SENTINEL = "zq-sentinel-5521@example.com"


def test_no_request_value_reaches_a_log_or_file(server: dict) -> None:
    """The sentinel goes in valid and invalid requests; no log line or file the server writes
    holds it, client errors are one INFO line each and no traceback is logged."""
    valid = [
        ("/score", {"accounts": [{"account_id": SENTINEL, "segment": SENTINEL}]}),
        ("/score_accounts", {"account_ids": [SENTINEL]}),
    ]
    invalid = [
        ("/score", {"accounts": [{"account_id": "a", "features": {"arr": SENTINEL}}]}),
        ("/score", {"accounts": [{"account_id": "a", "features": {SENTINEL: 1.0}}]}),
        ("/score", {"accounts": [{"account_id": "a", SENTINEL: 1}]}),
        ("/score_accounts", {"account_ids": ["a"], "as_of": SENTINEL}),
        ("/score_accounts", {"account_ids": ["a" * 300 + SENTINEL]}),
        ("/score", f'{{"accounts": [{{"account_id": "{SENTINEL}"'),
    ]
    for path, body in valid:
        assert post(server, path, body).status_code == 200
    for path, body in invalid:
        assert post(server, path, body).status_code == 400
    process = server["process"]
    time.sleep(0.5)  # let the workers flush their log lines
    for path in process.home.rglob("*"):
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), path
    log = process.log.read_text()
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if "/score" in line and "-> 400" in line]
    assert len(lines) >= len(invalid)
    assert all("INFO" in line and "ERROR" not in line for line in lines), lines


# -- issue 14: limits before parsing, and answers under load ------------------------------------


def _worker_rss(server: dict) -> int:
    workers = worker_processes(server["process"])
    assert workers
    return sum(p.memory_info().rss for p in workers)


def test_a_10_mb_body_is_413_from_its_content_length_without_reading_it(server: dict) -> None:
    before = _worker_rss(server)
    body = b'{"account_ids": ["' + b"a" * 10_000_000 + b'"]}'
    started = time.perf_counter()
    answer = post(server, "/score_accounts", body.decode())
    elapsed = time.perf_counter() - started
    assert answer.status_code == 413
    assert answer.json()["detail"][0]["loc"] == ["body"]
    assert "max_body_bytes" in answer.json()["error"]
    grown = _worker_rss(server) - before
    print(f"10 MB body: 413 in {elapsed * 1000:.0f} ms, workers' RSS grew {grown / 2**20:.1f} MiB")
    assert grown < 20 * 2**20  # parsing it would take ~80 MiB


def test_a_streamed_body_is_cut_at_the_cap(server: dict) -> None:
    """Chunked, no Content-Length: the 413 comes once the cap is passed, long before the end
    of a 50 MB body (what was sent beyond the cap sat in socket buffers, never in a worker)."""
    import select
    import socket
    from urllib.parse import urlsplit

    total = 50_000_000
    before = _worker_rss(server)
    url = urlsplit(server["base"])
    chunk = b"a" * 65_536
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /score_accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        while sent < total and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except OSError:  # the server closed after answering
                break
            sent += len(chunk)
        answered = sock.recv(65_536)
    assert answered.startswith(b"HTTP/1.1 413"), answered[:200]
    assert sent < total / 2
    assert _worker_rss(server) - before < 20 * 2**20


def test_32_threads_of_score_answer_like_one_thread(server: dict) -> None:
    latest = server["latest"]
    models = server["models"]
    bodies = [
        {
            "accounts": [
                {
                    "account_id": row["account_id"],
                    "segment": row["segment"],
                    "features": features_of(row, models),
                }
                for _, row in latest.iloc[i * 3 : i * 3 + 3].iterrows()
            ]
        }
        for i in range(64)
    ]
    single = [post(server, "/score", body).json()["results"] for body in bodies]

    def call(body: dict) -> list:
        with httpx.Client(base_url=server["base"], timeout=60) as client:
            answer = client.post("/score", json=body, headers=AUTH)
            assert answer.status_code == 200, answer.text
            return answer.json()["results"]

    with ThreadPoolExecutor(max_workers=32) as pool:
        threaded = list(pool.map(call, bodies * 2))
    assert threaded == single * 2
