"""Sentiment features: the latest NPS, its change, its age, and survey CSAT.

Only surveys answered before `as_of` exist for a snapshot.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.source import DataSource
from features.windows import SNAPSHOT_ID, attach, days, days_between, in_window, nan_as_null
from retain.config import Config

VALUES = ("nps_last", "nps_change", "days_since_last_nps", "survey_csat_avg_180d")


def nps_last(n: ir.Table) -> ir.Value:
    return n.score.max(where=n.recency == 0)


def nps_previous(n: ir.Table) -> ir.Value:
    return n.score.max(where=n.recency == 1)


def days_since_last_nps(n: ir.Table) -> ir.Value:
    return days_between(n.as_of.max(), n.timestamp.max())


def survey_csat_avg_180d(c: ir.Table) -> ir.Value:
    return c.score.mean(where=c.timestamp >= c.as_of - days(180))


def nps_change(s: ir.Table) -> ir.Value:
    return s.nps_last - s.nps_previous


def sentiment_features(spine: ir.Table, source: DataSource, config: Config) -> ir.Table:
    surveys = source.table("surveys")
    surveys = surveys.select("account_id", "timestamp", "kind", score=nan_as_null(surveys.score))
    surveys = surveys.filter(surveys.score.notnull())
    nps = in_window(spine, surveys.filter(surveys.kind == "nps"), "timestamp")
    # recency 0 is the latest answer before as_of, 1 the one before it.
    nps = nps.mutate(
        recency=ibis.row_number().over(
            group_by=SNAPSHOT_ID, order_by=[ibis.desc("timestamp"), ibis.desc("score")]
        )
    )
    nps_per_snapshot = nps.group_by(SNAPSHOT_ID).aggregate(
        **{fn.__name__: fn(nps) for fn in (nps_last, nps_previous, days_since_last_nps)}
    )
    nps_per_snapshot = nps_per_snapshot.mutate(nps_change=nps_change(nps_per_snapshot))
    csat = in_window(spine, surveys.filter(surveys.kind == "csat"), "timestamp", 180)
    csat_per_snapshot = csat.group_by(SNAPSHOT_ID).aggregate(
        survey_csat_avg_180d=survey_csat_avg_180d(csat)
    )
    joined = nps_per_snapshot.outer_join(csat_per_snapshot, SNAPSHOT_ID)
    joined = joined.select(
        **{SNAPSHOT_ID: joined[SNAPSHOT_ID].fill_null(joined[f"{SNAPSHOT_ID}_right"])},
        **{v: joined[v] for v in VALUES},
    )
    return attach(spine, joined, values=VALUES)
