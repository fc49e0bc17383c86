"""Simulated plays: triggers and windows on literal state, arms, the plays table and its truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulator import _plays


def _fire(history, t, **overrides):
    n = len(history.from_week)
    state = {
        "eligible": np.ones(n, dtype=bool),
        "health": np.zeros(n),
        "momentum": np.zeros(n),
        "champion_left": np.zeros(n, dtype=bool),
        "days_to_renewal": np.full(n, 300),
        "log_pressure": np.full(n, -0.5),
    }
    state.update(overrides)
    return history.fire(np.random.default_rng(0), t, 10_000, **state)


def test_a_play_works_on_the_decisions_of_its_window_only():
    history = _plays.PlayHistory.empty(3, 120)
    for t in range(3):
        history.record(t)
    # Account 1's champion left in week 2 (executive_sponsor_outreach: 30% control, so the
    # seeded draw decides the arm; read it back from the row).
    rows = _fire(history, 2, champion_left=np.array([False, True, False]))
    assert rows["account"].tolist() == [1]
    assert _plays.NAMES[rows["play"][0]] == "executive_sponsor_outreach"
    assert rows["start"].tolist() == [21]  # the first day of week 3
    for t in range(3, 120):
        history.record(t)
    treated = rows["arm"][0] == 0
    effect = -1.0 if treated else 0.0
    weeks = np.array([[2, 3, 3 + _plays.EFFECT_WEEKS - 1, 3 + _plays.EFFECT_WEEKS]])
    churn, expansion = history.shifts_at(np.array([[1]]), weeks)
    assert churn.tolist() == [[0.0, effect, effect, 0.0]]
    assert expansion.tolist() == [[0.0] * 4]
    other, _ = history.shifts_at(np.array([[0]]), weeks)
    assert other.tolist() == [[0.0] * 4]


def test_priority_and_no_second_play_inside_the_window():
    history = _plays.PlayHistory.empty(4, 60)
    history.record(0)
    rows = _fire(
        history,
        0,
        health=np.array([-2.0, 0.0, 0.0, 0.5]),
        momentum=np.array([-0.2, -0.2, 0.0, 0.0]),
        days_to_renewal=np.array([60, 60, 300, 300]),
        log_pressure=np.array([0.0, -0.5, -0.5, 0.2]),
    )
    # save_plan runs on a quarter of its triggered accounts a week, so account 0 may wait;
    # account 1 gets adoption_review (falling momentum), account 3 the expansion conversation.
    by_account = dict(zip(rows["account"].tolist(), rows["play"].tolist(), strict=True))
    assert _plays.NAMES[by_account[1]] == "adoption_review"
    assert _plays.NAMES[by_account[3]] == "expansion_conversation"
    assert 2 not in by_account
    history.record(1)
    again = _fire(history, 1, champion_left=np.ones(4, dtype=bool))
    assert set(again["account"].tolist()).isdisjoint(by_account)


def test_plays_table_arms_and_assignments(tables):
    plays = tables["plays"]
    design = {p.name: p for p in _plays.PLAYS}
    assert set(plays["play"]) == set(design)
    for name, rows in plays.groupby("play"):
        p = design[name]
        assert set(rows["assignment"]) == {p.assignment}
        share = (rows["arm"] == "control").mean()
        if p.control_share == 0:
            assert share == 0
        else:
            se = np.sqrt(p.control_share * (1 - p.control_share) / len(rows))
            assert abs(share - p.control_share) < 4 * se, name
    # A held-back account is never run, so never closed.
    assert plays.loc[plays["arm"] == "control", "closed_at"].isna().all()
    assert (
        plays["owner"]
        == plays["account_id"].map(tables["accounts"].set_index("account_id")["csm_id"])
    ).all()


def test_plays_start_only_while_the_account_is_a_customer(tables, main_contracts, data_end):
    plays = tables["plays"]
    assert (plays["started_at"] < data_end).all()
    contracts = tables["contracts"]
    merged = plays.merge(contracts, on="account_id")
    in_force = (merged["start_date"] < merged["started_at"] + pd.Timedelta(days=7)) & (
        merged["started_at"] <= merged["end_date"] + pd.Timedelta(days=30)
    )
    covered = in_force.groupby([merged["account_id"], merged["started_at"]]).any()
    assert covered.all()


def test_plays_truth_holds_the_true_effects(sim_dir, tables):
    truth = pd.read_parquet(sim_dir / "plays_truth.parquet")
    document = json.loads((sim_dir / "plays_truth.json").read_text())
    assert {p["play"] for p in document["plays"]} == {p.name for p in _plays.PLAYS}
    assert sum(not p["helpful"] for p in document["plays"]) == 1
    assert len(truth) <= len(tables["plays"])
    assert (truth["as_of"] <= truth["started_at"]).all()
    assert (truth["as_of"].dt.day == 1).all()  # the monthly spine's snapshot
    churn = truth["churn_probability_with"] - truth["churn_probability_without"]
    expansion = truth["expansion_probability_with"] - truth["expansion_probability_without"]
    for p in _plays.PLAYS:
        mine = truth["play"] == p.name
        if p.churn_effect == 0:
            assert (churn[mine] == 0).all(), p.name
        else:
            assert (churn[mine] <= 1e-12).all() and churn[mine].mean() < 0, p.name
        if p.expansion_effect == 0 and p.churn_effect == 0:
            assert (expansion[mine] == 0).all(), p.name
        if p.expansion_effect > 0:
            assert expansion[mine].mean() > 0, p.name
    for column in truth.columns[truth.columns.str.contains("probability")]:
        assert truth[column].between(0, 1).all()


def test_the_plays_table_is_valid_for_retain_validate(sim_dir):
    from features.source import DataSource
    from features.validate import check

    report = check(DataSource.open(sim_dir))
    plays_defects = [d for d in report.defects if d.table == "plays"]
    assert plays_defects == []


@pytest.mark.parametrize("name", [p.name for p in _plays.PLAYS])
def test_every_play_fires_in_the_shared_book(tables, name):
    assert (tables["plays"]["play"] == name).sum() > 0
