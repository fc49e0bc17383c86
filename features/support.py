"""Support features: ticket volume, severity, escalations, open work, resolution, CSAT.

A ticket exists for a snapshot once created before `as_of`; it counts as resolved only when
`resolved_at < as_of`, and its CSAT is known only then.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.source import DataSource
from features.windows import (
    SECONDS_PER_HOUR,
    SNAPSHOT_ID,
    attach,
    bigint,
    change_pct,
    days,
    in_window,
    nan_as_null,
    real,
)
from retain.config import Config

COUNTS = (
    "tickets_30d",
    "tickets_90d",
    "high_priority_tickets_90d",
    "escalated_tickets_30d",
    "escalated_tickets_90d",
    "open_tickets",
    "open_escalations",
)
VALUES = ("median_resolution_hours_90d", "ticket_csat_avg_90d", "tickets_90d_change_pct")


def _created_within(t: ir.Table, n: int) -> ir.BooleanValue:
    return t.created_at >= t.as_of - days(n)


def _open(t: ir.Table) -> ir.BooleanValue:
    return t.resolved_at.isnull() | (t.resolved_at >= t.as_of)


def _resolved_within(t: ir.Table, n: int) -> ir.BooleanValue:
    return (t.resolved_at < t.as_of) & (t.resolved_at >= t.as_of - days(n))


def _created_between(t: ir.Table, n_from: int, n_to: int) -> ir.BooleanValue:
    """Created in `[as_of - n_from days, as_of - n_to days)`."""
    return (t.created_at >= t.as_of - days(n_from)) & (t.created_at < t.as_of - days(n_to))


def tickets_30d(t: ir.Table) -> ir.Value:
    return t.count(where=_created_within(t, 30))


def tickets_90d(t: ir.Table) -> ir.Value:
    return t.count(where=_created_within(t, 90))


def high_priority_tickets_90d(t: ir.Table) -> ir.Value:
    return t.count(where=_created_within(t, 90) & t.priority.isin(("high", "urgent")))


def escalated_tickets_30d(t: ir.Table) -> ir.Value:
    return t.count(where=_created_within(t, 30) & t.escalated)


def escalated_tickets_90d(t: ir.Table) -> ir.Value:
    return t.count(where=_created_within(t, 90) & t.escalated)


def open_tickets(t: ir.Table) -> ir.Value:
    return t.count(where=_open(t))


def open_escalations(t: ir.Table) -> ir.Value:
    return t.count(where=_open(t) & t.escalated)


def median_resolution_hours_90d(t: ir.Table) -> ir.Table:
    """Median hours from creation to resolution of the tickets resolved in the last 90 days.

    Per snapshot: the mean of the middle one or two of the sorted values (DuckDB's `median`).
    Window functions rather than `median()`, which BigQuery cannot compute exactly (Ibis has no
    rule for it) and whose `where=` Spark SQL rejects.
    """
    resolved = t.filter(_resolved_within(t, 90))
    seconds = (resolved.resolved_at.epoch_seconds() - resolved.created_at.epoch_seconds()).cast(
        "float64"
    )
    resolved = resolved.select(SNAPSHOT_ID, hours=seconds / real(SECONDS_PER_HOUR))
    ranked = resolved.mutate(
        position=ibis.row_number().over(group_by=SNAPSHOT_ID, order_by="hours"),  # 0-based
        n=resolved.hours.count().over(group_by=SNAPSHOT_ID),
    )
    # The middle ones: as many values below as above, give or take one.
    middle = ranked.filter((ranked.position * bigint(2) - ranked.n + bigint(1)).abs() <= bigint(1))
    return middle.group_by(SNAPSHOT_ID).aggregate(median_resolution_hours_90d=middle.hours.mean())


def ticket_csat_avg_90d(t: ir.Table) -> ir.Value:
    return t.csat.mean(where=_resolved_within(t, 90))


def tickets_prior_90d(t: ir.Table) -> ir.Value:
    return t.count(where=_created_between(t, 180, 90))


def tickets_90d_change_pct(s: ir.Table) -> ir.Value:
    """Ticket trend: the last 90 days vs the 90 days before (NULL when there were none before)."""
    return change_pct(s.tickets_90d, s.tickets_prior_90d)


FEATURES = (
    tickets_30d,
    tickets_90d,
    high_priority_tickets_90d,
    escalated_tickets_30d,
    escalated_tickets_90d,
    open_tickets,
    open_escalations,
    ticket_csat_avg_90d,
    tickets_prior_90d,
)


def support_features(spine: ir.Table, source: DataSource, config: Config) -> ir.Table:
    tickets = source.table("tickets")
    tickets = tickets.select(
        "account_id",
        "created_at",
        "resolved_at",
        "priority",
        "escalated",
        csat=nan_as_null(tickets.csat),
    )
    # No lower bound: a ticket opened a year ago and still open counts as open.
    t = in_window(spine, tickets, "created_at")
    per_snapshot = t.group_by(SNAPSHOT_ID).aggregate(**{fn.__name__: fn(t) for fn in FEATURES})
    medians = median_resolution_hours_90d(t)
    per_snapshot = per_snapshot.left_join(medians, SNAPSHOT_ID).select(
        SNAPSHOT_ID, *COUNTS, *VALUES[:2], "tickets_prior_90d"
    )
    per_snapshot = per_snapshot.mutate(tickets_90d_change_pct=tickets_90d_change_pct(per_snapshot))
    return attach(spine, per_snapshot, counts=COUNTS, values=VALUES)
