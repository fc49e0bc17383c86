import json

import pandas as pd
import pytest

from retain.errors import RetainError
from serving.batch import (
    flat_csv_frame,
    output_paths,
    parse_as_of,
    results_frame,
    score_snapshot,
    write_outputs,
)
from serving.scoring import load_model_pair, score_frame


@pytest.fixture(scope="module")
def scored(trained: dict) -> tuple:
    models = load_model_pair(trained["config"])
    frame = trained["frame"]
    snapshot = frame[frame["as_of"] == frame["as_of"].max()].reset_index(drop=True)
    results = score_snapshot(snapshot, models, trained["config"])
    return snapshot, results, models


def test_chunked_scoring_equals_one_pass(scored, trained: dict) -> None:
    snapshot, results, models = scored
    head = snapshot.head(30)
    assert score_snapshot(head, models, trained["config"], chunk_rows=7) == results[:30]
    assert score_snapshot(head, models, trained["config"], show_progress=True) == results[:30]
    # score_frame is the model's answer; score_snapshot adds the run's plays (serving.plays).
    assert all(isinstance(r["recommended_plays"], list) for r in results)
    assert any(r["recommended_plays"] for r in results if r["health_band"] == "red")
    without_plays = [{k: v for k, v in r.items() if k != "recommended_plays"} for r in results]
    assert without_plays == score_frame(snapshot, models, trained["config"])


def test_results_frame_and_flat_csv(scored, trained: dict) -> None:
    snapshot, results, models = scored
    frame = results_frame(snapshot, results, models)
    assert len(frame) == len(snapshot)
    assert list(frame["csm_id"]) == list(snapshot["csm_id"])
    assert json.loads(frame.loc[0, "reasons"]) == results[0]["reasons"]
    flat = flat_csv_frame(frame, k=3)
    for column in ("risk_reason_1", "protective_reason_3", "expansion_reason_1", "signals"):
        assert column in flat.columns
    raising = [r["text"] for r in results[0]["reasons"] if r["direction"] == "raises"]
    assert flat.loc[0, "risk_reason_1"] == raising[0]
    assert flat.loc[0, "signals"] == "; ".join(s["text"] for s in results[0]["signals"])


def test_writes_parquet_and_csv(tmp_path, scored) -> None:
    snapshot, results, models = scored
    parquet, csv = write_outputs(
        results_frame(snapshot, results, models), tmp_path / "scores.parquet", 3
    )
    assert (parquet.name, csv.name) == ("scores.parquet", "scores.csv")
    assert len(pd.read_parquet(parquet)) == len(snapshot)
    assert len(pd.read_csv(csv)) == len(snapshot)
    assert output_paths(tmp_path / "out")[0].name == "out.parquet"


def test_as_of_option() -> None:
    assert parse_as_of(None) is None
    assert parse_as_of("2024-08-01") == "2024-08-01"
    with pytest.raises(RetainError, match="--as-of"):
        parse_as_of("08/01/2024")
