from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from features import contract_cli
from features.importers.telco import CURRENT_TERM_END, SNAPSHOT_DATE, import_telco, snake_case
from features.source import DataSource
from features.validate import check
from retain.config import load_config
from retain.errors import RetainError

REPO = Path(__file__).resolve().parents[3]
TELCO_CSV = REPO.parent / "shared" / "datasets" / "telco" / "Telco-Customer-Churn.csv"
needs_telco = pytest.mark.skipif(
    not TELCO_CSV.is_file(), reason=f"shared dataset absent: {TELCO_CSV} (see BRIEF.md)"
)

HEADER = (
    "customerID,gender,SeniorCitizen,Partner,Dependents,tenure,PhoneService,MultipleLines,"
    "InternetService,OnlineSecurity,OnlineBackup,DeviceProtection,TechSupport,StreamingTV,"
    "StreamingMovies,Contract,PaperlessBilling,PaymentMethod,MonthlyCharges,TotalCharges,Churn"
)
ROWS = (
    # new this month, leaves
    "N-1,Female,0,No,No,0,Yes,No,DSL,No,No,No,No,No,No,Month-to-month,Yes,Mailed check,20.5, ,Yes",
    # two months on monthly billing, stays
    "M-2,Male,1,Yes,No,2,Yes,Yes,Fiber optic,No,No,No,No,Yes,Yes,Month-to-month,Yes,"
    "Electronic check,90,180,No",
    # 13 months on a one-year plan, leaves at the renewal
    "Y-3,Male,0,No,Yes,13,No,No phone service,DSL,Yes,Yes,No,Yes,No,No,One year,No,"
    "Bank transfer (automatic),50,650,Yes",
)


def _tiny_csv(tmp_path: Path, rows: tuple[str, ...] = ROWS, header: str = HEADER) -> Path:
    path = tmp_path / "telco.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_accounts_get_created_at_from_tenure_and_every_attribute(tmp_path: Path) -> None:
    out = import_telco(_tiny_csv(tmp_path), tmp_path / "out")
    accounts = pd.read_parquet(out / "accounts.parquet").set_index("account_id")

    assert accounts["created_at"].to_dict() == {
        "N-1": SNAPSHOT_DATE - pd.Timedelta(days=1),
        "M-2": pd.Timestamp("2023-11-01"),
        "Y-3": pd.Timestamp("2022-12-01"),
    }
    assert list(accounts.columns) == [
        "created_at",
        "gender",
        "senior_citizen",
        "partner",
        "dependents",
        "phone_service",
        "multiple_lines",
        "internet_service",
        "online_security",
        "online_backup",
        "device_protection",
        "tech_support",
        "streaming_tv",
        "streaming_movies",
        "contract",
        "paperless_billing",
        "payment_method",
        "monthly_charges",
    ]
    assert accounts.loc["Y-3", "payment_method"] == "Bank transfer (automatic)"


def test_contracts_are_rebuilt_from_tenure_and_churn_is_the_missing_renewal(
    tmp_path: Path,
) -> None:
    out = import_telco(_tiny_csv(tmp_path), tmp_path / "out")
    contracts = pd.read_parquet(out / "contracts.parquet")
    terms = {
        account: [
            (row.start_date.date().isoformat(), row.end_date.date().isoformat())
            for row in rows.itertuples()
        ]
        for account, rows in contracts.groupby("account_id")
    }
    assert terms == {
        "N-1": [("2023-12-31", "2024-01-16")],
        "M-2": [
            ("2023-11-01", "2023-11-16"),
            ("2023-11-16", "2023-12-16"),
            ("2023-12-16", "2024-01-16"),
            # the renewal starts after the snapshot and runs past the label window
            ("2024-01-16", "2025-07-30"),
        ],
        "Y-3": [("2022-12-01", "2023-01-16"), ("2023-01-16", "2024-01-16")],
    }
    assert contracts.set_index("account_id")["arr"].groupby(level=0).first().to_dict() == {
        "N-1": 246.0,
        "M-2": 1080.0,
        "Y-3": 600.0,
    }
    assert set(contracts.loc[contracts["account_id"] == "Y-3", "plan"]) == {"One year"}
    assert contracts["contract_id"].is_unique


def test_retain_toml_scores_the_snapshot_with_labels_known(tmp_path: Path) -> None:
    out = import_telco(_tiny_csv(tmp_path), tmp_path / "out")
    config = load_config(out, workdir=tmp_path)
    assert config.features.as_of_dates == ("2024-01-01",)
    # D + horizon 180 + grace 30 + 1 day
    assert config.features.data_end == "2024-07-30"


def test_a_csv_that_is_not_telco_stops_with_the_column_named(tmp_path: Path) -> None:
    header = HEADER.replace(",Contract,", ",Plan,")
    with pytest.raises(RetainError, match=r"missing column\(s\) 'Contract'"):
        import_telco(_tiny_csv(tmp_path, header=header), tmp_path / "out")


def test_a_bad_tenure_is_reported_with_rows_and_an_example(tmp_path: Path) -> None:
    rows = (ROWS[0].replace(",0,Yes,No,DSL", ",zero,Yes,No,DSL"), *ROWS[1:])
    with pytest.raises(RetainError, match=r"column 'tenure': 1 row\(s\) fail .* 'zero'"):
        import_telco(_tiny_csv(tmp_path, rows=rows), tmp_path / "out")


def test_the_out_folder_must_not_hold_tables_of_another_source(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "usage.parquet").write_bytes(b"")
    with pytest.raises(RetainError, match=r"already holds usage\.parquet"):
        import_telco(_tiny_csv(tmp_path), tmp_path / "out")


def test_snake_case() -> None:
    assert [snake_case(n) for n in ("StreamingTV", "SeniorCitizen", "customerID", "tenure")] == [
        "streaming_tv",
        "senior_citizen",
        "customer_id",
        "tenure",
    ]


def test_cli_import_telco_writes_and_summarises(tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test app holding only the contract commands."""

    contract_cli.register(app)
    result = CliRunner().invoke(
        app, ["import", "telco", str(_tiny_csv(tmp_path)), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "accounts 3, contracts 7" in " ".join(result.output.split())
    assert "VALID: no defects" in result.output


@needs_telco
def test_shared_telco_imports_7043_accounts_without_blocking_defects(tmp_path: Path) -> None:
    out = import_telco(TELCO_CSV, tmp_path / "telco")
    source = DataSource.open(out, data_end=load_config(out, workdir=tmp_path).features.data_end)

    report = check(source)
    assert report.ok, report.blocking
    assert source.sql("SELECT count(*) AS n FROM accounts")["n"].iloc[0] == 7043

    # No leak through the contract visible at D: every current term ends at D + 15 days,
    # churner or not; only non-churners have a contract starting after D.
    at_snapshot = source.sql(
        f"""
        SELECT account_id, max(end_date) AS current_end FROM contracts
        WHERE start_date < TIMESTAMP '{SNAPSHOT_DATE}' GROUP BY account_id
        """
    )
    assert set(at_snapshot["current_end"]) == {CURRENT_TERM_END}
    renewed = source.sql(
        f"SELECT DISTINCT account_id FROM contracts WHERE start_date >= '{SNAPSHOT_DATE}'"
    )
    churn_rate = 1 - len(renewed) / 7043
    assert churn_rate == pytest.approx(1869 / 7043)  # the 26.5% of the published data

    # The feature pipeline's labels carry exactly the export's churn flag.
    from features import build_features

    frame = build_features(source, load_config(out, workdir=tmp_path), as_of=[SNAPSHOT_DATE])
    assert frame["churn"].notna().all()
    assert frame["churn"].sum() == 1869
