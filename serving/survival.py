"""Time to churn in serving: the survival model trained with the churn model, and its curves.

The curve served for an account is the SurvivalModel's S(t), anchored to the account's calibrated
`churn_probability` at its risk window's end T (`training.survival.anchor_to_churn`), so the two
numbers never disagree: 1 - S(T) is the renewal risk. `survival[i]` is S(i + 1), the probability
of still being a customer i + 1 months after as_of; `expected_months_retained` is the area under
the curve over the next 24 months.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retain.config import Config

if TYPE_CHECKING:
    from serving.scoring import ModelPair
    from training.survival import SurvivalModel

SURVIVAL_FOLDER = "survival"  # beside churn/ and expansion/ in a saved model folder
_CACHE: dict[tuple[str, ...], Any] = {}


def load_survival_model(models: ModelPair, config: Config) -> SurvivalModel | None:
    """The SurvivalModel of the churn model being served, or None when it has none.

    `serving.model_path`: its `survival/` folder (written by SurvivalModel.save); the registry:
    the model the churn version's tag points at (`training.registry.load_survival`).
    """
    from training.survival import SurvivalModel

    info = models.churn_info
    key = (
        config.tracking.resolved_tracking_uri(),
        str(config.serving.model_path or ""),
        info.name,
        info.version,
    )
    if key in _CACHE:
        return _CACHE[key]
    if config.serving.model_path:
        folder = Path(config.serving.model_path) / SURVIVAL_FOLDER
        model = SurvivalModel.load(folder) if folder.is_dir() else None
    else:
        from training.registry import ModelRef, load_survival

        model = load_survival(ModelRef(name=info.name, version=info.version), config)
    _CACHE[key] = model
    return model


def add_survival(
    results: Sequence[dict[str, Any]],
    frame: pd.DataFrame,
    survival: SurvivalModel | None,
    config: Config,
) -> Sequence[dict[str, Any]]:
    """Add `survival` (monthly S(t), rounded to 4 places) and `expected_months_retained` to each
    result of `frame`'s rows (in order); results stay as they are without a survival model."""
    from training.survival import anchored_curves, expected_months_retained

    if survival is None or len(results) == 0:
        return results
    p = np.array([r["churn_probability"] for r in results], dtype=np.float64)
    curves = anchored_curves(survival, frame.reset_index(drop=True), p, config)
    months = expected_months_retained(curves)
    for result, curve, expected in zip(results, curves, months, strict=True):
        result["survival"] = [round(float(v), 4) for v in curve]
        result["expected_months_retained"] = round(float(expected), 2)
    return results


def survival_at_month(results: Sequence[dict[str, Any]], month: int) -> list[float | None]:
    """S(month) of each result, None where it has no curve."""
    return [
        None if not r.get("survival") or len(r["survival"]) < month else r["survival"][month - 1]
        for r in results
    ]


def survival_svg(curve: Sequence[float] | None, months: int = 24) -> str:
    """A small inline SVG of S(t) over `months` months (numbers only, safe to embed)."""
    if not curve:
        return ""
    width, height, pad = 160, 48, 3
    points = [1.0, *[float(v) for v in curve[:months]]]
    n = len(points) - 1
    # An open path ("M x,y x,y ..." is a line through the points) renders the same everywhere.
    xy = " ".join(
        f"{pad + (width - 2 * pad) * i / n:.1f},{pad + (height - 2 * pad) * (1 - s):.1f}"
        for i, s in enumerate(points)
    )
    mid = pad + (width - 2 * pad) * 12 / n
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="survival curve over {n} months">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f6f8fa"/>'
        f'<line x1="{mid:.1f}" y1="0" x2="{mid:.1f}" y2="{height}" stroke="#d0d7de"/>'
        f'<path fill="none" stroke="#cf222e" stroke-width="1.5" d="M{xy}"/></svg>'
    )
