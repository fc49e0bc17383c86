"""Per-segment churn and expansion models, baselines, calibration, tuning and MLflow tracking.

Public API (docs/architecture.md, "Models"): `SegmentedModel`, `GlobalModel`,
`LogisticBaseline`, `RuleScorecard`, `Explanation`, `labelled_rows`, `fit_candidates`; the
`training.bands` and `training.registry` modules. Names load lazily so that importing the CLI
(`retain --help`) does not import LightGBM.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.baselines import LogisticBaseline, RuleScorecard
    from training.candidates import fit_candidates, labelled_rows
    from training.explain import Explanation
    from training.global_model import GlobalModel
    from training.segmented import SegmentedModel

_EXPORTS = {
    "SegmentedModel": "training.segmented",
    "GlobalModel": "training.global_model",
    "LogisticBaseline": "training.baselines",
    "RuleScorecard": "training.baselines",
    "Explanation": "training.explain",
    "labelled_rows": "training.candidates",
    "fit_candidates": "training.candidates",
}

__all__ = [
    "Explanation",
    "GlobalModel",
    "LogisticBaseline",
    "RuleScorecard",
    "SegmentedModel",
    "fit_candidates",
    "labelled_rows",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'training' has no attribute {name!r}")
