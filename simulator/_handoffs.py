"""The sales-to-CS handoff in the simulated base, with a true effect on onboarding.

Every sale ends in a handoff. A per-account diligence (Beta distributed: sales teams differ)
fills each of the six named fields independently (`features.contract.HANDOFF_FIELDS`). What CS
onboards with is the handoff as it stands at the kickoff (`KICKOFF_DAYS` after the account is
created): a handoff handed off later (`LATE_SHARE`), or never (`MISSING_SHARE`), counts as
nothing, and a later revision (`REVISION_SHARE` of handoffs, filling in fields 10 to 60 days
on) comes too late for the onboarding, though the features see it.

The effect: that kickoff completeness c shifts the account's onboarding quality by
`QUALITY_PER_COMPLETENESS * (c - CENTRE)` (CENTRE is the population's mean c, so the base's
average quality stays where it was). Quality sets the onboarding's speed (the milestones' pace,
exp(-0.5 quality)), the chance of a stall (quality below `STALLED_BELOW`) and, through the
simulator's existing link from onboarding to long-run health (`ONBOARDING_TO_MU`), the renewal
risk. The shifted population runs the whole simulation, so the oracle's churn probabilities
(truth.parquet) include the effect; handoffs_truth.parquet says per account the completeness
that acted, the shift, the pace factor and the stall with and without it.

Handoffs draw from their own stream (seed, chunk, `STREAM`): the other tables keep their draws
and differ only where the shifted onboarding changes them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from features.contract import HANDOFF_FIELDS
from simulator import _params as P
from simulator._calendar import Window
from simulator._population import Population

STREAM = 23  # the third seed word of the handoffs' generator (the issue that added them)
KICKOFF_DAYS = 14  # the kickoff milestone's due day: the handoff CS onboards with
MISSING_SHARE = 0.08  # no handoff ever recorded
LATE_SHARE = 0.07  # handed off after the kickoff (15 to 120 days in)
REVISION_SHARE = 0.3  # handoffs revised later, filling in missing fields
REVISION_FILL = 0.5  # chance a revision fills each field still empty
DILIGENCE_A, DILIGENCE_B = 3.0, 1.6  # Beta: mean fill rate 0.65, some sales teams far lower
QUALITY_PER_COMPLETENESS = 1.0  # an empty handoff vs a complete one: one sd of quality
# The mean completeness that acts: on time (1 - missing - late) times the mean fill rate.
CENTRE = (1 - MISSING_SHARE - LATE_SHARE) * DILIGENCE_A / (DILIGENCE_A + DILIGENCE_B)
_TEXT = {
    "business_outcome": "reduce time to close",
    "success_criteria": "close in five days by Q2",
    "commitments": "SSO and a data import",
    "timeline": "live within 60 days",
}
TRUTH_COLUMNS: list[tuple[str, str]] = [
    ("account_id", "string"),
    ("completeness_at_kickoff", "float"),
    ("quality_shift", "float"),
    ("pace_factor", "float"),  # multiplies the onboarding milestones' durations
    ("stalled_without", "bool"),
    ("stalled_with", "bool"),
]


@dataclass(frozen=True)
class Handoffs:
    """One chunk's handoff revisions (rows) and the per-account effect."""

    account: np.ndarray  # per revision: account index in the chunk
    day: np.ndarray  # per revision: handed_off_at as a day number (fractions: time of day)
    filled: np.ndarray  # per revision: (rows, 6) bool, HANDOFF_FIELDS order
    kickoff_completeness: np.ndarray  # per account
    shift: np.ndarray  # per account: the onboarding-quality shift


def draw_handoffs(rng: np.random.Generator, population: Population, window: Window) -> Handoffs:
    n = len(population)
    created = population.created.astype(np.float64)
    diligence = rng.beta(DILIGENCE_A, DILIGENCE_B, size=n)
    first = rng.random((n, len(HANDOFF_FIELDS))) < diligence[:, None]
    kind = rng.random(n)
    missing = kind < MISSING_SHARE
    late = ~missing & (kind < MISSING_SHARE + LATE_SHARE)
    delay = np.where(
        late,
        rng.uniform(KICKOFF_DAYS + 1, 120, size=n),
        np.minimum(rng.exponential(3.0, size=n), KICKOFF_DAYS - 0.01),
    )
    revised = ~missing & (rng.random(n) < REVISION_SHARE)
    revision_delay = rng.uniform(10, 60, size=n)
    second = first | (rng.random(first.shape) < REVISION_FILL)
    on_time = ~missing & ~late
    completeness = np.where(on_time, first.mean(axis=1), 0.0)
    shift = QUALITY_PER_COMPLETENESS * (completeness - CENTRE)

    first_day = created + delay
    second_day = first_day + revision_delay
    accounts = np.arange(n)
    # Rows of revisions that happened inside the data (before its end).
    keep_first = ~missing & (first_day < window.n_days)
    keep_second = revised & (second_day < window.n_days)
    account = np.concatenate([accounts[keep_first], accounts[keep_second]])
    day = np.concatenate([first_day[keep_first], second_day[keep_second]])
    filled = np.concatenate([first[keep_first], second[keep_second]])
    order = np.lexsort((day, account))
    return Handoffs(account[order], day[order], filled[order], completeness, shift)


def with_effect(population: Population, handoffs: Handoffs) -> Population:
    """The population with each account's onboarding quality shifted by its handoff."""
    quality = population.onboarding_quality + handoffs.shift
    return dataclasses.replace(
        population,
        onboarding_quality=quality,
        stalled=(quality < P.STALLED_BELOW).astype(np.float64),
        mu=population.mu + P.ONBOARDING_TO_MU * handoffs.shift,
    )


def _ids(codes: np.ndarray, ids: np.ndarray) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(ids), type=pa.string())
    )


def handoff_tables(
    handoffs: Handoffs, population: Population, window: Window, schemas: dict[str, pa.Schema]
) -> dict[str, pa.Table]:
    """The handoffs contract table and handoffs_truth, in the writers' `schemas`."""
    ids = population.ids
    columns: dict[str, pa.Array] = {
        "account_id": _ids(handoffs.account, ids),
        "handed_off_at": pa.array(window.dates(handoffs.day), type=pa.timestamp("us")),
    }
    for index, field in enumerate(HANDOFF_FIELDS):
        filled = handoffs.filled[:, index]
        if field == "champion_named":
            columns[field] = pa.array(filled)
        elif field == "owner":
            owners = [f"ae-{population.csm[a].split('-')[1]}" for a in handoffs.account]
            columns[field] = pa.array(owners, mask=~filled, type=pa.string())
        else:
            values = np.full(len(filled), _TEXT[field], dtype=object)
            columns[field] = pa.array(values, mask=~filled, type=pa.string())
    n = len(population)
    before = population.onboarding_quality
    after = before + handoffs.shift
    truth = {
        "account_id": _ids(np.arange(n), ids),
        "completeness_at_kickoff": handoffs.kickoff_completeness,
        "quality_shift": handoffs.shift,
        "pace_factor": np.exp(-0.5 * handoffs.shift),
        "stalled_without": before < P.STALLED_BELOW,
        "stalled_with": after < P.STALLED_BELOW,
    }
    return {
        "handoffs": pa.table(columns, schema=schemas["handoffs"]),
        "handoffs_truth": pa.table(truth, schema=schemas["handoffs_truth"]),
    }
