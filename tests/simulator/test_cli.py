"""`retain simulate`: writes the data set, prints a summary, exits non-zero on bad options."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from retain.cli import app


def test_simulate_writes_tables_and_prints_a_summary(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["simulate", "--out", str(out), "--accounts", "40", "--months", "6", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "truth.parquet").exists() and (out / "retain.toml").exists()
    assert "usage" in result.output and "churned" in result.output


def test_bad_start_exits_with_a_message_not_a_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "retain.cli",
            "simulate",
            "--out",
            str(tmp_path / "x"),
            "--accounts",
            "3",
            "--start",
            "someday",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "--start" in result.stderr and "Traceback" not in result.stderr
