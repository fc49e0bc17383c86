"""The BentoML scoring service: a thin typed shell over `serving.api`.

Started by `retain serve` (or `bentoml serve serving.service:RetainService`); the effective
settings arrive as JSON in RETAIN_SERVING_CONFIG (see `serving.api.settings_from_env`). Models
load in a background thread so `/readyz` can answer 503 until they are loaded and a warm-up
prediction has run; `/healthz` answers as soon as the process is up.

Latency settings (docs/benchmarks.md, Serving has the measurements): access logging and the
Prometheus metrics middleware are off, two workers (serving.workers), `retain serve` sets
OMP_NUM_THREADS=1 and OTEL_SDK_DISABLED=true, and the precomputed path is an `async` method
that never leaves the event loop.
"""

from __future__ import annotations

import datetime as dt
import os

import bentoml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from serving.api import ScoringApi, service_options, settings_from_env
from serving.auth import BearerAuth
from serving.schemas import AccountFeatures, ScoreAccountsRequest, ScoreRequest, ScoreResponse


async def _metadata(request: Request) -> Response:
    service = bentoml.get_current_service()
    return service.api.metadata_response()


async def _docs(request: Request) -> Response:
    return JSONResponse(RetainService.openapi_spec.asdict())


_routes = Starlette(
    routes=[
        Route("/metadata", _metadata, methods=["GET"]),
        Route("/docs", _docs, methods=["GET"]),
    ]
)

_settings = settings_from_env(os.environ)


@bentoml.service(name="retain", **service_options(_settings))
@bentoml.asgi_app(_routes, path="/")
class RetainService:
    """Churn and expansion scores with reasons and signals for B2B SaaS accounts."""

    def __init__(self) -> None:
        self.api = ScoringApi(_settings)
        self.api.start_loading()

    def __is_ready__(self) -> bool:
        return self.api.ready

    @bentoml.api(route="/score", input_spec=ScoreRequest, output_spec=ScoreResponse)
    def score(self, accounts: list[AccountFeatures]) -> Response:
        """Score accounts from the caller's own feature values (missing features are missing)."""
        return self.api.score(accounts)

    @bentoml.api(
        route="/score_accounts", input_spec=ScoreAccountsRequest, output_spec=ScoreResponse
    )
    async def score_accounts(
        self, account_ids: list[str], as_of: dt.date | None = None
    ) -> Response:
        """Stored scores of known accounts; rescored on demand when stale or from another model."""
        return await self.api.score_accounts(account_ids, as_of)


RetainService.add_asgi_middleware(
    BearerAuth, tokens=_settings.tokens, enabled=not _settings.no_auth
)
