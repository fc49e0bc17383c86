"""Daily per-user product usage for one week, as (user, day, event, count) rows.

Health moves two things a feature can see: how many provisioned users show up, and how deep an
active day goes (key value events and their counts). Noise events (login, page_view) come with
every active day whatever the account's health, so raw activity alone is a weak signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import _params as P
from simulator._latent import sigmoid

_EVENT_CODE = {name: code for code, name in enumerate(P.EVENTS)}


@dataclass
class Users:
    """The user slots of a chunk, flat: user k of account a is provisioned while k < pool[a]."""

    account: np.ndarray
    slot: np.ndarray
    effect: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, max_users: np.ndarray) -> Users:
        account = np.repeat(np.arange(len(max_users)), max_users)
        starts = np.cumsum(max_users) - max_users
        slot = np.arange(len(account)) - np.repeat(starts, max_users)
        return cls(
            account=account, slot=slot, effect=P.USER_EFFECT_SD * rng.normal(size=len(account))
        )


def week_usage(
    rng: np.random.Generator,
    users: Users,
    *,
    first_day: int,
    health: np.ndarray,
    pool: np.ndarray,
    day_from: np.ndarray,
    day_to: np.ndarray,
    day_factor: np.ndarray,
    has_integration: np.ndarray,
    adoption: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Usage rows of days first_day..first_day+6; accounts are live on [day_from, day_to)."""
    live = (day_to > first_day) & (day_from < first_day + 7)
    present = live[users.account] & (users.slot < np.maximum(np.floor(pool), 1)[users.account])
    user_index = np.flatnonzero(present)
    account = users.account[user_index]
    days = first_day + np.arange(7)
    p_user = sigmoid(
        P.USAGE_BASE_LOGIT + P.USAGE_HEALTH_WEIGHT * health[account] + users.effect[user_index]
    )
    p_day = p_user[:, None] * day_factor[None, :]
    valid = (days[None, :] >= day_from[account][:, None]) & (
        days[None, :] < day_to[account][:, None]
    )
    active = (rng.random(p_day.shape) < p_day) & valid
    row, column = np.nonzero(active)
    user = user_index[row]
    day = days[column]
    acc = users.account[user]
    h = health[acc]
    m = len(user)

    parts: list[tuple[np.ndarray, str, np.ndarray]] = []

    def add(mask: np.ndarray, event: str, count: np.ndarray) -> None:
        parts.append((mask, event, count))

    # Counts carry most of the signal without adding rows: a healthy user does more per day.
    # The user's own propensity blurs it, so depth is never a perfect read of health.
    depth = np.exp(0.8 * h + 0.25 * users.effect[user])
    add(np.ones(m, dtype=bool), "login", 1.0 + rng.poisson(0.3, size=m))
    add(rng.random(m) < 0.2, "page_view", 1.0 + rng.poisson(2.0 * np.sqrt(depth)))
    add(rng.random(m) < 0.04, "settings_view", np.ones(m))
    add(
        rng.random(m) < sigmoid(-1.5 + 1.2 * h),
        "report_created",
        1.0 + rng.poisson(P.REPORTS_PER_DAY * depth),
    )
    add(rng.random(m) < sigmoid(-3.0 + 1.2 * h), "dashboard_shared", np.ones(m))
    add(
        rng.random(m) < sigmoid(-2.0 + 1.2 * h + adoption[acc]),
        "workflow_run",
        1.0 + rng.poisson(P.WORKFLOW_RUNS_PER_DAY * depth),
    )
    add(
        rng.random(m) < 0.4 * has_integration[acc] * sigmoid(1.0 + 1.2 * h),
        "integration_sync",
        1.0 + rng.poisson(2.0, size=m),
    )

    users_out, days_out, events_out, counts_out = [], [], [], []
    for mask, event, count in parts:
        users_out.append(user[mask])
        days_out.append(day[mask])
        events_out.append(np.full(int(mask.sum()), _EVENT_CODE[event], dtype=np.int8))
        counts_out.append(count[mask].astype(np.float64))
    return (
        np.concatenate(users_out),
        np.concatenate(days_out),
        np.concatenate(events_out),
        np.concatenate(counts_out),
    )
