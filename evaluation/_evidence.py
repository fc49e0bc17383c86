"""How much evidence stands behind a target's backtest figures, in numbers and in plain words.

Per target: how many windows and of which scheme, how many snapshots, accounts and positive
accounts were scored, the bootstrap interval of the headline model's ROC-AUC (`chosen`, see
`evaluation._headline`); `thin` lists why
the evidence is thin, `unsupported` the conclusions it does not support (a model ranking better
than another when their paired interval holds zero; the band ratio's 2.5x level when the
interval reaches below it; anything about the future when the scheme is not time-honest), and
`beaten_by` the models (the oracle aside) that rank better than the headline model beyond the
noise: on a small book the rule scorecard can (800 simulated accounts, 36 months: scorecard
0.776 vs 0.749, paired interval +0.006 to +0.050).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from evaluation._headline import ORACLE, headline_model
from retain.config import Config

# Fewer positive accounts than this and one account more or less moves the figures visibly.
THIN_POSITIVE_ACCOUNTS = 100
# An ROC-AUC interval wider than this cannot tell a useful model from a mediocre one.
WIDE_AUC_INTERVAL = 0.10
BAND_RATIO_LEVEL = 2.5  # BRIEF: healthy accounts renew at about 2.5 times the rate of unhealthy


def _word(target: str) -> str:
    return {"churn": "churners", "expansion": "expanding accounts"}.get(target, "positives")


def evidence_for(
    target: str,
    predictions: pd.DataFrame,
    models: Mapping[str, Mapping[str, Any]],
    plan: Any,
    config: Config,
) -> dict[str, Any]:
    """The evidence block of metrics.json for one target (see the module docstring)."""
    p_column = f"p_{target}"
    reference = headline_model(models)
    rows = predictions[
        (predictions["model"] == reference)
        & predictions[target].notna()
        & predictions[p_column].notna()
    ]
    positive = rows[rows[target] == 1]
    n_windows = len({*rows["cutoff"]})
    counts = {
        "windows": n_windows,
        "scored_snapshots": len(rows),
        "scored_accounts": int(rows["account_id"].nunique()),
        "positive_snapshots": len(positive),
        "positive_accounts": int(positive["account_id"].nunique()),
    }
    thin: list[str] = []
    unsupported: list[str] = []
    beaten_by: list[str] = []
    what = "folds" if plan.mode == "kfold" else f"{plan.spacing or 'rolling'} origins"
    if plan.mode == "kfold":
        unsupported.append(
            "how the scores will do on future renewals: cross-validation mixes periods, so it "
            "is not a time-honest backtest"
        )
    elif n_windows < config.evaluation.min_origins:
        thin.append(
            f"only {n_windows} {what} (fewer than {config.evaluation.min_origins}): a figure "
            "from so few periods may not hold in the next"
        )
    if plan.mode == "rolling" and plan.known_share and min(plan.known_share.values()) < 0.9:
        thin.append(
            f"as little as {min(plan.known_share.values()):.0%} of a window's snapshots had a "
            "known outcome (the rest were still open at the data's end), so the latest windows "
            "lean on the accounts whose outcome comes soonest"
        )
    if counts["positive_accounts"] < THIN_POSITIVE_ACCOUNTS:
        thin.append(f"only {counts['positive_accounts']} {_word(target)} scored")
    entry = models.get(reference or "", {})
    auc_ci = entry.get("roc_auc_ci") or [None, None]
    if None not in auc_ci and auc_ci[1] - auc_ci[0] > WIDE_AUC_INTERVAL:
        thin.append(
            f"the {reference} model's ROC-AUC could be anywhere from {auc_ci[0]:.2f} to "
            f"{auc_ci[1]:.2f}"
        )
    for model, values in models.items():
        difference = values.get("roc_auc_vs_headline_ci")
        if model in (reference, ORACLE) or not difference or None in difference:
            continue
        if difference[0] <= 0 <= difference[1]:
            unsupported.append(
                f"that the {reference} and {model} models rank {_word(target)} differently "
                f"(ROC-AUC difference {difference[0]:+.3f} to {difference[1]:+.3f})"
            )
        elif difference[0] > 0:
            # Said as plainly as a tie: a baseline (the rule scorecard, logistic regression)
            # or another candidate ranking better beyond the noise is what a reader must know.
            beaten_by.append(
                f"the {model} model ranks {_word(target)} better than the {reference} model "
                f"beyond the noise (ROC-AUC difference {difference[0]:+.3f} to "
                f"{difference[1]:+.3f})"
            )
    ratio_ci = entry.get("band_renewal_ratio_ci")
    if target == "churn" and ratio_ci and None not in ratio_ci:
        if ratio_ci[0] < BAND_RATIO_LEVEL <= (entry.get("band_renewal_ratio") or 0):
            unsupported.append(
                f"that green accounts renew at {BAND_RATIO_LEVEL}x the rate of red ones "
                f"(interval {ratio_ci[0]:.2f} to {ratio_ci[1]:.2f})"
            )
        if ratio_ci[0] <= 1.0:
            unsupported.append(
                f"that green accounts renew more often than red ones at all (interval "
                f"{ratio_ci[0]:.2f} to {ratio_ci[1]:.2f})"
            )
    return {
        "headline": reference,
        **counts,
        "thin": thin,
        "unsupported": unsupported,
        "beaten_by": beaten_by,
        "sentence": _sentence(target, counts, what, entry, reference, thin),
    }


def _sentence(
    target: str,
    counts: Mapping[str, int],
    what: str,
    entry: Mapping[str, Any],
    reference: str | None,
    thin: list[str],
) -> str:
    auc, ci = entry.get("roc_auc"), entry.get("roc_auc_ci") or [None, None]
    figure = (
        f"ROC-AUC {auc:.2f} (95% interval {ci[0]:.2f} to {ci[1]:.2f}, accounts resampled)"
        if auc is not None and None not in ci
        else "no ROC-AUC interval"
    )
    text = (
        f"The {target} figures rest on {counts['windows']} {what}, {counts['scored_snapshots']:,} "
        f"scored snapshots of {counts['scored_accounts']:,} accounts and "
        f"{counts['positive_accounts']:,} {_word(target)}; {reference or 'the model'}: {figure}."
    )
    if thin:
        text += " The evidence is thin: " + "; ".join(thin) + "."
    return text
