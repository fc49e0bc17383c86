"""The oracle: true churn and expansion probabilities as the generating process knew them.

`churn_probability` is the renewal risk of the features' label: the chance that the account's
coverage ends by T = max(E, as_of + min_risk_days), E the end of the term in force at as_of
(in force: start < as_of <= end). `expansion_probability` is expansion within the horizon, which
needs the account to survive the horizon, so it uses the chance of churning within the horizon.
`survival_<t>m` (t in SURVIVAL_MONTHS) is the chance that the coverage has not ended by as_of + t
calendar months (`features.person_months`' S(t)), from the same renewal schedule and forecast.

For a snapshot (account, as_of) the process knows the latent state of the week before as_of, the
contract running at as_of and its renewal schedule. It forecasts the state at each renewal
decision inside the horizon (Kalman-style linear forecast of health and momentum, Markov
forecast of champion and sponsor presence, decay of the escalation burden) and averages the
logistic outcome model over the forecast's uncertainty. Decisions already fixed before as_of use
the recorded state itself. The realised outcomes were drawn from the same formulas, so the AUC of
these probabilities is the physical limit of any model on this data.
"""

from __future__ import annotations

import numpy as np

from simulator import _latent as L
from simulator import _params as P
from simulator import _plays
from simulator._calendar import Window
from simulator._engine import ChunkResult

SPINES: tuple[str, ...] = ("monthly", "renewals")
_MAX_RENEWALS = 14  # monthly terms renew up to thirteen times inside 12 months (survival_12m)
SURVIVAL_MONTHS: tuple[int, ...] = (3, 6, 12)  # the true S(t) the backtest compares with
_DAY_SHIFT = 100_000  # makes day numbers positive for the (account, day) search key
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(12)
_QUADRATURE = (_NODES, _WEIGHTS / _WEIGHTS.sum())


def truth_rows(
    result: ChunkResult,
    contracts: dict[str, np.ndarray],
    window: Window,
    *,
    horizon_days: int,
    lead_days: int,
    min_risk_days: int,
) -> dict[str, np.ndarray]:
    """Rows (account, as_of day, spine code, churn_probability, expansion_probability,
    survival_<t>m for t in SURVIVAL_MONTHS)."""
    main = ~contracts["addon"]
    order = np.lexsort((contracts["start"][main], contracts["account"][main]))
    account = contracts["account"][main][order]
    start = contracts["start"][main][order]
    end = contracts["end"][main][order]
    term = contracts["term"][main][order]
    n = len(result.population)

    months = window.month_starts()
    monthly_account = np.repeat(np.arange(n), len(months))
    monthly_day = np.tile(months, n)
    # Only terms already signed at as_of = end - lead_days: scoring a term that starts later
    # would reveal that the account survived until it started (the features' renewal spine).
    signed = start < end - lead_days
    renewal_key = np.unique(np.stack([account[signed], end[signed] - lead_days], axis=1), axis=0)
    inside = (renewal_key[:, 1] >= 0) & (renewal_key[:, 1] < window.n_days)
    request_account = np.concatenate([monthly_account, renewal_key[inside, 0]])
    request_day = np.concatenate([monthly_day, renewal_key[inside, 1]])
    spine = np.concatenate(
        [np.zeros(len(monthly_day), np.int8), np.ones(int(inside.sum()), np.int8)]
    )

    # The main contract in force on each requested day (start < day <= end): the latest one
    # started strictly before it.
    stride = 4 * _DAY_SHIFT
    contract_key = account * stride + start + _DAY_SHIFT
    request_key = request_account * stride + request_day + _DAY_SHIFT
    cover = np.searchsorted(contract_key, request_key, side="left") - 1
    safe = np.maximum(cover, 0)
    active = (cover >= 0) & (account[safe] == request_account) & (end[safe] >= request_day)
    cover = cover[active]
    request_account, request_day, spine = (
        request_account[active],
        request_day[active],
        spine[active],
    )

    churn, expansion, survival = _probabilities(
        result,
        window,
        request_account,
        request_day,
        end[cover],
        term[cover],
        horizon_days=horizon_days,
        min_risk_days=min_risk_days,
    )
    return {
        "account": request_account,
        "day": request_day,
        "spine": spine,
        "churn_probability": churn,
        "expansion_probability": expansion,
        **survival,
    }


def _probabilities(
    result: ChunkResult,
    window: Window,
    account: np.ndarray,
    day: np.ndarray,
    renewal: np.ndarray,
    term: np.ndarray,
    *,
    horizon_days: int,
    min_risk_days: int,
    risk_day: np.ndarray | None = None,
    survived_before: np.ndarray | None = None,
    extra_play: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The oracle's probabilities knowing the state of the week before `day`.

    The outcome windows start at `risk_day` (default `day`): `plays_truth_rows` asks about a
    snapshot's label from the later knowledge of a play's trigger week, with the renewals ending
    before `survived_before` known to have renewed and `extra_play` in force.
    """
    pop, hist = result.population, result.history
    risk_from = day if risk_day is None else risk_day
    weeks = window.n_weeks
    segment = pop.segment[account]
    join_week = np.maximum(pop.created[account], 0) // 7
    known_week = np.clip((day - 1) // 7, join_week, weeks - 1)
    mu = pop.mu[account]
    x0 = hist.x[account, known_week].astype(np.float64)
    v0 = hist.v[account, known_week].astype(np.float64)
    h0 = mu + x0
    powers, covs = L.forecast_tables()
    max_steps = len(powers) - 1

    def seg(attribute: str) -> np.ndarray:
        return P.segment_vector(attribute, segment)[:, None]

    # -- renewals inside the horizon and the decision week of each -------------------------
    k = np.arange(_MAX_RENEWALS)[None, :]
    term_days = term[:, None] * 30.44
    ends = renewal[:, None] + np.round(k * term_days).astype(np.int64)
    valid = ends <= (risk_from + horizon_days)[:, None]
    # The renewal risk's window: the next renewal, or min_risk_days when that comes sooner.
    risk_end = np.maximum(renewal, risk_from + min_risk_days)
    in_risk_window = ends <= risk_end[:, None]
    if survived_before is not None:
        valid &= ends >= survived_before[:, None]
        in_risk_window &= ends >= survived_before[:, None]
    decided = np.maximum(ends // 7 - P.DECISION_LAG_WEEKS, join_week[:, None])
    steps = decided - known_week[:, None]
    known = steps <= 0
    s = np.clip(steps, 0, max_steps)
    rows = account[:, None]
    past = np.clip(decided, 0, weeks - 1)

    shocks = _expected_shocks(
        segment,
        hist.champion_absent[account, known_week],
        pop.sponsor_role[account],
        hist.sponsor_absent[account, known_week],
    )
    x_forecast = powers[s, 0, 0] * x0[:, None] + powers[s, 0, 1] * v0[:, None] + shocks(s)
    v_forecast = powers[s, 1, 1] * v0[:, None]
    x = np.where(known, hist.x[rows, past], x_forecast)
    v = np.where(known, hist.v[rows, past], v_forecast)

    champion_absent = _markov_absent(
        hist.champion_absent[account, known_week], seg("champion_leave"), seg("champion_replace"), s
    )
    sponsor_absent = pop.sponsor_role[account][:, None] * _markov_absent(
        hist.sponsor_absent[account, known_week], seg("sponsor_leave"), seg("sponsor_replace"), s
    )
    champion_absent = np.where(known, hist.champion_absent[rows, past], champion_absent)
    sponsor_absent = np.where(known, hist.sponsor_absent[rows, past], sponsor_absent)

    decay = P.ESCALATION_DECAY**s
    escalation_rate = (
        P.segment_vector("ticket_rate", segment)
        * np.exp(-0.6 * h0)
        * L.sigmoid(P.segment_vector("escalation_logit", segment) - 0.6 * h0)
    )[:, None]
    escalations = decay * hist.escalations[account, known_week][:, None] + escalation_rate * (
        1 - decay
    ) / (1 - P.ESCALATION_DECAY)
    escalations = np.where(known, hist.escalations[rows, past], escalations)

    seg_codes = segment[:, None]
    play_churn, play_expansion = _plays.decision_shifts(
        result.plays, account, known_week, decided, known, extra_play
    )
    churn_mean = play_churn + L.churn_logit(
        seg_codes,
        mu[:, None] + x,
        v,
        champion_absent,
        sponsor_absent,
        escalations,
        pop.stalled[account][:, None],
        decided * 7.0 - pop.created[account][:, None],
        term[:, None],
    )
    w_h = seg("churn_health")
    w_t = seg("churn_trend") / (1.0 - P.PHI)
    gaussian = w_h**2 * covs[s, 0, 0] + 2 * w_h * w_t * covs[s, 0, 1] + w_t**2 * covs[s, 1, 1]
    bernoulli = seg("churn_champion_absent") ** 2 * champion_absent * (1 - champion_absent) + seg(
        "churn_sponsor_absent"
    ) ** 2 * sponsor_absent * (1 - sponsor_absent)
    churn_sd = np.sqrt(np.where(known, 0.0, gaussian + bernoulli))
    # Successive renewals of a monthly term share the same future (a decline hurts all of them),
    # so their uncertainty is one common factor, integrated by Gauss-Hermite quadrature.
    # A monthly term that switches to annual at a renewal has no further renewal in the horizon.
    switch = np.where(term <= 1, P.MONTHLY_TO_ANNUAL_SHARE, 0.0)
    survive_horizon = np.zeros(len(account))
    survive_risk = np.zeros(len(account))
    # Coverage still running t calendar months after as_of: no churn at a renewal ending by then.
    by_month = {t: ends <= _months_later(window, day, t)[:, None] for t in SURVIVAL_MONTHS}
    survival = {f"survival_{t}m": np.zeros(len(account)) for t in SURVIVAL_MONTHS}
    for node, weight in zip(*_QUADRATURE, strict=True):
        churn_each = L.sigmoid(churn_mean + churn_sd * node)
        survive_horizon += weight * _none_through_renewals(churn_each, valid, switch)
        survive_risk += weight * _none_through_renewals(churn_each, in_risk_window, switch)
        for t, through in by_month.items():
            survival[f"survival_{t}m"] += weight * _none_through_renewals(
                churn_each, through, switch
            )
    churn = 1.0 - survive_risk

    # -- expansion: at a renewal, or an add-on before it ---------------------------------------
    growth = (pop.growth[account] + P.POOL_HEALTH_GROWTH * h0)[:, None]
    log_pool0 = hist.log_pool[account, known_week][:, None].astype(np.float64)
    log_seats0 = hist.log_seats[account, known_week][:, None].astype(np.float64)
    log_pool_cap = np.log(pop.max_users[account].astype(np.float64))[:, None]

    def pressure_after(weeks: np.ndarray) -> np.ndarray:
        """Seat pressure after `weeks` more weeks of pool growth (same licence)."""
        log_pool = np.maximum(np.minimum(log_pool0 + growth * weeks / 52.0, log_pool_cap), 0.0)
        return np.log(L.provisioned_users(log_pool)) - log_seats0

    pressure = np.where(
        known,
        hist.log_pressure[rows, past],
        pressure_after(s),
    )
    expand_each = L.expected_sigmoid(
        L.expansion_logit(seg_codes, mu[:, None] + x, pressure, term[:, None]) + play_expansion,
        np.where(known, 0.0, seg("expansion_health") ** 2 * covs[s, 0, 0]),
    )
    renewal_expansion = 1.0 - _none_through_renewals(expand_each, valid, switch)

    horizon_weeks = horizon_days // 7 + 1
    j = known_week[:, None] + 1 + np.arange(horizon_weeks)[None, :]
    step = np.minimum(j - known_week[:, None], max_steps)
    in_horizon = j * 7 < (risk_from + horizon_days)[:, None]
    renewal_week = (renewal // 7)[:, None]
    next_end_week = ((renewal + np.round(term * 30.44)) // 7)[:, None]
    unfrozen = (j < renewal_week - P.UPSELL_FREEZE_WEEKS) | (
        (j >= renewal_week) & (next_end_week - j > P.UPSELL_FREEZE_WEEKS)
    )
    cooled = j >= hist.cooldown_until[account, known_week][:, None]
    x_path = powers[step, 0, 0] * x0[:, None] + powers[step, 0, 1] * v0[:, None] + shocks(step)
    _, upsell_shift = _plays.decision_shifts(
        result.plays, account, known_week, j, np.zeros(j.shape, dtype=bool), extra_play
    )
    hazard = L.upsell_hazard(mu[:, None] + x_path, pressure_after(step)) * np.exp(upsell_shift)
    hazard = np.where(in_horizon & unfrozen & cooled, hazard, 0.0)
    upsell = 1.0 - np.prod(1.0 - hazard, axis=1)

    expansion = survive_horizon * (1.0 - (1.0 - renewal_expansion) * (1.0 - upsell))
    return churn, expansion, survival


def _months_later(window: Window, day: np.ndarray, months: int) -> np.ndarray:
    """Day number `months` calendar months after `day`, the day of month clipped to the month's
    length (as pandas' DateOffset, which the features' month ends use)."""
    dates = window.start + np.asarray(day, dtype=np.int64)
    month = dates.astype("datetime64[M]")
    day_of_month = (dates - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    shifted = target.astype("datetime64[D]") + np.minimum(day_of_month, length - 1)
    return (shifted - window.start).astype(np.int64)


def _none_through_renewals(p_each: np.ndarray, valid: np.ndarray, switch: np.ndarray) -> np.ndarray:
    """P(the event happens at none of the renewals in the horizon), renewals in date order.

    After each renewal without the event the term may switch (share `switch`) to one that does
    not renew again inside the horizon, which ends the sequence.
    """
    none = np.ones(len(p_each))
    for k in range(p_each.shape[1] - 1, -1, -1):
        through = (1.0 - p_each[:, k]) * (switch + (1.0 - switch) * none)
        none = np.where(valid[:, k], through, none)
    return none


def _expected_shocks(
    segment: np.ndarray,
    champion_absent_now: np.ndarray,
    sponsor_role: np.ndarray,
    sponsor_absent_now: np.ndarray,
):
    """The expected drop of x after k weeks from outages and departures still to come.

    Week j brings an expected shock m_j = outage + champion (if still present) + sponsor (if
    still present); each decays like x, so after k weeks the sum is
    sum_j (1 - KAPPA)^(k - j) m_j, in closed form because presence decays geometrically.
    """
    decay = 1.0 - P.KAPPA

    def geometric(k: np.ndarray) -> np.ndarray:  # sum_{j=1..k} decay^(k-j)
        return (1.0 - decay**k) / P.KAPPA

    def mixed(k: np.ndarray, rho: np.ndarray) -> np.ndarray:  # sum_{j=1..k} decay^(k-j) rho^(j-1)
        gap = decay - rho
        close = np.abs(gap) < 1e-9
        return np.where(
            close,
            k * decay ** np.maximum(k - 1.0, 0.0),
            (decay**k - rho**k) / np.where(close, 1.0, gap),
        )

    def departures(shock: float, leave: np.ndarray, replace: np.ndarray, absent_now: np.ndarray):
        stationary = leave / (leave + replace)
        rho = 1.0 - leave - replace
        # P(present at week j-1) = (1 - stationary) - (absent_now - stationary) rho^(j-1)
        return (
            -shock * leave * (1.0 - stationary),
            shock * leave * (absent_now - stationary),
            rho,
        )

    seg = P.segment_vector
    champion = departures(
        P.CHAMPION_SHOCK,
        seg("champion_leave", segment),
        seg("champion_replace", segment),
        champion_absent_now.astype(np.float64),
    )
    role = sponsor_role.astype(np.float64)
    sponsor = departures(
        P.SPONSOR_SHOCK,
        seg("sponsor_leave", segment) * role,
        seg("sponsor_replace", segment),
        sponsor_absent_now.astype(np.float64),
    )
    steady = (-P.OUTAGE_SHOCK * P.OUTAGE_HAZARD + champion[0] + sponsor[0])[:, None]

    def at(k: np.ndarray) -> np.ndarray:
        k = k.astype(np.float64)
        return (
            steady * geometric(k)
            + champion[1][:, None] * mixed(k, champion[2][:, None])
            + sponsor[1][:, None] * mixed(k, sponsor[2][:, None])
        )

    return at


def _markov_absent(
    absent_now: np.ndarray, leave: np.ndarray, replace: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """P(absent after `steps` weeks) for a two-state chain (present -> absent at `leave`)."""
    stationary = leave / (leave + replace)
    return stationary + (absent_now[:, None] - stationary) * (1.0 - leave - replace) ** steps


def plays_truth_rows(
    result: ChunkResult,
    contracts: dict[str, np.ndarray],
    window: Window,
    *,
    horizon_days: int,
    min_risk_days: int,
) -> dict[str, np.ndarray]:
    """Per play row, the true effect on the label of the snapshot at or just before it started.

    The snapshot is the latest month start on or before `started_at` at which a main contract
    is in force (the monthly spine's). The probabilities are the oracle's for that snapshot's
    churn and expansion labels, knowing the state of the trigger week (the account was still a
    customer then: renewals ending before that week renewed), with the play's effect in force
    and without it; a row's true effect is the difference, for either arm.
    """
    plays = result.columns("plays") if "plays" in result.parts else {}
    if not plays:
        return {name: np.zeros(0) for name in _PLAYS_TRUTH_COLUMNS}
    main = ~contracts["addon"]
    order = np.lexsort((contracts["start"][main], contracts["account"][main]))
    account = contracts["account"][main][order]
    start = contracts["start"][main][order]
    end = contracts["end"][main][order]
    term = contracts["term"][main][order]

    months = window.month_starts()
    started = plays["start"]
    before = np.searchsorted(months, started, side="right") - 1
    play_account = plays["account"]
    snapshot = months[np.maximum(before, 0)]
    stride = 4 * _DAY_SHIFT
    contract_key = account * stride + start + _DAY_SHIFT
    request_key = play_account * stride + snapshot + _DAY_SHIFT
    cover = np.searchsorted(contract_key, request_key, side="left") - 1
    safe = np.maximum(cover, 0)
    keep = (before >= 0) & (cover >= 0) & (account[safe] == play_account) & (end[safe] >= snapshot)
    rows = {name: values[keep] for name, values in plays.items()}
    cover, snapshot = cover[keep], snapshot[keep]
    trigger_week = rows["start"] // 7 - 1
    code = rows["play"].astype(np.int64)
    effect = {
        "from_week": trigger_week + 1,
        "until_week": trigger_week + 1 + _plays.EFFECT_WEEKS,
        "churn": np.array([p.churn_effect for p in _plays.PLAYS])[code],
        "expansion": np.array([p.expansion_effect for p in _plays.PLAYS])[code],
    }
    none = {**effect, "churn": np.zeros(len(code)), "expansion": np.zeros(len(code))}
    out = {
        "account": rows["account"],
        "play": rows["play"],
        "start": rows["start"],
        "arm": rows["arm"],
        "snapshot": snapshot,
    }
    for label, extra in (("with", effect), ("without", none)):
        churn, expansion, _ = _probabilities(
            result,
            window,
            rows["account"],
            rows["start"],
            end[cover],
            term[cover],
            horizon_days=horizon_days,
            min_risk_days=min_risk_days,
            risk_day=snapshot,
            survived_before=7 * trigger_week,
            extra_play=extra,
        )
        out[f"churn_{label}"], out[f"expansion_{label}"] = churn, expansion
    return out


_PLAYS_TRUTH_COLUMNS = (
    "account",
    "play",
    "start",
    "arm",
    "snapshot",
    "churn_with",
    "churn_without",
    "expansion_with",
    "expansion_without",
)
