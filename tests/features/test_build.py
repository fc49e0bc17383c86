from pathlib import Path

import pandas as pd
import pytest

from features.build import build_features
from features.frame import IDENTITY_COLUMNS, LABEL_COLUMNS, feature_columns
from features.sentiment import VALUES as SENTIMENT_COLUMNS
from features.source import DataSource
from features.usage import COUNTS as USAGE_COUNTS
from features.usage import VALUES as USAGE_VALUES
from retain.config import load_config
from tests.features.fixtures_data import base_build, base_frames, build

CUT_DATES = ("2025-03-01", "2025-09-01")


def test_frame_layout_identity_first_labels_last_features_typed():
    frame = base_build()
    assert tuple(frame.columns[: len(IDENTITY_COLUMNS)]) == IDENTITY_COLUMNS
    assert tuple(frame.columns[-len(LABEL_COLUMNS) :]) == LABEL_COLUMNS
    assert "arr" in feature_columns(frame)
    for column in feature_columns(frame):
        kind = frame[column].dtype
        assert kind == "float64" or column in ("account_industry", "account_region"), column
    assert frame["as_of"].dtype == "datetime64[ns]"
    for column in ("churn_window_end", "churn_known_at", "expansion_known_at"):
        assert frame[column].dtype == "datetime64[ns]"


def test_missing_optional_tables_remove_exactly_their_families():
    frames = base_frames()
    del frames["usage"], frames["surveys"]
    removed = set(base_build().columns) - set(build(frames).columns)
    assert removed == set(USAGE_COUNTS + USAGE_VALUES + SENTIMENT_COLUMNS)


def test_no_active_account_gives_an_empty_frame_with_all_columns():
    frame = build(base_frames(), as_of=["2001-01-01"])
    assert frame.empty
    assert tuple(frame.columns[: len(IDENTITY_COLUMNS)]) == IDENTITY_COLUMNS


# -- the property the whole pipeline promises -----------------------------------------------------

_EVENT_TIME = {
    "accounts": "created_at",
    "contracts": "start_date",
    "usage": "timestamp",
    "tickets": "created_at",
    "contacts": "added_at",
    "activities": "timestamp",
    "surveys": "timestamp",
}
# Facts that become known later: erased when they happen on or after the cut.
_LATER_FACTS = {
    "tickets": ("resolved_at", ("resolved_at", "csat")),
    "contacts": ("left_at", ("left_at",)),
    "milestones": ("achieved_at", ("achieved_at",)),
}


def cut_at(frames: dict[str, pd.DataFrame], cut: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The data as it stood at `cut`: rows and facts from `cut` on do not exist yet."""
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        if name in _EVENT_TIME:
            frame = frame[pd.to_datetime(frame[_EVENT_TIME[name]]) < cut]
        if name in _LATER_FACTS:
            when, columns = _LATER_FACTS[name]
            later = pd.to_datetime(frame[when]) >= cut
            for column in columns:
                frame[column] = frame[column].where(~later)
        out[name] = frame.reset_index(drop=True)
    return out


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    simulator = pytest.importorskip("simulator")
    folder = tmp_path_factory.mktemp("simulated")
    simulator.simulate(folder, n_accounts=80, months=18, seed=3)
    return folder


@pytest.mark.parametrize("cut", CUT_DATES)
def test_features_on_full_data_equal_features_on_data_cut_at_as_of(simulated, cut):
    config = load_config(simulated)
    full_source = DataSource.open(simulated, data_end=config.features.data_end)
    frames = {name: full_source.frame(name) for name in full_source.tables}
    cut_source = DataSource.from_frames(
        cut_at(frames, pd.Timestamp(cut)), data_end=config.features.data_end
    )
    full = build_features(full_source, config, as_of=[cut])
    past = build_features(cut_source, config, as_of=[cut])
    assert len(past) > 20
    # An account whose only contract starts exactly on the cut is not in the cut data.
    full = full[full["account_id"].isin(past["account_id"])]
    columns = ["account_id", "as_of", "segment", *feature_columns(full)]
    assert feature_columns(full) == feature_columns(past)
    pd.testing.assert_frame_equal(
        full[columns].reset_index(drop=True), past[columns].reset_index(drop=True)
    )


class _TemporaryTablesAtEachStep:
    """A progress reporter (the `rich.progress.Progress` calls build_features makes) that
    records the source's temporary tables when each step ends."""

    def __init__(self, source: DataSource) -> None:
        self.source, self.seen = source, {}

    def add_task(self, description: str, total: int) -> int:
        return 0

    def update(self, task: int, advance: int = 0, description: str | None = None) -> None:
        if advance:
            self.seen[description] = self.source.temporary_tables()


def test_each_familys_materialized_steps_are_dropped_once_it_is_read():
    """The usage aggregates are the largest tables of a build (~60M rows at 100k accounts):
    held to the end, they would sit in memory while every later family runs."""
    source = DataSource.from_frames(base_frames(), data_end="2025-06-01")
    progress = _TemporaryTablesAtEachStep(source)
    build_features(source, load_config(None), as_of=["2024-06-01"], progress=progress)
    spine_tables = progress.seen["spine"]
    assert len(spine_tables) == 1  # the spine, which every family reads
    assert progress.seen["usage"] == spine_tables
    assert progress.seen["done"] == set()
