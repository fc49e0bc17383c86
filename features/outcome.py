"""Outcome features: onboarding and success-plan milestones, time to first value, stalls.

A milestone's plan (the row and its `due_date`) is known in advance; its achievement exists for
a snapshot only when `achieved_at < as_of`. Onboarding milestones are those due within the
onboarding benchmark of the relationship's start (account creation or first contract, whichever
is earlier; or with no due date); onboarding is stalled
when the benchmark has passed and one of them is still not achieved.
"""

from __future__ import annotations

import ibis.expr.types as ir

from features.source import DataSource
from features.windows import SNAPSHOT_ID, attach, days, days_between, flag, in_window, ratio
from retain.config import Config

COUNTS = ("milestones_done", "milestones_overdue", "first_value_reached", "onboarding_stalled")
VALUES = ("onboarding_completion_pct", "days_to_first_value")


def _achieved(m: ir.Table) -> ir.BooleanValue:
    return m.achieved_at < m.as_of


def _onboarding(m: ir.Table, benchmark_days: int) -> ir.BooleanValue:
    return m.due_date.isnull() | (m.due_date <= m.first_start + days(benchmark_days))


def milestones_done(m: ir.Table) -> ir.Value:
    return m.count(where=_achieved(m))


def milestones_overdue(m: ir.Table) -> ir.Value:
    return m.count(where=(m.due_date < m.as_of) & ~_achieved(m).fill_null(False))


def milestones_planned(m: ir.Table) -> ir.Value:
    return m.count()


def _first_value(config: Config):
    name = config.features.first_value_milestone

    def first_value_reached(m: ir.Table) -> ir.Value:
        return flag(m.count(where=_achieved(m) & (m.milestone == name)) > 0)

    def days_to_first_value(m: ir.Table) -> ir.Value:
        reached = m.achieved_at.min(where=_achieved(m) & (m.milestone == name))
        return days_between(reached, m.first_start.max())

    return first_value_reached, days_to_first_value


def _stalled(config: Config):
    benchmark = config.features.onboarding_benchmark_days

    def onboarding_stalled(m: ir.Table) -> ir.Value:
        past_benchmark = m.as_of.max() > m.first_start.max() + days(benchmark)
        open_onboarding = m.count(where=_onboarding(m, benchmark) & ~_achieved(m).fill_null(False))
        return flag(past_benchmark & (open_onboarding > 0))

    return onboarding_stalled


def onboarding_completion_pct(s: ir.Table) -> ir.Value:
    return ratio(s.milestones_done, s.milestones_planned) * 100.0


def _relationship_start(spine: ir.Table, source: DataSource) -> ir.Table:
    """When the relationship began, as known before as_of: account creation or first contract.

    Whichever is earlier: exports often keep the account (and its onboarding plan) from before
    the first contract they still hold.
    """
    contracts = source.table("contracts").select("account_id", "start_date")
    accounts = source.table("accounts").select("account_id", start_date="created_at")
    starts = contracts.union(accounts)
    visible = in_window(spine, starts, "start_date")
    return visible.group_by(SNAPSHOT_ID).aggregate(first_start=visible.start_date.min())


def outcome_features(spine: ir.Table, source: DataSource, config: Config) -> ir.Table:
    first_start = _relationship_start(spine, source)
    milestones = source.table("milestones").select(
        "account_id", "milestone", "due_date", "achieved_at"
    )
    other = milestones.rename(_account_id="account_id")
    # Every planned milestone of the account (plans are known in advance); achievement is
    # filtered by as_of inside each feature.
    m = spine.join(other, spine.account_id == other._account_id).drop("_account_id")
    m = m.left_join(first_start, SNAPSHOT_ID).drop(f"{SNAPSHOT_ID}_right")
    features = (
        milestones_done,
        milestones_overdue,
        milestones_planned,
        *_first_value(config),
        _stalled(config),
    )
    per_snapshot = m.group_by(SNAPSHOT_ID).aggregate(**{fn.__name__: fn(m) for fn in features})
    per_snapshot = per_snapshot.mutate(
        onboarding_completion_pct=onboarding_completion_pct(per_snapshot)
    )
    return attach(spine, per_snapshot, counts=COUNTS, values=VALUES)
