"""Evidently's per-feature drift charts, built on a sample of each window, for drift.html.

The verdict is the job's (monitoring.drift: PSI on the full data with its own bins and a NaN
bin); Evidently bins differently (and drops missing values), so the two cannot agree by
configuration. Its charts are kept as a second view, one `ValueDrift` per column and none of its
dataset-level summary, which would state a verdict of its own. The statistical test and
threshold per column type come from `DriftConfig`, never from Evidently's defaults, which switch
tests with the number of rows (at 1,000) and would make the same shift pass on 999 rows and fail
on 1,001.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd

from retain.config import DriftConfig


@dataclass(frozen=True)
class EvidentlyColumn:
    """Evidently's statistic of the configured test on one column."""

    test: str
    threshold: float
    statistic: float | None


@dataclass(frozen=True)
class EvidentlyView:
    """The embeddable charts (an iframe element) and Evidently's statistic per column."""

    html: str
    columns: dict[str, EvidentlyColumn] = field(default_factory=dict)
    sample_rows: tuple[int, int] = (0, 0)  # rows of the (reference, current) samples


def sample_rows(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """At most `rows` rows, the same ones for the same seed."""
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed)


def build_view(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    config: DriftConfig,
    order: list[str] | None = None,
) -> EvidentlyView:
    """Evidently's ValueDrift chart per column, in `order` (the job's PSI, worst first).

    Columns with no value at all in either sample are left out: Evidently refuses them, and the
    job reports them through their null share.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

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
    if order is not None:
        rank = {name: i for i, name in enumerate(order)}
        usable.sort(key=lambda name: rank.get(name, len(rank)))
    usable_categorical = [name for name in categorical if name in usable]
    definition = DataDefinition(
        numerical_columns=[name for name in usable if name not in usable_categorical],
        categorical_columns=usable_categorical,
    )
    tests = {
        name: (config.categorical_stattest, config.categorical_stattest_threshold)
        if name in usable_categorical
        else (config.numerical_stattest, config.numerical_stattest_threshold)
        for name in usable
    }
    metrics = [
        ValueDrift(column=name, method=test, threshold=threshold)
        for name, (test, threshold) in tests.items()
    ]
    if not metrics:
        return EvidentlyView(html="", sample_rows=(len(reference), len(current)))
    with warnings.catch_warnings():
        # Constant columns make numpy warn about dividing by a zero spread inside Evidently.
        warnings.simplefilter("ignore")
        snapshot = Report(metrics).run(
            Dataset.from_pandas(_prepared(current, usable, usable_categorical), definition),
            Dataset.from_pandas(_prepared(reference, usable, usable_categorical), definition),
        )
        # Evidently's own embedding (as in a notebook): an iframe whose srcdoc is the report.
        html = snapshot.get_html_str(as_iframe=True)
    values = _value_drift_by_column(snapshot.dict())
    columns = {
        name: EvidentlyColumn(test=test, threshold=threshold, statistic=values.get(name))
        for name, (test, threshold) in tests.items()
    }
    return EvidentlyView(html=html, columns=columns, sample_rows=(len(reference), len(current)))


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
