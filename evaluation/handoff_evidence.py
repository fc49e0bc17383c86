"""Evidence, not belief: the observed early-life churn rate by sales-handoff completeness.

CS practice holds that an incomplete handoff is the commonest source of early churn. This module
checks the claim on the team's own data, from the feature frame (the handoff family's columns
and the churn label), without a model:

- each account is counted once, at its first early-life snapshot with a handoff on record or
  overdue (`handoff_completeness_first_180d` set: within `[handoffs] early_life_days` of the
  account's start, and a revision before as_of or `missing_after_days` passed without one); the
  snapshot's churn label asks about the account's first renewal (or, on a monthly term, the
  coming quarter: `features.frame`'s renewal risk);
- its band is the completeness of the latest handoff revision before that snapshot
  (`[handoffs] evidence_bands`), or "no handoff recorded" when it was overdue and missing;
- per band: accounts, outcomes known, churned, the observed rate with a 95% Wilson interval.

Accounts whose early life lies before the first handoff on record are left out (the team was
not recording handoffs then; their "no handoff" would be the recording, not the sale) and
counted. Observational: a difference says where early churn concentrates, not that completing
handoffs would remove it (a rushed deal can make both). On simulated data the truth's mean
churn probability of the same snapshots is shown beside each rate.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pandas as pd

from retain.config import Config

NO_HANDOFF = "no handoff recorded"
_Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
# Fewer known outcomes than this in a band: its interval is wide, say so.
THIN_BAND_OUTCOMES = 30
_NEEDED = (
    "account_id",
    "as_of",
    "handoff_completeness",
    "handoff_completeness_first_180d",
    "churn",
)


def wilson_interval(churned: int, n: int, z: float = _Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion `churned / n` (None without observations).

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 of n.
    """
    if n <= 0:
        return None
    p = churned / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def band_names(edges: tuple[float, ...]) -> list[str]:
    """Band labels from the edges: (0.5, 0.8) -> under 50%, 50-80%, 80% and up."""
    cuts = [f"{edge * 100:.0f}%" for edge in edges]
    names = [f"under {cuts[0]}"] if cuts else ["any"]
    names += [f"{low[:-1]}-{high}" for low, high in itertools.pairwise(cuts)]
    if cuts:
        names.append(f"{cuts[-1]} and up")
    return names


def _band(completeness: pd.Series, edges: tuple[float, ...]) -> pd.Series:
    names = band_names(edges)
    index = pd.Series(0, index=completeness.index)
    for edge in edges:
        # A small tolerance: 5 of 6 fields (0.8333) is "80% and up", 0.8 exactly too.
        index += (completeness >= edge - 1e-9).astype(int)
    return index.map(dict(enumerate(names))).where(completeness.notna(), NO_HANDOFF)


def early_life_rows(frame: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, int]:
    """One row per account (its first early-life snapshot with a handoff on record or overdue)
    with `band`, and the number of accounts left out as before the first handoff on record."""
    settings = config.handoffs
    rows = frame
    if "spine" in rows and (rows["spine"] == "monthly").any():
        rows = rows[rows["spine"] == "monthly"]
    early = rows[pd.to_numeric(rows["handoff_completeness_first_180d"]).notna()]
    first = early.sort_values(["account_id", "as_of"], kind="stable").drop_duplicates("account_id")
    recorded = frame.loc[frame["handoff_completeness"].notna(), "as_of"]
    recording_from = pd.to_datetime(recorded).min()
    before = pd.to_datetime(first["as_of"]) < recording_from
    first = first[~before].copy()
    first["band"] = _band(pd.to_numeric(first["handoff_completeness"]), settings.evidence_bands)
    return first, int(before.sum())


def handoff_evidence(
    frame: pd.DataFrame, config: Config, truth: pd.DataFrame | None = None
) -> dict[str, Any] | None:
    """The evidence section, or None when the frame has no handoff on record."""
    if any(c not in frame.columns for c in _NEEDED) or frame["handoff_completeness"].isna().all():
        return None
    first, left_out = early_life_rows(frame, config)
    if truth is not None and {"account_id", "as_of", "churn_probability"} <= set(truth.columns):
        keys = [
            "account_id",
            "as_of",
            *(["spine"] if "spine" in truth and "spine" in first else []),
        ]
        oracle = truth[[*keys, "churn_probability"]].rename(
            columns={"churn_probability": "_true_churn"}
        )
        oracle = oracle.assign(
            account_id=oracle["account_id"].astype(str), as_of=pd.to_datetime(oracle["as_of"])
        )
        first = first.assign(
            account_id=first["account_id"].astype(str), as_of=pd.to_datetime(first["as_of"])
        ).merge(oracle, on=keys, how="left")
    bands = []
    for name in [*band_names(config.handoffs.evidence_bands), NO_HANDOFF]:
        members = first[first["band"] == name]
        known = members["churn"].notna()
        n, churned = int(known.sum()), int((members.loc[known, "churn"] == 1).sum())
        interval = wilson_interval(churned, n)
        band: dict[str, Any] = {
            "band": name,
            "accounts": len(members),
            "known": n,
            "churned": churned,
            "churn_rate": churned / n if n else None,
            "interval": list(interval) if interval else None,
            "thin": n < THIN_BAND_OUTCOMES,
        }
        if "_true_churn" in members and members["_true_churn"].notna().any():
            band["true_churn_probability"] = float(members.loc[known, "_true_churn"].mean())
        bands.append(band)
    settings = config.handoffs
    return {
        "bands": bands,
        "accounts": len(first),
        "known": int(first["churn"].notna().sum()),
        "left_out_before_recording": left_out,
        "missing_after_days": settings.missing_after_days,
        "early_life_days": settings.early_life_days,
        "sentence": _sentence(bands),
    }


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _sentence(bands: list[dict[str, Any]]) -> str:
    """The comparison a CS leader reads: the least complete band with outcomes against the most
    complete, and whether their intervals are apart."""
    graded = [b for b in bands if b["band"] != NO_HANDOFF and b["known"]]
    if len(graded) < 2:
        return (
            "Too few early-life accounts with a known outcome in more than one completeness band "
            "to compare."
        )
    low, high = graded[0], graded[-1]

    def said(b: dict[str, Any]) -> str:
        lo, hi = b["interval"]
        return (
            f"{_pct(b['churn_rate'])} [{_pct(lo)}, {_pct(hi)}] of {b['known']} accounts with "
            f"handoff completeness {b['band']}"
        )

    apart = low["interval"][0] > high["interval"][1] or high["interval"][0] > low["interval"][1]
    verdict = (
        "the intervals do not overlap: in this data the difference is beyond chance"
        if apart
        else "the intervals overlap: this data cannot tell the two apart"
    )
    thin = " (few outcomes: read with care)" if low["thin"] or high["thin"] else ""
    none = next((b for b in bands if b["band"] == NO_HANDOFF and b["known"]), None)
    if none is not None:
        lo, hi = none["interval"]
        thin += (
            f". With no handoff recorded: {_pct(none['churn_rate'])} [{_pct(lo)}, {_pct(hi)}] "
            f"of {none['known']}"
        )
    return (
        f"Early-life churn was {said(low)}, against {said(high)}; {verdict}{thin}. Observed, "
        "not an experiment: it shows where early churn concentrates, not that completing the "
        "handoff alone would prevent it."
    )
