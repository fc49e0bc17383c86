"""The LightGBM candidates of `retain train` and the choice of the one to register.

Only LightGBM models are registered (serving's exact reasons and batch scoring on Spark rely on
one booster format), so every candidate is a `SegmentedModel`:

- `segmented`: the global booster refined per segment through `init_score`, a refinement kept
  only where it ranks the segment's out-of-time rows better (never worse than global by
  construction on the evidence at hand);
- `global`: one booster and one calibration for all;
- `small_data`: one booster for all with stronger regularization (`[training]
  small_data_params`): the defaults overfit small tabular books, where logistic regression wins;
- `tuned`: the segmented model with Optuna's parameters per segment, when `--tune N` is given.

All are fitted on the same rows and compared on the same out-of-time rows (the latest by the
target's known date), of the selection half of their accounts: the decision half kept the
segmented candidate's refinements and calibrated them, and a candidate compared on rows its own
choices were made on looks better than it is (`training._split.decision_half`). `global` is the
default; another candidate replaces the current choice
only when it beats it on the primary metric (`[evaluation] primary_metric`) beyond the noise:
the 95% interval of the paired difference (accounts resampled) lies entirely on the better
side. Those rows also fitted each candidate's calibration and segment choices, so a margin
within the noise is no evidence: the simpler model wins ties. The comparison table carries
every model's interval against the chosen one; the baselines are reported beside them, and the
selection says so when logistic regression beats every LightGBM candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from retain.config import Config
from training._metrics import (
    LOWER_IS_BETTER,
    METRICS,
    metric_value,
    paired_bootstrap_interval,
    validation_metrics,
)
from training._split import selection_rows
from training.segmented import SegmentedModel

LIGHTGBM_CANDIDATES: tuple[str, ...] = ("segmented", "global", "small_data", "tuned")
N_BOOTSTRAP = 200


def candidate_models(
    target: str, config: Config, segment_params: Mapping[str, Any] | None = None
) -> dict[str, SegmentedModel]:
    """The unfitted LightGBM candidates (`tuned` only with tuned `segment_params`)."""
    small = dict(config.training.small_data_params)
    models = {
        "segmented": SegmentedModel(target, config),
        "global": SegmentedModel(target, config, segmentation="none"),
        "small_data": SegmentedModel(target, config, booster_params=small, segmentation="none"),
    }
    if segment_params:
        models["tuned"] = SegmentedModel(target, config, segment_params=dict(segment_params))
    return models


@dataclass
class Selection:
    """Which candidate is registered, and the comparison behind it."""

    target: str
    metric: str
    chosen: str
    # One row per model (candidates and baselines): validation metrics, the primary metric's
    # paired difference to the chosen candidate and its 95% interval over resampled accounts.
    table: pd.DataFrame
    note: str
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def logistic_beats_every_candidate(self) -> bool:
        return "logistic beats every LightGBM candidate" in self.note


def select_candidate(
    candidates: Mapping[str, SegmentedModel],
    baselines: Mapping[str, np.ndarray],
    rows: pd.DataFrame,
    target: str,
    config: Config,
    *,
    n_bootstrap: int = N_BOOTSTRAP,
) -> Selection:
    """The best fitted candidate by the primary metric on the shared out-of-time rows.

    `baselines` maps a baseline's name to its probabilities on those rows
    (`training._split.selection_rows`; fitted on the training side only). Lower-is-better
    metrics (brier, log_loss) are minimised. The paired intervals take `n_bootstrap` replicates
    (0: none, NaN in the table).
    """
    # The gate's calibration error has no per-model validation value here: rank by PR-AUC then.
    metric = config.evaluation.primary_metric
    metric = metric if metric in METRICS else "pr_auc"
    lower_is_better = metric in LOWER_IS_BETTER
    # The selection half: refinements were kept and calibrated on the other (decision) half.
    tc = config.training
    valid = selection_rows(rows, target, tc.validation_fraction, tc.seed)
    y = rows[target].to_numpy(dtype=int)[valid]
    accounts = rows["account_id"].to_numpy()[valid]
    validation = rows[valid]
    probabilities = {name: m.predict_proba(validation)[:, 1] for name, m in candidates.items()}
    scores = {name: metric_value(metric, y, p) for name, p in probabilities.items()}

    all_probabilities = {**probabilities, **baselines}
    intervals: dict[tuple[str, str], tuple[float, float]] = {}

    def interval(name: str, reference: str) -> tuple[float, float]:
        """Paired interval of `name` minus `reference`, computed once per pair."""
        if (name, reference) not in intervals:
            intervals[name, reference] = paired_bootstrap_interval(
                y,
                all_probabilities[name],
                all_probabilities[reference],
                accounts,
                metric,
                config.training.seed,
                n_bootstrap,
            )
        return intervals[name, reference]

    def beats(name: str, current: str) -> bool:
        if n_bootstrap <= 0:
            better = (
                scores[name] < scores[current]
                if lower_is_better
                else scores[name] > scores[current]
            )
            return bool(better)
        low, high = interval(name, current)
        return bool(high < 0) if lower_is_better else bool(low > 0)

    ordered = sorted(scores, key=lambda n: scores[n] if lower_is_better else -scores[n])
    chosen = "global" if "global" in candidates else ordered[0]
    for name in ordered:
        if name != chosen and beats(name, chosen):
            chosen = name
    table = []
    for name, p in all_probabilities.items():
        metrics = validation_metrics(y, p)
        low, high = (0.0, 0.0) if name == chosen else interval(name, chosen)
        table.append(
            {
                "target": target,
                "model": name,
                "kind": "candidate" if name in candidates else "baseline",
                "chosen": name == chosen,
                "valid_rows": len(y),
                "valid_positives": int(y.sum()),
                **metrics,
                f"{metric}_vs_chosen": metrics[metric] - scores[chosen],
                f"{metric}_vs_chosen_low": low,
                f"{metric}_vs_chosen_high": high,
            }
        )
    frame = pd.DataFrame(table)
    best = ordered[0]
    if best == chosen or scores[best] == scores[chosen]:  # a tie is no better than the choice
        note = f"{chosen} has the best out-of-time {metric} ({scores[chosen]:.4f})"
    else:
        note = (
            f"{chosen} is kept ({metric} {scores[chosen]:.4f}): no candidate beats it beyond "
            f"the bootstrap noise"
        )
    runner_up = next((n for n in ordered if n != chosen), None)
    if runner_up is not None and n_bootstrap > 0:
        row = frame.set_index("model").loc[runner_up]
        note += (
            f"; {runner_up} {scores[runner_up]:.4f} (difference {row[f'{metric}_vs_chosen']:+.4f}, "
            f"95% interval {row[f'{metric}_vs_chosen_low']:+.4f} to "
            f"{row[f'{metric}_vs_chosen_high']:+.4f})"
        )
    logistic = baselines.get("logistic")
    if logistic is not None:
        value = metric_value(metric, y, logistic)
        beats = value < scores[chosen] if lower_is_better else value > scores[chosen]
        if beats:
            note += (
                f"; logistic beats every LightGBM candidate ({metric} {value:.4f}): the data may "
                "be too small or too linear for boosted trees (only LightGBM models are "
                "registered, because serving's exact reasons rely on them)"
            )
    return Selection(
        target=target,
        metric=metric,
        chosen=chosen,
        table=frame,
        note=note,
        probabilities=all_probabilities,
    )
