"""recommend with the default playbook on literal scores: which play, its rank, the API lists,
the playbook checks and the "ready to expand" threshold."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from playbook import (
    PLAY_COLUMNS,
    RECOMMENDED_FIELDS,
    expansion_ready_from,
    primary,
    recommend,
    recommended_plays,
)
from playbook.recommend import check_playbook
from retain.config import Config, PlayConfig, load_config
from retain.errors import RetainError

CHAMPION = {"name": "champion_left", "text": "Champion left 23 days ago"}
USAGE = {"name": "usage_drop", "text": "Usage down 52% in the last 14 days"}
SEATS = {"name": "over_licensed_seats", "text": "Using 118% of licensed seats"}


def _scores() -> pd.DataFrame:
    """Five accounts at 2026-10-01, each reaching a different default play."""
    rows = [
        # red, renewing in 60 days, champion left: save_plan first, outreach second
        ("r1", "red", 0.8, 0.05, "2026-11-30", [CHAMPION]),
        # red, renewing in a year, no signal: only the catch-all risk_review
        ("r2", "red", 0.6, 0.05, "2027-10-01", []),
        # yellow with a usage drop: adoption_review
        ("y1", "yellow", 0.3, 0.1, "2027-03-01", [USAGE]),
        # green over its seats and likely to expand: both expansion plays
        ("g1", "green", 0.05, 0.7, "2027-03-01", [SEATS]),
        # green, nothing: no play
        ("g2", "green", 0.04, 0.2, "2027-03-01", []),
    ]
    return pd.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "as_of": pd.Timestamp("2026-10-01"),
            "health_band": [r[1] for r in rows],
            "churn_probability": [r[2] for r in rows],
            "expansion_probability": [r[3] for r in rows],
            "renewal_date": pd.to_datetime([r[4] for r in rows]),
            "signals": [json.dumps(r[5]) for r in rows],
            "reasons": "[]",
            "csm_id": ["c1", "c2", "c3", "c4", "c5"],
            "arr": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )


def test_default_playbook_ranks_the_plays_of_each_account():
    plays = recommend(_scores(), None, Config(), expansion_ready_from=0.5)
    assert list(plays.columns) == list(PLAY_COLUMNS)
    got = {(r.account_id, r.rank): r.play for r in plays.itertuples()}
    assert got == {
        ("r1", 1): "save_plan",
        ("r1", 2): "executive_sponsor_outreach",
        ("r1", 3): "risk_review",
        ("r2", 1): "risk_review",
        ("y1", 1): "adoption_review",
        ("g1", 1): "expansion_conversation",
        ("g1", 2): "expansion_opportunity",
    }
    r1 = plays[(plays.account_id == "r1") & (plays["rank"] == 1)].iloc[0]
    assert r1.reason == "Health band red; Renewal in 60 days"
    assert (r1.due_date, r1.review_date) == (pd.Timestamp("2026-10-08"), pd.Timestamp("2026-10-15"))
    first = primary(plays).set_index("account_id")
    assert first.loc["r1", "other_plays"] == "executive_sponsor_outreach; risk_review"
    assert first.loc["r2", "other_plays"] == ""
    assert set(first.index) == {"r1", "r2", "y1", "g1"}


def test_every_red_account_gets_a_play_with_the_default_playbook():
    plays = recommend(_scores(), None, Config(), expansion_ready_from=0.99)
    first = primary(plays)
    red = set(_scores().query("health_band == 'red'").account_id)
    assert red <= set(first.account_id)
    assert "expansion_opportunity" not in set(plays.play)  # nobody reaches 0.99


def test_recommended_plays_are_json_ready_lists_in_rank_order():
    lists = recommended_plays(recommend(_scores(), None, Config(), expansion_ready_from=0.5))
    assert set(lists) == {"r1", "r2", "y1", "g1"}
    assert [p["play"] for p in lists["r1"]] == [
        "save_plan",
        "executive_sponsor_outreach",
        "risk_review",
    ]
    entry = lists["r1"][1]
    assert set(entry) == set(RECOMMENDED_FIELDS)
    assert entry["due_date"] == "2026-10-08" and entry["owner"] == "c1"
    assert entry["reason"] == "Champion left 23 days ago"
    json.dumps(lists)  # nothing numpy or Timestamp left


def test_scoring_results_with_list_fields_work_as_the_scores_file_does():
    scores = _scores()
    results = scores.assign(signals=scores["signals"].map(json.loads), reasons=[[]] * 5)
    a = recommend(scores, None, Config(), expansion_ready_from=0.5)
    b = recommend(results, None, Config(), expansion_ready_from=0.5)
    pd.testing.assert_frame_equal(a, b)


def test_no_play_fires_gives_an_empty_frame_with_the_columns():
    green = _scores().iloc[[4]]
    plays = recommend(green, None, Config(), expansion_ready_from=0.5)
    assert plays.empty and list(plays.columns) == list(PLAY_COLUMNS)
    assert primary(plays).empty and recommended_plays(plays) == {}


def test_the_threshold_comes_from_config_else_the_model_bands_else_it_is_an_error():
    bands = {"green_below": 0.1, "red_from": 0.44, "basis": {"red": "renewal-rate target"}}
    assert expansion_ready_from(Config(), bands) == (
        0.44,
        "expansion model's top band (renewal-rate target)",
    )
    config = Config().with_overrides({"playbook": {"expansion_ready_from": 0.3}})
    assert expansion_ready_from(config, bands) == (0.3, "[playbook] expansion_ready_from")
    assert expansion_ready_from(Config(), None) == (None, "unknown")
    with pytest.raises(RetainError, match="expansion_opportunity need the 'ready to expand'"):
        recommend(_scores(), None, Config())
    # The config wins over what the caller passes.
    plays = recommend(_scores(), None, config, expansion_ready_from=0.99)
    assert "expansion_opportunity" in set(plays.play)


def test_a_missing_score_column_names_it():
    with pytest.raises(RetainError, match="no health_band column"):
        recommend(_scores().drop(columns=["health_band"]), None, Config(), expansion_ready_from=0.5)


@pytest.mark.parametrize(
    ("play", "message"),
    [
        (PlayConfig("x", bands=("purple",)), "bands must be among green, yellow, red"),
        (PlayConfig("x", kind="upsell", bands=("red",)), "kind must be one of risk, expansion"),
        (PlayConfig("x", bands=("red",), control_share=1.0), "control_share must be in"),
        (PlayConfig("x", signals=("champion_gone",)), "unknown signal"),
        (PlayConfig("x", owner_role="csm"), "has no trigger"),
        (PlayConfig("x", bands=("red",), due_days=-1), "due_days must be 0 or more"),
    ],
)
def test_check_playbook_names_the_play_and_the_field(play, message):
    with pytest.raises(RetainError, match=message):
        check_playbook((play,), ("champion_left", "usage_drop"))


def test_duplicate_names_are_refused():
    with pytest.raises(RetainError, match="unique: x"):
        check_playbook((PlayConfig("x", bands=("red",)), PlayConfig("x", bands=("red",))))


def test_the_playbook_from_toml_replaces_the_defaults_and_refuses_unknown_keys(tmp_path):
    (tmp_path / "retain.toml").write_text(
        '[[playbook.plays]]\nname = "renewal_call"\nbands = ["red", "yellow"]\n'
        "renewal_within_days = 30\npriority = 2\ncontrol_share = 0.2\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path, workdir=tmp_path)
    assert config.playbook.plays == (
        PlayConfig(
            "renewal_call",
            bands=("red", "yellow"),
            renewal_within_days=30,
            priority=2,
            control_share=0.2,
        ),
    )
    (tmp_path / "retain.toml").write_text(
        '[[playbook.plays]]\nname = "renewal_call"\nband = ["red"]\n', encoding="utf-8"
    )
    with pytest.raises(RetainError, match="'renewal_call': unknown key\\(s\\) band"):
        load_config(tmp_path, workdir=tmp_path)
