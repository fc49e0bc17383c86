"""The smallest value a caller-sent feature can take: counts, amounts, durations are >= 0.

Names are the feature catalogue's (docs/architecture.md); a feature not listed here has no bound
(changes, slopes, NPS deltas and custom `attr_` columns can be negative). A change in percent
cannot fall below -100%: nothing drops by more than all of it.
"""

from __future__ import annotations

from collections.abc import Iterable

_NOT_NEGATIVE = (
    # usage
    "active_users_7d",
    "active_users_28d",
    "active_users_90d",
    "events_28d",
    "key_events_28d",
    "key_events_per_active_user_28d",
    "features_used_28d",
    "usage_drop_40pct_14d",
    "seat_utilization",
    "seat_utilization_90d",
    "days_since_last_activity",
    # support
    "tickets_30d",
    "tickets_90d",
    "high_priority_tickets_90d",
    "escalated_tickets_30d",
    "escalated_tickets_90d",
    "open_tickets",
    "open_escalations",
    "median_resolution_hours_90d",
    "ticket_csat_avg_90d",
    # relationship
    "active_contacts",
    "champion_present",
    "champion_left_90d",
    "days_since_champion_left",
    "executive_sponsor_present",
    "executive_sponsor_lost",
    "days_since_sponsor_left",
    "decision_maker_present",
    "meetings_90d",
    "qbrs_180d",
    "emails_out_90d",
    "outreach_response_rate_90d",
    "days_since_last_touch",
    # outcome
    "milestones_done",
    "milestones_overdue",
    "onboarding_completion_pct",
    "first_value_reached",
    "days_to_first_value",
    "onboarding_stalled",
    # commercial
    "arr",
    "seats",
    "tenure_days",
    "contract_term_days",
    "renewals_count",
    "arr_per_seat",
    # sentiment
    "nps_last",
    "days_since_last_nps",
    "survey_csat_avg_180d",
    # account
    "account_employees",
)
_CHANGE_PCT = (
    "active_users_28d_change_pct",
    "key_events_28d_change_pct",
    "usage_14d_change_pct",
    "tickets_90d_change_pct",
    "key_events_per_active_user_28d_change_pct",
    "arr_change_pct_365d",
)

MINIMUM: dict[str, float] = {name: 0.0 for name in _NOT_NEGATIVE} | {
    name: -100.0 for name in _CHANGE_PCT
}


def minimums(features: Iterable[str]) -> dict[str, float]:
    """The bound of each of `features` that has one."""
    return {name: MINIMUM[name] for name in features if name in MINIMUM}


def below_minimum(name: str, value: object) -> float | None:
    """The minimum `value` of feature `name` falls below, else None (missing never does)."""
    bound = MINIMUM.get(name)
    if bound is None or not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return bound if value < bound else None
