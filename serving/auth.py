"""Bearer-token authentication for the scoring API, as a plain ASGI middleware.

Tokens come from `RETAIN_API_TOKENS` (comma-separated) plus `serving.api_tokens`. Every token is
compared with `hmac.compare_digest` so the time a wrong token takes says nothing about the right
one. Probes and the API description stay open so an orchestrator can check the service.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKENS_ENV = "RETAIN_API_TOKENS"
PUBLIC_PATHS: frozenset[str] = frozenset({"/healthz", "/livez", "/readyz", "/docs", "/docs.json"})

_UNAUTHORIZED = json.dumps(
    {"error": "unauthorized", "detail": "send 'Authorization: Bearer <token>'"}
).encode()


def api_tokens(
    configured: Iterable[str] = (), environ: MutableMapping[str, str] | None = None
) -> tuple[str, ...]:
    """Configured tokens plus those of RETAIN_API_TOKENS, blanks dropped, order kept."""
    environ = os.environ if environ is None else environ
    from_env = [t.strip() for t in environ.get(TOKENS_ENV, "").split(",")]
    tokens: list[str] = []
    for token in (*configured, *from_env):
        token = token.strip()
        if token and token not in tokens:
            tokens.append(token)
    return tuple(tokens)


def token_is_valid(header: bytes | None, tokens: Iterable[bytes]) -> bool:
    """Whether an Authorization header carries one of `tokens`, compared in constant time."""
    if not header or header[:7].lower() != b"bearer ":
        return False
    presented = header[7:].strip()
    valid = False
    # Compare against every token (no early exit), so timing does not reveal which one matched.
    for token in tokens:
        valid |= hmac.compare_digest(presented, token)
    return valid


class BearerAuth:
    """Reject HTTP requests without a valid bearer token with 401 (public paths excepted)."""

    def __init__(self, app: ASGIApp, tokens: Iterable[str] = (), enabled: bool = True) -> None:
        self.app = app
        self.tokens = tuple(t.encode() for t in tokens)
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value
                break
        if token_is_valid(header, self.tokens):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                    (b"www-authenticate", b'Bearer realm="retain"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _UNAUTHORIZED})
