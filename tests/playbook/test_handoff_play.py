"""The handoff_incomplete signal (serving.signals) and the default handoff_completion play it
opens (retain.config DEFAULT_PLAYS), on literal feature rows."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from playbook import recommend
from retain.config import Config
from serving.signals import signals_of

CONFIG = Config()
NAN = math.nan


def _row(early: float, success: float, champion: float, missing: float) -> dict:
    """The handoff features of a snapshot; `early` is handoff_completeness_first_180d (set in
    the first 180 days once a handoff is on record or overdue: 0 when missing)."""
    return {
        "handoff_completeness_first_180d": early,
        "handoff_success_criteria": success,
        "handoff_champion_named": champion,
        "handoff_missing": missing,
    }


def _handoff_text(row: dict) -> str | None:
    texts = [s["text"] for s in signals_of(row, CONFIG) if s["name"] == "handoff_incomplete"]
    return texts[0] if texts else None


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (_row(2 / 6, 0, 0, 0), "Handoff incomplete: no success criteria, no champion"),
        (_row(4 / 6, 1, 0, 0), "Handoff incomplete: no champion"),
        (_row(4 / 6, 0, 1, 0), "Handoff incomplete: no success criteria"),
        # The source has no champion_named column: that is no gap.
        (_row(3 / 5, 0, NAN, 0), "Handoff incomplete: no success criteria"),
        (_row(5 / 6, 1, 1, 0), None),  # both there: the rest is no alarm
        (_row(0.0, NAN, NAN, 1), "No handoff more than 30 days after the account started"),
        (_row(NAN, NAN, NAN, 1), None),  # missing, but past early life: history, not an alert
        (_row(NAN, 0, 0, 0), None),  # incomplete, but past early life
        (_row(NAN, NAN, NAN, 0), None),  # no handoff yet, not overdue
        ({}, None),  # a source without handoffs raises nothing
    ],
)
def test_the_signal_fires_in_early_life_on_the_gaps_it_names(row: dict, text: str | None):
    assert _handoff_text(row) == text


def _scores(rows: list[tuple[str, str, dict, dict]]) -> pd.DataFrame:
    """Scored accounts whose signals come from `signals_of` on their feature rows."""
    return pd.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "as_of": pd.Timestamp("2026-10-01"),
            "health_band": [r[1] for r in rows],
            "churn_probability": 0.3,
            "expansion_probability": 0.05,
            "renewal_date": pd.Timestamp("2027-09-01"),
            "signals": [json.dumps(signals_of({**r[2], **r[3]}, CONFIG)) for r in rows],
            "reasons": "[]",
            "csm_id": "c1",
            "arr": 10.0,
        }
    )


def test_the_default_playbook_gives_an_incomplete_handoff_its_play_after_onboarding_rescue():
    stalled = {"onboarding_stalled": 1.0}
    scores = _scores(
        [
            ("n1", "yellow", _row(2 / 6, 0, 0, 0), {}),
            ("n2", "yellow", _row(0.0, NAN, NAN, 1), {}),
            ("n3", "red", _row(1 / 6, 0, 0, 0), stalled),
            ("n4", "yellow", _row(1.0, 1, 1, 0), {}),
        ]
    )
    plays = recommend(scores, None, CONFIG, expansion_ready_from=0.5)
    got = {(r.account_id, r.rank): r.play for r in plays.itertuples()}
    assert got == {
        ("n1", 1): "handoff_completion",
        ("n2", 1): "handoff_completion",
        # Same priority as onboarding_rescue, later in the playbook; red adds risk_review.
        ("n3", 1): "onboarding_rescue",
        ("n3", 2): "handoff_completion",
        ("n3", 3): "risk_review",
    }
    n1 = plays[plays.account_id == "n1"].iloc[0]
    assert n1.reason == "Handoff incomplete: no success criteria, no champion"
    assert (n1.due_date, n1.review_date) == (pd.Timestamp("2026-10-08"), pd.Timestamp("2026-10-22"))
    assert n1.owner == "c1" and n1.arm == "treated"  # control_share 0: never held back


def test_handoff_reasons_read_as_percentages_and_only_completeness_is_a_driver():
    from serving.catalogue import CATALOGUE, is_driver, short_value

    assert CATALOGUE["handoff_completeness"].render(0.5) == "Sales handoff 50% complete"
    assert short_value("handoff_completeness_first_180d", 5 / 6) == "83%"  # the peer median
    assert is_driver("handoff_completeness") and is_driver("handoff_missing")
    assert not is_driver("days_to_handoff")  # when sales handed off: context
