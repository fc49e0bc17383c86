"""The two windows to compare: feature files, or feature frames built from a data source."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.frame import categorical_feature_columns, feature_columns
from retain.config import Config
from retain.errors import RetainError

INPUT_ERROR = 2  # exit code of every input problem, so a scheduled job can tell error from drift


@dataclass(frozen=True)
class FeatureKinds:
    """Which features are compared, and how (decided on both windows together)."""

    numeric: list[str]
    categorical: list[str]

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]


def read_feature_file(path: str | os.PathLike[str], role: str) -> pd.DataFrame:
    """A feature file written by `retain features` (parquet, or csv), as a frame."""
    path = Path(path)
    if not path.is_file():
        raise RetainError(f"The {role} feature file {path} does not exist.", exit_code=INPUT_ERROR)
    is_csv = path.suffix.lower() == ".csv"
    try:
        return pd.read_csv(path) if is_csv else pd.read_parquet(path)
    except Exception as error:  # pyarrow and pandas raise many types for a damaged file
        raise RetainError(
            f"The {role} feature file {path} cannot be read as {'CSV' if is_csv else 'parquet'}: "
            f"{type(error).__name__}: {error}",
            exit_code=INPUT_ERROR,
        ) from error


def load_windows(
    config: Config,
    *,
    reference: str | None,
    current: str | None,
    data: str | None,
    reference_as_of: str | None,
    current_as_of: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reference, current) from two feature files, or built from a data source at two dates."""
    if data is not None:
        if reference is not None or current is not None:
            raise RetainError(
                "Give --reference/--current files or --data with dates, not both.",
                exit_code=INPUT_ERROR,
            )
        if reference_as_of is None or current_as_of is None:
            raise RetainError(
                "--data needs --reference-as-of and --current-as-of.", exit_code=INPUT_ERROR
            )
        reference_frame, current_frame = build_windows(
            data, [reference_as_of, current_as_of], config
        )
        return reference_frame, current_frame
    if reference is None or current is None:
        raise RetainError(
            "Give --reference and --current feature files (or --data with "
            "--reference-as-of and --current-as-of).",
            exit_code=INPUT_ERROR,
        )
    # With files, a date picks that snapshot out of a file holding many (one features run).
    return (
        select_as_of(read_feature_file(reference, "reference"), reference_as_of, "reference"),
        select_as_of(read_feature_file(current, "current"), current_as_of, "current"),
    )


def select_as_of(frame: pd.DataFrame, as_of: str | None, role: str) -> pd.DataFrame:
    """The rows of one as_of date (all rows when no date is given)."""
    if as_of is None:
        return frame
    timestamp = _date(as_of)
    if "as_of" not in frame.columns:
        raise RetainError(
            f"The {role} feature file has no as_of column to pick {as_of} from.",
            exit_code=INPUT_ERROR,
        )
    dates = pd.to_datetime(frame["as_of"], errors="coerce")
    selected = frame[dates == timestamp]
    if selected.empty:
        present = sorted(dates.dropna().dt.date.astype(str).unique())
        shown = ", ".join(present if len(present) <= 6 else [*present[:3], "...", *present[-3:]])
        raise RetainError(
            f"The {role} feature file has no rows with as_of {timestamp.date()} "
            f"({len(present)} dates present: {shown or 'none'}).",
            exit_code=INPUT_ERROR,
        )
    return selected.reset_index(drop=True)


def _date(text: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(text).normalize()
    except ValueError as error:
        raise RetainError(f"{text!r} is not a date.", exit_code=INPUT_ERROR) from error


def build_windows(
    data: str | os.PathLike[str], as_of: list[str], config: Config
) -> list[pd.DataFrame]:
    """Features of every account at each as_of date, built from a data source in one pass."""
    dates = [_date(text) for text in as_of]
    from features.build import build_features
    from features.source import DataSource

    try:
        source = DataSource.open(data)
        frame = build_features(source, config, as_of=sorted({d.date() for d in dates}))
    except RetainError as error:
        raise RetainError(str(error), exit_code=INPUT_ERROR) from error
    snapshot_dates = pd.to_datetime(frame["as_of"])
    windows = [frame[snapshot_dates == date].reset_index(drop=True) for date in dates]
    for text, window in zip(as_of, windows, strict=True):
        if window.empty:
            raise RetainError(
                f"No account is active at {text} in {data}; pick a date inside the data "
                f"(data ends {source.data_end.date()}).",
                exit_code=INPUT_ERROR,
            )
    return windows


def check_windows(reference: pd.DataFrame, current: pd.DataFrame) -> FeatureKinds:
    """Feature columns of both windows, typed; a clear error for windows that cannot be compared."""
    for role, frame in (("reference", reference), ("current", current)):
        if len(frame) == 0:
            raise RetainError(
                f"The {role} window has no rows; drift needs rows on both sides.",
                exit_code=INPUT_ERROR,
            )
    names = list(dict.fromkeys([*feature_columns(reference), *feature_columns(current)]))
    if not names:
        raise RetainError(
            "Neither window has any feature column (only identity and label columns, such as "
            "account_id, as_of, churn); pass files written by `retain features`.",
            exit_code=INPUT_ERROR,
        )
    text_reference = set(categorical_feature_columns(reference))
    text_current = set(categorical_feature_columns(current))
    numeric: list[str] = []
    categorical: list[str] = []
    for name in names:
        kinds = {
            "text" if name in text else "number"
            for frame, text in ((reference, text_reference), (current, text_current))
            if name in frame.columns and frame[name].notna().any()
        }
        if len(kinds) > 1:
            text_frame = reference if name in text_reference else current
            example = text_frame[name].dropna().iloc[0]
            raise RetainError(
                f"Feature {name!r} is numeric in one window and text in the other "
                f"(reference {reference[name].dtype}, current {current[name].dtype}, "
                f"example text value {example!r}); rebuild both with the same `retain features`.",
                exit_code=INPUT_ERROR,
            )
        (categorical if kinds == {"text"} else numeric).append(name)
    return FeatureKinds(numeric=numeric, categorical=categorical)


def describe_window(frame: pd.DataFrame) -> dict[str, object]:
    """Rows and as_of range of a window, for drift.json."""
    summary: dict[str, object] = {"rows": len(frame)}
    if "as_of" in frame.columns and frame["as_of"].notna().any():
        as_of = pd.to_datetime(frame["as_of"], errors="coerce")
        summary["as_of_min"] = str(as_of.min().date())
        summary["as_of_max"] = str(as_of.max().date())
    return summary
