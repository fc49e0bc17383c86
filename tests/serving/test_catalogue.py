import math
import re
from pathlib import Path

import pytest

from features.contract import TABLES
from serving.catalogue import CATALOGUE, describe, feature_label

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def catalogue_names_in_architecture() -> set[str]:
    """Every backticked feature name in the feature catalogue table of docs/architecture.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Feature catalogue", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| ") or "(`features/" not in line:
            continue
        features_cell = line.split("|")[2]
        # Drop parenthesised explanations, which hold formulas rather than names.
        features_cell = re.sub(r"\([^)]*\)", "", features_cell)
        names |= set(re.findall(r"`([a-z0-9_]+)`", features_cell))
    # Table names appear in the account row's explanation ("extra columns of `accounts`").
    return {n for n in names if not n.startswith("attr_") and n not in TABLES}


def test_every_architecture_feature_has_an_entry() -> None:
    names = catalogue_names_in_architecture()
    assert len(names) > 50
    assert sorted(names - set(CATALOGUE)) == []


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        (
            "weekly_active_users_slope_12w_pct",
            -42.0,
            "Weekly active users down 42% per week over 12 weeks",
        ),
        ("active_users_28d_change_pct", -42.4, "Active users down 42% over the last 28 days"),
        ("usage_14d_change_pct", 12.0, "Usage up 12% over the last 14 days"),
        ("usage_14d_change_pct", 0.2, "Usage flat over the last 14 days"),
        ("days_since_champion_left", 23.0, "Champion left 23 days ago"),
        ("days_since_champion_left", 1.0, "Champion left 1 day ago"),
        ("escalated_tickets_30d", 3.0, "3 escalated tickets in the last 30 days"),
        ("escalated_tickets_30d", 1.0, "1 escalated ticket in the last 30 days"),
        ("seat_utilization", 1.18, "Using 118% of licensed seats"),
        ("champion_present", 0.0, "No champion in place"),
        ("onboarding_stalled", 1.0, "Onboarding stalled past its benchmark"),
        ("days_to_renewal", 87.0, "Renewal in 87 days"),
        ("arr", 48_200.0, "ARR of $48k"),
        ("nps_change", -3.0, "NPS down 3 points since the previous survey"),
        ("outreach_response_rate_90d", 0.25, "Replies to 25% of outreach (90 days)"),
        ("account_industry", "Retail", "Industry is Retail"),
    ],
)
def test_sentences(feature: str, value: object, text: str) -> None:
    assert describe(feature, value) == text


def test_unknown_features_get_a_generic_sentence() -> None:
    assert describe("attr_plan", "Two year") == "Plan is Two year"
    assert describe("attr_monthly_charges", 12.3) == "Monthly charges is 12.3"
    assert describe("brand_new_feature", 7.0) == "Brand new feature is 7"
    assert feature_label("attr_contract_type") == "Contract type"


def test_missing_values_say_so() -> None:
    assert describe("nps_last", math.nan) == "No NPS response on record"
    assert describe("days_since_champion_left", None) == "No champion has left"
    assert describe("attr_plan", None) == "Plan not recorded"


def test_plays_are_context_never_a_reason_and_no_play_is_no_data_gap() -> None:
    from serving.catalogue import describe, is_data_gap, is_driver

    for feature in ("play_active", "plays_started_90d", "days_since_play"):
        assert not is_driver(feature)
    assert not is_data_gap("days_since_play")
    assert describe("play_active", 1.0) == "A CS play is running"
    assert describe("days_since_play", 12.0) == "Last CS play started 12 days ago"
