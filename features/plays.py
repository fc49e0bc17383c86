"""Plays features: the CS interventions an account has received (the optional `plays` table).

A play exists for a snapshot only when `started_at < as_of`; it is closed for that snapshot only
when `closed_at < as_of` (a play closed on as_of is still running that day, as a contact who
leaves on as_of is still there). Rows of the control arm are held back on purpose: the account
received nothing, so they are not plays here; a row without an arm is a play that was run (most
CRMs record no arm at all). An arm outside the vocabulary counts as none (validation warns).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.source import DataSource
from features.windows import SNAPSHOT_ID, attach, days, days_between, flag, in_window
from retain.config import Config

COUNTS = ("play_active", "plays_started_90d")
VALUES = ("days_since_play",)


def _running(p: ir.Table) -> ir.BooleanValue:
    return p.closed_at.isnull() | (p.closed_at >= p.as_of)


def play_active(p: ir.Table) -> ir.Value:
    """1.0 when a play started before as_of has not closed before it."""
    return flag(p.count(where=_running(p)) > 0)


def plays_started_90d(p: ir.Table) -> ir.Value:
    return p.count(where=p.started_at >= p.as_of - days(90))


def days_since_play(p: ir.Table) -> ir.Value:
    """Days from the latest play's start to as_of (NULL: never a play)."""
    return days_between(p.as_of.max(), p.started_at.max())


FEATURES = (play_active, plays_started_90d, days_since_play)


def plays_features(spine: ir.Table, source: DataSource, config: Config) -> ir.Table:
    plays = source.table("plays").select("account_id", "started_at", "closed_at", "arm")
    treated = plays.filter(plays.arm.isnull() | (plays.arm == ibis.literal("treated")))
    p = in_window(spine, treated.drop("arm"), "started_at")
    per_snapshot = p.group_by(SNAPSHOT_ID).aggregate(**{fn.__name__: fn(p) for fn in FEATURES})
    return attach(spine, per_snapshot, counts=COUNTS, values=VALUES)
