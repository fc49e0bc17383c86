"""The constants of the simulated business: segments, prices, rates and outcome drivers.

Every number that shapes the demo data lives here, so the generating process can be read (and
tuned) in one place. Outcome drivers are logistic-regression weights on the latent state; they
differ by segment on purpose, so per-segment models have something real to learn:
SMB churn follows the usage trend and onboarding, Enterprise churn follows the champion, the
executive sponsor and escalations, Mid-Market sits in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENTS: tuple[str, ...] = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_SHARES = np.array([0.55, 0.32, 0.13])

KEY_EVENTS: tuple[str, ...] = (
    "report_created",
    "dashboard_shared",
    "workflow_run",
    "integration_sync",
)
NOISE_EVENTS: tuple[str, ...] = ("login", "page_view", "settings_view")
EVENTS: tuple[str, ...] = NOISE_EVENTS + KEY_EVENTS

INDUSTRIES: tuple[str, ...] = (
    "software",
    "financial_services",
    "healthcare",
    "retail",
    "manufacturing",
    "media",
    "education",
    "logistics",
)
REGIONS: tuple[str, ...] = ("north_america", "emea", "apac", "latam")
REGION_SHARES = np.array([0.5, 0.3, 0.13, 0.07])
MILESTONES: tuple[str, ...] = ("kickoff", "onboarding_complete", "first_value")
MILESTONE_DUE_DAYS = np.array([14, 60, 90])

# Weekly latent health h = mu + x with momentum v (a decline keeps going for weeks, which is why
# the direction of usage matters more than its level):
#   x[t+1] = (1 - KAPPA) x[t] + v[t] + SIGMA_X e,   v[t+1] = PHI v[t] + SIGMA_V e'.
KAPPA = 0.03
PHI = 0.92
SIGMA_X = 0.08
SIGMA_V = 0.025
MU_SD = 0.7  # persistent differences between accounts
ONBOARDING_TO_MU = 0.35  # a good onboarding goes with a healthier account
STALLED_BELOW = -1.0  # onboarding quality below this stalls (about 16% of new accounts)
STALLED_DECAY_DAYS = 540.0  # a stalled onboarding still weighs on the renewal a year later

# Shocks
OUTAGE_HAZARD = 0.003  # per account-week (about 15% of accounts a year)
OUTAGE_SHOCK = 0.4
CHAMPION_SHOCK = 0.6
SPONSOR_SHOCK = 0.3
ESCALATION_DECAY = 0.85  # escalation burden: e[t+1] = 0.85 e[t] + escalations in week t

DECISION_LAG_WEEKS = 4  # customers decide about a month before the renewal date
UPSELL_COOLDOWN_WEEKS = 13
UPSELL_FREEZE_WEEKS = 8  # close to a renewal, more seats are bought in the renewal instead
LATE_RENEWAL_SHARE = 0.1  # renewals signed a few days after the end date (inside the grace)

# Usage: daily probability that a provisioned user is active, and the events of an active day.
# A licensed user of average health works in the product on about one workday in ten (sigmoid
# of -2.5 is 7.6% of all days, weekends quiet); at -3.0 a small account showed less than one
# active user-day a week, too little for any CS team to see a trend in. Not higher, because
# usage rows grow with active user-days and 100,000 accounts must stay a few hundred million rows.
USAGE_BASE_LOGIT = -2.5
USAGE_HEALTH_WEIGHT = 1.6
USER_EFFECT_SD = 0.5
WEEKEND_FACTOR = 0.2
# Value events per active day of a user at average health: a working session is several reports
# or workflow runs, not one. Counts carry the depth of use without adding rows.
REPORTS_PER_DAY = 4.0
WORKFLOW_RUNS_PER_DAY = 6.0
POOL_HEALTH_GROWTH = 0.15  # yearly log-growth of provisioned users per unit of health


@dataclass(frozen=True)
class SegmentParams:
    name: str
    seats_median: float
    seats_sigma: float
    seats_min: int
    seats_max: int
    price_low: float  # ARR per seat per year
    price_high: float
    terms: tuple[int, ...]  # contract term in months
    term_shares: tuple[float, ...]
    plans: tuple[str, ...]
    employees_median: float
    employees_sigma: float
    base_share: float  # share of accounts that exist before the window starts
    ticket_rate: float  # tickets per week at average health
    escalation_logit: float
    email_rate: float  # CSM emails per week
    meeting_rate: float
    qbr: bool
    survey_csat: bool
    champion_start: float
    sponsor_start: float
    champion_leave: float  # weekly hazards
    champion_replace: float
    sponsor_leave: float
    sponsor_replace: float
    growth_mean: float  # yearly log-growth of provisioned users
    growth_sd: float
    # churn logit at a renewal decision
    churn_intercept: float
    churn_health: float
    churn_trend: float  # weight on the expected further drift, v / (1 - PHI)
    churn_champion_absent: float
    churn_sponsor_absent: float
    churn_escalations: float  # weight on log1p(escalation burden)
    churn_onboarding_stalled: float
    # expansion / contraction logits at a renewal that is not a churn
    expansion_intercept: float
    expansion_health: float
    expansion_pressure: float  # weight on log(provisioned users / licensed seats)
    contraction_intercept: float
    contraction_health: float
    contraction_pressure: float
    csm_pool: int


SEGMENT_PARAMS: tuple[SegmentParams, ...] = (
    SegmentParams(
        name="SMB",
        seats_median=3,
        seats_sigma=0.5,
        seats_min=1,
        seats_max=15,
        price_low=1_500,
        price_high=4_000,
        terms=(1, 12),
        term_shares=(0.45, 0.55),
        plans=("starter", "team"),
        employees_median=40,
        employees_sigma=0.7,
        base_share=0.35,
        ticket_rate=0.06,
        escalation_logit=-3.2,
        email_rate=0.25,
        meeting_rate=0.04,
        qbr=False,
        survey_csat=False,
        champion_start=0.85,
        sponsor_start=0.2,
        champion_leave=0.004,
        champion_replace=0.03,
        sponsor_leave=0.002,
        sponsor_replace=0.03,
        growth_mean=0.10,
        growth_sd=0.25,
        churn_intercept=-4.0,
        churn_health=-3.2,
        churn_trend=-1.0,
        churn_champion_absent=1.5,
        churn_sponsor_absent=0.0,
        churn_escalations=0.6,
        churn_onboarding_stalled=4.0,
        expansion_intercept=-1.5,
        expansion_health=0.5,
        expansion_pressure=2.5,
        contraction_intercept=-2.4,
        contraction_health=-0.8,
        contraction_pressure=-2.5,
        csm_pool=8,
    ),
    SegmentParams(
        name="Mid-Market",
        seats_median=8,
        seats_sigma=0.45,
        seats_min=3,
        seats_max=50,
        price_low=4_000,
        price_high=8_000,
        terms=(12, 24),
        term_shares=(0.8, 0.2),
        plans=("business",),
        employees_median=600,
        employees_sigma=0.6,
        base_share=0.45,
        ticket_rate=0.18,
        escalation_logit=-2.8,
        email_rate=0.5,
        meeting_rate=0.12,
        qbr=True,
        survey_csat=True,
        champion_start=0.9,
        sponsor_start=0.6,
        champion_leave=0.004,
        champion_replace=0.05,
        sponsor_leave=0.002,
        sponsor_replace=0.03,
        growth_mean=0.12,
        growth_sd=0.2,
        churn_intercept=-4.9,
        churn_health=-2.6,
        churn_trend=-0.7,
        churn_champion_absent=3.5,
        churn_sponsor_absent=1.5,
        churn_escalations=1.2,
        churn_onboarding_stalled=3.0,
        expansion_intercept=-1.3,
        expansion_health=0.6,
        expansion_pressure=2.5,
        contraction_intercept=-2.4,
        contraction_health=-0.8,
        contraction_pressure=-2.5,
        csm_pool=12,
    ),
    SegmentParams(
        name="Enterprise",
        seats_median=20,
        seats_sigma=0.5,
        seats_min=8,
        seats_max=200,
        price_low=6_000,
        price_high=14_000,
        terms=(12, 24, 36),
        term_shares=(0.55, 0.3, 0.15),
        plans=("enterprise",),
        employees_median=8_000,
        employees_sigma=0.8,
        base_share=0.55,
        ticket_rate=0.45,
        escalation_logit=-2.4,
        email_rate=0.9,
        meeting_rate=0.3,
        qbr=True,
        survey_csat=True,
        champion_start=0.95,
        sponsor_start=0.9,
        champion_leave=0.004,
        champion_replace=0.06,
        sponsor_leave=0.002,
        sponsor_replace=0.03,
        growth_mean=0.15,
        growth_sd=0.2,
        churn_intercept=-5.6,
        churn_health=-1.8,
        churn_trend=-0.5,
        churn_champion_absent=4.2,
        churn_sponsor_absent=2.5,
        churn_escalations=1.8,
        churn_onboarding_stalled=1.8,
        expansion_intercept=-1.1,
        expansion_health=0.7,
        expansion_pressure=2.5,
        contraction_intercept=-2.4,
        contraction_health=-0.8,
        contraction_pressure=-2.5,
        csm_pool=10,
    ),
)

# Billing shapes (`retain simulate --billing`), for tests and benchmarks on data unlike the demo,
# never to tune to. "mixed" keeps each segment's own term mix above; "monthly" is a book of
# mostly month-to-month terms (the rest annual) in every segment, as many self-serve products
# sell.
BILLING_TERMS: dict[str, tuple[tuple[int, ...], tuple[float, ...]] | None] = {
    "mixed": None,
    "monthly": ((1, 12), (0.85, 0.15)),
}

# A monthly term renews twelve times a year: each renewal carries a much smaller chance.
MONTHLY_CHURN_SHIFT = -2.4
MONTHLY_EXPANSION_SHIFT = -2.3
MULTI_YEAR_CHURN_SHIFT = -0.3
MONTHLY_TO_ANNUAL_SHARE = 0.03  # of monthly renewals that switch to an annual term


def segment_vector(attribute: str, segment: np.ndarray) -> np.ndarray:
    """The per-account value of one segment parameter (segment given as 0/1/2 codes)."""
    values = np.array([getattr(p, attribute) for p in SEGMENT_PARAMS], dtype=np.float64)
    return values[segment]
