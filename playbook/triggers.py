"""Triggers: one small pure function per kind, over a frame of scored accounts.

Each returns `(fires, text)`: a boolean Series and, where it fires, the sentence that says why
("Champion left 23 days ago"), empty elsewhere. `play_fires` combines the kinds as
`retain.config.PlayConfig` describes: the openers (signals, drivers, expansion ready) open a
play when any of those given fires; the filters (bands, renewal window) must all hold. A
missing value never fires: an account whose data does not say is not routed on a guess.

The accounts frame has one row per account with `signals` and `reasons` as lists of dicts (the
scores' JSON, parsed: `{"name", "text"}` and `{"feature", "direction", "text"}`),
`health_band`, `expansion_probability` and `days_to_renewal` (see `playbook.recommend`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from retain.config import PlayConfig

Fired = tuple[pd.Series, pd.Series]


def _first_text(items: Iterable[dict] | None, key: str, wanted: Sequence[str], **match) -> str:
    """The text of the first item whose `key` is in `wanted` (and whose fields match)."""
    for item in items or ():
        if item.get(key) in wanted and all(item.get(k) == v for k, v in match.items()):
            return str(item.get("text") or item.get(key))
    return ""


def _fired(text: pd.Series) -> Fired:
    return text.ne(""), text


def signal_trigger(signals: pd.Series, names: Sequence[str]) -> Fired:
    """Any of the signals `names` fired (the first of them, in the scores' order, says why)."""
    return _fired(signals.map(lambda items: _first_text(items, "name", names)))


def driver_trigger(reasons: pd.Series, features: Sequence[str]) -> Fired:
    """Any of `features` is among the top reasons raising the risk (the strongest says why)."""
    return _fired(
        reasons.map(lambda items: _first_text(items, "feature", features, direction="raises"))
    )


def expansion_trigger(probability: pd.Series, ready_from: float) -> Fired:
    """Ready to expand: expansion probability at or above `ready_from`."""
    p = pd.to_numeric(probability, errors="coerce")
    fires = p.ge(ready_from).fillna(False)
    text = p.where(fires).map(
        lambda v: f"Expansion likelihood {v:.0%} (ready from {ready_from:.0%})", na_action="ignore"
    )
    return fires, text.where(fires, "")


def band_trigger(band: pd.Series, bands: Sequence[str]) -> Fired:
    """The health band is one of `bands`."""
    fires = band.isin(list(bands))
    return fires, ("Health band " + band.astype(str)).where(fires, "")


def renewal_trigger(days_to_renewal: pd.Series, within_days: int) -> Fired:
    """The next renewal is in `[as_of, as_of + within_days]` (0 days: it renews today)."""
    d = pd.to_numeric(days_to_renewal, errors="coerce")
    fires = (d.ge(0) & d.le(within_days)).fillna(False)
    text = d.where(fires).map(_renewal_text, na_action="ignore")
    return fires, text.where(fires, "")


def _renewal_text(days: float) -> str:
    whole = round(days)
    return "Renewal today" if whole == 0 else f"Renewal in {whole} day{'' if whole == 1 else 's'}"


def play_fires(play: PlayConfig, accounts: pd.DataFrame, ready_from: float | None) -> Fired:
    """Whether `play` fires for each account, and the reason that opened it.

    The reason joins the first opener's sentence and the filters' sentences ("Health band red;
    Renewal in 87 days"). `ready_from` is needed only by a play with `expansion_ready`.
    """
    index = accounts.index
    openers: list[Fired] = []
    if play.signals:
        openers.append(signal_trigger(accounts["signals"], play.signals))
    if play.drivers:
        openers.append(driver_trigger(accounts["reasons"], play.drivers))
    if play.expansion_ready:
        if ready_from is None:
            raise ValueError(f"play {play.name!r} needs the expansion threshold (ready_from)")
        openers.append(expansion_trigger(accounts["expansion_probability"], ready_from))
    filters: list[Fired] = []
    if play.bands:
        filters.append(band_trigger(accounts["health_band"], play.bands))
    if play.renewal_within_days is not None:
        filters.append(renewal_trigger(accounts["days_to_renewal"], play.renewal_within_days))
    if not openers and not filters:
        # A play with no trigger at all would fire for every account: a configuration slip.
        raise ValueError(f"play {play.name!r} has no trigger")
    fires = pd.Series(True, index=index)
    for mask, _ in filters:
        fires &= mask
    opener_text = pd.Series("", index=index)
    if openers:
        opened = pd.Series(False, index=index)
        for mask, text in openers:
            opener_text = opener_text.where(opener_text.ne(""), text.where(mask, ""))
            opened |= mask
        fires &= opened
    parts = [opener_text] + [text for _, text in filters]
    reason = pd.Series(
        ["; ".join(p for p in row if p) for row in zip(*parts, strict=True)], index=index
    )
    return fires.astype(bool), reason.where(fires, "")


def days_to_renewal(
    as_of: pd.Series, renewal_date: pd.Series, fallback: pd.Series | None = None
) -> pd.Series:
    """Days from as_of to the next renewal; `fallback` (a feature) where the date is missing."""
    days = (pd.to_datetime(renewal_date) - pd.to_datetime(as_of)).dt.days.astype(float)
    if fallback is not None:
        days = days.fillna(pd.to_numeric(fallback, errors="coerce"))
    return days.replace([np.inf, -np.inf], np.nan)
