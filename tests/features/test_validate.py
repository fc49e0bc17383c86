import io
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from features import contract_cli
from features.source import DataSource
from features.validate import Defect, ValidationReport, check, require_valid
from retain.errors import RetainError

Frames = dict[str, pd.DataFrame]


def clean_frames() -> Frames:
    """A tiny source that meets the contract in every table: a1 and a2 active, a3 churned."""
    ts = pd.Timestamp
    return {
        "accounts": pd.DataFrame(
            {
                "account_id": ["a1", "a2", "a3"],
                "created_at": [ts("2023-01-01"), ts("2023-03-01"), ts("2023-06-01")],
                "segment": ["SMB", "SMB", "Enterprise"],
                "employees": [12.0, 40.0, 5000.0],
            }
        ),
        "contracts": pd.DataFrame(
            {
                "contract_id": ["c1", "c2", "c3"],
                "account_id": ["a1", "a2", "a3"],
                "start_date": [ts("2023-01-01"), ts("2023-03-01"), ts("2023-06-01")],
                "end_date": [ts("2025-01-01"), ts("2025-03-01"), ts("2024-03-01")],
                "arr": [12_000.0, 30_000.0, 250_000.0],
                "seats": [10.0, 25.0, 400.0],
                "plan": ["basic", "pro", "enterprise"],
            }
        ),
        "usage": pd.DataFrame(
            {
                "account_id": ["a1", "a2", "a3"],
                "timestamp": [ts("2024-05-01 09:30"), ts("2024-05-02"), ts("2024-03-20")],
                "event": ["report_created", "login", "login"],
                "user_id": ["u1", "u2", "u3"],
                "count": [3.0, 1.0, 1.0],
            }
        ),
        "tickets": pd.DataFrame(
            {
                "ticket_id": ["t1", "t2"],
                "account_id": ["a1", "a2"],
                "created_at": [ts("2024-02-01"), ts("2024-03-01")],
                "resolved_at": [ts("2024-02-02"), ts("2024-03-05")],
                "priority": ["high", "low"],
                "escalated": [True, False],
                "csat": [4.0, 5.0],
            }
        ),
        "contacts": pd.DataFrame(
            {
                "contact_id": ["p1", "p2"],
                "account_id": ["a1", "a2"],
                "role": ["champion", "admin"],
                "added_at": [ts("2023-01-05"), ts("2023-03-05")],
                "left_at": [ts("2024-01-01"), pd.NaT],
            }
        ),
        "activities": pd.DataFrame(
            {
                "account_id": ["a1", "a2"],
                "timestamp": [ts("2024-04-01"), ts("2024-04-02")],
                "type": ["qbr", "email_out"],
            }
        ),
        "milestones": pd.DataFrame(
            {
                "account_id": ["a1", "a2"],
                "milestone": ["first_value", "first_value"],
                "due_date": [ts("2023-04-01"), ts("2025-06-01")],
                "achieved_at": [ts("2023-03-15"), pd.NaT],
            }
        ),
        "surveys": pd.DataFrame(
            {
                "account_id": ["a1", "a2"],
                "timestamp": [ts("2024-01-15"), ts("2024-01-16")],
                "kind": ["nps", "csat"],
                "score": [9.0, 4.0],
            }
        ),
    }


def as_text(frames: Frames) -> Frames:
    """The frames as a CSV export holds them: every value text, missing values empty."""
    return {
        name: frame.astype(object)
        .where(frame.notna(), None)
        .map(lambda v: None if v is None else str(v))
        for name, frame in frames.items()
    }


def edited(edit: Callable[[Frames], None]) -> Frames:
    frames = as_text(clean_frames())
    edit(frames)
    return frames


def set_value(table: str, column: str, row: int, value: object) -> Callable[[Frames], None]:
    def edit(frames: Frames) -> None:
        frames[table] = frames[table].copy()
        frames[table].loc[row, column] = value

    return edit


def only(report: ValidationReport, table: str, column: str, message: str = "") -> Defect:
    found = [
        d
        for d in report.defects
        if d.table == table and d.column == column and message in d.message
    ]
    assert len(found) == 1, report.defects
    return found[0]


def test_a_clean_source_has_no_defects() -> None:
    report = check(DataSource.from_frames(clean_frames()))
    assert report.defects == []
    assert report.ok
    assert report.verdict().startswith("VALID: no defects")


def test_the_same_clean_source_as_text_has_no_defects() -> None:
    assert check(DataSource.from_frames(as_text(clean_frames()))).defects == []


def _drop_table(name: str) -> Callable[[Frames], None]:
    return lambda frames: frames.pop(name)


def _drop_column(table: str, column: str) -> Callable[[Frames], None]:
    def edit(frames: Frames) -> None:
        frames[table] = frames[table].drop(columns=column)

    return edit


def _duplicate_contract(frames: Frames) -> None:
    frames["contracts"].loc[1, "contract_id"] = "c1"


BLOCKING_CASES = {
    "missing required table": (
        _drop_table("contracts"),
        ("contracts", "", 0, "contracts.parquet, contracts.csv or a DuckDB table contracts"),
        "required table is missing",
    ),
    "missing required column": (
        _drop_column("accounts", "created_at"),
        ("accounts", "created_at", 3, "columns present: account_id, segment, employees"),
        "required column is missing",
    ),
    "unparseable date": (
        set_value("contracts", "start_date", 1, "2023-13-45"),
        ("contracts", "start_date", 1, "'2023-13-45' (contract_id=c2)"),
        "cannot be read as a date",
    ),
    "non-numeric ARR": (
        set_value("contracts", "arr", 2, "250k"),
        ("contracts", "arr", 1, "'250k' (contract_id=c3)"),
        "cannot be read as a number",
    ),
    "duplicate primary key": (
        _duplicate_contract,
        ("contracts", "contract_id", 2, "contract_id=c1"),
        "duplicate primary key",
    ),
    "end before start": (
        set_value("contracts", "end_date", 0, "2022-12-31"),
        ("contracts", "end_date", 1, "2023-01-01 00:00:00 -> 2022-12-31 (contract_id=c1)"),
        "end_date is before start_date",
    ),
    "negative ARR": (
        set_value("contracts", "arr", 1, "-30000.0"),
        ("contracts", "arr", 1, "'-30000.0' (contract_id=c2)"),
        "negative ARR",
    ),
    "unparseable boolean": (
        set_value("tickets", "escalated", 0, "maybe"),
        ("tickets", "escalated", 1, "'maybe' (ticket_id=t1)"),
        "cannot be read as true/false",
    ),
    "empty account key": (
        set_value("accounts", "account_id", 2, " "),
        ("accounts", "account_id", 1, "(empty)"),
        "required value is empty",
    ),
}


@pytest.mark.parametrize("case", list(BLOCKING_CASES))
def test_each_blocking_defect_is_reported_with_table_column_rows_and_example(case: str) -> None:
    edit, (table, column, rows, example), message = BLOCKING_CASES[case]
    report = check(DataSource.from_frames(edited(edit)))

    defect = only(report, table, column) if column else report.blocking[0]
    assert (defect.table, defect.column, defect.rows, defect.example) == (
        table,
        column,
        rows,
        example,
    )
    assert message in defect.message
    assert defect.blocking
    assert not report.ok
    assert report.blocking[0] == defect  # blocking defects come first


def _orphan_usage(frames: Frames) -> None:
    """One orphan among nine usage rows: 11%, under the 20% that blocks."""
    rows = [["a1", f"2024-05-0{day}", "login", "u1", "1"] for day in range(2, 7)]
    rows.append(["ghost", "2024-05-01", "login", "u9", "1"])
    extra = pd.DataFrame(rows, columns=frames["usage"].columns)
    frames["usage"] = pd.concat([frames["usage"], extra], ignore_index=True)


WARNING_CASES = {
    "orphan rows": (
        _orphan_usage,
        ("usage", "account_id", 1, "account_id=ghost"),
        "orphan rows: 1 account(s) not in accounts",
    ),
    "usage before the account was created": (
        # also before a2's first contract: a second warning, checked below
        set_value("usage", "timestamp", 1, "2023-02-01"),
        ("usage", "timestamp", 1, "a2 on 2023-02-01 (created 2023-03-01)"),
        "dated before the account was created",
    ),
    "activity after churn": (
        set_value("usage", "timestamp", 2, "2024-06-01"),
        ("usage", "timestamp", 1, "a3 on 2024-06-01 (coverage ended 2024-03-01)"),
        "more than 30 days after contract coverage ended",
    ),
    "null in an optional column": (
        set_value("tickets", "csat", 1, None),
        ("tickets", "csat", 1, "ticket_id=t2"),
        "optional value is empty",
    ),
    "unknown vocabulary": (
        set_value("tickets", "priority", 0, "Critical"),
        ("tickets", "priority", 1, "'Critical' (ticket_id=t1)"),
        "outside the vocabulary",
    ),
    "value out of range": (
        set_value("surveys", "score", 0, "11"),
        ("surveys", "score", 1, "'11' (account_id=a1)"),
        "outside the allowed range (0 to 10)",
    ),
    "contact leaving before being added": (
        set_value("contacts", "left_at", 0, "2022-01-01"),
        ("contacts", "left_at", 1, "2023-01-05 00:00:00 -> 2022-01-01 (contact_id=p1)"),
        "left_at is before added_at",
    ),
}


@pytest.mark.parametrize("case", list(WARNING_CASES))
def test_each_warning_is_reported_and_does_not_block(case: str) -> None:
    edit, (table, column, rows, example), message = WARNING_CASES[case]
    report = check(DataSource.from_frames(edited(edit)))

    defect = only(report, table, column, message)
    assert (defect.table, defect.column, defect.rows, defect.example) == (
        table,
        column,
        rows,
        example,
    )
    assert not defect.blocking
    assert report.ok
    assert defect in report.warnings


def test_warnings_are_the_only_defects_of_each_warning_case() -> None:
    counts = {
        case: len(check(DataSource.from_frames(edited(edit))).defects)
        for case, (edit, _, _) in WARNING_CASES.items()
    }
    assert counts == {case: 1 for case in WARNING_CASES} | {
        "usage before the account was created": 2
    }


def test_usage_within_the_grace_period_after_coverage_is_not_activity_after_churn() -> None:
    # a3's coverage ended 2024-03-01; day 29 after it is still the renewal's grace period.
    frames = edited(set_value("usage", "timestamp", 2, "2024-03-30"))
    assert check(DataSource.from_frames(frames)).defects == []


def test_usage_in_a_gap_between_contracts_counts_as_activity_after_churn() -> None:
    def reactivate(frames: Frames) -> None:
        extra = pd.DataFrame(
            [["c4", "a3", "2024-09-01", "2025-09-01", "100000", None, None]],
            columns=frames["contracts"].columns,
        )
        frames["contracts"] = pd.concat([frames["contracts"], extra], ignore_index=True)
        frames["usage"].loc[2, "timestamp"] = "2024-06-01"  # between the two contracts

    report = check(DataSource.from_frames(edited(reactivate)))
    defect = only(report, "usage", "timestamp")
    assert defect.example == "a3 on 2024-06-01 (coverage ended 2024-03-01)"


def test_usage_before_the_first_contract_is_a_warning() -> None:
    frames = edited(set_value("accounts", "created_at", 0, "2022-01-01"))
    frames["usage"].loc[0, "timestamp"] = "2022-06-01"
    report = check(DataSource.from_frames(frames))
    defect = only(report, "usage", "timestamp")
    assert defect.rows == 1
    assert defect.example == "a1 on 2022-06-01 (first contract 2023-01-01)"
    assert "before the account's first contract" in defect.message


def test_dates_after_the_data_end_are_warnings_except_contract_ends_and_due_dates() -> None:
    # data_end 2024-06-01: the contracts' 2025 ends and a milestone due in 2025 are fine.
    frames = edited(set_value("surveys", "timestamp", 1, "2024-07-01"))
    report = check(DataSource.from_frames(frames, data_end="2024-06-01"))
    defect = only(report, "surveys", "timestamp")
    assert (defect.rows, defect.example) == (1, "'2024-07-01' (account_id=a2)")
    assert "after the data's end (2024-06-01)" in defect.message
    assert report.warnings == [defect]


def test_accounts_without_contracts_are_reported() -> None:
    frames = edited(lambda f: f.update(contracts=f["contracts"].iloc[:2]))
    frames["usage"] = frames["usage"].iloc[:2]
    report = check(DataSource.from_frames(frames))
    defect = only(report, "accounts", "account_id")
    assert (defect.rows, defect.example) == (1, "account_id=a3")
    assert report.ok


def _write_csv_folder(frames: Frames, folder: Path) -> Path:
    folder.mkdir()
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _write_parquet_folder(frames: Frames, folder: Path) -> Path:
    folder.mkdir()
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _write_duckdb(frames: Frames, folder: Path) -> Path:
    folder.mkdir()
    path = folder / "crm.duckdb"
    connection = duckdb.connect(str(path))
    for name, frame in frames.items():
        connection.register("frame", frame)
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        connection.unregister("frame")
    connection.close()
    return path


def _defective_typed_frames() -> Frames:
    frames = clean_frames()
    frames["contracts"].loc[1, "arr"] = -30_000.0
    frames["usage"].loc[0, "account_id"] = "ghost"
    return frames


@pytest.mark.parametrize("writer", [_write_csv_folder, _write_parquet_folder, _write_duckdb])
def test_csv_parquet_and_duckdb_sources_validate_alike(
    tmp_path: Path, writer: Callable[[Frames, Path], Path]
) -> None:
    clean = DataSource.open(writer(clean_frames(), tmp_path / "clean"))
    assert check(clean).defects == []

    report = check(DataSource.open(writer(_defective_typed_frames(), tmp_path / "bad")))
    summary = [(d.table, d.column, d.rows, d.blocking) for d in report.defects]
    # One orphan of three usage rows is 33%: over the 20% that blocks.
    assert summary == [("contracts", "arr", 1, True), ("usage", "account_id", 1, True)]
    assert only(report, "usage", "account_id").example == "account_id=ghost"


def test_csv_source_reports_unparseable_text_a_typed_source_cannot_hold(tmp_path: Path) -> None:
    frames = edited(set_value("accounts", "created_at", 1, "March 1st"))
    report = check(DataSource.open(_write_csv_folder(frames, tmp_path / "csv")))
    defect = only(report, "accounts", "created_at")
    assert (defect.rows, defect.example, defect.blocking) == (
        1,
        "'March 1st' (account_id=a2)",
        True,
    )


def test_report_renders_a_table_and_serialises_to_json() -> None:
    report = check(DataSource.from_frames(edited(set_value("contracts", "arr", 1, "-1"))))
    buffer = io.StringIO()
    report.render(Console(file=buffer, width=200))
    text = buffer.getvalue()
    for header in ("severity", "table", "column", "rows", "example", "message"):
        assert header in text
    assert "negative ARR" in text
    assert "INVALID: 1 blocking defect(s)" in text

    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["ok"] is False
    assert payload["blocking"] == 1
    assert payload["defects"][0] == {
        "severity": "blocking",
        "table": "contracts",
        "column": "arr",
        "rows": 1,
        "example": "'-1' (contract_id=c2)",
        "message": "negative ARR",
        "blocking": True,
    }


def test_examples_with_brackets_are_printed_as_text_not_markup() -> None:
    report = check(DataSource.from_frames(edited(set_value("contracts", "arr", 1, "[red]x"))))
    buffer = io.StringIO()
    report.render(Console(file=buffer, width=200))
    assert "'[red]x' (contract_id=c2)" in buffer.getvalue()


def test_require_valid_raises_with_the_blocking_defects() -> None:
    source = DataSource.from_frames(edited(set_value("contracts", "end_date", 0, "2022-01-01")))
    with pytest.raises(RetainError) as raised:
        require_valid(source, console=Console(file=io.StringIO()))
    assert raised.value.exit_code == 1
    message = str(raised.value)
    assert "1 blocking data defect(s)" in message
    assert "end_date is before start_date" in message
    assert "contract_id=c1" in message


def test_require_valid_prints_warnings_briefly_and_returns_the_report() -> None:
    source = DataSource.from_frames(edited(_orphan_usage))
    buffer = io.StringIO()
    report = require_valid(source, console=Console(file=buffer, width=200))
    assert report.ok
    assert len(report.warnings) == 1
    assert "1 data-quality warning(s)" in buffer.getvalue()
    assert "usage.account_id: orphan rows" in buffer.getvalue()


WIDE = {"COLUMNS": "220"}  # rich wraps the report to the terminal's width


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test app holding only the contract commands."""

    contract_cli.register(app)
    return app


def test_cli_validate_exits_1_with_the_report_on_blocking_defects(tmp_path: Path) -> None:
    folder = _write_parquet_folder(_defective_typed_frames(), tmp_path / "bad")
    result = CliRunner().invoke(
        _app(),
        ["validate", "--data", str(folder), "--json", str(tmp_path / "report.json")],
        env=WIDE,
    )
    assert result.exit_code == 1, result.output
    assert "negative ARR" in result.output
    assert "INVALID" in result.output
    payload = json.loads((tmp_path / "report.json").read_text())
    # Negative ARR, and one orphan of three usage rows (33%, over the 20% that blocks).
    assert (payload["blocking"], payload["warnings"]) == (2, 0)


def test_cli_validate_exits_0_on_warnings_only(tmp_path: Path) -> None:
    frames = clean_frames()
    frames["usage"].loc[0, "account_id"] = "ghost"
    folder = _write_csv_folder(frames, tmp_path / "warn")
    # One orphan of three rows is 33%; the data's own retain.toml allows half.
    (folder / "retain.toml").write_text("[features]\nmax_orphan_share = 0.5\n")
    result = CliRunner().invoke(_app(), ["validate", "--data", str(folder)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "VALID with 1 warning(s)" in result.output


def test_cli_validate_uses_the_data_end_of_the_sources_retain_toml(tmp_path: Path) -> None:
    folder = _write_csv_folder(clean_frames(), tmp_path / "src")
    (folder / "retain.toml").write_text('[features]\ndata_end = "2024-04-15"\n')
    result = CliRunner().invoke(_app(), ["validate", "--data", str(folder)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "after the data's end" in result.output  # the May usage rows


@pytest.mark.parametrize("content", [None, b"not a parquet file"])
def test_cli_validate_missing_or_unreadable_source_is_a_clean_error(
    tmp_path: Path, content: bytes | None
) -> None:
    folder = tmp_path / "src"
    if content is not None:
        folder.mkdir()
        (folder / "accounts.parquet").write_bytes(content)
    result = CliRunner().invoke(_app(), ["validate", "--data", str(folder)])
    assert result.exit_code == 1
    assert isinstance(result.exception, RetainError)  # retain.cli.main prints it, no traceback
    assert str(folder) in str(result.exception)


def test_unparseable_counts_match_what_the_canonical_view_turns_into_null() -> None:
    frames = as_text(clean_frames())
    frames["tickets"] = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "account_id": ["a1", "a1", "a2", "a2"],
            "created_at": ["2024-02-01", " 2024-02-02 ", "02/03/2024", ""],
            "resolved_at": ["2024-02-03 10:00:00", "soon", None, "2024-03-01"],
            "priority": ["high", "low", "normal", "urgent"],
            "escalated": ["Yes", "0", "TRUE", "perhaps"],
            "csat": ["4", "4.5", "five", " "],
        }
    )
    source = DataSource.from_frames(frames)
    report = check(source)
    # (escalated is left out: the canonical view fills its default over an unreadable value,
    # which is why validation reads the raw view)
    for column in ("created_at", "resolved_at", "csat"):
        became_null = source.sql(
            f"SELECT count(*) AS n FROM raw_tickets r POSITIONAL JOIN tickets c "
            f"WHERE NULLIF(TRIM(r.{column}), '') IS NOT NULL AND c.{column} IS NULL"
        )["n"].iloc[0]
        reported = only(report, "tickets", column, "cannot be read").rows
        assert reported == became_null == 1, column


def test_an_extra_account_column_named_like_an_outcome_is_a_leakage_warning() -> None:
    frames = as_text(clean_frames())
    frames["accounts"] = frames["accounts"].assign(Churn=["No", "No", "Yes"], tier=["a", "b", "c"])
    report = check(DataSource.from_frames(frames))
    defect = only(report, "accounts", "Churn")
    assert (defect.rows, defect.example, defect.blocking) == (3, "values like No, Yes", False)
    assert "label leakage" in defect.message
    assert report.warnings == [defect]  # `tier` is an ordinary attribute


def _padded_accounts(frames: Frames) -> None:
    """accounts ids "0001".."0003" while usage, tickets, ... keep integers 1..3 (a CRM export
    against a product database)."""
    frames["accounts"] = frames["accounts"].assign(account_id=["0001", "0002", "0003"])
    frames["contracts"] = frames["contracts"].assign(account_id=["0001", "0002", "0003"])
    frames["usage"] = frames["usage"].assign(account_id=[1, 2, 3])


def test_orphans_above_the_share_block_with_a_hint_when_only_padding_differs() -> None:
    report = check(DataSource.from_frames(edited(_padded_accounts)))
    defect = only(report, "usage", "account_id", "orphan rows")
    assert defect.blocking and not report.ok
    assert defect.rows == 3
    assert "100% of the table's 3 rows" in defect.message
    assert "type and zero padding are ignored" in defect.message
    assert "usage '1' vs accounts '0001'" in defect.message
    assert "BIGINT vs VARCHAR" in defect.message
    assert defect.example == "account_id=1 (accounts has 0001)"


def test_orphans_with_unrelated_ids_block_without_the_hint() -> None:
    def ghosts(frames: Frames) -> None:
        frames["usage"] = frames["usage"].assign(account_id=["x1", "x2", "a3"])

    defect = only(check(DataSource.from_frames(edited(ghosts))), "usage", "account_id")
    assert defect.blocking and "67% of the table's 3 rows" in defect.message
    assert "Hint" not in defect.message


def test_a_few_orphans_warn_with_the_hint_and_the_share_is_configurable() -> None:
    from retain.config import Config

    def one_float_id(frames: Frames) -> None:
        _orphan_usage(frames)
        frames["usage"].loc[len(frames["usage"]) - 1, "account_id"] = "a1.0"

    warned = only(check(DataSource.from_frames(edited(_orphan_usage))), "usage", "account_id")
    assert not warned.blocking and "11% of the table's 9 rows" in warned.message
    strict = Config().with_overrides({"features": {"max_orphan_share": 0.05}})
    blocked = check(DataSource.from_frames(edited(_orphan_usage)), strict)
    assert not blocked.ok
    assert only(blocked, "usage", "account_id").blocking
    lenient = Config().with_overrides({"features": {"max_orphan_share": 1.0}})
    assert check(DataSource.from_frames(edited(_padded_accounts)), lenient).ok
    # "a1.0" is a1 written as a float would be: the hint names it.
    hinted = only(check(DataSource.from_frames(edited(one_float_id))), "usage", "account_id")
    assert "usage 'a1.0' vs accounts 'a1'" in hinted.message
