import asyncio

from serving.auth import BearerAuth, api_tokens, token_is_valid


def test_tokens_from_config_and_environment() -> None:
    env = {"RETAIN_API_TOKENS": " t2 , ,t3,t1"}
    assert api_tokens(("t1",), env) == ("t1", "t2", "t3")
    assert api_tokens((), {}) == ()


def test_token_check() -> None:
    tokens = (b"alpha", b"beta")
    assert token_is_valid(b"Bearer beta", tokens)
    assert token_is_valid(b"bearer alpha", tokens)
    assert not token_is_valid(b"Bearer gamma", tokens)
    assert not token_is_valid(b"Basic alpha", tokens)
    assert not token_is_valid(b"Bearer ", tokens)
    assert not token_is_valid(None, tokens)
    assert not token_is_valid(b"Bearer alpha", ())


def call(middleware: BearerAuth, path: str, headers: list) -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "headers": headers}
    asyncio.run(middleware(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def ok_app(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_middleware_guards_everything_but_probes() -> None:
    guarded = BearerAuth(ok_app, tokens=["s3cret"])
    assert call(guarded, "/score", [])[0] == 401
    assert call(guarded, "/score", [(b"authorization", b"Bearer wrong")])[0] == 401
    assert call(guarded, "/score", [(b"authorization", b"Bearer s3cret")]) == (200, b"ok")
    assert call(guarded, "/metadata", [])[0] == 401
    assert call(guarded, "/readyz", []) == (200, b"ok")
    assert call(guarded, "/healthz", []) == (200, b"ok")
    _, body = call(guarded, "/score", [(b"authorization", b"Bearer wrong")])
    assert b"wrong" not in body


def test_no_auth_lets_everything_through() -> None:
    assert call(BearerAuth(ok_app, tokens=[], enabled=False), "/score", []) == (200, b"ok")
