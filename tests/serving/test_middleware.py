"""The ASGI middleware on its own, with a tiny app: ids, 415, error shape, 413, 429."""

from __future__ import annotations

import asyncio
import json
import logging

from serving._errors import normalise
from serving._middleware import BodyLimit, ConcurrencyLimit, RequestContract


def run(app, method: str = "POST", path: str = "/score", headers=(), chunks=(b"{}",)):
    sent: list[dict] = []
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": list(headers)}
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


async def echo_body(scope, receive, send) -> None:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"".join(chunks)})


async def plain_404(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 404, "headers": [(b"allow", b"GET")]})
    await send({"type": "http.response.body", "body": b"Not Found"})


def test_request_id_is_echoed_or_made_and_reaches_the_app() -> None:
    seen = {}

    async def app(scope, receive, send) -> None:
        seen.update(dict(scope["headers"]))
        await echo_body(scope, receive, send)

    status, headers, _ = run(RequestContract(app), headers=[(b"x-request-id", b"abc-1")])
    assert status == 200 and headers[b"x-request-id"] == b"abc-1" == seen[b"x-request-id"]
    _, headers, _ = run(RequestContract(app), headers=[(b"x-request-id", b"bad id")])
    assert len(headers[b"x-request-id"]) == 32


def test_non_json_is_415_and_errors_get_the_one_shape(caplog) -> None:
    caplog.set_level(logging.INFO, logger="retain.serving")
    status, _, body = run(
        RequestContract(echo_body), headers=[(b"content-type", b"multipart/form-data")]
    )
    assert status == 415 and set(json.loads(body)) == {"error", "detail", "request_id"}
    status, headers, body = run(RequestContract(plain_404), method="GET", path="/secret-path")
    payload = json.loads(body)
    assert status == 404 and payload["error"] == "Not Found" and headers[b"allow"] == b"GET"
    assert "secret-path" not in caplog.text  # unknown paths are not logged verbatim
    assert all(r.levelno == logging.INFO for r in caplog.records)


def test_error_bodies_of_every_producer_are_normalised() -> None:
    bentoml_list = json.dumps([{"error": "Unsupported Media Type"}]).encode()
    assert normalise(415, bentoml_list, "r")["error"] == "Unsupported Media Type"
    pydantic = json.dumps(
        {"error": "1 validation error", "detail": [{"loc": ["a"], "msg": "m", "input": "x"}]}
    ).encode()
    assert normalise(400, pydantic, None) == {
        "error": "1 validation error",
        "detail": [{"loc": ["a"], "msg": "m"}],
    }
    assert normalise(401, json.dumps({"error": "u", "detail": "send"}).encode(), None)[
        "detail"
    ] == [{"loc": [], "msg": "send"}]
    assert normalise(503, b"", None)["error"] == "service unavailable"


def test_body_limit_by_length_and_while_streaming() -> None:
    limited = BodyLimit(echo_body, max_bytes=10)
    assert run(limited, chunks=(b"12345", b"67890"))[0] == 200
    assert run(limited, headers=[(b"content-length", b"11")])[0] == 413
    status, _, body = run(limited, chunks=(b"12345", b"67890", b"1"))
    assert status == 413 and b"max_body_bytes" in body


def test_concurrency_limit_answers_429_past_the_limit() -> None:
    async def main() -> list[int]:
        release = asyncio.Event()

        async def slow(scope, receive, send) -> None:
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        limiter = ConcurrencyLimit(slow, max_concurrency=2, exempt=frozenset({"/readyz"}))
        statuses: list[int] = []

        async def call(path: str) -> None:
            async def receive() -> dict:
                return {"type": "http.request", "body": b""}

            async def send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            scope = {"type": "http", "method": "POST", "path": path, "headers": []}
            await limiter(scope, receive, send)

        tasks = [asyncio.create_task(call("/score")) for _ in range(3)]
        tasks.append(asyncio.create_task(call("/readyz")))
        await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*tasks)
        assert limiter.in_flight == 0
        return statuses

    assert sorted(asyncio.run(main())) == [200, 200, 200, 429]
