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
