"""Who the customers are: static attributes, first contracts, onboarding and starting contacts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import _params as P
from simulator._calendar import Window


@dataclass
class Population:
    """One chunk of accounts; every array has one entry per account."""

    ids: np.ndarray  # object array of account ids
    segment: np.ndarray  # 0 SMB, 1 Mid-Market, 2 Enterprise
    industry: np.ndarray
    region: np.ndarray
    employees: np.ndarray
    csm: np.ndarray  # object array of CSM ids
    created: np.ndarray  # day number; negative for accounts older than the window
    seats: np.ndarray
    price: np.ndarray  # ARR per seat
    term: np.ndarray  # months
    plan: np.ndarray  # object array
    contract_start: np.ndarray  # day number of the term running when the account enters the loop
    contract_end: np.ndarray
    mu: np.ndarray  # long-run health
    stalled: np.ndarray  # 1.0 when onboarding stalls
    onboarding_quality: np.ndarray
    growth: np.ndarray  # yearly log-growth of provisioned users
    pool: np.ndarray  # provisioned users at entry (float)
    max_users: np.ndarray  # user slots (ids) available to the account
    has_integration: np.ndarray
    adoption: np.ndarray  # extra propensity to automate (workflow_run)
    champion: np.ndarray  # champion present at entry
    sponsor_role: np.ndarray  # the organisation has an executive sponsor role at all
    survey_phase: np.ndarray  # week offset of the quarterly NPS survey
    qbr_phase: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def draw_population(
    rng: np.random.Generator, n: int, first_index: int, window: Window, billing: str = "mixed"
) -> Population:
    segment = rng.choice(3, size=n, p=P.SEGMENT_SHARES)
    sp = P.segment_vector

    base = rng.random(n) < sp("base_share", segment)
    joined_day = rng.integers(0, max(window.n_days - 30, 1), size=n)
    age = rng.integers(45, 4 * 365, size=n)
    created = np.where(base, -age, joined_day)

    seats = np.exp(
        np.log(sp("seats_median", segment)) + sp("seats_sigma", segment) * rng.normal(size=n)
    )
    seats = np.clip(np.round(seats), sp("seats_min", segment), sp("seats_max", segment))
    price = np.round(
        sp("price_low", segment)
        + (sp("price_high", segment) - sp("price_low", segment)) * rng.random(n),
        -1,
    )
    term = np.zeros(n, dtype=np.int64)
    plan = np.empty(n, dtype=object)
    billing_terms = P.BILLING_TERMS[billing]
    for code, params in enumerate(P.SEGMENT_PARAMS):
        members = segment == code
        terms, shares = billing_terms or (params.terms, params.term_shares)
        term[members] = rng.choice(terms, size=members.sum(), p=shares)
        plan[members] = rng.choice(np.array(params.plans, dtype=object), size=members.sum())

    contract_start, contract_end = _running_term(window, created, term)

    quality = rng.normal(size=n)
    stalled = (quality < P.STALLED_BELOW).astype(np.float64)
    mu = P.MU_SD * rng.normal(size=n) + P.ONBOARDING_TO_MU * quality
    pool = seats * rng.uniform(0.7, 1.05, size=n)

    employees = np.round(
        np.exp(
            np.log(sp("employees_median", segment))
            + sp("employees_sigma", segment) * rng.normal(size=n)
        )
    )
    employees = np.maximum(employees, seats * 2)
    csm_number = rng.integers(0, sp("csm_pool", segment).astype(np.int64))
    prefix = np.array(["smb", "mm", "ent"], dtype=object)[segment]
    csm = np.array(
        [f"csm-{p}-{k:02d}" for p, k in zip(prefix, csm_number, strict=True)], dtype=object
    )

    return Population(
        ids=np.array([f"acc-{first_index + i:06d}" for i in range(n)], dtype=object),
        segment=segment,
        industry=rng.choice(len(P.INDUSTRIES), size=n),
        region=rng.choice(len(P.REGIONS), size=n, p=P.REGION_SHARES),
        employees=employees,
        csm=csm,
        created=created.astype(np.int64),
        seats=seats,
        price=price,
        term=term,
        plan=plan,
        contract_start=contract_start,
        contract_end=contract_end,
        mu=mu,
        stalled=stalled,
        onboarding_quality=quality,
        growth=sp("growth_mean", segment) + sp("growth_sd", segment) * rng.normal(size=n),
        pool=pool,
        max_users=np.maximum(np.ceil(pool * 4.0), 4).astype(np.int64),
        has_integration=rng.random(n) < 0.5,
        adoption=0.5 * rng.normal(size=n),
        champion=rng.random(n) < sp("champion_start", segment),
        sponsor_role=rng.random(n) < sp("sponsor_start", segment),
        survey_phase=rng.integers(0, 13, size=n),
        qbr_phase=rng.integers(0, 13, size=n),
    )


def _running_term(
    window: Window, created: np.ndarray, term: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The contract term running on an account's first simulated day.

    New accounts start their first term when created. Older accounts are inside a later term on
    day 0: the anniversary of `created` that precedes day 0.
    """
    anchor = window.start + created
    elapsed_months = window.start.astype("datetime64[M]").astype(np.int64) - anchor.astype(
        "datetime64[M]"
    ).astype(np.int64)
    terms_done = np.where(created < 0, elapsed_months // term, 0)
    start = window.add_months(created, terms_done * term)
    # The month arithmetic caps days at the 28th; step back one term if we landed after day 0.
    too_late = (created < 0) & (start > 0)
    terms_done = np.where(too_late, terms_done - 1, terms_done)
    start = window.add_months(created, terms_done * term)
    end = window.add_months(created, (terms_done + 1) * term)
    # A first term starts the day the account is created (not on a capped day of month).
    return np.maximum(start, created), end


def milestone_rows(
    rng: np.random.Generator, population: Population, window: Window
) -> dict[str, np.ndarray]:
    """Onboarding milestones: due dates from creation, achievement driven by onboarding quality.

    A stalled onboarding misses first value (or reaches it very late) and often never completes.
    """
    n = len(population)
    created = population.created.astype(np.float64)
    quality = population.onboarding_quality
    stalled = population.stalled > 0
    pace = np.exp(-0.5 * quality)

    kickoff = created + rng.exponential(5.0, size=n)
    complete = created + 20.0 + rng.gamma(3.0, 12.0, size=n) * pace
    late_complete = rng.random(n) < 0.35
    complete = np.where(
        stalled, np.where(late_complete, created + 120 + rng.uniform(0, 150, n), np.nan), complete
    )
    first_value = complete + 7.0 + rng.exponential(20.0, size=n) * pace
    very_late = rng.random(n) < 0.2
    first_value = np.where(
        stalled, np.where(very_late, created + 220 + rng.uniform(0, 200, n), np.nan), first_value
    )

    achieved = np.stack([kickoff, complete, first_value], axis=1)
    achieved = np.floor(achieved)
    achieved[achieved >= window.n_days] = np.nan  # not achieved yet when the data ends
    due = created[:, None] + P.MILESTONE_DUE_DAYS[None, :]
    return {
        "account": np.repeat(np.arange(n), 3),
        "milestone": np.tile(np.arange(3), n),
        "due": due.ravel().astype(np.float64),
        "achieved": achieved.ravel(),
    }
