from pathlib import Path

import duckdb
import pandas as pd
import pytest

from features.source import DataSource
from retain.errors import RetainError

ACCOUNTS = pd.DataFrame(
    {
        "account_id": ["a1", "a2"],
        "created_at": ["2024-01-01", "2024-02-15"],
        "tier": ["gold", "silver"],
    }
)
CONTRACTS = pd.DataFrame(
    {
        "contract_id": ["c1", "c2"],
        "account_id": ["a1", "a2"],
        "start_date": ["2024-01-01", "2024-03-01"],
        "end_date": ["2025-01-01", "2025-03-01"],
        "arr": ["12000", "30000.5"],
    }
)
TICKETS = pd.DataFrame(
    {
        "ticket_id": ["t1", "t2"],
        "account_id": ["a1", "a1"],
        "created_at": ["2024-05-01 10:00:00", "2024-06-01"],
        "priority": ["HIGH", " urgent "],
        "escalated": ["yes", "0"],
    }
)


def _write_folder(folder: Path, suffix: str) -> None:
    folder.mkdir()
    for name, frame in {"accounts": ACCOUNTS, "contracts": CONTRACTS, "tickets": TICKETS}.items():
        if suffix == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_folder_sources_give_canonical_types(tmp_path: Path, suffix: str) -> None:
    _write_folder(tmp_path / "src", suffix)
    source = DataSource.open(tmp_path / "src")

    assert source.tables == ("accounts", "contracts", "tickets")
    contracts = source.frame("contracts")
    assert contracts["arr"].tolist() == [12000.0, 30000.5]
    assert pd.api.types.is_datetime64_any_dtype(contracts["start_date"])
    tickets = source.frame("tickets")
    assert tickets["priority"].tolist() == ["high", "urgent"]
    assert tickets["escalated"].tolist() == [True, False]
    assert tickets["resolved_at"].isna().all()  # absent optional column: typed nulls
    assert source.extra_account_columns() == ("tier",)
    # the latest event is the ticket of 2024-06-01; data_end is exclusive
    assert source.data_end == pd.Timestamp("2024-06-02")


def test_duckdb_database_source(tmp_path: Path) -> None:
    path = tmp_path / "crm.duckdb"
    connection = duckdb.connect(str(path))
    connection.register("accounts_frame", ACCOUNTS)
    connection.register("contracts_frame", CONTRACTS)
    connection.execute("CREATE TABLE accounts AS SELECT * FROM accounts_frame")
    connection.execute("CREATE TABLE contracts AS SELECT * FROM contracts_frame")
    connection.close()

    source = DataSource.open(path)

    assert source.tables == ("accounts", "contracts")
    assert source.table("contracts").count().execute() == 2


def test_unparseable_values_become_null_in_the_canonical_view_only() -> None:
    contracts = CONTRACTS.assign(arr=["12000", "twelve"])
    source = DataSource.from_frames({"accounts": ACCOUNTS, "contracts": contracts})
    assert source.frame("contracts")["arr"].isna().tolist() == [False, True]
    raw = source.sql("SELECT arr FROM raw_contracts")
    assert raw["arr"].tolist() == ["12000", "twelve"]


def test_a_table_missing_a_required_column_has_no_canonical_view() -> None:
    source = DataSource.from_frames(
        {"accounts": ACCOUNTS, "contracts": CONTRACTS.drop(columns="arr")}
    )
    assert "contracts" in source.raw_columns
    assert not source.has("contracts")
    with pytest.raises(RetainError, match="contracts"):
        source.frame("contracts")


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RetainError, match="does not exist"):
        DataSource.open(tmp_path / "nowhere")


def test_explicit_data_end_wins() -> None:
    source = DataSource.from_frames(
        {"accounts": ACCOUNTS, "contracts": CONTRACTS}, data_end="2024-12-31"
    )
    assert source.data_end == pd.Timestamp("2024-12-31")


def test_a_table_file_given_for_the_folder_names_the_folder(tmp_path: Path) -> None:
    ACCOUNTS.to_csv(tmp_path / "accounts.csv", index=False)
    with pytest.raises(RetainError) as error:
        DataSource.open(tmp_path / "accounts.csv")
    message = str(error.value)
    assert message == (
        f"Data source {tmp_path / 'accounts.csv'} is a file; give the folder that holds the "
        f"tables instead (--data {tmp_path})."
    )
    assert "read-only" not in message


def test_a_file_that_is_no_duckdb_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "export.db"
    path.write_text("not a database")
    with pytest.raises(RetainError, match=r"neither a folder of <table>\.parquet/\.csv files nor"):
        DataSource.open(path)


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_an_empty_csv_is_named_instead_of_reported_as_column0(tmp_path: Path, content: str) -> None:
    CONTRACTS.to_csv(tmp_path / "contracts.csv", index=False)
    (tmp_path / "accounts.csv").write_text(content)
    with pytest.raises(RetainError) as error:
        DataSource.open(tmp_path)
    assert str(error.value) == (
        f"{tmp_path / 'accounts.csv'} is empty (no header row); export the accounts table with "
        "its header, or remove the file if the table is optional."
    )


def test_text_is_trimmed_of_spaces_and_blank_is_null_as_trim_would() -> None:
    """The canonical text rule tests the ends before trimming (speed); the values must be
    exactly NULLIF(TRIM(x), ''): spaces only are trimmed, other whitespace stays."""
    values = ["a1", " a1", "a1 ", "  a1  ", " ", "", None, "\ta1", "a 1", "a1\t "]
    accounts = pd.DataFrame({"account_id": values, "created_at": "2024-01-01"})
    source = DataSource.from_frames({"accounts": accounts, "contracts": CONTRACTS})
    canonical = source.frame("accounts")["account_id"].tolist()
    by_trim = source.sql("SELECT NULLIF(TRIM(account_id), '') AS v FROM raw_accounts")["v"]
    expected = ["a1", "a1", "a1", "a1", None, None, None, "\ta1", "a 1", "a1\t"]
    assert [None if pd.isna(v) else v for v in canonical] == expected
    assert [None if pd.isna(v) else v for v in by_trim] == expected


def test_the_as_given_view_keeps_free_text_as_stored_and_types_the_rest() -> None:
    """`<table>_as_given`: free text as stored (`features.text_keys` makes the keys canonical
    after grouping); timestamps, numbers and vocabularies as in the canonical view."""
    tickets = pd.DataFrame(
        {
            "ticket_id": [" t1 ", "t2"],
            "account_id": ["a1", ""],
            "created_at": ["2024-01-02", "2024-01-03"],
            "priority": [" HIGH", "low"],
            "csat": ["4", "nan"],
        }
    )
    source = DataSource.from_frames({"tickets": tickets})
    canonical = source.frame("tickets")
    as_given = source.table_as_given("tickets").to_pandas()
    assert list(as_given.columns) == list(canonical.columns)
    assert as_given["ticket_id"].tolist() == [" t1 ", "t2"]
    assert as_given["account_id"].tolist() == ["a1", ""]
    for column in ("created_at", "priority", "csat"):
        pd.testing.assert_series_equal(as_given[column], canonical[column])
    assert canonical["priority"].tolist() == ["high", "low"]


def test_duckdb_sources_run_without_partitioned_execution() -> None:
    """Its plan scans the whole usage file once per partition for the groupings on text as
    stored (3.5x the CPU at 100k accounts): a speed setting, pinned so it is not lost."""
    source = DataSource.from_frames({"accounts": pd.DataFrame({"account_id": ["a1"]})})
    setting = source.sql("SELECT current_setting('disabled_optimizers') AS v")["v"].iloc[0]
    assert "partitioned_execution" in setting
