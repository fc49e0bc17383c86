"""`retain profile`: which evaluation the data supports, and --write with and without --force."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluation.suggest import settings_toml, supported_evaluation
from features.profile import profile
from features.source import DataSource
from retain.cli import app
from retain.config import load_config, read_toml
from simulator import simulate


@pytest.fixture(scope="module")
def monthly_book(tmp_path_factory) -> Path:
    return simulate(
        tmp_path_factory.mktemp("p") / "m", n_accounts=200, months=18, seed=5, billing="monthly"
    )


def test_eighteen_months_of_monthly_billing_supports_monthly_origins(monthly_book) -> None:
    config = load_config(monthly_book, workdir=monthly_book)
    facts = profile(DataSource.open(monthly_book, data_end=config.features.data_end), config)
    supported = supported_evaluation(facts, config)
    churn = supported.plans["churn"]
    assert churn["scheme"] == "rolling" and churn["spacing"] == "monthly"
    assert len(churn["windows"]) >= 4
    assert supported.settings["evaluation"]["origin_spacing"] == "monthly"
    text = settings_toml(facts, supported)
    assert 'origin_spacing = "monthly"' in text and text.startswith("# Suggested by")


def test_snapshot_data_supports_stratified_kfold(tmp_path) -> None:
    folder = simulate(tmp_path / "s", n_accounts=300, months=24, seed=5, snapshot=True)
    config = load_config(folder, workdir=folder)
    facts = profile(DataSource.open(folder, data_end=config.features.data_end), config)
    supported = supported_evaluation(facts, config)
    assert supported.plans["churn"]["scheme"] == "stratified k-fold"
    assert supported.settings["evaluation"]["cv_folds"] == len(supported.plans["churn"]["windows"])


def test_profile_command_writes_settings_only_with_force_when_present(
    monthly_book, tmp_path
) -> None:
    target = tmp_path / "retain.toml"
    runner = CliRunner()
    first = runner.invoke(app, ["profile", "--data", str(monthly_book), "--write", str(target)])
    assert first.exit_code == 0, first.output
    assert "label latency median 120 days" in first.output
    assert "Evaluation of churn: rolling" in first.output
    settings = read_toml(target)
    assert settings["evaluation"]["origin_spacing"] == "monthly"
    load_config(workdir=tmp_path)  # the written file is a valid retain.toml

    target.write_text("# mine\n")
    again = runner.invoke(app, ["profile", "--data", str(monthly_book), "--write", str(target)])
    assert again.exit_code == 1
    assert "exists; pass --force" in str(again.exception)
    assert target.read_text() == "# mine\n"
    forced = runner.invoke(
        app, ["profile", "--data", str(monthly_book), "--write", str(target), "--force"]
    )
    assert forced.exit_code == 0, forced.output
    assert "origin_spacing" in target.read_text()
