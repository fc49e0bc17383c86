"""The week loop: one chunk of accounts lives through the window, vectorised over accounts.

Each week: accounts enter, the latent state moves and takes shocks (outage, champion or sponsor
leaving), the state is recorded (the oracle reads it later), contracts ending this week are
decided from the state a month earlier, add-ons are sold when provisioned users outgrow the
licence, and the week's observable footprints are drawn (usage, tickets, CRM activities,
surveys). Rows are collected as integer-coded arrays; `_tables` turns them into Arrow tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from simulator import _latent as L
from simulator import _params as P
from simulator import _plays
from simulator._calendar import Window
from simulator._population import Population, milestone_rows
from simulator._usage import Users, week_usage

CONTACT_ROLES: tuple[str, ...] = (
    "champion",
    "decision_maker",
    "executive_sponsor",
    "admin",
    "user",
)
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
ACTIVITY_TYPES: tuple[str, ...] = ("meeting", "qbr", "call", "email_out", "email_in")
SURVEY_KINDS: tuple[str, ...] = ("nps", "csat")
_FOREVER = 10**9
_RESOLUTION_MEDIAN_HOURS = np.array([72.0, 36.0, 18.0, 6.0])


@dataclass
class History:
    """The latent state of every account in every week (what the oracle knew)."""

    x: np.ndarray
    v: np.ndarray
    champion_absent: np.ndarray
    sponsor_absent: np.ndarray
    escalations: np.ndarray
    log_pressure: np.ndarray  # log(provisioned users / licensed seats)
    log_pool: np.ndarray  # the continuous pool the provisioned users grow from
    log_seats: np.ndarray
    cooldown_until: np.ndarray

    @classmethod
    def empty(cls, n: int, weeks: int) -> History:
        def grid() -> np.ndarray:
            return np.zeros((n, weeks), dtype=np.float32)

        return cls(
            x=grid(),
            v=grid(),
            champion_absent=grid(),
            sponsor_absent=grid(),
            escalations=grid(),
            log_pressure=grid(),
            log_pool=grid(),
            log_seats=grid(),
            cooldown_until=np.zeros((n, weeks), dtype=np.int32),
        )


@dataclass
class _Terms:
    """The commercial state of every account: its running main contract and add-ons."""

    seats: np.ndarray  # licensed seats, add-ons included
    price: np.ndarray  # ARR per seat
    term: np.ndarray  # months
    start: np.ndarray  # day number the running main contract started
    end: np.ndarray  # day number it ends (the next renewal)
    alive_to: np.ndarray  # day number the account churned (exclusive), or _FOREVER
    cooldown_until: np.ndarray  # week before which no new add-on is sold

    @classmethod
    def of(cls, pop: Population) -> _Terms:
        n = len(pop)
        return cls(
            seats=pop.seats.copy(),
            price=pop.price.copy(),
            term=pop.term.copy(),
            start=pop.contract_start.copy(),
            end=pop.contract_end.copy(),
            alive_to=np.full(n, _FOREVER, dtype=np.int64),
            cooldown_until=np.zeros(n, dtype=np.int64),
        )


@dataclass
class ChunkResult:
    population: Population
    users: Users
    history: History
    plays: _plays.PlayHistory
    # table name -> column name -> list of arrays (concatenated by `columns`)
    parts: dict[str, dict[str, list[np.ndarray]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def add(self, table: str, **columns: np.ndarray) -> None:
        # Copies: the loop keeps mutating its state arrays after recording them.
        for name, values in columns.items():
            self.parts[table][name].append(np.array(values, copy=True))

    def columns(self, table: str) -> dict[str, np.ndarray]:
        return {name: np.concatenate(values) for name, values in self.parts[table].items()}


def run_chunk(rng: np.random.Generator, population: Population, window: Window) -> ChunkResult:
    pop = population
    n, weeks, n_days = len(pop), window.n_weeks, window.n_days
    segment = pop.segment

    def seg(attribute: str) -> np.ndarray:
        return P.segment_vector(attribute, segment)

    users = Users.draw(rng, pop.max_users)
    plays = _plays.PlayHistory.empty(n, weeks)
    result = ChunkResult(population=pop, users=users, history=History.empty(n, weeks), plays=plays)
    hist = result.history
    # Plays draw from their own stream: spawning leaves the chunk's stream where it was.
    plays_rng = rng.spawn(1)[0]
    day_factor = window.activity_factor()
    chol = np.linalg.cholesky(L.stationary_cov())

    created = pop.created
    day_from = np.maximum(created, 0)
    join_week = day_from // 7
    x, v, esc = np.zeros(n), np.zeros(n), np.zeros(n)
    log_pool = np.log(pop.pool)
    log_pool_cap = np.log(pop.max_users.astype(np.float64))
    champion, sponsor = pop.champion.copy(), pop.sponsor_role.copy()
    champion_since = created.astype(np.float64)
    sponsor_since = created.astype(np.float64)
    terms = _Terms.of(pop)
    joined = np.zeros(n, dtype=bool)
    outage_left = np.zeros(n, dtype=np.int64)

    result.add(
        "contracts",
        account=np.arange(n),
        start=terms.start,
        end=terms.end,
        arr=np.round(terms.seats * terms.price, 2),
        seats=terms.seats,
        plan=pop.plan,
        term=terms.term,
        addon=np.zeros(n, dtype=bool),
    )
    _static_contacts(rng, result, pop, n_days)
    result.add("milestones", **milestone_rows(rng, pop, window))

    for t in range(weeks):
        d0 = 7 * t
        entering = ~joined & (created < d0 + 7)
        if entering.any():
            start_state = rng.normal(size=(int(entering.sum()), 2)) @ chol.T
            x[entering], v[entering] = start_state[:, 0], start_state[:, 1]
            joined |= entering
        live = joined & (terms.alive_to > d0)
        stepping = live & ~entering

        # -- latent state moves, then shocks ------------------------------------------------
        noise_x, noise_v = rng.normal(size=n), rng.normal(size=n)
        x = np.where(stepping, (1 - P.KAPPA) * x + v + P.SIGMA_X * noise_x, x)
        v = np.where(stepping, P.PHI * v + P.SIGMA_V * noise_v, v)

        outage_starts = live & (outage_left == 0) & (rng.random(n) < P.OUTAGE_HAZARD)
        outage_left[outage_starts] = rng.integers(1, 3, size=int(outage_starts.sum()))
        x[outage_starts] -= P.OUTAGE_SHOCK

        event_day = np.minimum(np.maximum(d0 + rng.integers(0, 7, size=n), day_from), n_days - 1)
        leaves = stepping & champion & (rng.random(n) < seg("champion_leave"))
        _leave(result, leaves, 0, champion_since, event_day)
        champion[leaves] = False
        x[leaves] -= P.CHAMPION_SHOCK
        found = stepping & ~champion & ~leaves & (rng.random(n) < seg("champion_replace"))
        champion[found] = True
        champion_since[found] = event_day[found]

        sponsor_leaves = stepping & sponsor & (rng.random(n) < seg("sponsor_leave"))
        _leave(result, sponsor_leaves, 2, sponsor_since, event_day)
        sponsor[sponsor_leaves] = False
        x[sponsor_leaves] -= P.SPONSOR_SHOCK
        sponsor_found = (
            stepping
            & pop.sponsor_role
            & ~sponsor
            & ~sponsor_leaves
            & (rng.random(n) < seg("sponsor_replace"))
        )
        sponsor[sponsor_found] = True
        sponsor_since[sponsor_found] = event_day[sponsor_found]

        health = pop.mu + x
        hist.x[:, t], hist.v[:, t] = x, v
        hist.champion_absent[:, t] = ~champion
        hist.sponsor_absent[:, t] = pop.sponsor_role & ~sponsor
        hist.escalations[:, t] = esc
        users_now = L.provisioned_users(log_pool)
        hist.log_pressure[:, t] = np.log(users_now) - np.log(terms.seats)
        hist.log_pool[:, t] = log_pool
        hist.log_seats[:, t] = np.log(terms.seats)
        hist.cooldown_until[:, t] = terms.cooldown_until
        plays.record(t)

        # -- renewals decided from the state a month before the end date --------------------
        due = np.flatnonzero(live & (terms.end >= d0) & (terms.end < min(d0 + 7, n_days)))
        if due.size:
            _renew(rng, result, window, t, due, terms, users_now, join_week)

        # -- mid-term add-ons when provisioned users outgrow the licence --------------------
        eligible = (
            live
            & (terms.alive_to > d0 + 7)
            & (terms.end // 7 - t > P.UPSELL_FREEZE_WEEKS)
            & (t >= terms.cooldown_until)
            & (terms.start < d0 + 7)
        )
        hazard = L.upsell_hazard(health, np.log(users_now) - np.log(terms.seats))
        hazard = hazard * plays.upsell_factor(t)
        upsell = eligible & (rng.random(n) < hazard)
        if upsell.any():
            _sell_add_on(rng, result, d0, upsell, terms, users_now, day_from, n_days)

        # -- observable footprints of the week ----------------------------------------------
        day_to = np.minimum(terms.alive_to, n_days)
        outage = outage_left > 0
        user, day, event, count = week_usage(
            rng,
            users,
            first_day=d0,
            health=health,
            pool=np.exp(log_pool),
            day_from=np.where(live, day_from, _FOREVER),
            day_to=day_to,
            day_factor=day_factor[d0 : d0 + 7],
            has_integration=pop.has_integration,
            adoption=pop.adoption,
        )
        result.add(
            "usage", user=user.astype(np.int32), day=day.astype(np.int32), event=event, count=count
        )
        escalated_count = _tickets(
            rng, result, d0, live, health, outage, segment, day_from, day_to, n_days
        )
        _activities(
            rng, result, t, live, health, champion, outage, terms.end, pop, day_from, day_to
        )
        _surveys(rng, result, t, live, health, pop, day_from, day_to)

        esc = P.ESCALATION_DECAY * esc + escalated_count
        log_pool = np.where(
            live,
            np.minimum(
                log_pool + (pop.growth + P.POOL_HEALTH_GROWTH * health) / 52.0, log_pool_cap
            ),
            log_pool,
        )
        log_pool = np.maximum(log_pool, 0.0)
        outage_left = np.maximum(outage_left - 1, 0)
        started = plays.fire(
            plays_rng,
            t,
            n_days,
            eligible=live & (terms.alive_to > d0 + 7),
            health=health,
            momentum=v,
            champion_left=leaves,
            days_to_renewal=terms.end - d0,
            log_pressure=np.log(users_now) - np.log(terms.seats),
        )
        if started is not None:
            result.add("plays", **started)

    # Contacts still in place when the data ends.
    for role, present, since in ((0, champion, champion_since), (2, sponsor, sponsor_since)):
        accounts = np.flatnonzero(present)
        result.add(
            "contacts",
            account=accounts,
            role=np.full(len(accounts), role, dtype=np.int8),
            added=since[accounts],
            left=np.full(len(accounts), np.nan),
        )
    return result


def _leave(
    result: ChunkResult, who: np.ndarray, role: int, since: np.ndarray, day: np.ndarray
) -> None:
    accounts = np.flatnonzero(who)
    result.add(
        "contacts",
        account=accounts,
        role=np.full(len(accounts), role, dtype=np.int8),
        added=since[accounts],
        left=day[accounts].astype(np.float64),
    )


def _static_contacts(
    rng: np.random.Generator, result: ChunkResult, pop: Population, n_days: int
) -> None:
    """Decision makers, admins and users; their turnover is noise with no effect on health."""
    n = len(pop)
    created = pop.created.astype(np.float64)
    users_per_account = rng.integers(1, 4, size=n)
    roles = np.concatenate([np.full(n, 1), np.full(n, 3), np.full(int(users_per_account.sum()), 4)])
    accounts = np.concatenate(
        [np.arange(n), np.arange(n), np.repeat(np.arange(n), users_per_account)]
    )
    added = created[accounts] + np.floor(rng.exponential(20.0, size=len(accounts))) * (roles == 4)
    leaves = rng.random(len(accounts)) < 0.15
    left = np.where(leaves, np.floor(added + rng.uniform(30, 900, size=len(accounts))), np.nan)
    left[left >= n_days] = np.nan
    added = np.minimum(added, n_days - 1)
    result.add("contacts", account=accounts, role=roles.astype(np.int8), added=added, left=left)


def _renew(
    rng: np.random.Generator,
    result: ChunkResult,
    window: Window,
    t: int,
    due: np.ndarray,
    terms: _Terms,
    pool: np.ndarray,
    join_week: np.ndarray,
) -> None:
    """Decide the contracts ending this week and write the renewals."""
    pop, hist = result.population, result.history
    k = len(due)
    end, term = terms.end[due], terms.term[due]
    decided = np.minimum(np.maximum(end // 7 - P.DECISION_LAG_WEEKS, join_week[due]), t)
    health = pop.mu[due] + hist.x[due, decided]
    play_churn, play_expansion = result.plays.shifts_at(due, decided)
    churn_p = L.sigmoid(
        play_churn
        + L.churn_logit(
            pop.segment[due],
            health,
            hist.v[due, decided],
            hist.champion_absent[due, decided],
            hist.sponsor_absent[due, decided],
            hist.escalations[due, decided],
            pop.stalled[due],
            decided * 7.0 - pop.created[due],
            term,
        )
    )
    pressure = hist.log_pressure[due, decided]
    expand_p = L.sigmoid(
        L.expansion_logit(pop.segment[due], health, pressure, term) + play_expansion
    )
    contract_p = L.sigmoid(L.contraction_logit(pop.segment[due], health, pressure, term))
    churn = rng.random(k) < churn_p
    expand = ~churn & (rng.random(k) < expand_p)
    old_seats = terms.seats[due]
    contract = ~churn & ~expand & (old_seats >= 2) & (rng.random(k) < contract_p)

    grown = np.maximum(
        np.ceil(old_seats * rng.uniform(1.1, 1.45, size=k)), np.ceil(pool[due] * 1.05)
    )
    shrunk = np.maximum(np.floor(old_seats * rng.uniform(0.6, 0.88, size=k)), 1.0)
    new_seats = np.where(expand, grown, np.where(contract, shrunk, old_seats))
    # A small yearly price uplift on flat renewals (monthly terms keep their price).
    uplift = np.where(expand | contract | (term < 12), 1.0, rng.uniform(1.0, 1.03, size=k))
    new_price = np.round(terms.price[due] * uplift, 2)
    new_term = np.where(
        ~churn & (term == 1) & (rng.random(k) < P.MONTHLY_TO_ANNUAL_SHARE), 12, term
    )
    late = rng.random(k) < P.LATE_RENEWAL_SHARE
    new_start = end + np.where(late, rng.integers(1, 26, size=k), 0)
    new_end = window.add_months(new_start, new_term)

    # A renewal signed after the data ends is not in the data (the account looks undecided).
    written = ~churn & (new_start < window.n_days)
    accounts = due[written]
    result.add(
        "contracts",
        account=accounts,
        start=new_start[written],
        end=new_end[written],
        arr=np.round(new_seats[written] * new_price[written], 2),
        seats=new_seats[written],
        plan=pop.plan[accounts],
        term=new_term[written],
        addon=np.zeros(len(accounts), dtype=bool),
    )
    renewed, kept = due[~churn], ~churn
    terms.seats[renewed] = new_seats[kept]
    terms.price[renewed] = new_price[kept]
    terms.term[renewed] = new_term[kept]
    terms.start[renewed] = new_start[kept]
    terms.end[renewed] = new_end[kept]
    terms.alive_to[due[churn]] = end[churn]


def _sell_add_on(
    rng: np.random.Generator,
    result: ChunkResult,
    d0: int,
    upsell: np.ndarray,
    terms: _Terms,
    pool: np.ndarray,
    day_from: np.ndarray,
    n_days: int,
) -> None:
    """An add-on for the missing seats (at least 10% more), ending with the main contract."""
    added = np.maximum(np.ceil(pool - terms.seats) + 1, np.ceil(0.1 * terms.seats))[upsell]
    start = np.maximum(np.maximum(d0 + rng.integers(0, 7, size=len(upsell)), terms.start), day_from)
    start = np.minimum(start, n_days - 1)[upsell]
    result.add(
        "contracts",
        account=np.flatnonzero(upsell),
        start=start,
        end=terms.end[upsell],
        arr=np.round(added * terms.price[upsell], 2),
        seats=added,
        plan=np.full(len(start), "add-on", dtype=object),
        term=terms.term[upsell],
        addon=np.ones(len(start), dtype=bool),
    )
    terms.seats[upsell] += added
    terms.cooldown_until[upsell] = d0 // 7 + P.UPSELL_COOLDOWN_WEEKS


def _in_window(
    day: np.ndarray, account: np.ndarray, day_from: np.ndarray, day_to: np.ndarray
) -> np.ndarray:
    return (day >= day_from[account]) & (day < day_to[account])


def _tickets(
    rng: np.random.Generator,
    result: ChunkResult,
    d0: int,
    live: np.ndarray,
    health: np.ndarray,
    outage: np.ndarray,
    segment: np.ndarray,
    day_from: np.ndarray,
    day_to: np.ndarray,
    n_days: int,
) -> np.ndarray:
    """Draw the week's tickets; return escalations per account (they feed the burden)."""
    n = len(health)
    rate = P.segment_vector("ticket_rate", segment) * np.exp(-0.6 * health) * (1.0 + 4.0 * outage)
    counts = rng.poisson(np.where(live, rate, 0.0))
    account = np.repeat(np.arange(n), counts)
    created = d0 + rng.random(len(account)) * 7.0
    keep = _in_window(created, account, day_from, day_to)
    account, created = account[keep], created[keep]
    m = len(account)
    h, out = health[account], outage[account]
    urgent = 0.03 + 0.35 * out
    high = 0.12 + 0.1 * (h < -1.0)
    low = np.full(m, 0.3)
    u = rng.random(m)
    priority = np.where(
        u < urgent, 3, np.where(u < urgent + high, 2, np.where(u < urgent + high + low, 0, 1))
    )
    escalated = rng.random(m) < L.sigmoid(
        P.segment_vector("escalation_logit", segment[account])
        - 0.6 * h
        + 2.5 * out
        + 1.0 * (priority == 3)
    )
    hours = np.exp(
        np.log(_RESOLUTION_MEDIAN_HOURS[priority])
        - 0.2 * h
        + 0.7 * escalated
        + 0.6 * rng.normal(size=m)
    )
    resolved = created + hours / 24.0
    resolved[resolved >= n_days] = np.nan  # still open when the data ends
    answered = ~np.isnan(resolved) & (rng.random(m) < 0.5)
    score = np.clip(
        np.round(
            4.1 + 0.5 * h - 0.6 * escalated - 0.15 * np.log(hours / 24.0) + 0.8 * rng.normal(size=m)
        ),
        1,
        5,
    )
    result.add(
        "tickets",
        account=account,
        created=created,
        resolved=resolved,
        priority=priority.astype(np.int8),
        escalated=escalated,
        csat=np.where(answered, score, np.nan),
    )
    return np.bincount(account[escalated], minlength=n).astype(np.float64)


def _activities(
    rng: np.random.Generator,
    result: ChunkResult,
    t: int,
    live: np.ndarray,
    health: np.ndarray,
    champion: np.ndarray,
    outage: np.ndarray,
    contract_end: np.ndarray,
    pop: Population,
    day_from: np.ndarray,
    day_to: np.ndarray,
) -> None:
    n, d0 = len(health), 7 * t
    segment = pop.segment
    near_renewal = (contract_end - d0 <= 120) & (contract_end > d0)
    rates = {
        "email_out": P.segment_vector("email_rate", segment) * (1.0 + near_renewal),
        "meeting": P.segment_vector("meeting_rate", segment)
        * np.exp(0.4 * health)
        * (0.5 + 0.5 * champion),
        "call": 0.03 + 0.15 * outage + 0.05 * (health < -1.0),
    }
    accounts, days, kinds = [], [], []
    for kind, rate in rates.items():
        counts = rng.poisson(np.where(live, rate, 0.0))
        account = np.repeat(np.arange(n), counts)
        accounts.append(account)
        days.append(d0 + rng.random(len(account)) * 7.0)
        kinds.append(np.full(len(account), ACTIVITY_TYPES.index(kind), dtype=np.int8))
        if kind == "email_out":
            reply_p = L.sigmoid(-0.3 + 0.9 * health + 0.8 * champion)[account]
            replied = rng.random(len(account)) < reply_p
            accounts.append(account[replied])
            days.append(days[-1][replied] + rng.exponential(1.5, size=int(replied.sum())))
            kinds.append(
                np.full(int(replied.sum()), ACTIVITY_TYPES.index("email_in"), dtype=np.int8)
            )
    qbr_due = live & P.segment_vector("qbr", segment).astype(bool) & ((t - pop.qbr_phase) % 13 == 0)
    held = qbr_due & (rng.random(n) < L.sigmoid(0.3 + 1.2 * health + 0.8 * champion))
    qbr_accounts = np.flatnonzero(held)
    accounts.append(qbr_accounts)
    days.append(d0 + rng.random(len(qbr_accounts)) * 7.0)
    kinds.append(np.full(len(qbr_accounts), ACTIVITY_TYPES.index("qbr"), dtype=np.int8))

    account, day, kind = np.concatenate(accounts), np.concatenate(days), np.concatenate(kinds)
    keep = _in_window(day, account, day_from, day_to)
    result.add("activities", account=account[keep], time=day[keep], type=kind[keep])


def _surveys(
    rng: np.random.Generator,
    result: ChunkResult,
    t: int,
    live: np.ndarray,
    health: np.ndarray,
    pop: Population,
    day_from: np.ndarray,
    day_to: np.ndarray,
) -> None:
    d0 = 7 * t
    nps_due = live & ((t - pop.survey_phase) % 13 == 0)
    respondents = rng.binomial(3, np.clip(0.35 + 0.1 * health, 0.05, 0.9)) * nps_due
    nps_account = np.repeat(np.arange(len(health)), respondents)
    nps = np.clip(
        np.round(7.0 + 1.6 * health[nps_account] + 1.2 * rng.normal(size=len(nps_account))), 0, 10
    )
    csat_due = (
        live
        & P.segment_vector("survey_csat", pop.segment).astype(bool)
        & ((t - pop.survey_phase) % 13 == 6)
        & (rng.random(len(health)) < 0.5)
    )
    csat_account = np.flatnonzero(csat_due)
    csat = np.clip(
        np.round(3.9 + 0.6 * health[csat_account] + 0.7 * rng.normal(size=len(csat_account))), 1, 5
    )
    account = np.concatenate([nps_account, csat_account])
    day = d0 + rng.random(len(account)) * 7.0
    keep = _in_window(day, account, day_from, day_to)
    result.add(
        "surveys",
        account=account[keep],
        time=day[keep],
        kind=np.concatenate(
            [np.zeros(len(nps_account), np.int8), np.ones(len(csat_account), np.int8)]
        )[keep],
        score=np.concatenate([nps, csat])[keep],
    )
