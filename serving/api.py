"""What the scoring service does, as plain code the BentoML class only forwards to.

`ScoringApi` loads the model pair and the score store, keeps every fresh stored result as ready
JSON in memory (the `/score_accounts` fast path is a dictionary look-up and a join), rescoring
on demand only what is stale: a snapshot stored after its scores, or scores made by another
model version. A stored result carries its `change` since the account's previous snapshot
(computed when `retain score` recorded it); an on-demand rescoring computes its own and is
appended to the score ledger as a run of its own (source "api").
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, Response

from retain.config import Config, load_config
from retain.errors import RetainError
from serving._bounds import below_minimum, minimums
from serving._errors import error_payload
from serving.auth import api_tokens
from serving.plays import add_recommended_plays
from serving.schemas import AccountFeatures
from serving.scoring import (
    MissingValuesError,
    ModelPair,
    categorical_features,
    frame_from_features,
    load_model_pair,
    score_frame,
)
from serving.signals import SIGNAL_FEATURES
from serving.store import StoredAccount, read_store
from serving.survival import add_survival, load_survival_model

SETTINGS_ENV = "RETAIN_SERVING_CONFIG"
logger = logging.getLogger("retain.serving")


@dataclass(frozen=True)
class Settings:
    """What `retain serve` hands the service process."""

    config: Config
    tokens: tuple[str, ...]
    no_auth: bool = False
    # Serve with BentoML's own defaults (access log, metrics, tracing): the "before" of the
    # benchmark, never for production.
    bentoml_defaults: bool = False
    # The versions `retain serve` resolved once for every worker (serving.scoring.pinned_versions)
    pinned: Mapping[str, Mapping[str, str | None]] | None = None
    # The folder the workers share readiness and the drain through (serving._drain)
    state_dir: str | None = None


def settings_payload(
    config_overrides: Mapping[str, Mapping[str, Any]],
    *,
    workdir: str,
    no_auth: bool = False,
    bentoml_defaults: bool = False,
    pinned: Mapping[str, Mapping[str, str | None]] | None = None,
    state_dir: str | None = None,
) -> str:
    """The RETAIN_SERVING_CONFIG value `settings_from_env` reads back."""
    return json.dumps(
        {
            "overrides": config_overrides,
            "workdir": workdir,
            "no_auth": no_auth,
            "bentoml_defaults": bentoml_defaults,
            "pinned": pinned,
            "state_dir": state_dir,
        }
    )


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    payload = json.loads(environ.get(SETTINGS_ENV) or "{}")
    config = load_config(workdir=payload.get("workdir"), overrides=payload.get("overrides"))
    tokens = api_tokens(config.serving.api_tokens, dict(environ))
    return Settings(
        config=config,
        tokens=tokens,
        no_auth=bool(payload.get("no_auth", False)),
        bentoml_defaults=bool(payload.get("bentoml_defaults", False)),
        pinned=payload.get("pinned"),
        state_dir=payload.get("state_dir"),
    )


def service_options(settings: Settings) -> dict[str, Any]:
    """`@bentoml.service` options: the low-latency settings, or BentoML's defaults."""
    if settings.bentoml_defaults:
        return {}
    serving = settings.config.serving
    return {
        "workers": serving.workers,
        # One thread runs LightGBM for /score; more would only contend for the GIL.
        "threads": 1,
        "logging": {"access": {"enabled": False}},
        "metrics": {"enabled": False},
        # No max_concurrency here: BentoML's own limit answers 503; our ConcurrencyLimit
        # (serving._middleware) answers 429 at serving.max_concurrency instead.
        "traffic": {"timeout": 30},
    }


def _error(status: int, message: str, loc: Sequence[str | int]) -> JSONResponse:
    return _errors(status, message, [{"loc": list(loc), "msg": message}])


def _errors(status: int, message: str, detail: Sequence[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(error_payload(status, message, detail), status_code=status)


class ScoringApi:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = settings.config
        self.models: ModelPair | None = None
        self.ready = False
        self.load_error: str | None = None
        # Called with (ready, error) when loading ends: the worker records it for the others.
        self.on_loaded: Callable[[bool, str | None], None] | None = None
        # Latest stored as_of per account; full snapshots only for accounts still to be scored
        # (fresh ones live on as ready JSON, so memory stays near the size of the answers).
        self._latest_as_of: dict[str, str] = {}
        self._stale: dict[str, StoredAccount] = {}
        self._cached: dict[str, bytes] = {}  # account_id -> result JSON (latest snapshot)
        self._survival: Any = None  # the churn model's time-to-churn model, when it has one
        self._cached_as_of: dict[tuple[str, str], bytes] = {}  # other as_of dates, on demand
        self._model_json = b"{}"
        self._categorical: set[str] = set()
        self._known_features: set[str] = set()
        self._openapi: dict[str, Any] | None = None

    # -- start-up -----------------------------------------------------------------------------

    def start_loading(self) -> threading.Thread:
        thread = threading.Thread(target=self._load_logged, name="retain-load", daemon=True)
        thread.start()
        return thread

    def _load_logged(self) -> None:
        try:
            self.load()
        except RetainError as error:  # the service stays unready and says why in its log
            self.load_error = str(error)
            logger.error("retain: not ready: %s", error)
        except Exception as error:
            self.load_error = str(error)
            logger.exception("retain: loading models or the score store failed")
        if self.on_loaded is not None:
            self.on_loaded(self.ready, self.load_error)

    def load(self) -> None:
        models = load_model_pair(self.config, self.settings.pinned)
        store_path = Path(self.config.serving.store_path)
        stored = read_store(store_path) if store_path.is_file() else {}
        if not stored:
            logger.warning(
                "retain: no stored scores at %s; /score_accounts knows no account", store_path
            )
        self.models = models
        self._survival = load_survival_model(models, self.config)
        self._model_json = json.dumps(models.info()).encode()
        self._categorical = categorical_features(models)
        self._known_features = set(models.feature_names) | set(SIGNAL_FEATURES)
        for account_id, account in stored.items():
            self._latest_as_of[account_id] = account.as_of
            if account.is_fresh_for(models):
                self._cached[account_id] = json.dumps(account.result).encode()
            else:
                self._stale[account_id] = account
        # One prediction with reasons before /readyz says yes: the first caller pays no warm-up.
        warm = next(iter(stored.values()), None)
        self._rescore([warm] if warm else [], warm_up=True)
        self.ready = True
        logger.info(
            "retain: ready with %s / %s, %d stored accounts (%d precomputed)",
            models.churn_info.version,
            models.expansion_info.version,
            len(stored),
            len(self._cached),
        )

    # -- helpers -------------------------------------------------------------------------------

    def _envelope(self, parts: Sequence[bytes], request_id: str | None = None) -> Response:
        request_id = request_id or uuid.uuid4().hex
        body = b"".join(
            (
                b'{"request_id":',
                json.dumps(request_id).encode(),  # a caller's id may hold quotes
                b',"model":',
                self._model_json,
                b',"results":[',
                b",".join(parts),
                b"]}",
            )
        )
        return Response(body, media_type="application/json", headers={"x-request-id": request_id})

    def _not_ready(self) -> JSONResponse:
        if self.load_error is not None:
            return _errors(503, "the models could not be loaded; see the server log", [])
        return _errors(503, "the models are still loading; retry after /readyz", [])

    def _too_many(self, field: str, count: int) -> JSONResponse | None:
        cap = self.config.serving.max_accounts_per_request
        if count > cap:
            return _error(413, f"at most {cap} accounts per request", [field])
        return None

    def _rescore(self, accounts: Sequence[StoredAccount], *, warm_up: bool = False) -> list[bytes]:
        assert self.models is not None
        records = [
            {
                "account_id": a.account_id,
                "as_of": a.as_of,
                "segment": a.segment,
                "features": a.features,
                "renewal_date": a.renewal_date,
                "csm_id": a.csm_id,
            }
            for a in accounts
        ] or [{"account_id": "warm-up", "segment": None, "features": {}}]
        frame = frame_from_features(records, self.models)
        if warm_up:
            # The warm-up account has no features: impute whatever the configured mode.
            config = self.config.with_overrides({"serving": {"missing_values": "impute"}})
            score_frame(frame, self.models, config)
            return []
        try:
            results = score_frame(frame, self.models, self.config)
            add_survival(results, frame, self._survival, self.config)
            add_recommended_plays(results, frame, self.models, self.config)
            self._record(frame, results)
        except MissingValuesError as error:
            # "reject": a stored snapshot lacking features is a per-account error, not a 500.
            complete = [i for i, names in enumerate(error.missing) if not names]
            partial = score_frame(frame.iloc[complete], self.models, self.config)
            add_survival(partial, frame.iloc[complete], self._survival, self.config)
            add_recommended_plays(partial, frame.iloc[complete], self.models, self.config)
            self._record(frame.iloc[complete], partial)
            scored = iter(partial)
            return [
                json.dumps(
                    next(scored)
                    if not names
                    else {
                        "account_id": accounts[i].account_id,
                        "error": "stored snapshot lacks features the server refuses to impute: "
                        + ", ".join(names),
                    }
                ).encode()
                for i, names in enumerate(error.missing)
            ]
        return [json.dumps(r).encode() for r in results]

    def _record(self, frame: Any, results: list[dict[str, Any]]) -> None:
        """A rescoring is a scoring run: each result gets its change since the account's
        previous ledger snapshot, and the run is appended to the ledger (serving.ledger).
        A ledger that cannot be written is logged, never a failed answer."""
        from serving.ledger import append_run, ledger_folder, ledger_rows
        from serving.movers import add_changes

        assert self.models is not None
        if not results:
            return
        try:
            add_changes(results, frame, self.models, self.config)
            rows = ledger_rows(frame, results, self.models, source="api")
            append_run(ledger_folder(self.config), rows)
        except Exception:
            logger.exception("retain: the rescoring run was not appended to the score ledger")

    # -- endpoints -----------------------------------------------------------------------------

    def _invalid_features(self, accounts: Sequence[AccountFeatures]) -> JSONResponse | None:
        """400 naming every unknown feature, wrong type and impossible value (never a value)."""
        problems: list[dict[str, Any]] = []
        for index, account in enumerate(accounts):
            for name, value in account.features.items():
                loc = ["accounts", index, "features", name]
                if name not in self._known_features:
                    msg = "unknown feature (see GET /metadata for the list)"
                elif name in self._categorical:
                    msg = "" if value is None or isinstance(value, str) else "takes text or null"
                elif isinstance(value, str):
                    msg = "this feature takes a number or null"
                elif (bound := below_minimum(name, value)) is not None:
                    msg = f"must be at least {bound:g}"
                else:
                    msg = ""
                if msg:
                    problems.append({"loc": loc, "msg": msg})
        if not problems:
            return None
        return _errors(400, f"{len(problems)} invalid feature value(s)", problems[:100])

    def score(self, accounts: Sequence[AccountFeatures], request_id: str | None = None) -> Response:
        if not self.ready or self.models is None:
            return self._not_ready()
        if (too_many := self._too_many("accounts", len(accounts))) is not None:
            return too_many
        if (invalid := self._invalid_features(accounts)) is not None:
            return invalid
        records = [
            {
                "account_id": a.account_id,
                "as_of": a.as_of.isoformat() if a.as_of else None,
                "segment": a.segment,
                "features": a.features,
                "renewal_date": a.renewal_date,
            }
            for a in accounts
        ]
        frame = frame_from_features(records, self.models)
        try:
            results = score_frame(frame, self.models, self.config)
            add_survival(results, frame, self._survival, self.config)
            add_recommended_plays(results, frame, self.models, self.config)
        except MissingValuesError as error:
            detail = [
                {
                    "loc": ["accounts", index, "features", name],
                    "msg": "missing, and the model has no learned missing branch for it "
                    '(serving.missing_values = "reject")',
                }
                for index, names in enumerate(error.missing)
                for name in names
            ]
            return _errors(400, "missing feature values the server refuses to impute", detail)
        return self._envelope([json.dumps(r).encode() for r in results], request_id)

    async def score_accounts(
        self, account_ids: Sequence[str], as_of: dt.date | None, request_id: str | None = None
    ) -> Response:
        if not self.ready or self.models is None:
            return self._not_ready()
        if (too_many := self._too_many("account_ids", len(account_ids))) is not None:
            return too_many
        parts: list[bytes | None] = []
        stale: dict[int, str] = {}
        for index, account_id in enumerate(account_ids):
            if as_of is None or self._latest_as_of.get(account_id) == as_of.isoformat():
                cached = self._cached.get(account_id)
            else:
                cached = self._cached_as_of.get((account_id, as_of.isoformat()))
            parts.append(cached)
            if cached is None:
                stale[index] = account_id
        if stale:
            import anyio.to_thread

            found = await anyio.to_thread.run_sync(self._score_missing, list(stale.values()), as_of)
            for index, account_id in stale.items():
                parts[index] = (
                    found.get(account_id)
                    or json.dumps(
                        {"account_id": account_id, "error": _missing_message(as_of)}
                    ).encode()
                )
        return self._envelope([p for p in parts if p is not None], request_id)

    def _score_missing(self, account_ids: list[str], as_of: dt.date | None) -> dict[str, bytes]:
        """Rescore stale or other-as_of accounts from their stored snapshots; cache the results."""
        wanted = sorted(set(account_ids))
        if as_of is None:
            accounts = [self._stale[a] for a in wanted if a in self._stale]
        elif not Path(self.config.serving.store_path).is_file():
            accounts = []  # no store yet: every account is an unknown account
        else:
            on_file = read_store(
                self.config.serving.store_path, as_of=as_of.isoformat(), account_ids=wanted
            )
            accounts = list(on_file.values())
        fresh: dict[str, bytes] = {}
        rescore: list[StoredAccount] = []
        assert self.models is not None
        for account in accounts:
            if account.is_fresh_for(self.models):
                fresh[account.account_id] = json.dumps(account.result).encode()
            else:
                rescore.append(account)
        if rescore:
            for account, payload in zip(rescore, self._rescore(rescore), strict=True):
                fresh[account.account_id] = payload
        for account_id, payload in fresh.items():
            if as_of is None or self._latest_as_of.get(account_id) == as_of.isoformat():
                self._cached[account_id] = payload
                self._stale.pop(account_id, None)
            else:
                self._cached_as_of[(account_id, as_of.isoformat())] = payload
        return fresh

    def metadata_response(self, request_id: str | None = None) -> JSONResponse:
        if not self.ready or self.models is None:
            return self._not_ready()
        models = self.models
        serving = self.config.serving
        return JSONResponse(
            {
                "request_id": request_id or uuid.uuid4().hex,
                "model": models.info(),
                "features": models.feature_names,
                "categorical_features": sorted(self._categorical),
                "feature_minimum": minimums(models.feature_names),
                "segments": sorted(models.known_segments),
                "bands": models.bands,
                "missing_values": serving.missing_values,
                "imputed_when_missing": {
                    target: sorted({n for values in p.impute_values.values() for n in values})
                    for target, p in zip(("churn", "expansion"), models.policies(), strict=True)
                },
                "max_accounts_per_request": serving.max_accounts_per_request,
                "max_body_bytes": serving.max_body_bytes,
                "max_concurrency": serving.max_concurrency,
                "store_accounts": len(self._latest_as_of),
            }
        )

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document for what is loaded (generic features until then)."""
        from serving._openapi import openapi_spec

        if self._openapi is not None:
            return self._openapi
        serving = self.config.serving
        if self.models is None:
            numeric: list[str] = []
        else:
            numeric = [n for n in sorted(self._known_features) if n not in self._categorical]
        spec = openapi_spec(
            numeric_features=numeric,
            categorical_features=sorted(self._categorical),
            minimum=minimums(numeric),
            max_accounts=serving.max_accounts_per_request,
            max_body_bytes=serving.max_body_bytes,
        )
        if self.ready:
            self._openapi = spec
        return spec


def _missing_message(as_of: dt.date | None) -> str:
    if as_of is None:
        return "unknown account: no stored snapshot (run `retain score` for it)"
    return "no stored snapshot of this account at this as_of (run `retain score --as-of`)"
