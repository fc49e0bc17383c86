"""Signals: the rule triggers CS teams act on, read from the same snapshot as the scores.

A signal is independent of the model: it says "this happened" (the champion left), while a
reason says "this is why the model thinks so". Each needs only the features it reads; a
snapshot without them (a source with no tickets table, say) simply raises no such signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from retain.config import Config


@dataclass(frozen=True)
class SignalRule:
    name: str
    fires: Callable[[Mapping[str, Any], Config], bool]
    text: Callable[[Mapping[str, Any], Config], str]


def _number(row: Mapping[str, Any], feature: str) -> float | None:
    value = row.get(feature)
    if value is None or isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _at_least(row: Mapping[str, Any], feature: str, threshold: float) -> bool:
    value = _number(row, feature)
    return value is not None and value >= threshold


def _usage_drop(row: Mapping[str, Any], config: Config) -> bool:
    change = _number(row, "usage_14d_change_pct")
    if change is not None:
        return change <= -config.features.usage_drop_pct
    return _at_least(row, "usage_drop_40pct_14d", 0.5)


def _usage_drop_text(row: Mapping[str, Any], config: Config) -> str:
    change = _number(row, "usage_14d_change_pct")
    days = config.features.usage_drop_days
    if change is None:
        return f"Usage down {config.features.usage_drop_pct:.0f}% or more in {days} days"
    return f"Usage down {abs(change):.0f}% in the last {days} days"


def _champion_left(row: Mapping[str, Any], config: Config) -> bool:
    return _at_least(row, "champion_left_90d", 0.5)


def _champion_left_text(row: Mapping[str, Any], config: Config) -> str:
    days = _number(row, "days_since_champion_left")
    if days is None:
        return "Champion left in the last 90 days"
    days_int = round(days)
    return f"Champion left {days_int} day{'' if days_int == 1 else 's'} ago"


def _open_escalation(row: Mapping[str, Any], config: Config) -> bool:
    return _at_least(row, "open_escalations", 1.0)


def _open_escalation_text(row: Mapping[str, Any], config: Config) -> str:
    count = round(_number(row, "open_escalations") or 0)
    return f"{count} open escalation{'' if count == 1 else 's'}"


def _onboarding_stalled(row: Mapping[str, Any], config: Config) -> bool:
    return _at_least(row, "onboarding_stalled", 0.5)


def _onboarding_stalled_text(row: Mapping[str, Any], config: Config) -> str:
    benchmark = config.features.onboarding_benchmark_days
    return f"Onboarding stalled past its {benchmark}-day benchmark"


def _renewal_soon(row: Mapping[str, Any], config: Config) -> bool:
    days = _number(row, "days_to_renewal")
    return days is not None and 0 <= days <= config.serving.renewal_signal_days


def _renewal_soon_text(row: Mapping[str, Any], config: Config) -> str:
    days = round(_number(row, "days_to_renewal") or 0)
    return f"Renewal in {days} day{'' if days == 1 else 's'}"


def _over_seats(row: Mapping[str, Any], config: Config) -> bool:
    utilization = _number(row, "seat_utilization")
    return utilization is not None and utilization > 1.0


def _over_seats_text(row: Mapping[str, Any], config: Config) -> str:
    return f"Using {(_number(row, 'seat_utilization') or 0) * 100:.0f}% of licensed seats"


def _handoff_gaps(row: Mapping[str, Any]) -> list[str]:
    """What an early-life handoff lacks (a field the source does not have is no gap)."""
    gaps = []
    if _number(row, "handoff_success_criteria") == 0.0:
        gaps.append("no success criteria")
    if _number(row, "handoff_champion_named") == 0.0:
        gaps.append("no champion")
    return gaps


def _early_handoff(row: Mapping[str, Any]) -> bool:
    # Set only in early life, once a handoff is on record or overdue (0 when missing).
    return _number(row, "handoff_completeness_first_180d") is not None


def _handoff_missing_early(row: Mapping[str, Any], config: Config) -> bool:
    return _early_handoff(row) and _at_least(row, "handoff_missing", 0.5)


def _handoff_incomplete(row: Mapping[str, Any], config: Config) -> bool:
    return _early_handoff(row) and (
        bool(_handoff_gaps(row)) or _at_least(row, "handoff_missing", 0.5)
    )


def _handoff_incomplete_text(row: Mapping[str, Any], config: Config) -> str:
    if _handoff_missing_early(row, config):
        days = config.handoffs.missing_after_days
        return f"No handoff more than {days} days after the account started"
    return "Handoff incomplete: " + ", ".join(_handoff_gaps(row))


RULES: tuple[SignalRule, ...] = (
    SignalRule("usage_drop", _usage_drop, _usage_drop_text),
    SignalRule("champion_left", _champion_left, _champion_left_text),
    SignalRule("open_escalation", _open_escalation, _open_escalation_text),
    SignalRule("onboarding_stalled", _onboarding_stalled, _onboarding_stalled_text),
    SignalRule("renewal_soon", _renewal_soon, _renewal_soon_text),
    SignalRule("over_licensed_seats", _over_seats, _over_seats_text),
    SignalRule("handoff_incomplete", _handoff_incomplete, _handoff_incomplete_text),
)

SIGNAL_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)
# Every feature a rule reads: callers may pass rows holding only these.
SIGNAL_FEATURES: tuple[str, ...] = (
    "usage_14d_change_pct",
    "usage_drop_40pct_14d",
    "champion_left_90d",
    "days_since_champion_left",
    "open_escalations",
    "onboarding_stalled",
    "days_to_renewal",
    "seat_utilization",
    "handoff_completeness_first_180d",
    "handoff_success_criteria",
    "handoff_champion_named",
    "handoff_missing",
)


def signals_of(row: Mapping[str, Any], config: Config) -> list[dict[str, str]]:
    """The signals one snapshot raises, in the fixed order of `RULES`."""
    return [
        {"name": rule.name, "text": rule.text(row, config)}
        for rule in RULES
        if rule.fires(row, config)
    ]
