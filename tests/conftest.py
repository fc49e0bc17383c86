"""Fixtures for the whole suite."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _mlflow_uris_do_not_outlive_a_test():
    """MLflow keeps `set_tracking_uri` in a process global, which outlives the test (and the
    MLFLOW_TRACKING_URI a fixture set): a later test in the same worker would read another
    test's store (tests/training/test_train.py found no "e2e" experiment that way). After each
    test the URIs fall back to MLFLOW_TRACKING_URI, which fixtures set and undo."""
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
