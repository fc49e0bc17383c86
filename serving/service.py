"""The BentoML scoring service: a thin typed shell over `serving.api`.

Started by `retain serve` (or `bentoml serve serving.service:RetainService`); the effective
settings arrive as JSON in RETAIN_SERVING_CONFIG (see `serving.api.settings_from_env`). Models
load in a background thread so `/readyz` can answer 503 until they are loaded and a warm-up
prediction has run; `/healthz` answers as soon as the process is up.

The HTTP contract lives in plain ASGI middleware, outermost first: `RequestContract` (request
ids, 415, one error shape, one log line per failure, the docs pages), `BearerAuth` (401),
`ConcurrencyLimit` (429) and `BodyLimit` (413 before a big body is read). The workers share
readiness and the drain through `retain serve`'s state folder (serving._drain).

Latency settings (docs/benchmarks.md, Serving has the measurements): access logging and the
Prometheus metrics middleware are off, two workers (serving.workers), `retain serve` sets
OMP_NUM_THREADS=1 and OTEL_SDK_DISABLED=true, and the precomputed path is an `async` method
that never leaves the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import bentoml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from serving._drain import DrainWatcher, SharedState
from serving._middleware import (
    BodyLimit,
    ConcurrencyLimit,
    RequestContract,
    configure_logging,
    request_id_of,
)
from serving._openapi import docs_app, is_docs_path
from serving.api import ScoringApi, service_options, settings_from_env
from serving.auth import PUBLIC_PATHS, BearerAuth
from serving.schemas import AccountFeatures, ScoreAccountsRequest, ScoreRequest, ScoreResponse


async def _metadata(request: Request) -> Response:
    service = bentoml.get_current_service()
    return service.api.metadata_response(request_id_of(request.scope))


_routes = Starlette(routes=[Route("/metadata", _metadata, methods=["GET"])])

_settings = settings_from_env(os.environ)
# Shared by the workers of one `retain serve` (absent under a bare `bentoml serve`).
_options = service_options(_settings)
_state = (
    # As many workers as BentoML starts (one under --bentoml-defaults).
    SharedState(Path(_settings.state_dir), int(_options.get("workers", 1)))
    if _settings.state_dir
    else None
)
_drain = DrainWatcher(_state) if _state is not None else None


def _openapi() -> dict:
    service = bentoml.get_current_service()
    return service.api.openapi()


_docs = docs_app(_openapi)


def _docs_for(scope: dict) -> object | None:
    return _docs if is_docs_path(scope["path"]) else None


@bentoml.service(name="retain", **_options)
@bentoml.asgi_app(_routes, path="/")
class RetainService:
    """Churn and expansion scores with reasons and signals for B2B SaaS accounts."""

    def __init__(self) -> None:
        configure_logging()
        self.api = ScoringApi(_settings)
        self.worker = bentoml.server_context.worker_index or 1
        if _state is not None:
            _state.mark_worker(self.worker, ready=False)
            self.api.on_loaded = self._record_loaded
        self.api.start_loading()

    def _record_loaded(self, ready: bool, error: str | None) -> None:
        assert _state is not None
        _state.mark_worker(self.worker, ready=ready, error=error)

    @bentoml.on_startup
    async def _watch_drain(self) -> None:
        if _drain is not None:
            _drain.start(asyncio.get_running_loop())

    def __is_ready__(self) -> bool:
        """Ready when every worker of this server has loaded the pinned models and no drain
        has begun (a single worker's own state is not the server's)."""
        if not self.api.ready:
            return False
        return _state is None or _state.not_ready_reason() is None

    @bentoml.api(route="/score", input_spec=ScoreRequest, output_spec=ScoreResponse)
    def score(self, accounts: list[AccountFeatures], ctx: bentoml.Context) -> Response:
        """Score accounts from the caller's own feature values (missing features are missing)."""
        return _answer(ctx, self.api.score(accounts, request_id_of(ctx.request.scope)))

    @bentoml.api(
        route="/score_accounts", input_spec=ScoreAccountsRequest, output_spec=ScoreResponse
    )
    async def score_accounts(
        self, account_ids: list[str], ctx: bentoml.Context, as_of: dt.date | None = None
    ) -> Response:
        """Stored scores of known accounts; rescored on demand when stale or from another model."""
        answer = await self.api.score_accounts(account_ids, as_of, request_id_of(ctx.request.scope))
        return _answer(ctx, answer)


def _answer(ctx: bentoml.Context, response: Response) -> Response:
    # BentoML sets the status of an API that takes a Context from ctx.response: keep ours.
    ctx.response.status_code = response.status_code
    return response


RetainService.add_asgi_middleware(
    RequestContract,
    docs=_docs_for,
    draining=_drain.draining.is_set if _drain is not None else None,
)
RetainService.add_asgi_middleware(
    BearerAuth, tokens=_settings.tokens, enabled=not _settings.no_auth
)
RetainService.add_asgi_middleware(
    ConcurrencyLimit,
    max_concurrency=_settings.config.serving.max_concurrency,
    exempt=PUBLIC_PATHS,
)
RetainService.add_asgi_middleware(BodyLimit, max_bytes=_settings.config.serving.max_body_bytes)
