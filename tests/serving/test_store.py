import json

import pandas as pd
import pytest

from retain.errors import RetainError
from serving.scoring import load_model_pair, score_frame
from serving.store import read_store, write_store


@pytest.fixture(scope="module")
def models(trained: dict):
    return load_model_pair(trained["config"])


def snapshot_at(trained: dict, month: str, n: int = 5) -> pd.DataFrame:
    frame = trained["frame"]
    return frame[frame["as_of"] == pd.Timestamp(month)].head(n).reset_index(drop=True)


def test_round_trip_keeps_results_and_features(tmp_path, models, trained: dict) -> None:
    snapshot = snapshot_at(trained, "2024-08-01")
    results = score_frame(snapshot, models, trained["config"])
    path = write_store(tmp_path / "s.duckdb", snapshot, models, results)
    stored = read_store(path)
    assert sorted(stored) == sorted(snapshot["account_id"])
    first = stored[results[0]["account_id"]]
    assert first.result == results[0]
    assert first.as_of == "2024-08-01"
    assert first.is_fresh_for(models)
    assert first.features["account_industry"] == snapshot.loc[0, "account_industry"]
    assert first.features["seat_utilization"] == snapshot.loc[0, "seat_utilization"]
    assert [p.name for p in tmp_path.iterdir()] == ["s.duckdb"]  # no temp or WAL left behind


def test_latest_snapshot_wins_and_as_of_selects(tmp_path, models, trained: dict) -> None:
    path = tmp_path / "s.duckdb"
    for month in ("2024-07-01", "2024-08-01"):
        snapshot = snapshot_at(trained, month)
        write_store(path, snapshot, models, score_frame(snapshot, models, trained["config"]))
    assert {a.as_of for a in read_store(path).values()} == {"2024-08-01"}
    july = read_store(path, as_of="2024-07-01", account_ids=["acc_0001", "missing"])
    assert list(july) == ["acc_0001"]
    assert july["acc_0001"].as_of == "2024-07-01"


def test_a_newer_snapshot_without_scores_is_stale(tmp_path, models, trained: dict) -> None:
    path = tmp_path / "s.duckdb"
    snapshot = snapshot_at(trained, "2024-08-01")
    write_store(
        path,
        snapshot,
        models,
        score_frame(snapshot, models, trained["config"]),
        now=pd.Timestamp("2024-08-02 10:00"),
    )
    write_store(path, snapshot.head(1), models, None, now=pd.Timestamp("2024-08-03 10:00"))
    stored = read_store(path)
    assert not stored[snapshot.loc[0, "account_id"]].is_fresh_for(models)
    assert stored[snapshot.loc[1, "account_id"]].is_fresh_for(models)


def test_snapshot_without_any_scores(tmp_path, models, trained: dict) -> None:
    path = write_store(tmp_path / "s.duckdb", snapshot_at(trained, "2024-08-01", 2), models)
    assert all(a.result is None and not a.is_fresh_for(models) for a in read_store(path).values())


def test_missing_or_broken_store_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(RetainError, match="retain score"):
        read_store(tmp_path / "nope.duckdb")
    broken = tmp_path / "broken.duckdb"
    broken.write_text("not a database")
    with pytest.raises(RetainError, match="score store"):
        read_store(broken)


def test_reasons_are_stored_as_json(tmp_path, models, trained: dict) -> None:
    import duckdb

    snapshot = snapshot_at(trained, "2024-08-01", 1)
    results = score_frame(snapshot, models, trained["config"])
    path = write_store(tmp_path / "s.duckdb", snapshot, models, results)
    with duckdb.connect(str(path), read_only=True) as connection:
        reasons, version = connection.execute(
            "SELECT reasons, churn_version FROM scores"
        ).fetchone()
    assert json.loads(reasons) == results[0]["reasons"]
    assert version == models.churn_info.version
