"""One configuration object for every stage, with the defaults of the product brief.

Precedence, lowest first: the defaults below, a `retain.toml` inside the data source folder (facts
about that data, such as which events are the key value events), a `retain.toml` in the working
directory, then CLI options. Each TOML table maps onto one section, for example:

    [labels]
    horizon_days = 180

    [features]
    key_events = ["report_created", "workflow_run"]

Unknown sections or keys are an error, so a typo never silently falls back to a default.
Each stage owns its own section; add fields there, with a comment saying why the default is what
it is.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retain.errors import RetainError

CONFIG_FILE_NAME = "retain.toml"


@dataclass(frozen=True)
class LabelsConfig:
    """How outcomes are defined (BRIEF: Labels and snapshots)."""

    # Expansion and contraction look this far ahead: "of the accounts scored green six months ago,
    # how many grew".
    horizon_days: int = 180
    # Renewal risk looks at the account's own next renewal E, but never less than this far ahead:
    # the window ends at T = max(E, as_of + min_risk_days). A fixed horizon that a multi-year term
    # cannot reach would make the risk zero by construction; a monthly term renews every month, so
    # its risk covers the quarter rather than one billing cycle.
    min_risk_days: int = 90
    grace_days: int = 30  # a renewal signed up to 30 days late is a renewal, not a churn
    expansion_threshold: float = 0.05  # ARR up by more than 5% over the horizon
    contraction_threshold: float = 0.05  # ARR down by more than 5% (without churning)
    lead_days: int = 90  # renewal spine: score each contract end when its renewal window opens


@dataclass(frozen=True)
class SegmentsConfig:
    """Segments from ARR where the accounts table has no `segment` column."""

    # (name, upper ARR bound exclusive); the last band has no bound.
    arr_bands: tuple[tuple[str, float], ...] = (("SMB", 25_000.0), ("Mid-Market", 100_000.0))
    top_segment: str = "Enterprise"

    @property
    def names(self) -> tuple[str, ...]:
        return (*[name for name, _ in self.arr_bands], self.top_segment)


@dataclass(frozen=True)
class FeaturesConfig:
    """Feature pipeline settings."""

    # Events that deliver the outcome the customer bought. Empty means every event counts, which
    # is the only honest default for data we know nothing about.
    key_events: tuple[str, ...] = ()
    usage_drop_pct: float = 40.0  # trigger: usage down 40% or more ...
    usage_drop_days: int = 14  # ... within two weeks
    onboarding_benchmark_days: int = 90  # onboarding not done 90 days after start counts as stalled
    first_value_milestone: str = "first_value"  # milestone name that marks time to first value
    # First date the data does not describe (exclusive end). None: the day after the latest
    # event date seen in the source.
    data_end: str | None = None
    # Spines start this many days after the event history begins (source.data_start), so that
    # every snapshot has the full 90-day lookback of usage, tickets and activities behind it.
    history_days: int = 90
    # Snapshot dates for data with no history (one snapshot, such as the Telco import): when set,
    # `retain features` uses these dates instead of the monthly spine by default.
    as_of_dates: tuple[str, ...] = ()
    # Static account attributes with more distinct values than this are identifiers, not features.
    max_category_levels: int = 50
    # Validation: orphan rows (no such account) above this share of a table's rows block every
    # command; that many missing accounts means mismatched ids, not a few stray rows.
    max_orphan_share: float = 0.2


@dataclass(frozen=True)
class TrainingConfig:
    """Model fitting, baselines and tuning."""

    seed: int = 0
    min_positives_per_segment: int = 50  # below this a segment borrows from the global model
    validation_fraction: float = 0.2  # latest share of as_of dates held out (time-ordered)
    # Shallow trees at a slow rate, stopped early: on the demo book (2,000 accounts) 7 leaves at
    # 0.03 beat 15 at 0.05 by 0.000-0.005 backtest ROC-AUC at each of three origins, for both
    # targets (docs/benchmarks.md, "Closing the gap"); larger books just grow more trees.
    num_boost_round: int = 1_000
    early_stopping_rounds: int = 50
    learning_rate: float = 0.03
    num_leaves: int = 7
    min_child_samples: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    num_threads: int = 2
    # Large books: a booster with at least `large_data_rows` training rows uses
    # `large_data_params` (unless a candidate's own parameters set them) and each of its trees
    # learns from at most `rows_per_tree` rows (bagging). On 100k accounts x 24 months (630k-720k
    # training rows per target) 7 leaves at 0.03 still improved after 1,000 trees; 15 leaves at
    # 0.1 on 150k rows per tree stop after 200-470 at the same out-of-time ROC-AUC (within
    # 0.002), in a quarter of the CPU time. Their early-stopping patience is the same learning
    # at that rate (`training._booster.patience`: 15 rounds at 0.1 for 50 at 0.03). Smaller
    # books (the demo: ~40k rows) are unchanged.
    large_data_rows: int = 100_000
    rows_per_tree: int = 150_000
    large_data_params: tuple[tuple[str, float], ...] = (
        ("learning_rate", 0.1),
        ("num_leaves", 15),
    )
    # The small-data candidate (training.selection): shallower trees, larger leaves, heavier L2
    # and a slower rate. The defaults above suit tens of thousands of rows; on a few thousand
    # (one snapshot per account, a CRM export) they overfit, and logistic regression won.
    small_data_params: tuple[tuple[str, float], ...] = (
        ("num_leaves", 7),
        ("min_child_samples", 100),
        ("lambda_l2", 10.0),
        ("learning_rate", 0.03),
        ("feature_fraction", 0.6),
        ("min_sum_hessian_in_leaf", 5.0),
    )
    # Rule scorecard the way incumbent CS platforms build one: points per signal, summing to 100.
    scorecard_weights: tuple[tuple[str, float], ...] = (
        ("usage_trend", 25.0),
        ("utilization", 15.0),
        ("champion", 20.0),
        ("escalations", 15.0),
        ("onboarding", 15.0),
        ("nps", 10.0),
    )
    scorecard_green_min: float = 70.0  # score >= 70 is green
    scorecard_red_below: float = 40.0  # score < 40 is red


@dataclass(frozen=True)
class BandsConfig:
    """Health bands on churn probability, chosen from out-of-time outcomes, not by hand.

    Red is the largest group of riskiest accounts that renewed at most `red_max_renewal_rate` of
    the time, green the largest group of safest accounts that renewed at least
    `green_min_renewal_rate` of the time: the band names then promise renewal rates a CS leader
    can check. The shares apply only when the labels cannot support the targets.
    """

    red_max_renewal_rate: float = 0.40  # red means "more likely to leave than to stay"
    green_min_renewal_rate: float = 0.95
    min_band_rows: int = 20  # a band needs this many out-of-time rows to be trusted
    # Every band holds at least this share of the rows it was chosen on, whatever the data: an
    # empty yellow (green below 2.1%, red from 2.1%) or a red no one is in promises nothing.
    min_band_share: float = 0.05
    red_share: float = 0.15  # fallback: the riskiest share of accounts is red ...
    green_share: float = 0.60  # ... the safest share is green; the rest yellow


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow and Optuna stores."""

    # MLFLOW_TRACKING_URI wins when set. MLflow 3 refuses the plain ./mlruns file store.
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str = "retain"
    optuna_storage: str = "sqlite:///optuna.db"
    registered_model_prefix: str = "retain"  # retain-churn, retain-expansion

    def resolved_tracking_uri(self) -> str:
        return os.environ.get("MLFLOW_TRACKING_URI") or self.tracking_uri


@dataclass(frozen=True)
class EvaluationConfig:
    """Backtest and promotion gate."""

    primary_metric: str = "pr_auc"
    calibration_tolerance: float = 0.01  # challenger's ECE may exceed the champion's by this much
    # Bootstrap replicates for the intervals (accounts resampled, not rows: an account's
    # snapshots move together); 500 is the usual floor for 95% percentile intervals.
    n_bootstrap: int = 500
    # K-fold where rolling origins are impossible (one snapshot date, or too little history for
    # a target): grouped by account whenever an account has several snapshots.
    cv_folds: int = 5
    n_cutoffs: int = 8  # at most this many rolling origins (the latest that qualify)
    # Origin spacing: "auto" takes quarter starts when they give min_origins, else month starts
    # when those give more; "quarterly" or "monthly" force one.
    origin_spacing: str = "auto"
    min_origins: int = 4  # fewer origins than this is thin evidence (the report says so)
    # A window qualifies when at least this share of its snapshots have a known outcome by the
    # data's end; below it the few short-latency rows left would stand in for the whole window.
    min_known_share: float = 0.5


@dataclass(frozen=True)
class ServingConfig:
    """Scoring API, batch scoring and reason codes."""

    host: str = "127.0.0.1"
    port: int = 3000
    api_tokens: tuple[str, ...] = ()  # RETAIN_API_TOKENS (comma-separated) adds to these
    max_accounts_per_request: int = 1_000
    store_path: str = "retain_scores.duckdb"
    # The score ledger (serving.ledger): one immutable Parquet file per scoring run, never
    # edited. Unset: a folder beside the store named after it (retain_scores.ledger/), so a
    # store and the history it is derived from travel together.
    ledger_path: str | None = None
    model_path: str | None = None  # a saved model folder instead of the registry
    model_alias: str = "champion"
    # Serve (or score with) the challenger when no champion exists. Off: a model no promotion
    # gate has vetted answers only when someone asks for it (`--allow-challenger`).
    allow_challenger: bool = False
    # What /score and `retain score` do with a missing value of a feature the model has no
    # learned missing branch for (training.missing_policy): "impute" the segment's training
    # median and name the feature in the result's imputed_features, or "reject" (400 / error).
    missing_values: str = "impute"
    top_k_reasons: int = 3
    renewal_signal_days: int = 120
    # API worker processes. Measured on 2 cores (docs/benchmarks.md, Serving): 2 workers beat 1
    # on both endpoints even with the load generator on the same box (each worker runs
    # LightGBM single-threaded, so they do not fight over cores).
    workers: int = 2
    # Request bodies above this are answered 413 before they are read whole (a parsed JSON body
    # takes ~8x its size in memory). 1 MiB holds 1,000 account ids for /score_accounts, or a
    # /score call of a few hundred accounts with every feature; raise it for bigger batches.
    max_body_bytes: int = 1_048_576
    # Requests one worker handles at once; the next gets 429 (probes excepted). A /score call
    # takes a core for a few ms, so 32 queued requests are already ~100 ms of waiting.
    max_concurrency: int = 32
    # Seconds between SIGTERM (when /readyz turns 503) and closing the listener: long enough
    # for a load balancer probing every few seconds to stop sending new requests.
    drain_seconds: float = 10.0


@dataclass(frozen=True)
class DriftConfig:
    """Drift detection, with tests and thresholds fixed explicitly (not Evidently's defaults)."""

    psi_threshold: float = 0.2  # PSI above 0.2 is the usual "significant shift"
    psi_bins: int = 10
    numerical_stattest: str = "psi"
    numerical_stattest_threshold: float = 0.2
    categorical_stattest: str = "jensenshannon"
    categorical_stattest_threshold: float = 0.1
    drift_share: float = 0.3  # the dataset drifts when this share of features drift
    null_share_delta: float = 0.1  # a jump of 10 points in missing share is drift
    # Outcome drift: ROC-AUC down, or ECE up, by more than this against the reference window;
    # 0.05 AUC is about the gap between a useful model and a mediocre one on renewal data.
    outcome_metric_delta: float = 0.05
    report_sample_rows: int = 20_000
    seed: int = 0
    # Features that move with the calendar by design: between any two dates a book ages, so
    # tenure and the count of renewals grow whatever the customers do (the demo's two periods
    # gave PSI 0.31 and 0.26). They are measured and shown in the report as set aside, never
    # part of the verdict; names or fnmatch patterns (`attr_*_age`). Set `[]` to count them.
    ignore_features: tuple[str, ...] = ("tenure_days", "renewals_count")
    # What makes the check exit 1: "used_features" (drift in a feature a monitored model uses;
    # every feature when no model is given), "features" (any feature), "scores", "outcomes".
    # Drift in a column no model reads is reported but is nothing to act on for the scores.
    fail_on: tuple[str, ...] = ("used_features", "scores", "outcomes")
    top_features: int = 10  # the message and the report lead with this many features by PSI


@dataclass(frozen=True)
class SurvivalConfig:
    """Time to churn: the discrete-time hazard model (training.survival)."""

    # Months with no renewal point in them or the next month carry almost no churn (coverage
    # ends at contract ends): keep this share of them, weighted back by 1 / share. On the demo
    # shape keeping all of them gave no better curve for twice the time (docs/benchmarks.md).
    far_month_share: float = 0.25
    # Accounts held out (by a hash of the id) to stop the boosting early.
    valid_share: float = 0.2


@dataclass(frozen=True)
class SparkConfig:
    """`retain features --engine spark`: where the Spark session comes from (features._spark)."""

    # `local[*]`: every core of this machine, no cluster needed; a cluster URL (spark://...,
    # yarn) runs the same build on a cluster; "active" reuses the session already running in
    # this process (a Databricks notebook or job).
    master: str = "local[*]"
    app_name: str = "retain-features"
    # Spark's default of 200 shuffle partitions is tuned for clusters; on one machine every
    # partition is a task with a fixed cost, and the snapshot-level joins here are small.
    shuffle_partitions: int = 8
    driver_memory: str = "2g"
    # Extra `spark.*` settings as `{key = value}`, passed to the session builder as they are.
    settings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ExportsConfig:
    """`retain export`: which retain value fills which field of a CS platform (serving.exports).

    Names are field names as the platform's admin creates them; ChurnZero gets its `cf_` prefix
    and Vitally camelCase trait keys from the same names. An empty name leaves the field out.
    """

    # The score the platforms get: the renewal risk is what a CS team acts on; set
    # "expansion_probability" (and rename score_field) to export the expansion likelihood.
    score: str = "churn_probability"
    # CS platforms show scores as 0-100 numbers (42.37 = 42.37%); 1.0 keeps the probability.
    score_scale: float = 100.0
    score_field: str = "Retain Churn Risk"
    band_field: str = "Retain Health Band"  # green / yellow / red, the model's own bands
    expansion_field: str = "Retain Expansion Likelihood"  # same scale as the score
    # The top risk reasons (drivers raising the risk), one field each: "<name> 1", "<name> 2".
    reason_field: str = "Retain Risk Reason"
    reasons: int = 3
    # churn_probability x ARR: the revenue the renewal risk puts at stake this renewal.
    arr_at_risk_field: str = "Retain ARR at Risk"
    # The first of a result's `recommended_plays` (retain plays), only when the scores carry it.
    next_play_field: str = "Retain Next Play"
    scored_on_field: str = "Retain Scored On"  # the snapshot date (as_of) the score describes
    # Trend, from the score ledger's history: left out when there is no earlier score.
    previous_score_field: str = "Retain Previous Churn Risk"
    score_change_field: str = "Retain Churn Risk Change"
    # The column a Gainsight Bulk API job upserts on (an admin-created key field of Company).
    gainsight_key_field: str = "External ID"
    # Planhat time-series metric id: Planhat allows no spaces or special characters in it.
    planhat_dimension_id: str = "retainchurnrisk"


@dataclass(frozen=True)
class PlayConfig:
    """One play of the playbook (playbook.triggers): what opens it, who runs it, and by when.

    The trigger: `signals` (any of these signals fired), `drivers` (any of these features among
    the top reasons raising the risk) and `expansion_ready` (expansion probability at or above
    the playbook's threshold) open it, at least one of those given; `bands` and
    `renewal_within_days` must hold as well when given. A play with no opener fires whenever
    its band and renewal window hold.
    """

    name: str
    kind: str = "risk"  # "risk" or "expansion": which question the play answers
    signals: tuple[str, ...] = ()  # serving.signals names (champion_left, usage_drop, ...)
    drivers: tuple[str, ...] = ()  # feature names (serving.catalogue), e.g. champion_left_90d
    expansion_ready: bool = False
    bands: tuple[str, ...] = ()  # green / yellow / red; empty: any band
    renewal_within_days: int | None = None  # next renewal in [as_of, as_of + N days]
    owner_role: str = "csm"  # who runs it; the owner is the account's CSM (csm_id)
    due_days: int = 14  # first action due this many days after the snapshot (as_of)
    review_days: int = 30  # the owner reviews whether it worked this many days after as_of
    priority: int = 5  # 1 first: an account gets the first play that fires as its play
    # Share of triggered accounts held back (a hash of account, play and as_of month), so the
    # play's effect can be measured against them; 0 runs the play on every triggered account.
    control_share: float = 0.0
    description: str = ""  # what the owner does, for the CRM task


# The domain's defaults (the save-loop practice of CS teams); a team edits [[playbook.plays]]
# in retain.toml, not code. Red accounts always get a play: risk_review catches those no
# specific trigger reaches, so every red account has an owner and a review date.
DEFAULT_PLAYS: tuple[PlayConfig, ...] = (
    PlayConfig(
        "save_plan",
        bands=("red",),
        renewal_within_days=120,  # the renewal window CS teams forecast (serving's signal too)
        due_days=7,
        review_days=14,  # reviewed every two weeks until the renewal is decided
        priority=1,
        description="Red and renewing within 120 days: a documented save plan with the CS "
        "leader, the blockers, the commercial options and the next call.",
    ),
    PlayConfig(
        "executive_sponsor_outreach",
        signals=("champion_left",),
        drivers=("champion_left_90d", "days_since_champion_left"),
        owner_role="executive_sponsor",
        due_days=7,  # a relationship gap widens by the week: outreach within 7 days
        review_days=30,
        priority=2,
        description="Champion left: executive sponsor outreach and a new champion named.",
    ),
    PlayConfig(
        "onboarding_rescue",
        signals=("onboarding_stalled",),
        owner_role="onboarding_manager",
        due_days=7,
        review_days=21,
        priority=3,
        description="Onboarding stalled past its benchmark: a rescue plan to first value.",
    ),
    PlayConfig(
        "handoff_completion",
        signals=("handoff_incomplete",),
        due_days=7,  # the first weeks decide onboarding: the gap is closed before kickoff ends
        review_days=21,
        priority=3,  # after onboarding_rescue (same priority, earlier in the list)
        description="Handoff incomplete in the first months (no success criteria, no champion "
        "named, or none at all): the CSM and the account executive complete it with the "
        "customer.",
    ),
    PlayConfig(
        "adoption_review",
        signals=("usage_drop",),
        due_days=14,
        review_days=30,
        priority=4,
        # The commonest play with the least at stake per account: a 10% holdback measures it.
        control_share=0.1,
        description="Usage down 40% in 14 days: an adoption review with the account's admins.",
    ),
    PlayConfig(
        "risk_review",
        bands=("red",),
        due_days=14,
        review_days=30,
        priority=5,
        description="Red with no specific trigger: the CSM reviews the risk reasons and "
        "decides the play.",
    ),
    PlayConfig(
        "expansion_conversation",
        kind="expansion",
        signals=("over_licensed_seats",),
        bands=("green", "yellow"),  # never an upsell call to an account at risk
        owner_role="account_manager",
        due_days=14,
        review_days=30,
        priority=6,
        description="Using more seats than licensed: an expansion conversation.",
    ),
    PlayConfig(
        "expansion_opportunity",
        kind="expansion",
        expansion_ready=True,
        bands=("green", "yellow"),
        owner_role="account_manager",
        due_days=21,
        review_days=45,
        priority=7,
        control_share=0.1,  # the model's own call, not an observed event: measure it
        description="Ready to expand: an expansion plan with the account manager.",
    ),
)


@dataclass(frozen=True)
class PlaybookConfig:
    """The save loop: which play each account at risk or ready to expand gets (`retain plays`).

    In retain.toml each play is a `[[playbook.plays]]` table with the fields of PlayConfig;
    giving any replaces the whole default list.
    """

    plays: tuple[PlayConfig, ...] = DEFAULT_PLAYS
    # "Ready to expand" from this expansion probability up. None: the expansion model's own top
    # band (`bands_["red_from"]`), chosen on out-of-time outcomes as the health bands are.
    expansion_ready_from: float | None = None
    unassigned_owner: str = "unassigned"  # the owner of an account without a csm_id

    def __post_init__(self) -> None:
        # TOML gives tables (dicts with lists): the config keeps PlayConfig with tuples.
        object.__setattr__(self, "plays", tuple(_play_config(p) for p in self.plays))


def _play_config(value: Any) -> PlayConfig:
    if isinstance(value, PlayConfig):
        return value
    if not isinstance(value, Mapping):
        raise RetainError(f"[[playbook.plays]] entries must be tables, not {value!r}")
    known = {f.name for f in dataclasses.fields(PlayConfig)}
    unknown = sorted(set(value) - known)
    if unknown or "name" not in value:
        problem = f"unknown key(s) {', '.join(unknown)}" if unknown else "no name"
        raise RetainError(
            f"[[playbook.plays]] {value.get('name', '?')!r}: {problem}; known keys: "
            f"{', '.join(sorted(known))}"
        )
    return PlayConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})


@dataclass(frozen=True)
class HandoffsConfig:
    """The sales-to-CS handoff (features.handoffs): the optional `handoffs` table, or extra
    `accounts` columns mapped onto its fields.

    Teams that keep the handoff on the account record map it in retain.toml:

        [handoffs]
        accounts_columns = {success_criteria = "Success_Criteria__c", champion_named = "Champ__c"}
        timestamp_column = "Handoff_Date__c"

    An accounts row holds today's values: only the timestamp of the handoff places them in
    time (one revision per account, handed off then, with the values as they stand now), so a
    mapping without `timestamp_column` is an error. A `handoffs` table, when present, wins.
    """

    # handoff field (business_outcome, success_criteria, champion_named, commitments, timeline,
    # owner) -> accounts column; TOML gives a table, the config keeps sorted pairs.
    accounts_columns: tuple[tuple[str, str], ...] = ()
    timestamp_column: str | None = None  # the accounts column saying when the handoff happened
    # "Handoff missing" from this many days after the first contract starts: CS practice wants
    # the handoff before the kickoff call, which comes within the first weeks.
    missing_after_days: int = 30
    # Early life: the first 180 days, the onboarding window in which most handoff-driven churn
    # shows (and the `handoff_incomplete` signal fires).
    early_life_days: int = 180
    # Completeness bands of the backtest report's evidence section: below 0.5, 0.5 to 0.8,
    # 0.8 and up (with six fields: 0-2, 3-4 and 5-6 filled), plus "no handoff recorded".
    evidence_bands: tuple[float, ...] = (0.5, 0.8)

    @property
    def mapped_account_columns(self) -> frozenset[str]:
        """The `accounts` columns this mapping reads (the fields and the timestamp): they hold
        today's values, so they are the handoff family's, never static attributes."""
        mapped = {column for _, column in self.accounts_columns}
        return frozenset(mapped | ({self.timestamp_column} if self.timestamp_column else set()))

    def __post_init__(self) -> None:
        columns = self.accounts_columns
        if isinstance(columns, Mapping):
            columns = tuple(sorted((str(k), str(v)) for k, v in columns.items()))
        object.__setattr__(self, "accounts_columns", tuple(tuple(pair) for pair in columns))
        if self.accounts_columns and not self.timestamp_column:
            raise RetainError(
                "[handoffs] accounts_columns maps "
                f"{', '.join(k for k, _ in self.accounts_columns)} but gives no "
                "timestamp_column: accounts columns hold today's values, so without the date of "
                "the handoff no snapshot can use them point in time. Add timestamp_column (the "
                "accounts column with the handoff date) or export the handoffs table."
            )


@dataclass(frozen=True)
class Config:
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    bands: BandsConfig = field(default_factory=BandsConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    survival: SurvivalConfig = field(default_factory=SurvivalConfig)
    spark: SparkConfig = field(default_factory=SparkConfig)
    exports: ExportsConfig = field(default_factory=ExportsConfig)
    playbook: PlaybookConfig = field(default_factory=PlaybookConfig)
    handoffs: HandoffsConfig = field(default_factory=HandoffsConfig)

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> Config:
        """A copy with `{section: {key: value}}` applied; None (an unset option) is skipped."""
        sections = {}
        for section_name, values in overrides.items():
            section = _section(self, section_name)
            clean = {k: v for k, v in values.items() if v is not None}
            sections[section_name] = _replace_checked(section, section_name, clean)
        return dataclasses.replace(self, **sections)


def _section(config: Config, name: str) -> Any:
    names = [f.name for f in dataclasses.fields(config)]
    if name not in names:
        raise RetainError(f"Unknown config section [{name}]; known sections: {', '.join(names)}")
    return getattr(config, name)


def _replace_checked(section: Any, section_name: str, values: Mapping[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(section)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise RetainError(
            f"Unknown key(s) in config section [{section_name}]: {', '.join(unknown)}; "
            f"known keys: {', '.join(fields)}"
        )
    converted = {}
    for key, value in values.items():
        default = getattr(section, key)
        # TOML gives lists; the frozen config keeps tuples (hashable, immutable).
        if isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        elif isinstance(default, tuple) and isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        elif isinstance(default, dict) and isinstance(value, dict):
            value = tuple(value.items())
        converted[key] = value
    return dataclasses.replace(section, **converted)


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise RetainError(f"Cannot parse {path}: {error}") from error


def load_config(
    data: str | os.PathLike[str] | None = None,
    *,
    workdir: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Defaults, then `<data>/retain.toml`, then `./retain.toml`, then `overrides`."""
    config = Config()
    candidates: list[Path] = []
    if data is not None and Path(data).is_dir():
        candidates.append(Path(data) / CONFIG_FILE_NAME)
    candidates.append(Path(workdir or Path.cwd()) / CONFIG_FILE_NAME)
    seen: set[Path] = set()
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved in seen or not candidate.is_file():
            continue
        seen.add(resolved)
        config = config.with_overrides(read_toml(candidate))
    if overrides:
        config = config.with_overrides(overrides)
    return config
