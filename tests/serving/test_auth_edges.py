"""Auth at its edges, through the real ASGI middleware: public paths are exact paths (a path
sharing a probe's prefix is guarded), and a token is the whole credential (a valid token with
anything appended, or a part of one, is refused)."""

from __future__ import annotations

import asyncio

import pytest

from serving.auth import PUBLIC_PATHS, BearerAuth, api_tokens, token_is_valid

TOKEN = "s3cret-Token"


def status(path: str, authorization: bytes | None = None, tokens=(TOKEN,)) -> int:
    sent: list[dict] = []

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"authorization", authorization)] if authorization is not None else []
    scope = {"type": "http", "method": "GET", "path": path, "headers": headers}
    asyncio.run(BearerAuth(app, tokens=tokens)(scope, receive, send))
    return sent[0]["status"]


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
def test_each_probe_and_the_docs_are_open(path):
    assert status(path) == 200


@pytest.mark.parametrize(
    "path",
    [
        "/healthz-x",
        "/healthzz",
        "/healthz/",
        "/healthz/score",
        "/readyzz",
        "/livez2",
        "/docsx",
        "/docs.json.bak",
        "/HEALTHZ",
        "/",
        "/score",
    ],
)
def test_a_path_sharing_a_public_prefix_is_guarded(path):
    assert status(path) == 401
    assert status(path, b"Bearer " + TOKEN.encode()) == 200


@pytest.mark.parametrize(
    "header",
    [
        b"Bearer " + TOKEN.encode() + b"x",
        b"Bearer " + TOKEN.encode() + b"0",
        b"Bearer " + TOKEN.encode() + b",other",
        b"Bearer " + TOKEN.encode() + b" extra",
        b"Bearer " + TOKEN.encode() + b"\x00",
        b"Bearer " + TOKEN.encode()[:-1],  # a prefix of the token
        b"Bearer " + TOKEN.encode()[1:],
        b"Bearer " + TOKEN.upper().encode(),  # tokens are case-sensitive
        b"Bearer" + TOKEN.encode(),  # no space after the scheme
        b"Token " + TOKEN.encode(),
        TOKEN.encode(),
        b"Bearer ",
        b"",
    ],
)
def test_anything_but_the_exact_token_is_refused(header):
    assert not token_is_valid(header, (TOKEN.encode(),))
    assert status("/score", header) == 401


def test_the_exact_token_is_accepted_whichever_of_several_it_is():
    tokens = ("first", TOKEN, "third")
    for token in tokens:
        assert status("/score", b"Bearer " + token.encode(), tokens=tokens) == 200
        assert status("/score", b"bearer " + token.encode(), tokens=tokens) == 200
    # Two tokens run together are neither of them.
    assert status("/score", b"Bearer first" + TOKEN.encode(), tokens=tokens) == 401
    assert status("/score", b"Bearer " + TOKEN.encode(), tokens=()) == 401


def test_only_the_authorization_header_counts():
    sent: list[dict] = []

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "path": "/score",
        "headers": [(b"x-authorization", b"Bearer " + TOKEN.encode()), (b"cookie", b"t=1")],
    }
    asyncio.run(BearerAuth(app, tokens=[TOKEN])(scope, None, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 401


def test_blank_tokens_never_become_a_valid_empty_token():
    tokens = api_tokens((" ", ""), {"RETAIN_API_TOKENS": " , ,"})
    assert tokens == ()
    assert status("/score", b"Bearer ", tokens=tokens) == 401
    assert status("/score", b"Bearer  ", tokens=tokens) == 401
