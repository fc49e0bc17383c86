"""`retain promote` (and option errors) against the store `retain train` filled (conftest.e2e)."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from retain.cli import app
from retain.errors import RetainError

pytestmark = pytest.mark.slow


def test_promote_moves_champion_and_records_why(e2e):
    result = CliRunner().invoke(
        app, ["promote", "--target", "churn", "--version", "1", "--reason", "first model"]
    )
    assert result.exit_code == 0, result.output
    assert "retain-churn version 1 is now @champion" in result.output
    version = MlflowClient().get_model_version_by_alias("retain-churn", "champion")
    assert version.tags["promotion_reason"] == "first model"
    assert "promoted_by" in version.tags and "promoted_at" in version.tags


def test_promote_unknown_version_fails_cleanly(e2e):
    result = CliRunner().invoke(
        app, ["promote", "--target", "churn", "--version", "9", "--reason", "x"]
    )
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
