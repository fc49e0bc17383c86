"""Which evaluation a data source supports, and the settings that suit it (`retain profile`).

`supported_evaluation(profile, config)` plans the backtest on the profile's label frame exactly
as `retain backtest` would (evaluation._plan), without training anything: per target the scheme
(rolling origins or k-fold) with its note, and suggested settings. `settings_toml` writes those
settings as a retain.toml, with the facts behind each as comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from evaluation._origins import find_origins
from evaluation._plan import ROLLING, plan_backtest
from features.profile import DataProfile
from retain.config import Config

_HINT = re.compile(r"`\[labels\] (\w+) = (\d+)`")


@dataclass
class SupportedEvaluation:
    """The plan per target and the settings suggested for this data."""

    plans: dict[str, dict[str, Any]]
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # "section.key" -> why


def supported_evaluation(profile: DataProfile, config: Config) -> SupportedEvaluation:
    """Plan every target on `profile.labels` and derive settings from the plans."""
    plans = plan_backtest(profile.labels, config, profile.data_end, "auto")
    out = SupportedEvaluation({target: plan.as_dict() for target, plan in plans.items()})
    evaluation: dict[str, Any] = {}
    churn = plans.get("churn")
    if churn is not None and churn.scheme == ROLLING and churn.spacing:
        evaluation["origin_spacing"] = churn.spacing
        available = len(find_origins(profile.labels, "churn", config, churn.spacing).windows)
        evaluation["n_cutoffs"] = min(available, max(config.evaluation.n_cutoffs, 1))
        out.reasons["evaluation.origin_spacing"] = (
            f"{available} {churn.spacing} churn origins qualify on this data"
        )
        out.reasons["evaluation.n_cutoffs"] = "the latest origins that qualify, at most the default"
    folds = [plan for plan in plans.values() if plan.mode == "kfold"]
    if folds:
        evaluation["cv_folds"] = len(folds[0].windows)
        out.reasons["evaluation.cv_folds"] = ", ".join(
            f"{plan.target}: {plan.scheme}" for plan in folds
        )
    labels: dict[str, Any] = {}
    for plan in plans.values():
        match = _HINT.search(plan.note)
        if match:
            labels[match.group(1)] = int(match.group(2))
            out.reasons[f"labels.{match.group(1)}"] = (
                f"allows more time-honest origins for {plan.target} (fewer than "
                f"{config.evaluation.min_origins} with the current setting)"
            )
    if evaluation:
        out.settings["evaluation"] = evaluation
    if labels:
        out.settings["labels"] = labels
    return out


def _value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def settings_toml(profile: DataProfile, supported: SupportedEvaluation) -> str:
    """A retain.toml holding the suggested settings, the facts behind them as comments."""
    facts = profile.as_dict()
    lines = [
        f"# Suggested by `retain profile --data {profile.location}`.",
        f"# History: {facts['data_start'] or '(no event tables)'} to {facts['data_end']} "
        f"({facts['history_months']} months); {facts['accounts']:,} accounts, "
        f"{facts['snapshots']:,} snapshots ({facts['snapshots_per_account']} per account).",
        "# Term mix: "
        + ", ".join(f"{name} {share:.0%}" for name, share in profile.term_mix.items()),
    ]
    for target, plan in supported.plans.items():
        lines.append(f"# {target}: {plan['scheme']}; {plan['note']}")
    if not supported.settings:
        lines.append("# The defaults suit this data: nothing to change.")
    for section, values in supported.settings.items():
        lines += ["", f"[{section}]"]
        for key, value in values.items():
            why = supported.reasons.get(f"{section}.{key}")
            lines.append(f"{key} = {_value(value)}" + (f"  # {why}" if why else ""))
    return "\n".join(lines) + "\n"
