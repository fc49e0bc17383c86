"""The Evidently HTML report a person opens to see what moved, built on a sample of each window.

The statistical test and threshold per column type come from `DriftConfig`, never from
Evidently's defaults, which switch tests with the number of rows (at 1,000) and would make the
same shift pass on 999 rows and fail on 1,001.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import pandas as pd

from retain.config import DriftConfig
from retain.files import atomic_path


@dataclass(frozen=True)
class EvidentlyColumn:
    """Evidently's verdict on one column (statistic of the configured test)."""

    test: str
    threshold: float
    statistic: float | None


def sample_rows(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """At most `rows` rows, the same ones for the same seed."""
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed)


def build_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    config: DriftConfig,
    html_path: str | os.PathLike[str],
) -> dict[str, EvidentlyColumn]:
    """Write Evidently's data drift report to `html_path`; return its verdict per column.

    Columns with no value at all in either sample are left out: Evidently refuses them, and the
    fast path already reports them through their null share.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference = sample_rows(reference, config.report_sample_rows, config.seed)
    current = sample_rows(current, config.report_sample_rows, config.seed)
    usable = [
        name
        for name in (*numeric, *categorical)
        if name in reference.columns
        and name in current.columns
        and reference[name].notna().any()
        and current[name].notna().any()
    ]
    usable_numeric = [name for name in numeric if name in usable]
    usable_categorical = [name for name in categorical if name in usable]
    definition = DataDefinition(
        numerical_columns=usable_numeric, categorical_columns=usable_categorical
    )
    preset = DataDriftPreset(
        columns=usable,
        drift_share=config.drift_share,
        num_method=config.numerical_stattest,
        num_threshold=config.numerical_stattest_threshold,
        cat_method=config.categorical_stattest,
        cat_threshold=config.categorical_stattest_threshold,
    )
    with warnings.catch_warnings():
        # Constant columns make numpy warn about dividing by a zero spread inside Evidently.
        warnings.simplefilter("ignore")
        snapshot = Report([preset]).run(
            Dataset.from_pandas(_prepared(current, usable, usable_categorical), definition),
            Dataset.from_pandas(_prepared(reference, usable, usable_categorical), definition),
        )
        with atomic_path(html_path) as tmp:
            snapshot.save_html(str(tmp))
    values = _value_drift_by_column(snapshot.dict())
    result: dict[str, EvidentlyColumn] = {}
    for name in usable_numeric:
        result[name] = EvidentlyColumn(
            test=config.numerical_stattest,
            threshold=config.numerical_stattest_threshold,
            statistic=values.get(name),
        )
    for name in usable_categorical:
        result[name] = EvidentlyColumn(
            test=config.categorical_stattest,
            threshold=config.categorical_stattest_threshold,
            statistic=values.get(name),
        )
    return result


def _prepared(frame: pd.DataFrame, columns: list[str], categorical: list[str]) -> pd.DataFrame:
    prepared = frame[columns].copy()
    for name in categorical:
        # One dtype per column: Evidently compares category sets as strings.
        column = prepared[name]
        prepared[name] = column.astype(str).where(column.notna(), None)
    return prepared.reset_index(drop=True)


def _value_drift_by_column(result: dict) -> dict[str, float | None]:
    values: dict[str, float | None] = {}
    for metric in result.get("metrics", []):
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith(":ValueDrift"):
            continue
        value = metric.get("value")
        values[config["column"]] = float(value) if value is not None else None
    return values
