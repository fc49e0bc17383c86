"""`retain features` end to end on a folder of parquet files (tests/features/test_cli.py would
clash with tests/monitoring/test_cli.py under pytest's default import mode)."""

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from retain.cli import app
from retain.errors import RetainError
from tests.features.fixtures_data import base_frames


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for name, frame in base_frames().items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_features_command_writes_the_frame_and_a_summary(tmp_path):
    out = tmp_path / "out" / "features.parquet"
    result = CliRunner().invoke(
        app,
        [
            "features",
            "--data",
            str(_folder(tmp_path)),
            "--out",
            str(out),
            "--as-of",
            "2024-06-01",
            "--as-of",
            "2024-03-01",
            "--accounts",
            "a1",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert frame["account_id"].tolist() == ["a1", "a1"]
    assert frame["as_of"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-01", "2024-06-01"]
    assert "2 snapshots of 1 accounts" in result.output
    assert "churn: no outcome known yet" in result.output  # the data ends before any window


def test_features_command_rejects_a_bad_spine_without_writing(tmp_path):
    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(
        app, ["features", "--data", str(_folder(tmp_path)), "--out", str(out), "--spine", "weekly"]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, RetainError)
    assert "--spine must be one of" in str(result.exception)
    assert not out.exists()


def test_features_command_stops_on_blocking_data_defects(tmp_path):
    folder = _folder(tmp_path)
    contracts = pd.read_parquet(folder / "contracts.parquet")
    contracts.loc[0, "arr"] = -5.0
    contracts.to_parquet(folder / "contracts.parquet", index=False)
    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(app, ["features", "--data", str(folder), "--out", str(out)])
    assert result.exit_code != 0
    with pytest.raises(RetainError):
        raise result.exception
    assert not out.exists()


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Through the real entry point: the message a person sees and the exit code."""
    import sys

    from retain.cli import main

    monkeypatch.setattr(sys, "argv", ["retain", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


def test_validate_given_a_table_file_says_to_give_its_folder(tmp_path, monkeypatch, capsys):
    folder = _folder(tmp_path)
    code, err = _main(monkeypatch, capsys, "validate", "--data", str(folder / "accounts.parquet"))
    assert code == 1
    assert err.count("\n") == 1  # one line
    assert "is a file; give the folder that holds the tables instead" in err
    assert f"(--data {folder})" in err
    assert "Traceback" not in err and "read-only" not in err


def test_validate_names_an_empty_csv(tmp_path, monkeypatch, capsys):
    folder = _folder(tmp_path)
    (folder / "accounts.parquet").unlink()
    (folder / "accounts.csv").write_text("")
    code, err = _main(monkeypatch, capsys, "validate", "--data", str(folder))
    assert code == 1
    assert "accounts.csv is empty (no header row)" in err
    assert "column0" not in err


def test_an_unwritable_out_fails_before_the_work(tmp_path, monkeypatch, capsys):
    folder = _folder(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = blocker / "features.parquet"  # a folder can never be made inside a file
    monkeypatch.setattr(
        "features.build.build_features",
        lambda *a, **k: pytest.fail("the features were built before the --out check"),
    )
    code, err = _main(monkeypatch, capsys, "features", "--data", str(folder), "--out", str(out))
    assert code == 1
    assert f"--out {out}: {blocker} is a file, so no folder can be made there" in err
    assert "Traceback" not in err


def test_validate_json_into_a_folder_fails_before_reading(tmp_path, monkeypatch, capsys):
    folder = _folder(tmp_path)
    code, err = _main(
        monkeypatch, capsys, "validate", "--data", str(folder), "--json", str(tmp_path)
    )
    assert code == 1
    assert f"--json {tmp_path} is a folder; give a file path inside it" in err
