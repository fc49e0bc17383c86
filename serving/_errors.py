"""The one error shape of the API: `{"error": str, "detail": [{"loc": [...], "msg": str}], ...}`.

Every non-2xx answer has it, whoever produced it (the service, BentoML, Starlette, a middleware),
so a client parses one shape. `detail` names fields by their location, never by their value.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from http import HTTPStatus
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Loc = Sequence[str | int]


def detail_item(msg: str, loc: Loc = ()) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg}


def error_payload(
    status: int,
    error: str | None = None,
    detail: Sequence[dict[str, Any]] = (),
    request_id: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "error": error or _phrase(status),
        "detail": [detail_item(str(d.get("msg", "")), d.get("loc") or ()) for d in detail],
    }
    if request_id is not None:
        payload["request_id"] = request_id
    return payload


def error_bytes(status: int, error: str | None = None, detail: Sequence[dict] = ()) -> bytes:
    return json.dumps(error_payload(status, error, detail)).encode()


async def send_error(
    send: Send,
    status: int,
    error: str,
    detail: Sequence[dict[str, Any]] = (),
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer with the error shape (RequestContract outside adds the request id)."""
    body = error_bytes(status, error, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def normalise(status: int, body: bytes, request_id: str | None) -> dict[str, Any]:
    """Any error body (ours, BentoML's JSON list or pydantic errors, Starlette's plain text)
    in the one shape; pydantic's `input`, `ctx` and `url` are dropped on the way."""
    try:
        parsed: Any = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        parsed = body.decode("utf-8", "replace").strip() or None
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]  # BentoML 1.4 answers some 4xx with a one-item JSON list
    error: str | None = None
    detail: list[dict[str, Any]] = []
    if isinstance(parsed, dict):
        error = str(parsed["error"]) if parsed.get("error") is not None else None
        raw = parsed.get("detail")
        if isinstance(raw, list):
            for item in raw:
                if isinstance(item, dict):
                    detail.append(detail_item(str(item.get("msg", "")), item.get("loc") or ()))
                else:
                    detail.append(detail_item(str(item)))
        elif raw is not None:
            if error is None:
                error = str(raw)
            else:
                detail.append(detail_item(str(raw)))
    elif isinstance(parsed, str):
        error = parsed[:500]
    return error_payload(status, error, detail, request_id)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"
