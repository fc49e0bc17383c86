"""The API description that tells the truth, and a page for people to read it.

`openapi_spec(...)` builds OpenAPI 3.1 from the request and response models (serving.schemas)
plus what the loaded models accept: the feature names (an unknown one is a 400), which take a
number and which a category, each feature's lower bound, the request caps, and every status a
route can answer with its body. `docs_app(spec_of)` answers `/docs` (Swagger UI, its assets
served from the swagger-ui-py package: no CDN, works offline) and `/docs.json`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from serving.schemas import (
    AccountFeatures,
    ErrorResponse,
    MetadataResponse,
    ScoreAccountsRequest,
    ScoreRequest,
    ScoreResponse,
)

DESCRIPTION = (
    "Churn and expansion scores for B2B SaaS accounts, with the reasons behind each score "
    "(exact SHAP contributions) and the signals a customer-success team acts on.\n\n"
    "Send `Authorization: Bearer <token>` on every route except the probes and these docs. "
    "`POST /score_accounts` answers from the score store written by `retain score`; `POST "
    "/score` scores feature values you send. A missing feature the model has no learned "
    "missing branch for is imputed with the segment's training median and named in "
    "`imputed_features` (or refused with 400 when the server runs with "
    '`missing_values = "reject"`). A segment the models were not fitted on is scored by the '
    "global model and flagged with `segment_unknown`. A stored account scored before has "
    "`change`: its previous snapshot and churn probability and the features that moved the "
    "score, whose exact log-odds shares add up to the move.\n\n"
    "Every non-2xx answer is a JSON object `{error, detail, request_id}`; `X-Request-ID` is "
    "echoed when you send one (1-128 visible ASCII characters), else generated."
)
_REF = "#/components/schemas/"
_PUBLIC: list[dict[str, list[str]]] = []  # `security: []`: no token needed
_STATUS_TEXT = {
    400: "Invalid request: `detail` names each field by its location (never its value).",
    401: "Missing or wrong bearer token.",
    405: "Method not allowed on this path.",
    413: "Too many accounts in one request, or a body above the byte cap.",
    415: "The body is not application/json.",
    429: "The worker is at its concurrency limit; retry after `Retry-After` seconds.",
    503: "Not ready: models loading, a model failed its integrity check, or draining.",
}


def package_version() -> str:
    try:
        return version("retain")
    except PackageNotFoundError:
        return "0+unknown"


def _schema(model: type, defs: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF + "{model}", mode="serialization")
    for name, sub in schema.pop("$defs", {}).items():
        defs.setdefault(name, sub)
    return schema


def _features_schema(
    numeric: Iterable[str], categorical: Iterable[str], minimum: Mapping[str, float]
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name in numeric:
        number: dict[str, Any] = {"type": "number"}
        if name in minimum:
            number["minimum"] = minimum[name]
        properties[name] = {"anyOf": [number, {"type": "null"}]}
    for name in categorical:
        properties[name] = {"anyOf": [{"type": "string", "maxLength": 1000}, {"type": "null"}]}
    return {
        "type": "object",
        "description": "Feature values by name; a feature left out or null is missing.",
        "properties": dict(sorted(properties.items())),
        "additionalProperties": False,
    }


def _error_responses(statuses: Iterable[int]) -> dict[str, Any]:
    return {
        str(status): {
            "description": _STATUS_TEXT[status],
            "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}},
            "content": {"application/json": {"schema": {"$ref": _REF + "ErrorResponse"}}},
        }
        for status in sorted(statuses)
    }


def _ok(schema: dict[str, Any], description: str, media: str = "application/json") -> dict:
    return {
        "200": {
            "description": description,
            "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}},
            "content": {media: {"schema": schema}},
        }
    }


def openapi_spec(
    *,
    numeric_features: Iterable[str] = (),
    categorical_features: Iterable[str] = (),
    minimum: Mapping[str, float] | None = None,
    max_accounts: int,
    max_body_bytes: int,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service as configured and loaded."""
    defs: dict[str, Any] = {}
    score = _schema(ScoreRequest, defs)
    score_accounts = _schema(ScoreAccountsRequest, defs)
    account = copy.deepcopy(_schema(AccountFeatures, defs))
    numeric = list(numeric_features)
    categorical = list(categorical_features)
    if numeric or categorical:
        account["properties"]["features"] = _features_schema(numeric, categorical, minimum or {})
    defs["AccountFeatures"] = account
    score["properties"]["accounts"]["maxItems"] = max_accounts
    score_accounts["properties"]["account_ids"]["maxItems"] = max_accounts
    defs["ScoreRequest"] = score
    defs["ScoreAccountsRequest"] = score_accounts
    for model in (ScoreResponse, MetadataResponse, ErrorResponse):
        defs[model.__name__] = _schema(model, defs)

    def body(name: str) -> dict[str, Any]:
        return {
            "required": True,
            "description": f"JSON, at most {max_body_bytes} bytes.",
            "content": {"application/json": {"schema": {"$ref": _REF + name}}},
        }

    text = {"type": "string"}
    scoring_errors = (400, 401, 413, 415, 429, 503)
    paths = {
        "/score": {
            "post": {
                "operationId": "score",
                "summary": "Score accounts from the feature values you send",
                "requestBody": body("ScoreRequest"),
                "responses": {
                    **_ok({"$ref": _REF + "ScoreResponse"}, "One result per account, in order."),
                    **_error_responses(scoring_errors),
                },
            }
        },
        "/score_accounts": {
            "post": {
                "operationId": "score_accounts",
                "summary": "Stored scores of known accounts (rescored on demand when stale)",
                "requestBody": body("ScoreAccountsRequest"),
                "responses": {
                    **_ok(
                        {"$ref": _REF + "ScoreResponse"},
                        "One result per id, in order; an unknown id is a per-account error.",
                    ),
                    **_error_responses(scoring_errors),
                },
            }
        },
        "/metadata": {
            "get": {
                "operationId": "metadata",
                "summary": "Model versions and hashes, features, bands and limits",
                "responses": {
                    **_ok({"$ref": _REF + "MetadataResponse"}, "What this server serves."),
                    **_error_responses((401, 429, 503)),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness: the process is up",
                "security": _PUBLIC,
                "responses": _ok(text, "Alive.", "text/plain"),
            }
        },
        "/livez": {
            "get": {
                "operationId": "livez",
                "summary": "Liveness (alias of /healthz)",
                "security": _PUBLIC,
                "responses": _ok(text, "Alive.", "text/plain"),
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: every worker has loaded and verified the pinned models",
                "security": _PUBLIC,
                "responses": {
                    **_ok(text, "Ready.", "text/plain"),
                    **_error_responses((503,)),
                },
            }
        },
        "/": {
            "get": {
                "operationId": "index",
                "summary": "The same page as /docs",
                "security": _PUBLIC,
                "responses": _ok(text, "HTML page.", "text/html"),
            }
        },
        "/docs": {
            "get": {
                "operationId": "docs",
                "summary": "This description for people (Swagger UI)",
                "security": _PUBLIC,
                "responses": _ok(text, "HTML page.", "text/html"),
            }
        },
        "/docs.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This description (OpenAPI 3.1)",
                "security": _PUBLIC,
                "responses": _ok({"type": "object"}, "The OpenAPI document."),
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "retain scoring API",
            "version": package_version(),
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "schemas": dict(sorted(defs.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "headers": {
                "RequestId": {
                    "description": "The caller's X-Request-ID when usable, else a new one.",
                    "schema": {"type": "string"},
                }
            },
        },
    }


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>retain scoring API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/docs.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
};
</script>
</body>
</html>
"""


def swagger_static_dir() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


def docs_app(spec_of: Callable[[], dict[str, Any]]) -> Any:
    """A Starlette app for /docs (and /, instead of BentoML's stock page), /docs.json and
    /docs/static/*."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def page(request: Request) -> Response:
        return HTMLResponse(_PAGE)

    async def spec(request: Request) -> Response:
        return JSONResponse(spec_of())

    return Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/docs", page, methods=["GET"]),
            Route("/docs.json", spec, methods=["GET"]),
            Mount("/docs/static", StaticFiles(directory=swagger_static_dir()), name="static"),
        ]
    )


def is_docs_path(path: str) -> bool:
    return path in ("/", "/docs", "/docs.json") or path.startswith("/docs/static/")
