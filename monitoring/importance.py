"""How much each monitored model relies on each feature: its share of the boosters' total gain.

Drift in a feature no model reads changes no score; drift in the top driver changes many. The
share is summed over the global booster and every per-segment refinement of a SegmentedModel
(a refinement adds to the global margin, so its splits weigh the same way).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def gain_shares(model: Any) -> dict[str, float] | None:
    """Feature -> share of total split gain (sums to 1), or None for a model without boosters."""
    names = getattr(model, "feature_names_", None)
    global_booster = getattr(model, "global_booster_", None)
    if names is None or global_booster is None:
        return None
    boosters = [global_booster, *getattr(model, "boosters_", {}).values()]
    gain = np.zeros(len(names))
    for booster in boosters:
        values = np.asarray(booster.feature_importance(importance_type="gain"), dtype=float)
        if values.shape == gain.shape:
            gain += values
    total = gain.sum()
    if total <= 0:
        return dict.fromkeys(names, 0.0)
    return {name: float(value / total) for name, value in zip(names, gain, strict=True)}


def importance_by_feature(models: dict[str, Any]) -> dict[str, dict[str, float]] | None:
    """Per feature, {target: gain share} over the monitored models; None when none has boosters."""
    by_target = {target: gain_shares(getattr(m, "model", m)) for target, m in models.items()}
    by_target = {target: shares for target, shares in by_target.items() if shares is not None}
    if not by_target:
        return None
    names = dict.fromkeys(name for shares in by_target.values() for name in shares)
    return {
        name: {target: shares.get(name, 0.0) for target, shares in by_target.items()}
        for name in names
    }
