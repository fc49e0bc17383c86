from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from features import contract_cli
from features.importers.ravenstack import import_ravenstack
from features.source import DataSource
from features.validate import ValidationReport, check
from retain.config import load_config
from retain.errors import RetainError

REPO = Path(__file__).resolve().parents[3]
RAVENSTACK = REPO.parent / "shared" / "datasets" / "ravenstack"
needs_ravenstack = pytest.mark.skipif(
    not (RAVENSTACK / "ravenstack_accounts.csv").is_file(),
    reason=f"shared dataset absent: {RAVENSTACK} (see BRIEF.md)",
)

# A1 churns on 2024-03-05 and comes back with S2; A2 never churns; A3 is flagged without an
# event. U2 is dated before its subscription and after A1's churn; U3 before A2 signed up; U5
# belongs to no subscription.
EXPORT = {
    "accounts": """\
account_id,account_name,industry,country,signup_date,referral_source,plan_tier,seats,is_trial,churn_flag
A1,Company_1,FinTech,US,2024-01-01,partner,Pro,5,False,True
A2,Company_2,EdTech,DE,2024-01-01,organic,Basic,3,False,False
A3,Company_3,DevTools,IN,2024-01-01,ads,Basic,1,True,True
""",
    "subscriptions": """\
subscription_id,account_id,start_date,end_date,plan_tier,seats,mrr_amount,arr_amount,is_trial,upgrade_flag,downgrade_flag,churn_flag,billing_frequency,auto_renew_flag
S1,A1,2024-01-10,,Pro,5,100,1200,False,False,False,False,monthly,True
S2,A1,2024-05-01,,Basic,2,50,600,False,False,True,False,monthly,True
S3,A2,2024-02-01,2024-03-15,Enterprise,9,1000,12000,False,False,False,True,annual,False
S4,A2,2024-04-01,,Pro,4,80,960,False,False,False,False,annual,True
S5,A3,2024-01-01,,Basic,1,0,0,True,False,False,False,monthly,False
""",
    "feature_usage": """\
usage_id,subscription_id,usage_date,feature_name,usage_count,usage_duration_secs,error_count,is_beta_feature
U1,S1,2024-01-15,feature_1,3,100,0,False
U2,S2,2024-04-20,feature_2,4,100,0,False
U3,S4,2023-12-01,feature_3,2,100,1,True
U4,S5,2024-06-20,feature_1,1,100,0,False
U5,S9,2024-02-01,feature_1,1,100,0,False
""",
    "support_tickets": """\
ticket_id,account_id,submitted_at,closed_at,resolution_time_hours,priority,first_response_time_minutes,satisfaction_score,escalation_flag
T1,A1,2024-02-01,2024-02-02 05:00:00,29.0,medium,30,4.0,True
T2,A2,2024-03-01,,5.0,urgent,10,,False
""",
    "churn_events": """\
churn_event_id,account_id,churn_date,reason_code,refund_amount_usd,preceding_upgrade_flag,preceding_downgrade_flag,is_reactivation,feedback_text
C1,A1,2024-03-05,pricing,0.0,False,False,False,too expensive
""",
}


def _export(tmp_path: Path, drop_column: tuple[str, str] | None = None) -> Path:
    folder = tmp_path / "ravenstack"
    folder.mkdir()
    for name, text in EXPORT.items():
        frame = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False)
        if drop_column and drop_column[0] == name:
            frame = frame.drop(columns=drop_column[1])
        frame.to_csv(folder / f"ravenstack_{name}.csv", index=False)
    return folder


def _imported(tmp_path: Path) -> tuple[Path, ValidationReport]:
    out = import_ravenstack(_export(tmp_path), tmp_path / "out")
    config = load_config(out, workdir=tmp_path)
    return out, check(DataSource.open(out, data_end=config.features.data_end))


def _terms(contracts: pd.DataFrame, subscription: str) -> list[tuple[str, str]]:
    rows = contracts[contracts["contract_id"].str.startswith(subscription + "-")]
    return [
        (r.start_date.date().isoformat(), r.end_date.date().isoformat()) for r in rows.itertuples()
    ]


def test_subscriptions_become_monthly_terms_cut_by_churn_events(tmp_path: Path) -> None:
    out, _ = _imported(tmp_path)
    contracts = pd.read_parquet(out / "contracts.parquet")

    # churn on 2024-03-05: coverage ends with the running term, on a regular billing date
    assert _terms(contracts, "S1") == [("2024-01-10", "2024-02-10"), ("2024-02-10", "2024-03-10")]
    # started after the churn: a reactivation, open until the term covering the export's end
    assert _terms(contracts, "S2") == [("2024-05-01", "2024-06-01"), ("2024-06-01", "2024-07-01")]
    # its own end date on 2024-03-15 ends the running month
    assert _terms(contracts, "S3") == [("2024-02-01", "2024-03-01"), ("2024-03-01", "2024-04-01")]
    # open subscriptions run monthly until the term covering 2024-06-20, the export's last day
    assert len(_terms(contracts, "S4")) == 3
    assert _terms(contracts, "S5")[-1] == ("2024-06-01", "2024-07-01")
    s1 = contracts[contracts["contract_id"] == "S1-01"].iloc[0]
    assert (s1["account_id"], s1["arr"], s1["seats"], s1["plan"]) == ("A1", 1200.0, 5.0, "Pro")
    assert contracts["contract_id"].is_unique


def test_accounts_usage_and_tickets_are_mapped(tmp_path: Path) -> None:
    out, _ = _imported(tmp_path)
    accounts = pd.read_parquet(out / "accounts.parquet")
    assert list(accounts.columns) == [
        "account_id",
        "created_at",
        "industry",
        "region",
        "referral_source",
    ]  # no churn flag, no export-time plan or seats
    assert accounts.loc[1, "region"] == "DE"

    usage = pd.read_parquet(out / "usage.parquet")
    assert usage.to_dict("list") == {
        "account_id": ["A1", "A1", "A2", "A3"],
        "timestamp": [
            pd.Timestamp(d) for d in ("2024-01-15", "2024-04-20", "2023-12-01", "2024-06-20")
        ],
        "event": ["feature_1", "feature_2", "feature_3", "feature_1"],
        "count": [3.0, 4.0, 2.0, 1.0],
    }

    tickets = pd.read_parquet(out / "tickets.parquet").set_index("ticket_id")
    assert tickets["priority"].to_dict() == {"T1": "normal", "T2": "urgent"}
    assert tickets["resolved_at"].to_dict() == {
        "T1": pd.Timestamp("2024-02-02 05:00"),
        "T2": pd.Timestamp("2024-03-01 05:00"),  # no closed_at: from resolution_time_hours
    }
    assert tickets["escalated"].tolist() == ["True", "False"]
    assert tickets.loc["T1", "csat"] == 4.0


def test_retain_toml_ends_the_data_the_day_after_the_last_event(tmp_path: Path) -> None:
    out, _ = _imported(tmp_path)
    assert load_config(out, workdir=tmp_path).features.data_end == "2024-06-21"


def test_export_defects_come_out_of_check_as_warnings(tmp_path: Path) -> None:
    _, report = _imported(tmp_path)
    assert report.ok, report.blocking
    found = {(d.table, d.column, d.rows, d.example) for d in report.warnings}
    assert found == {
        # the contract tables' own checks
        ("usage", "timestamp", 1, "A2 on 2023-12-01 (created 2024-01-01)"),
        ("usage", "timestamp", 1, "A2 on 2023-12-01 (first contract 2024-02-01)"),
        ("usage", "timestamp", 1, "A1 on 2024-04-20 (coverage ended 2024-03-10)"),
        ("tickets", "csat", 1, "ticket_id=T2"),
        # what only the importer could see in the export
        ("ravenstack_accounts.csv", "churn_flag", 1, "account_id=A3 (flagged, no churn event)"),
        (
            "ravenstack_feature_usage.csv",
            "usage_date",
            2,
            "U3 on 2023-12-01 (subscription S4 starts 2024-04-01)",
        ),
        ("ravenstack_feature_usage.csv", "usage_date", 1, "A1 on 2024-04-20 (churned 2024-03-05)"),
        ("ravenstack_feature_usage.csv", "subscription_id", 1, "subscription_id=S9"),
    }


def test_a_missing_export_column_stops_the_import_with_file_and_column(tmp_path: Path) -> None:
    folder = _export(tmp_path, drop_column=("churn_events", "churn_date"))
    with pytest.raises(RetainError, match=r"ravenstack_churn_events\.csv(.|\n)*'churn_date'"):
        import_ravenstack(folder, tmp_path / "out")


def test_a_missing_export_file_is_a_clear_error(tmp_path: Path) -> None:
    folder = _export(tmp_path)
    (folder / "ravenstack_support_tickets.csv").unlink()
    with pytest.raises(RetainError, match=r"ravenstack_support_tickets\.csv does not exist"):
        import_ravenstack(folder, tmp_path / "out")


def test_cli_import_ravenstack_writes_and_summarises(tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test app holding only the contract commands."""

    contract_cli.register(app)
    result = CliRunner().invoke(
        app,
        ["import", "ravenstack", str(_export(tmp_path)), "--out", str(tmp_path / "out")],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "accounts 3, contracts 15, usage 4, tickets 2" in result.output
    assert "VALID with 8 warning(s)" in result.output


@needs_ravenstack
def test_shared_ravenstack_validates_with_its_known_defects_as_warnings(tmp_path: Path) -> None:
    out = import_ravenstack(RAVENSTACK, tmp_path / "ravenstack")
    source = DataSource.open(out, data_end=load_config(out, workdir=tmp_path).features.data_end)
    report = check(source)

    assert report.ok, report.blocking
    assert source.sql("SELECT count(*) AS n FROM usage")["n"].iloc[0] == 25_000
    messages = {(d.table, d.message.split(" (")[0].split(":")[0]): d for d in report.warnings}
    before_signup = messages["usage", "dated before the account was created"]
    assert before_signup.rows / 25_000 == pytest.approx(0.53, abs=0.01)  # README: 53%
    before_subscription = messages[
        "ravenstack_feature_usage.csv", "usage dated before its own subscription started"
    ]
    assert before_subscription.rows / 25_000 == pytest.approx(0.77, abs=0.01)  # README: 77%
    assert (
        "(67%)"
        in messages[
            "ravenstack_feature_usage.csv",
            "usage more than 30 days after the account's last churn event",
        ].message
    )  # README: 67% of accounts with a churn event
    assert ("usage", "activity more than 30 days after contract coverage ended") in messages
    flag = messages["ravenstack_accounts.csv", "churn flag and churn events disagree"]
    assert "75 of 110 flagged and 277 of 390 unflagged" in flag.message  # README: 68% and 71%
