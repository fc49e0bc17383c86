"""serving.plays: the playbook on scoring results (literal results, a real trained pair)."""

import json

import pandas as pd
import pytest

from retain.config import Config
from serving.plays import add_recommended_plays, recommended_columns
from serving.scoring import load_model_pair


@pytest.fixture(scope="module")
def models(trained: dict):
    return load_model_pair(trained["config"])


def result(account: str, band: str, renewal: str, **extra) -> dict:
    return {
        "account_id": account,
        "as_of": "2024-08-01",
        "segment": "SMB",
        "churn_probability": extra.get("churn", 0.6 if band == "red" else 0.05),
        "expansion_probability": extra.get("expansion", 0.01),
        "health_band": band,
        "renewal_date": renewal,
        "reasons": extra.get("reasons", []),
        "signals": extra.get("signals", []),
    }


def snapshot(*rows: tuple[str, object, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "as_of": pd.Timestamp("2024-08-01"),
            "csm_id": [r[1] for r in rows],
            "arr": [r[2] for r in rows],
        }
    )


def test_red_near_renewal_gets_the_save_plan_with_its_owner_and_dates(models) -> None:
    results = [
        result("red_soon", "red", "2024-10-30"),  # 90 days out
        result("red_far", "red", "2025-07-01"),  # no renewal window: the catch-all review
        result("green", "green", "2025-07-01"),
        {"account_id": "broken", "error": "stored snapshot lacks features"},
    ]
    frame = snapshot(
        ("red_soon", "csm_7", 10_000.0), ("red_far", None, 20_000.0), ("green", "csm_1", 5_000.0)
    )
    add_recommended_plays(results, frame, models, Config())
    soon, far, green, broken = (r["recommended_plays"] for r in results)
    assert soon[0]["play"] == "save_plan" and soon[0]["rank"] == 1
    assert soon[0]["owner"] == "csm_7"
    assert (soon[0]["due_date"], soon[0]["review_date"]) == ("2024-08-08", "2024-08-15")
    assert soon[0]["arm"] == "treated"
    assert [p["play"] for p in far] == ["risk_review"]
    assert far[0]["owner"] == Config().playbook.unassigned_owner  # no csm_id
    assert green == [] and broken == []


def test_a_configured_threshold_makes_a_green_account_ready_to_expand(models) -> None:
    config = Config().with_overrides({"playbook": {"expansion_ready_from": 0.5}})
    results = [result("g", "green", "2025-07-01", expansion=0.8)]
    add_recommended_plays(results, snapshot(("g", "csm_1", 1_000.0)), models, config)
    assert [p["play"] for p in results[0]["recommended_plays"]] == ["expansion_opportunity"]
    assert results[0]["recommended_plays"][0]["kind"] == "expansion"


def test_scores_file_columns_carry_the_first_play_and_all_of_them_as_json() -> None:
    plays = [
        {"play": "save_plan", "owner": "csm_7", "review_date": "2024-08-15", "arm": "treated"},
        {"play": "risk_review", "owner": "csm_7", "review_date": None, "arm": "treated"},
    ]
    columns = recommended_columns([{"recommended_plays": plays}, {"recommended_plays": []}])
    assert columns["next_play"] == ["save_plan", None]
    assert columns["next_play_owner"] == ["csm_7", None]
    assert columns["next_play_review_date"] == ["2024-08-15", None]
    assert json.loads(columns["recommended_plays"][0]) == plays
    assert json.loads(columns["recommended_plays"][1]) == []


def test_a_result_without_as_of_gets_plays_dated_from_today(models) -> None:
    import datetime as dt

    results = [result("red_now", "red", None)]
    results[0]["as_of"] = None
    before = dt.datetime.now(dt.UTC).date()
    add_recommended_plays(results, pd.DataFrame({"account_id": ["red_now"]}), models, Config())
    after = dt.datetime.now(dt.UTC).date()  # the same day unless the call spans midnight
    play = results[0]["recommended_plays"][0]
    assert play["play"] == "risk_review"
    due = {(day + dt.timedelta(days=14)).isoformat() for day in (before, after)}
    assert play["due_date"] in due
