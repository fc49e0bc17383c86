"""The simulated business: contracts, add-ons, relationships and events behave like the brief."""

from __future__ import annotations

import numpy as np
import pandas as pd

GRACE = pd.Timedelta(days=30)


def test_ids_are_unique_and_every_row_belongs_to_an_account(tables):
    accounts = set(tables["accounts"]["account_id"])
    assert tables["accounts"]["account_id"].is_unique
    assert set(tables["accounts"]["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    for name, key in (
        ("contracts", "contract_id"),
        ("tickets", "ticket_id"),
        ("contacts", "contact_id"),
    ):
        assert tables[name][key].is_unique, name
    for name in (
        "contracts",
        "usage",
        "tickets",
        "contacts",
        "activities",
        "milestones",
        "surveys",
        "truth",
    ):
        assert set(tables[name]["account_id"]) <= accounts, name


def test_contracts_end_after_they_start_with_non_negative_arr(tables):
    contracts = tables["contracts"]
    assert (contracts["end_date"] > contracts["start_date"]).all()
    assert (contracts["arr"] >= 0).all() and (contracts["seats"] >= 1).all()


def test_renewals_start_at_the_previous_end_or_within_the_grace_days(main_contracts):
    following = main_contracts.groupby("account_id")["start_date"].shift(-1)
    gap = (following - main_contracts["end_date"]).dropna()
    assert len(gap) > 100
    assert (gap >= pd.Timedelta(0)).all() and (gap <= GRACE).all()
    assert (gap > pd.Timedelta(0)).any()  # some renewals are signed late


def test_add_on_contracts_end_with_their_main_contract(tables, main_contracts):
    add_ons = tables["contracts"][tables["contracts"]["plan"] == "add-on"].reset_index(drop=True)
    assert len(add_ons) > 5
    joined = add_ons.reset_index().merge(main_contracts, on="account_id", suffixes=("", "_main"))
    hosts = joined[
        (joined["start_date_main"] <= joined["start_date"])
        & (joined["start_date"] < joined["end_date_main"])
        & (joined["end_date"] == joined["end_date_main"])
    ]
    assert set(hosts["index"]) == set(add_ons.index)


def test_current_terms_run_past_the_data_end(tables, main_contracts, data_end):
    assert (main_contracts["start_date"] < data_end).all()
    assert (main_contracts["end_date"] > data_end).sum() > 100


def test_monthly_and_annual_terms_in_smb_multi_year_above(tables, main_contracts):
    segment = tables["accounts"].set_index("account_id")["segment"]
    months = ((main_contracts["end_date"] - main_contracts["start_date"]).dt.days / 30.44).round()
    terms = pd.DataFrame({"segment": main_contracts["account_id"].map(segment), "months": months})
    assert {1.0, 12.0} <= set(terms.loc[terms["segment"] == "SMB", "months"])
    assert 24.0 in set(terms.loc[terms["segment"] != "SMB", "months"])
    assert 1.0 not in set(terms.loc[terms["segment"] != "SMB", "months"])


def test_segments_differ_in_size_and_value(tables, main_contracts):
    segment = tables["accounts"].set_index("account_id")["segment"]
    median_arr = main_contracts.groupby(main_contracts["account_id"].map(segment))["arr"].median()
    assert median_arr["SMB"] < median_arr["Mid-Market"] < median_arr["Enterprise"]


def test_nothing_happens_on_or_after_the_data_end(tables, data_end):
    for name, column in (
        ("usage", "timestamp"),
        ("tickets", "created_at"),
        ("tickets", "resolved_at"),
        ("contacts", "added_at"),
        ("contacts", "left_at"),
        ("activities", "timestamp"),
        ("milestones", "achieved_at"),
        ("surveys", "timestamp"),
    ):
        assert (tables[name][column].dropna() < data_end).all(), (name, column)


def test_usage_is_one_row_per_account_user_day_and_event(tables):
    usage = tables["usage"]
    assert not usage.duplicated(["account_id", "user_id", "timestamp", "event"]).any()
    assert (usage["timestamp"] == usage["timestamp"].dt.normalize()).all()
    pairs = usage[["account_id", "user_id"]].drop_duplicates()
    assert all(user.startswith(f"{account}-") for account, user in pairs.to_numpy())
    assert (usage["count"] >= 1).all()


def test_no_activity_after_an_account_churns(tables, main_contracts, data_end):
    last_end = main_contracts.groupby("account_id")["end_date"].max()
    churned = last_end[last_end + GRACE < data_end]
    assert len(churned) > 10
    last_use = tables["usage"].groupby("account_id")["timestamp"].max().reindex(churned.index)
    assert (last_use.dropna() < churned[last_use.notna()]).all()


def test_tickets_have_priorities_escalations_resolution_and_csat(tables):
    tickets = tables["tickets"]
    assert set(tickets["priority"]) == {"low", "normal", "high", "urgent"}
    assert tickets["escalated"].any() and not tickets["escalated"].all()
    resolved = tickets.dropna(subset=["resolved_at"])
    assert (resolved["resolved_at"] >= resolved["created_at"]).all()
    assert tickets["csat"].dropna().isin([1.0, 2.0, 3.0, 4.0, 5.0]).all()
    assert tickets["csat"].isna().any()


def test_champions_leave_and_are_sometimes_replaced(tables):
    contacts = tables["contacts"]
    assert set(contacts["role"]) == {
        "champion",
        "decision_maker",
        "executive_sponsor",
        "admin",
        "user",
    }
    left = contacts.dropna(subset=["left_at"])
    assert (left["left_at"] > left["added_at"]).all()
    champions = contacts[contacts["role"] == "champion"]
    departed = champions.dropna(subset=["left_at"])
    assert len(departed) > 5
    replaced = departed.merge(champions, on="account_id", suffixes=("", "_next"))
    assert (replaced["added_at_next"] >= replaced["left_at"]).any()


def test_milestones_three_per_account_some_stalled(tables):
    milestones = tables["milestones"]
    counts = milestones.groupby("account_id")["milestone"].nunique()
    assert (counts == 3).all()
    first_value = milestones[milestones["milestone"] == "first_value"]
    overdue = first_value["achieved_at"].isna() & (
        first_value["due_date"] < pd.Timestamp("2026-06-01")
    )
    assert 0.03 < overdue.mean() < 0.4


def test_activities_and_surveys_cover_every_kind(tables):
    assert set(tables["activities"]["type"]) == {"meeting", "qbr", "call", "email_out", "email_in"}
    surveys = tables["surveys"]
    assert set(surveys["kind"]) == {"nps", "csat"}
    nps = surveys.loc[surveys["kind"] == "nps", "score"]
    csat = surveys.loc[surveys["kind"] == "csat", "score"]
    assert nps.between(0, 10).all() and csat.between(1, 5).all()


def test_healthier_accounts_leave_more_key_events_per_active_user(tables):
    """The latent health shows in what a feature can see: NPS goes with depth of use."""
    usage = tables["usage"]
    key = usage[usage["event"].isin(["report_created", "dashboard_shared", "workflow_run"])]
    depth = (
        key.groupby("account_id")["count"].sum() / usage.groupby("account_id")["user_id"].nunique()
    )
    nps = tables["surveys"].query("kind == 'nps'").groupby("account_id")["score"].mean()
    both = pd.concat([depth.rename("depth"), nps.rename("nps")], axis=1).dropna()
    assert np.corrcoef(both["depth"].rank(), both["nps"].rank())[0, 1] > 0.3


def test_contracts_never_start_before_the_account_exists(tables):
    created = tables["accounts"].set_index("account_id")["created_at"]
    contracts = tables["contracts"]
    assert (contracts["start_date"] >= contracts["account_id"].map(created)).all()


def test_missing_values_are_nulls_for_sql_readers(sim_dir):
    import duckdb

    outside = duckdb.sql(
        f"SELECT COUNT(*) FROM '{sim_dir}/tickets.parquet' WHERE NOT csat BETWEEN 1 AND 5"
    ).fetchall()[0][0]
    missing = duckdb.sql(
        f"SELECT COUNT(*) FROM '{sim_dir}/tickets.parquet' WHERE csat IS NULL"
    ).fetchall()[0][0]
    assert outside == 0 and missing > 0
