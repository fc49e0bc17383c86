"""The HTTP contract around the BentoML app, as plain ASGI middleware (outermost first).

`RequestContract`: every request has an id (the caller's `X-Request-ID` when it sends a usable
one, else a new one), echoed in the response header and in every JSON body; a request body that
is not JSON is refused with 415 before anything parses it; every non-2xx answer, whoever made
it, leaves in the one error shape (serving._errors) and is logged as one line without any of
the request's values (client errors at INFO); `/docs`, `/docs.json` and the Swagger UI assets
are answered here, so BentoML's stock pages never shadow them.

`ConcurrencyLimit`: at most `max_concurrency` requests in one worker at once; the next gets 429
with `Retry-After` (probes and docs are never limited).

`BodyLimit`: a body above `max_body_bytes` is answered 413 from its Content-Length, or as soon
as the bytes streamed in pass the cap, never read whole.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from serving._errors import ASGIApp, Message, Receive, Scope, Send, normalise, send_error

logger = logging.getLogger("retain.serving")

REQUEST_ID_HEADER = b"x-request-id"
# A caller's id is echoed when it is short visible ASCII; anything else gets a fresh id.
_USABLE_ID = re.compile(rb"[\x21-\x7e]{1,128}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON_TYPES = frozenset({b"application/json"})


def request_id_of(scope: Scope) -> str:
    """The id RequestContract put in the request's headers (a fresh one outside it)."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            return value.decode("ascii")
    return uuid.uuid4().hex


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return value
    return None


def _media_type(scope: Scope) -> bytes | None:
    value = _header(scope, b"content-type")
    if value is None:
        return None
    return value.split(b";", 1)[0].strip().lower()


class RequestContract:
    """Request ids, 415 for non-JSON bodies, one error shape, one log line per failure."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        docs: Callable[[Scope], Any] | None = None,
        draining: Callable[[], bool] | None = None,
        client_error_level: int = logging.INFO,
    ) -> None:
        self.app = app
        # Scope -> an ASGI app answering it (the docs pages), or None for "not mine".
        self.docs = docs
        # While draining, every answer closes its connection: a client's next request opens
        # a new one, which the closed listener refuses cleanly, instead of racing the shutdown
        # of an idle keep-alive connection.
        self.draining = draining
        self.client_error_level = client_error_level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = _header(scope, REQUEST_ID_HEADER)
        request_id = (
            sent.decode("ascii") if sent and _USABLE_ID.fullmatch(sent) else uuid.uuid4().hex
        )
        headers = [(k, v) for k, v in scope.get("headers", ()) if k != REQUEST_ID_HEADER]
        scope = {**scope, "headers": [*headers, (REQUEST_ID_HEADER, request_id.encode())]}
        started = time.perf_counter()
        reply = _ContractSend(send, request_id, self.draining)
        try:
            media_type = _media_type(scope)
            if (
                scope["method"] in _BODY_METHODS
                and media_type is not None
                and media_type not in _JSON_TYPES
            ):
                await send_error(
                    reply,
                    415,
                    "unsupported media type: send the body as application/json",
                    [{"loc": ["header", "content-type"], "msg": "expected application/json"}],
                )
                return
            target = self.docs(scope) if self.docs is not None else None
            await (target or self.app)(scope, receive, reply)
        finally:
            if reply.status is not None and reply.status >= 400:
                if scope["path"] in _PROBES:
                    level = logging.DEBUG  # "not ready yet" is what a probe is for
                elif reply.status < 500:
                    level = self.client_error_level
                else:
                    level = logging.WARNING
                # Method, path, status, id and the error's kind only: never a value, a field
                # name or a message that could quote the request.
                logger.log(
                    level,
                    "retain: %s %s -> %d (%s) request_id=%s %.1f ms",
                    scope["method"],
                    scope["path"] if scope["path"] in _KNOWN_PATHS else "(other path)",
                    reply.status,
                    reply.error_kinds or "-",
                    request_id,
                    (time.perf_counter() - started) * 1000,
                )


_PROBES = frozenset({"/healthz", "/livez", "/readyz"})
_KNOWN_PATHS = frozenset(
    {
        "/score",
        "/score_accounts",
        "/metadata",
        "/healthz",
        "/livez",
        "/readyz",
        "/docs",
        "/docs.json",
    }
)


class _ContractSend:
    """Wraps `send`: adds the request id header; rewrites an error body into the one shape."""

    def __init__(
        self, send: Send, request_id: str, draining: Callable[[], bool] | None = None
    ) -> None:
        self._send = send
        self.request_id = request_id
        self._draining = draining
        self.status: int | None = None
        self.error_kinds = ""
        self._start: Message | None = None
        self._body: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            headers = [
                (k, v)
                for k, v in message.get("headers", ())
                if k.lower() not in (REQUEST_ID_HEADER, b"server")
            ]
            headers.append((REQUEST_ID_HEADER, self.request_id.encode()))
            if self._draining is not None and self._draining():
                headers = [(k, v) for k, v in headers if k.lower() != b"connection"]
                headers.append((b"connection", b"close"))
            message = {**message, "headers": headers}
            if self.status >= 400:
                self._start = message  # held until the whole (small) error body is in
                return
            await self._send(message)
            return
        if message["type"] == "http.response.body" and self._start is not None:
            self._body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._send_error()
            return
        await self._send(message)

    async def _send_error(self) -> None:
        assert self._start is not None and self.status is not None
        raw = b"".join(self._body)
        payload = normalise(self.status, raw, self.request_id)
        self.error_kinds = _kinds(raw)
        body = json.dumps(payload).encode()
        keep = [
            (k, v)
            for k, v in self._start.get("headers", ())
            if k.lower() not in (b"content-type", b"content-length")
        ]
        await self._send(
            {
                **self._start,
                "headers": [
                    *keep,
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await self._send({"type": "http.response.body", "body": body})


def _kinds(raw: bytes) -> str:
    """pydantic error types of a 400 body (e.g. "extra_forbidden,missing"), for the log line."""
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return ""
    detail = parsed.get("detail") if isinstance(parsed, dict) else None
    if not isinstance(detail, list):
        return ""
    kinds = sorted({str(d["type"]) for d in detail if isinstance(d, dict) and "type" in d})
    return ",".join(k for k in kinds if re.fullmatch(r"[a-z_]{1,40}", k))[:200]


class ConcurrencyLimit:
    """429 once `max_concurrency` requests are in this worker (probes and docs excepted)."""

    def __init__(
        self, app: ASGIApp, *, max_concurrency: int, exempt: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.max_concurrency = max_concurrency
        self.exempt = exempt
        self.in_flight = 0  # one event loop per worker: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_concurrency:
            message = (
                f"busy: {self.max_concurrency} requests already in progress in this worker "
                "(serving.max_concurrency); retry shortly"
            )
            await send_error(send, 429, message, headers=[(b"retry-after", b"1")])
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyLimit:
    """413 for a body above `max_bytes`: from Content-Length, or while it streams in."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        too_big = (
            f"request body larger than {self.max_bytes} bytes (serving.max_body_bytes); "
            "send fewer accounts per request"
        )
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await send_error(send, 400, "invalid Content-Length header")
                return
            if length > self.max_bytes:
                await send_error(send, 413, too_big, [{"loc": ["body"], "msg": too_big}])
                return
        # Read at most max_bytes + 1 (never the whole of a bigger body), then replay it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_error(send, 413, too_big, [{"loc": ["body"], "msg": too_big}])
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class ClientErrorFilter(logging.Filter):
    """Drops BentoML's traceback for a client's bad request (RequestContract logs one line).

    BentoML logs every pydantic ValidationError and 4xx BentoMLException at ERROR with a
    traceback, whose text can quote the request; a client's mistake is not a server error.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        error = record.exc_info[1]
        from pydantic import ValidationError

        if isinstance(error, ValidationError):
            return False
        status = getattr(getattr(error, "error_code", None), "value", None)
        return not (isinstance(status, int) and 400 <= status < 500)


def configure_logging() -> None:
    """In a worker: retain's INFO lines reach BentoML's handler (its root logger is at
    WARNING), and BentoML's tracebacks for client errors are dropped (once per process)."""
    logging.getLogger("retain").setLevel(logging.INFO)
    target = logging.getLogger("bentoml._internal.server.http_app")
    if not any(isinstance(f, ClientErrorFilter) for f in target.filters):
        target.addFilter(ClientErrorFilter())
