"""CS plays in the simulated base, with a true effect the evaluation can be checked against.

The CS team reacts to what it sees (the default playbook's triggers, re-expressed on the latent
state: the simulator imports nothing from serving or the playbook). In week t an account with no
play in its effect window gets the first play whose trigger fires:

- `save_plan` (manual): health low and the renewal within 120 days; a CSM gets to a triggered
  account with `run_probability` a week (no control group: an observational play);
- `executive_sponsor_outreach` (random): the champion left this week;
- `adoption_review` (random): usage momentum falling fast (the latent drift `v`);
- `expansion_conversation` (random): provisioned users above the licensed seats, healthy.

A random play holds back `control_share` of its triggered accounts (arm "control": they get
nothing, and no other play during the window, like the treated ones). The play starts at the
next week's first day (`started_at`) and shifts the log-odds of every renewal decision made in
its `EFFECT_WEEKS` (a year) by `churn_effect` (churn) and `expansion_effect` (expansion at
the renewal; the mid-term add-on hazard is multiplied by exp(`expansion_effect`)).
`adoption_review` is the useless play: both effects are zero. The engine draws the outcomes
and the oracle forecasts them with the shifts in force, so the true probabilities reflect the
plays already started before as_of (not those a future trigger will start, which the oracle
cannot know).

Plays draw from their own random stream (spawned from the chunk's), so every other table keeps
the draws it had; only the outcomes the plays change differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EFFECT_WEEKS = 52  # a play works on the renewal decisions of the next year (and blocks a new one)
REVIEW_DAYS = 42  # the play is closed (reviewed) six weeks after it starts
SAVE_HEALTH_BELOW = -1.0  # "red": latent health this low
SAVE_RENEWAL_WITHIN_DAYS = 120
FALLING_MOMENTUM_BELOW = -0.12  # about 3% of account-weeks (v's stationary sd is 0.064)
EXPANSION_HEALTH_ABOVE = -0.5  # never an upsell call to an account at risk


@dataclass(frozen=True)
class SimPlay:
    name: str
    kind: str  # "risk" or "expansion"
    assignment: str  # the plays table's vocabulary: "random" or "manual"
    control_share: float
    churn_effect: float  # log-odds shift of renewal decisions in the effect window
    expansion_effect: float
    run_probability: float = 1.0  # weekly chance a triggered account gets it (manual plays)
    note: str = ""  # what the CSM saw (the plays table's note)


# Priority order: an account gets the first play that fires.
PLAYS: tuple[SimPlay, ...] = (
    SimPlay(
        "save_plan", "risk", "manual", 0.0, -0.8, 0.0, 0.25, "at risk, renewal within 120 days"
    ),
    SimPlay("executive_sponsor_outreach", "risk", "random", 0.3, -1.0, 0.0, note="champion left"),
    SimPlay("adoption_review", "risk", "random", 0.25, 0.0, 0.0, note="usage falling"),
    SimPlay(
        "expansion_conversation", "expansion", "random", 0.3, 0.0, 0.8, note="over licensed seats"
    ),
)
NAMES: tuple[str, ...] = tuple(p.name for p in PLAYS)
ARMS: tuple[str, ...] = ("treated", "control")
ASSIGNMENTS: tuple[str, ...] = ("random", "rule", "manual")
_CHURN = np.array([p.churn_effect for p in PLAYS])
_EXPANSION = np.array([p.expansion_effect for p in PLAYS])


@dataclass
class PlayHistory:
    """Each account's latest play (its window and shifts) and that state in every week."""

    from_week: np.ndarray  # first week of the effect window (-1: none yet)
    until_week: np.ndarray  # first week after it
    churn: np.ndarray  # the shifts of the account's latest play (0 for a control arm)
    expansion: np.ndarray
    weekly_from: np.ndarray  # (n, weeks): the state as it stood in each week
    weekly_until: np.ndarray
    weekly_churn: np.ndarray
    weekly_expansion: np.ndarray

    @classmethod
    def empty(cls, n: int, weeks: int) -> PlayHistory:
        return cls(
            from_week=np.full(n, -1, dtype=np.int64),
            until_week=np.full(n, -1, dtype=np.int64),
            churn=np.zeros(n),
            expansion=np.zeros(n),
            weekly_from=np.full((n, weeks), -1, dtype=np.int32),
            weekly_until=np.full((n, weeks), -1, dtype=np.int32),
            weekly_churn=np.zeros((n, weeks), dtype=np.float32),
            weekly_expansion=np.zeros((n, weeks), dtype=np.float32),
        )

    def record(self, t: int) -> None:
        self.weekly_from[:, t] = self.from_week
        self.weekly_until[:, t] = self.until_week
        self.weekly_churn[:, t] = self.churn
        self.weekly_expansion[:, t] = self.expansion

    def in_force(self, t: int) -> np.ndarray:
        return (self.from_week <= t) & (t < self.until_week)

    def shifts_at(self, account: np.ndarray, week: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(churn, expansion) shifts of decisions made in `week` (as recorded that week)."""
        on = (self.weekly_from[account, week] <= week) & (week < self.weekly_until[account, week])
        return (
            np.where(on, self.weekly_churn[account, week], 0.0),
            np.where(on, self.weekly_expansion[account, week], 0.0),
        )

    def upsell_factor(self, t: int) -> np.ndarray:
        return np.exp(np.where(self.in_force(t), self.expansion, 0.0))

    def fire(
        self,
        rng: np.random.Generator,
        t: int,
        n_days: int,
        *,
        eligible: np.ndarray,
        health: np.ndarray,
        momentum: np.ndarray,
        champion_left: np.ndarray,
        days_to_renewal: np.ndarray,
        log_pressure: np.ndarray,
    ) -> dict[str, np.ndarray] | None:
        """Start this week's plays (from next week); return their rows, or None."""
        start_day = 7 * (t + 1)
        if start_day >= n_days:
            return None
        free = eligible & ~(t < self.until_week)  # no play in its effect window
        triggers = (
            (health < SAVE_HEALTH_BELOW)
            & (days_to_renewal >= 0)
            & (days_to_renewal <= SAVE_RENEWAL_WITHIN_DAYS),
            champion_left,
            momentum < FALLING_MOMENTUM_BELOW,
            (log_pressure > 0.0) & (health > EXPANSION_HEALTH_ABOVE),
        )
        n = len(free)
        play = np.full(n, -1)
        for code in range(len(PLAYS) - 1, -1, -1):  # the first in priority order wins
            play = np.where(free & triggers[code], code, play)
        chosen = play >= 0
        run_p = np.array([p.run_probability for p in PLAYS])[np.maximum(play, 0)]
        chosen &= rng.random(n) < run_p
        share = np.array([p.control_share for p in PLAYS])[np.maximum(play, 0)]
        control = chosen & (rng.random(n) < share)
        accounts = np.flatnonzero(chosen)
        if not accounts.size:
            return None
        code = play[accounts]
        treated = ~control[accounts]
        self.from_week[accounts] = t + 1
        self.until_week[accounts] = t + 1 + EFFECT_WEEKS
        self.churn[accounts] = np.where(treated, _CHURN[code], 0.0)
        self.expansion[accounts] = np.where(treated, _EXPANSION[code], 0.0)
        closed = start_day + REVIEW_DAYS
        return {
            "account": accounts,
            "play": code.astype(np.int8),
            "start": np.full(len(accounts), start_day, dtype=np.int64),
            "closed": np.where(
                treated & (closed < n_days), float(closed), np.nan
            ),  # a control arm is never run, so never closed
            "arm": np.where(treated, 0, 1).astype(np.int8),
            "assignment": np.array(
                [ASSIGNMENTS.index(PLAYS[c].assignment) for c in code], dtype=np.int8
            ),
        }


def decision_shifts(
    plays: PlayHistory,
    account: np.ndarray,
    known_week: np.ndarray,
    decided: np.ndarray,
    known: np.ndarray,
    extra: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The oracle's (churn, expansion) shifts of each renewal decision (n, k).

    A decision already made uses the state recorded in its week; a future one the play known
    at as_of (the state of `known_week`) when the decision falls in its window. `extra` adds one
    play per row (`from_week`, `until_week`, `churn`, `expansion`), for the effect of a play
    that starts after as_of ("what if it ran").
    """
    rows = account[:, None]
    weeks = plays.weekly_from.shape[1]
    past = np.clip(decided, 0, weeks - 1)
    past_churn, past_expansion = plays.shifts_at(np.broadcast_to(rows, past.shape), past)
    future_churn, future_expansion = window_shifts(
        plays.weekly_from[account, known_week],
        plays.weekly_until[account, known_week],
        plays.weekly_churn[account, known_week],
        plays.weekly_expansion[account, known_week],
        decided,
    )
    churn = np.where(known, past_churn, future_churn)
    expansion = np.where(known, past_expansion, future_expansion)
    if extra is not None:
        extra_churn, extra_expansion = window_shifts(
            extra["from_week"], extra["until_week"], extra["churn"], extra["expansion"], decided
        )
        churn = churn + np.where(known, 0.0, extra_churn)
        expansion = expansion + np.where(known, 0.0, extra_expansion)
    return churn, expansion


def window_shifts(
    from_week: np.ndarray,
    until_week: np.ndarray,
    churn: np.ndarray,
    expansion: np.ndarray,
    week: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Shifts of a play (one per row) on the weeks `week` (n, k): its own inside its window."""
    on = (from_week[:, None] <= week) & (week < until_week[:, None])
    return np.where(on, churn[:, None], 0.0), np.where(on, expansion[:, None], 0.0)


def truth_document() -> dict:
    """plays_truth.json: each play's design and its true effects (log-odds)."""
    return {
        "effect_weeks": EFFECT_WEEKS,
        "effect_scale": "log-odds of each renewal decision in the effect window (churn at the "
        "renewal; expansion at the renewal, and the add-on hazard times exp(effect))",
        "plays": [
            {
                "play": p.name,
                "kind": p.kind,
                "assignment": p.assignment,
                "control_share": p.control_share,
                "churn_log_odds_effect": p.churn_effect,
                "expansion_log_odds_effect": p.expansion_effect,
                "helpful": bool(p.churn_effect < 0 or p.expansion_effect > 0),
            }
            for p in PLAYS
        ],
        "per_row": "plays_truth.parquet: per play row, the oracle's probabilities at the "
        "snapshot at or just before started_at (the latest month start on or before it) with "
        "and without the play's effect; the true effect of a row is with - without.",
    }
