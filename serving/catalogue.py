"""One catalogue entry per feature: how a CSM reads its value, and whether it is a reason.

Every name of the feature catalogue in docs/architecture.md has an entry here; a feature the
catalogue does not know (an `attr_<column>` of the accounts table, a feature added later) gets a
generic sentence from its name, so a reason never comes back without text.

Features are drivers or context. A driver is something a CSM can act on or watch move: usage,
depth, breadth, seat use, support, relationship, onboarding, sentiment, a commercial change.
Context is timing and the contract (days to renewal, term, tenure, renewal count, ARR, seats)
and static attributes: it shapes the risk but is no reason to call a customer, so it is shown
beside the reasons, never as one (`is_driver`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """How one feature is shown: a label, the unit of its value and a sentence for a value."""

    label: str
    unit: str
    render: Callable[[float], str]


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _plural(count: float, singular: str, plural: str | None = None) -> str:
    return singular if abs(count) == 1 else (plural or singular + "s")


def _money(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"${value / 1_000_000:,.1f}M"
    if abs(value) >= 10_000:
        return f"${value / 1_000:,.0f}k"
    return f"${value:,.0f}"


def _count(label: str, noun: str, window: str, plural: str | None = None) -> Entry:
    def render(value: float) -> str:
        return f"{_number(value)} {_plural(value, noun, plural)}{window}"

    return Entry(label, "count", render)


def _change(subject: str, window: str) -> Entry:
    """A percent change: direction first, because the trend matters more than the level."""

    def render(value: float) -> str:
        if round(value) == 0:
            return f"{subject} flat{window}"
        direction = "up" if value > 0 else "down"
        return f"{subject} {direction} {abs(value):.0f}%{window}"

    return Entry(f"{subject} change", "change_pct", render)


def _flag(label: str, when_true: str, when_false: str) -> Entry:
    return Entry(label, "flag", lambda value: when_true if value >= 0.5 else when_false)


def _days(label: str, sentence: Callable[[str], str]) -> Entry:
    def render(value: float) -> str:
        days = round(value)
        return sentence(f"{days:,} {_plural(days, 'day')}")

    return Entry(label, "days", render)


def _format(label: str, unit: str, template: str, scale: float = 1.0) -> Entry:
    return Entry(label, unit, lambda value: template.format(v=value * scale))


def _money_entry(label: str, template: str) -> Entry:
    return Entry(label, "usd", lambda value: template.format(money=_money(value)))


def _seat_utilization(value: float) -> str:
    return f"Using {value * 100:.0f}% of licensed seats"


def _nps_change(value: float) -> str:
    if round(value) == 0:
        return "NPS unchanged since the previous survey"
    direction = "up" if value > 0 else "down"
    return f"NPS {direction} {abs(value):.0f} points since the previous survey"


def _days_to_renewal(value: float) -> str:
    days = round(value)
    if days < 0:
        return f"Renewal date passed {-days:,} {_plural(days, 'day')} ago"
    return f"Renewal in {days:,} {_plural(days, 'day')}"


CATALOGUE: dict[str, Entry] = {
    # usage
    "active_users_7d": _count("Active users (7 days)", "active user", " in the last 7 days"),
    "active_users_28d": _count("Active users (28 days)", "active user", " in the last 28 days"),
    "active_users_90d": _count("Active users (90 days)", "active user", " in the last 90 days"),
    "active_users_28d_change_pct": _change("Active users", " over the last 28 days"),
    "events_28d": _count("Product events (28 days)", "product event", " in the last 28 days"),
    "key_events_28d": _count("Key events (28 days)", "key value event", " in the last 28 days"),
    "key_events_28d_change_pct": _change("Key value events", " over the last 28 days"),
    "key_events_per_active_user_28d": _format(
        "Depth of use", "events per user", "{v:,.1f} key events per active user in 28 days"
    ),
    "features_used_28d": _count("Breadth of use", "product feature", " used in the last 28 days"),
    "weekly_active_users_slope_12w_pct": _change("Weekly active users", " per week over 12 weeks"),
    "usage_14d_change_pct": _change("Usage", " over the last 14 days"),
    "usage_drop_40pct_14d": _flag(
        "Usage drop", "Usage fell 40% or more in 14 days", "No sharp usage drop in 14 days"
    ),
    "seat_utilization": Entry("Seat utilization", "ratio", _seat_utilization),
    "days_since_last_activity": _days(
        "Days since last activity", lambda d: f"Last product activity {d} ago"
    ),
    "key_events_slope_12w_pct": _change("Weekly key value events", " per week over 12 weeks"),
    "key_events_per_active_user_28d_change_pct": _change(
        "Key events per active user", " over the last 28 days"
    ),
    "weekly_stickiness_12w": _format(
        "Weekly habit", "ratio", "Users active in {v:.0f}% of weeks (12 weeks)", 100.0
    ),
    "key_events_per_active_user_week_12w": _format(
        "Depth of use (12 weeks)",
        "events per user",
        "{v:,.1f} key events per active user-week (12 weeks)",
    ),
    "seat_utilization_90d": _format(
        "Users per seat (90 days)",
        "ratio",
        "Users active in 90 days fill {v:.0f}% of licensed seats",
        100.0,
    ),
    # support
    "tickets_30d": _count("Tickets (30 days)", "support ticket", " in the last 30 days"),
    "tickets_90d": _count("Tickets (90 days)", "support ticket", " in the last 90 days"),
    "high_priority_tickets_90d": _count(
        "High-priority tickets (90 days)", "high-priority ticket", " in the last 90 days"
    ),
    "escalated_tickets_30d": _count(
        "Escalated tickets (30 days)", "escalated ticket", " in the last 30 days"
    ),
    "escalated_tickets_90d": _count(
        "Escalated tickets (90 days)", "escalated ticket", " in the last 90 days"
    ),
    "open_tickets": _count("Open tickets", "open support ticket", ""),
    "open_escalations": _count("Open escalations", "open escalation", ""),
    "median_resolution_hours_90d": _format(
        "Resolution time", "hours", "Median ticket resolution {v:,.0f} hours (90 days)"
    ),
    "ticket_csat_avg_90d": _format(
        "Ticket CSAT", "score 1-5", "Ticket CSAT averages {v:.1f} of 5 (90 days)"
    ),
    "tickets_90d_change_pct": _change("Support tickets", " vs the 90 days before"),
    # relationship
    "active_contacts": _count("Active contacts", "active contact", " at the account"),
    "champion_present": _flag("Champion", "A champion is in place", "No champion in place"),
    "champion_left_90d": _flag(
        "Champion left", "Champion left in the last 90 days", "No champion left in 90 days"
    ),
    "days_since_champion_left": _days(
        "Days since champion left", lambda d: f"Champion left {d} ago"
    ),
    "executive_sponsor_present": _flag(
        "Executive sponsor", "An executive sponsor is engaged", "No executive sponsor"
    ),
    "executive_sponsor_lost": _flag(
        "Executive sponsor lost",
        "The executive sponsor left and has not been replaced",
        "No executive sponsor lost",
    ),
    "days_since_sponsor_left": _days(
        "Days since sponsor left", lambda d: f"Executive sponsor left {d} ago"
    ),
    "decision_maker_present": _flag(
        "Decision maker", "The decision maker is a known contact", "No decision maker in contact"
    ),
    "meetings_90d": _count("Meetings (90 days)", "meeting", " in the last 90 days"),
    "qbrs_180d": _count("QBRs (180 days)", "QBR", " in the last 180 days"),
    "emails_out_90d": _count("Outreach emails (90 days)", "outreach email", " in the last 90 days"),
    "outreach_response_rate_90d": _format(
        "Outreach response rate", "ratio", "Replies to {v:.0f}% of outreach (90 days)", 100.0
    ),
    "days_since_last_touch": _days("Days since last touch", lambda d: f"Last CSM touch {d} ago"),
    # outcome
    "milestones_done": _count("Milestones done", "onboarding milestone", " achieved"),
    "milestones_overdue": _count("Milestones overdue", "onboarding milestone", " overdue"),
    "onboarding_completion_pct": _format(
        "Onboarding completion", "percent", "Onboarding {v:.0f}% complete"
    ),
    "first_value_reached": _flag(
        "First value", "First value reached", "First value not reached yet"
    ),
    "days_to_first_value": _days("Time to first value", lambda d: f"First value took {d}"),
    "onboarding_stalled": _flag(
        "Onboarding stalled",
        "Onboarding stalled past its benchmark",
        "Onboarding on track",
    ),
    # handoff (features/handoffs.py): completeness is a driver, CS can still complete it
    "handoff_completeness": _format(
        "Handoff completeness", "ratio", "Sales handoff {v:.0f}% complete", 100.0
    ),
    "handoff_completeness_first_180d": _format(
        "Handoff completeness (first 180 days)",
        "ratio",  # a share 0-1: the peer comparison shows it x100 too
        "Sales handoff {v:.0f}% complete in the first 180 days",
        100.0,
    ),
    "handoff_success_criteria": _flag(
        "Success criteria handed off",
        "Success criteria in the handoff",
        "No success criteria in the handoff",
    ),
    "handoff_champion_named": _flag(
        "Champion named in the handoff", "Champion named in the handoff", "No champion named"
    ),
    "handoff_missing": _flag(
        "Handoff missing", "No sales handoff on record", "Sales handoff on record"
    ),
    "days_to_handoff": _days(
        "Days to handoff", lambda d: f"Handed off {d} from the first contract's start"
    ),
    # plays (features/plays.py): what CS already did; context, never a reason, because plays
    # follow risk (a play "raising" risk would read as if the play caused it)
    "play_active": _flag("Play running", "A CS play is running", "No CS play running"),
    "plays_started_90d": _count("Plays started", "play", " started in the last 90 days"),
    "days_since_play": _days("Days since a play", lambda d: f"Last CS play started {d} ago"),
    # commercial
    "arr": _money_entry("ARR", "ARR of {money}"),
    "seats": _count("Licensed seats", "licensed seat", ""),
    "tenure_days": _days("Tenure", lambda d: f"Customer for {d}"),
    "days_to_renewal": Entry("Days to renewal", "days", _days_to_renewal),
    "contract_term_days": _days("Contract term", lambda d: f"Contract term of {d}"),
    "renewals_count": _count("Renewals", "past renewal", ""),
    "arr_change_pct_365d": _change("ARR", " over the last 12 months"),
    "arr_per_seat": _money_entry("ARR per seat", "{money} ARR per seat"),
    # sentiment
    "nps_last": _format("Last NPS", "score 0-10", "Last NPS response {v:.0f} of 10"),
    "nps_change": Entry("NPS change", "points", _nps_change),
    "days_since_last_nps": _days("Days since last NPS", lambda d: f"Last NPS response {d} ago"),
    "survey_csat_avg_180d": _format(
        "Survey CSAT", "score", "Survey CSAT averages {v:.1f} (180 days)"
    ),
    # account
    "account_employees": _count("Employees", "employee", " at the customer"),
    "account_industry": Entry("Industry", "category", lambda value: f"Industry is {value}"),
    "account_region": Entry("Region", "category", lambda value: f"Region is {value}"),
}

# Sentences for a missing value, where "missing" itself means something to a CSM.
_MISSING: dict[str, str] = {
    "nps_last": "No NPS response on record",
    "nps_change": "No NPS trend (fewer than two responses)",
    "days_since_last_nps": "No NPS response on record",
    "days_since_champion_left": "No champion has left",
    "days_since_sponsor_left": "No executive sponsor has left",
    "tickets_90d_change_pct": "No tickets in the 90 days before to compare with",
    "days_to_first_value": "First value not reached yet",
    "days_since_last_activity": "No product activity on record",
    "days_since_last_touch": "No CSM touch on record",
    "ticket_csat_avg_90d": "No ticket CSAT in the last 90 days",
    "survey_csat_avg_180d": "No survey CSAT in the last 180 days",
    "median_resolution_hours_90d": "No resolved tickets in the last 90 days",
    "outreach_response_rate_90d": "No outreach in the last 90 days",
    "seat_utilization": "Seat count unknown",
    "seat_utilization_90d": "Seat count unknown",
}


# Timing, contract and static attributes: shown beside the reasons, never as one.
CONTEXT_FEATURES: frozenset[str] = frozenset(
    {
        "days_to_renewal",
        "contract_term_days",
        "tenure_days",
        "renewals_count",
        "arr",
        "seats",
        "arr_per_seat",
        "account_employees",
        "account_industry",
        "account_region",
        "days_to_handoff",  # when sales handed off: history, no longer actionable
        "play_active",  # plays follow risk: what CS is doing, not why the account is at risk
        "plays_started_90d",
        "days_since_play",
    }
)
# A missing value of these means "it never happened", not "we do not know": no data gap.
_MISSING_MEANS_NONE: frozenset[str] = frozenset(
    {
        "days_since_champion_left",
        "days_since_sponsor_left",
        "days_since_play",
        "days_to_first_value",
        "tickets_90d_change_pct",
        "median_resolution_hours_90d",
        "ticket_csat_avg_90d",
        "outreach_response_rate_90d",
    }
)


def is_driver(feature: str) -> bool:
    """Whether `feature` may be a reason (see the module docstring)."""
    return feature not in CONTEXT_FEATURES and not feature.startswith("attr_")


def is_data_gap(feature: str) -> bool:
    """Whether a missing value of `feature` means the data does not say (a gap worth listing)."""
    return is_driver(feature) and feature not in _MISSING_MEANS_NONE


def short_value(feature: str, value: object) -> str:
    """A compact value for a comparison: "+2%", "3", "yes", "45 days", "$12k", "85%"."""
    if _is_missing(value):
        return "none"
    if isinstance(value, str):
        return value
    number = float(value)  # type: ignore[arg-type]
    unit = CATALOGUE[feature].unit if feature in CATALOGUE else ""
    if unit == "change_pct":
        return f"{number:+.0f}%"
    if unit == "flag":
        return "yes" if number >= 0.5 else "no"
    if unit == "days":
        return f"{round(number):,} days"
    if unit == "usd":
        return _money(number)
    if unit == "ratio":
        return f"{number * 100:.0f}%"
    if unit == "percent":
        return f"{number:.0f}%"
    if unit == "hours":
        return f"{number:,.0f} h"
    return _number(round(number, 1))


def feature_label(feature: str) -> str:
    """A readable name: the catalogue's label, else one made from the column name."""
    if feature in CATALOGUE:
        return CATALOGUE[feature].label
    name = feature.removeprefix("attr_").removeprefix("account_")
    return name.replace("_", " ").strip().capitalize() or feature


def describe(feature: str, value: object) -> str:
    """The sentence a CSM reads for `feature` at `value` (a number, a category or missing)."""
    if _is_missing(value):
        return _MISSING.get(feature, f"{feature_label(feature)} not recorded")
    entry = CATALOGUE.get(feature)
    if isinstance(value, str):
        return f"{feature_label(feature)} is {value}"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"{feature_label(feature)} is {value}"
    if math.isinf(number):
        return f"{feature_label(feature)} is {'very high' if number > 0 else 'very low'}"
    if entry is None:
        return f"{feature_label(feature)} is {_number(number)}"
    return entry.render(number)
