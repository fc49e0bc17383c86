"""The headline model of a backtest: the one its summary, evidence and paired differences speak of.

`chosen` is the candidate the selection rule of `retain train` picks on each window's own
out-of-time rows, i.e. what would have been registered and served; a backtest run without it
(an older candidate list, a custom `fit`) falls back to `segmented`, then to the first model
that is not the oracle (the oracle is a limit, never a product).
"""

from __future__ import annotations

from collections.abc import Iterable

HEADLINE_PREFERENCE: tuple[str, ...] = ("chosen", "segmented")
ORACLE = "oracle"


def headline_model(models: Iterable[str]) -> str | None:
    """The headline among `models` (names in the backtest's order), or None when none qualifies."""
    names = list(models)
    for name in HEADLINE_PREFERENCE:
        if name in names:
            return name
    return next((name for name in names if name != ORACLE), None)
