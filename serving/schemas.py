"""Request and response models of the scoring API (pydantic, strict).

Strict on input: unknown fields, wrong types, NaN or infinity and empty lists are rejected with
a 4xx naming the field. BentoML reports pydantic errors without the offending input, so a
caller's values are never echoed back.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AccountId = Annotated[str, StringConstraints(min_length=1, max_length=256)]
FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
# A feature value: a number, a category (text) or null for missing. NaN and infinity are refused
# by allow_inf_nan=False on the models that hold them.
FeatureValue = float | Annotated[str, StringConstraints(max_length=1_000)] | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class AccountFeatures(_Strict):
    """One account with the caller's own feature values; missing features are missing, not 0."""

    account_id: AccountId
    segment: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    as_of: dt.date | None = None
    features: dict[FeatureName, FeatureValue] = Field(default_factory=dict, max_length=10_000)


class ScoreRequest(_Strict):
    accounts: list[AccountFeatures] = Field(min_length=1)


class ScoreAccountsRequest(_Strict):
    account_ids: list[AccountId] = Field(min_length=1)
    as_of: dt.date | None = None


class ModelRef(BaseModel):
    name: str
    version: str
    alias: str


class Models(BaseModel):
    churn: ModelRef
    expansion: ModelRef


class Reason(BaseModel):
    feature: str
    value: float | str | None
    contribution: float = Field(description="SHAP contribution in log-odds of the raw booster")
    direction: Literal["raises", "lowers"]
    text: str


class Signal(BaseModel):
    name: str
    text: str


class AccountResult(BaseModel):
    """One account's answer; on a per-account problem only `account_id` and `error` are set."""

    account_id: str
    as_of: str | None = None
    segment: str | None = None
    churn_probability: float | None = None
    expansion_probability: float | None = None
    health_band: Literal["green", "yellow", "red"] | None = None
    reasons: list[Reason] = Field(default_factory=list)
    expansion_reasons: list[Reason] = Field(default_factory=list)
    signals: list[Signal] = Field(default_factory=list)
    error: str | None = None


class ScoreResponse(BaseModel):
    request_id: str
    model: Models
    results: list[AccountResult]
