import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.build import build_features
from features.sentiment import VALUES
from features.source import DataSource
from retain.config import Config
from tests.features.fixtures_data import (
    AS_OF,
    DATA_END,
    added_columns,
    assert_same_features,
    base_build,
    base_frames,
    build,
    day,
    only,
    plant,
    row,
)


def test_sentiment_values_on_a_hand_built_account():
    r = row(base_build())
    assert r["nps_last"] == 6.0
    assert r["nps_change"] == -3.0
    assert r["days_since_last_nps"] == pytest.approx(50.0)
    assert r["survey_csat_avg_180d"] == 3.0


def test_sentiment_is_point_in_time():
    future = [
        {"account_id": "a1", "timestamp": AS_OF, "kind": "nps", "score": 0.0},
        {"account_id": "a1", "timestamp": day(20), "kind": "csat", "score": 5.0},
        {"account_id": "a2", "timestamp": day(1), "kind": "nps", "score": 10.0},
    ]
    before = build(only(base_frames(), "surveys"))
    assert_same_features(before, build(only(plant(base_frames(), "surveys", future), "surveys")))


def test_the_surveys_table_brings_exactly_the_sentiment_family():
    assert added_columns("surveys") == set(VALUES)


def test_nan_scores_in_parquet_are_missing_not_poison(tmp_path):
    # Some writers store a missing float as NaN, which DuckDB treats as a value.
    frames = only(base_frames(), "surveys")
    for name, frame in frames.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if name == "surveys":
            frame = pd.concat(
                [frame, pd.DataFrame([{"account_id": "a1", "timestamp": day(-10), "kind": "nps"}])]
            )
            table = pa.Table.from_pandas(frame.drop(columns="score"), preserve_index=False)
            table = table.append_column(
                "score", pa.array([9.0, 6.0, 3.0, float("nan")], from_pandas=False)
            )
        pq.write_table(table, tmp_path / f"{name}.parquet")
    source = DataSource.open(tmp_path, data_end=DATA_END)
    r = row(build_features(source, Config(), as_of=[AS_OF]))
    assert r["nps_last"] == 6.0  # the NaN answer 10 days ago is not an answer
    assert r["survey_csat_avg_180d"] == 3.0
