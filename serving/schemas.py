"""Request and response models of the scoring API (pydantic, strict).

Strict on input: unknown fields, wrong types, NaN or infinity and empty lists are rejected with
a 4xx naming the field. `hide_input_in_errors` keeps a caller's values out of every validation
message (and so out of logs and answers). Response models allow fields they do not list, so a
result can grow (new scores, survival, renewal fields) without breaking a client or the
published schema: add a field here when a result gains one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

AccountId = Annotated[str, StringConstraints(min_length=1, max_length=256)]
FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
# A feature value: a number, a category (text) or null for missing. NaN and infinity are refused
# by allow_inf_nan=False on the models that hold them.
FeatureValue = float | Annotated[str, StringConstraints(max_length=1_000)] | None


_FIRST_DAY = dt.date(1900, 1, 1)
_LAST_DAY = dt.date(2199, 12, 31)


def _in_range(day: dt.date) -> dt.date:
    # Dates far outside any customer's history overflow pandas' timestamps (1677-2262).
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise ValueError(f"must be between {_FIRST_DAY} and {_LAST_DAY}")
    return day


# An ISO date from 1900 to 2199; the pattern says so in the published schema.
Day = Annotated[
    dt.date,
    AfterValidator(_in_range),
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^(19|20|21)\d\d-"}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, strict=True, hide_input_in_errors=True
    )


class AccountFeatures(_Strict):
    """One account with the caller's own feature values; missing features are missing, not 0."""

    account_id: AccountId
    segment: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    as_of: Day | None = None
    renewal_date: Day | None = Field(
        default=None,
        description="The next renewal (end of the term in force); with as_of it gives "
        "churn_window_end, the date churn_probability refers to",
    )
    features: dict[FeatureName, FeatureValue] = Field(default_factory=dict, max_length=10_000)


class ScoreRequest(_Strict):
    accounts: list[AccountFeatures] = Field(min_length=1)


class ScoreAccountsRequest(_Strict):
    account_ids: list[AccountId] = Field(min_length=1)
    as_of: Day | None = None


class ModelRef(BaseModel):
    name: str
    version: str
    alias: str
    sha256: str | None = Field(
        default=None, description="SHA-256 of the model's artifact files, checked at load"
    )


class Models(BaseModel):
    churn: ModelRef
    expansion: ModelRef


class Reason(BaseModel):
    feature: str
    value: float | str | None
    contribution: float = Field(description="SHAP contribution in log-odds of the raw booster")
    direction: Literal["raises", "lowers"]
    text: str
    healthy_peer_median: float | None = Field(
        default=None,
        description="Median of the feature among the segment's green accounts in the training "
        "window (null when the segment has too few)",
    )


class ContextItem(BaseModel):
    """Timing and contract context, shown beside the reasons (never a reason itself)."""

    feature: str
    value: float | str | None
    text: str


class Signal(BaseModel):
    name: str
    text: str


class Mover(BaseModel):
    """One feature's share of a score change since the previous snapshot."""

    feature: str
    before: float | str | None = Field(description="The value at the previous snapshot")
    after: float | str | None = Field(description="The value at this snapshot")
    log_odds: float = Field(
        description="Exact baseline Shapley value of this snapshot against the previous one, "
        "in log-odds of the raw model (the features' values add up to account_log_odds)"
    )
    points: float = Field(
        description="Probability points: the calibrated change apportioned in proportion to "
        "log_odds"
    )
    text: str


class ScoreChange(BaseModel):
    """How the churn score moved since the account's previous snapshot in the score ledger."""

    previous_as_of: str
    previous_churn_probability: float
    churn_probability: float
    points: float = Field(description="Change in churn probability, in percentage points")
    log_odds_change: float = Field(description="Change of the raw model's log-odds")
    account_log_odds: float = Field(
        description="The part due to the account's own feature values (the earlier model on "
        "both snapshots, or the current one when the earlier model is not at hand)"
    )
    model_changed: bool = Field(description="The model version or the segment changed")
    model_points: float | None = Field(
        default=None, description="The part due to the model or segment change, in points"
    )
    model_log_odds: float | None = None
    movers: list[Mover] = Field(
        default_factory=list, description="The features that moved the score most, by |points|"
    )
    other_points: float = Field(description="Points of the features not listed in movers")
    text: str = Field(
        description='e.g. "Risk up 18 points since 2026-09-01: weekly active users fell from '
        '41 to 23 (+11 points); champion left (+6 points)"'
    )
    explained_with: str = Field(description="Which model explains the account part")
    method: str


class RecommendedPlay(BaseModel):
    """A play of the `[playbook]` that fired for the account (see playbook.recommend)."""

    play: str
    kind: Literal["risk", "expansion"]
    rank: int = Field(description="1 is the account's play; the others fired too")
    owner: str = Field(description="The account's CSM, or the playbook's unassigned owner")
    owner_role: str | None = None
    due_date: str | None = Field(default=None, description="ISO date the play is due")
    review_date: str | None = Field(default=None, description="ISO date to review its effect")
    reason: str = Field(description="What opened the play (a signal, a driver, a band, ...)")
    arm: Literal["treated", "control"] = Field(
        description="control: held back by the play's control_share so its effect can be "
        "measured; do not run it"
    )
    arr_at_stake: float | None = None
    description: str | None = None


class AccountResult(BaseModel):
    """One account's answer; on a per-account problem only `account_id` and `error` are set."""

    account_id: str
    as_of: str | None = None
    segment: str | None = None
    churn_probability: float | None = None
    expansion_probability: float | None = None
    health_band: Literal["green", "yellow", "red"] | None = None
    renewal_date: str | None = Field(default=None, description="The next renewal (end of term)")
    churn_window_end: str | None = Field(
        default=None,
        description="The date churn_probability refers to: the next renewal, or as_of + the "
        "minimum risk window (90 days by default) when that comes sooner",
    )
    reasons: list[Reason] = Field(
        default_factory=list, description="Drivers pushing churn risk up and down, by |SHAP|"
    )
    expansion_reasons: list[Reason] = Field(default_factory=list)
    context: list[ContextItem] = Field(default_factory=list)
    data_gaps: list[str] = Field(
        default_factory=list, description="What the data does not say about drivers, once each"
    )
    survival: list[float] | None = Field(
        default=None,
        description="Time to churn: survival[i] is the probability of still being a customer "
        "i + 1 months after as_of (monthly points, at least 24). 1 - S at churn_window_end equals "
        "churn_probability. Absent when the churn model was trained without a survival model",
    )
    expected_months_retained: float | None = Field(
        default=None, description="Expected months still a customer over the next 24 months"
    )
    signals: list[Signal] = Field(default_factory=list)
    segment_unknown: bool | None = Field(
        default=None,
        description="The segment (or its absence) is not one the models were fitted on: the "
        "global model and calibration scored the account",
    )
    imputed_features: list[str] = Field(
        default_factory=list,
        description="Features that were missing where the model has no learned missing branch: "
        "scored with the segment's training median instead (their reasons say not recorded)",
    )
    change: ScoreChange | None = Field(
        default=None,
        description="Since the account's previous scored snapshot (absent for /score and for "
        "an account scored once)",
    )
    recommended_plays: list[RecommendedPlay] = Field(
        default_factory=list,
        description="The plays of the playbook that fired, in rank order (empty when none)",
    )
    error: str | None = None


class ScoreResponse(BaseModel):
    request_id: str
    model: Models
    results: list[AccountResult]


class ErrorLocation(BaseModel):
    loc: list[str | int] = Field(description="Where the problem is: field names and indexes")
    msg: str


class ErrorResponse(BaseModel):
    """Every non-2xx answer."""

    error: str
    detail: list[ErrorLocation]
    request_id: str | None = None


class MetadataResponse(BaseModel):
    request_id: str
    model: Models
    features: list[str]
    categorical_features: list[str]
    feature_minimum: dict[str, float] = Field(default_factory=dict)
    segments: list[str] = Field(
        default_factory=list, description="Segments the models were fitted on"
    )
    bands: dict[str, Any]
    missing_values: Literal["impute", "reject"]
    imputed_when_missing: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per model, the features a missing value of which is imputed (the others "
        "have a learned missing branch, or no split)",
    )
    max_accounts_per_request: int
    max_body_bytes: int | None = None
    max_concurrency: int | None = None
    store_accounts: int
