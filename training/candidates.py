"""The rows a model may learn from, and the models a backtest fits side by side.

`fit_candidates` fits the LightGBM candidates of `training.selection` and the baselines on one
training window, and adds `chosen`: the candidate the selection rule of `retain train` picks on
that window's own out-of-time rows. Backtesting `chosen` measures the selection procedure
itself, not the luckiest candidate in hindsight.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.progress import Progress

from features.frame import TARGETS, known_at_column, known_label_mask
from retain.config import Config
from retain.errors import RetainError
from training.baselines import LogisticBaseline, RuleScorecard
from training.global_model import GlobalModel
from training.segmented import SegmentedModel, require_columns
from training.selection import select_candidate

CANDIDATES: tuple[str, ...] = (
    "chosen",
    "segmented",
    "global",
    "small_data",
    "logistic",
    "scorecard",
)


def labelled_rows(
    frame: pd.DataFrame, target: str, cutoff: str | pd.Timestamp | None = None
) -> pd.DataFrame:
    """Rows whose `target` outcome is known, and known strictly before `cutoff` when given.

    A label whose horizon (plus grace) ends on or after the cutoff was not knowable at the cutoff,
    so a model trained "as of" the cutoff must never see it.
    """
    if target not in TARGETS:
        raise RetainError(f"Unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    require_columns(frame, (target, known_at_column(target)), "Training")
    return frame.loc[known_label_mask(frame, target, cutoff)]


def fit_candidates(
    frame: pd.DataFrame,
    target: str,
    config: Config | None = None,
    cutoff: str | pd.Timestamp | None = None,
    progress: Progress | None = None,
    segment_params: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fit the models of `CANDIDATES` on the labelled rows (no MLflow)."""
    config = config or Config()
    rows = labelled_rows(frame, target, cutoff)
    if rows.empty:
        where = f" before {pd.Timestamp(cutoff).date()}" if cutoff is not None else ""
        raise RetainError(
            f"No row of the feature frame ({len(frame)} rows) has a known {target!r} label"
            f"{where}; an outcome is known only after its window (the next renewal, at least "
            f"{config.labels.min_risk_days} days, for churn; {config.labels.horizon_days} days "
            "for expansion) plus the grace days"
        )
    y = rows[target].astype(int)
    small = dict(config.training.small_data_params)
    models: dict[str, Any] = {
        "segmented": SegmentedModel(target, config, segment_params=segment_params),
        "small_data": SegmentedModel(target, config, booster_params=small, segmentation="none"),
        "logistic": LogisticBaseline(target, config),
        "scorecard": RuleScorecard(target, config),
    }
    task = progress.add_task(f"fit {target}", total=len(models)) if progress else None
    for name, model in models.items():
        if progress is not None and task is not None:
            progress.update(task, description=f"fit {target}: {name}")
        model.fit(rows, y)
        if progress is not None and task is not None:
            progress.advance(task)
    # The segmented model already trained the global booster on the same rows.
    models["global"] = GlobalModel.from_segmented(models["segmented"])
    lightgbm = {name: models[name] for name in ("segmented", "global", "small_data")}
    # Fewer replicates than `retain train` uses: the rule is the same, and a backtest runs it
    # once per window and target.
    selection = select_candidate(lightgbm, {}, rows, target, config, n_bootstrap=100)
    models["chosen"] = models[selection.chosen]
    return {name: models[name] for name in CANDIDATES}
