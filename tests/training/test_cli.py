"""`retain promote` (and option errors) against the store `retain train` filled (conftest.e2e)."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from retain.cli import app
from retain.errors import RetainError

pytestmark = pytest.mark.slow


def _promote(*args: str):
    return CliRunner().invoke(app, ["promote", *args])


def test_forced_promote_moves_champion_and_records_why(e2e):
    result = _promote("--target", "churn", "--version", "1", "--reason", "first model", "--force")
    assert result.exit_code == 0, result.output
    assert "retain-churn version 1 is now @champion" in result.output
    version = MlflowClient().get_model_version_by_alias("retain-churn", "champion")
    assert version.tags["promotion_reason"] == "first model (forced past the backtest gate)"
    assert "promoted_by" in version.tags and "promoted_at" in version.tags


def test_the_gate_runs_unless_forced(e2e):
    # No champion yet for expansion: the gate runs and needs a backtest frame.
    result = _promote("--target", "expansion")
    assert isinstance(result.exception, RetainError)
    assert "needs --data (a data source) or --features" in str(result.exception)
    result = _promote("--target", "expansion", "--version", "1", "--force")
    assert isinstance(result.exception, RetainError)
    assert "--force needs a --reason" in str(result.exception)
    result = _promote("--target", "expansion", "--version", "2")
    assert isinstance(result.exception, RetainError)
    assert "compares the challenger (version 1)" in str(result.exception)


def test_promote_unknown_version_fails_cleanly(e2e):
    result = _promote("--target", "churn", "--version", "9", "--reason", "x", "--force")
    assert result.exit_code != 0
    assert isinstance(result.exception, RetainError)
    assert "no version 9" in str(result.exception)


def test_bad_options_fail_cleanly(e2e):
    result = CliRunner().invoke(app, ["train", "--data", "data", "--cutoff", "soon"])
    assert isinstance(result.exception, RetainError)
    assert "--cutoff 'soon' is not a date" in str(result.exception)
    result = CliRunner().invoke(app, ["train", "--data", "data", "--target", "upsell"])
    assert isinstance(result.exception, RetainError)
    assert "--target must be churn, expansion or all" in str(result.exception)
