"""The score store and the score ledger, each writer killed midway by SIGKILL: the previous
store file is intact byte for byte (never edited in place: no WAL of its own appears beside it)
and reads as before; the ledger's earlier runs are intact and a killed run is not in it. What a
killed writer leaves is its hidden temporary file, which readers never open (serving.ledger
promises exactly that for the ledger) and the next write does not trip over."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from serving.ledger import append_run, ledger_files, read_history
from serving.scoring import load_model_pair
from serving.store import read_store, write_store
from tests.retain._kill import kill_midway


@pytest.fixture(scope="module")
def models(trained: dict):
    return load_model_pair(trained["config"])


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


STORE_WRITER = """
import sys
import pandas as pd
from retain.config import Config
from serving.scoring import load_model_pair
from serving.store import write_store
from tests.serving.conftest import synthetic_frame

models = load_model_pair(Config().with_overrides({"serving": {"model_path": sys.argv[2]}}))
frame = synthetic_frame(n_accounts=6_000, months=8, seed=1)
frame["account_id"] = frame["account_id"] + "_new"
print("writing", flush=True)
write_store(sys.argv[1], frame, models)
"""


def test_a_killed_store_writer_leaves_the_previous_store_intact(trained, models, tmp_path):
    store = tmp_path / "scores.duckdb"
    old = trained["frame"].head(30)
    write_store(store, old, models)
    before = read_store(store)
    old_bytes = store.read_bytes()
    killed = False
    for _ in range(5):  # the write may (rarely) finish before the kill lands: try again
        killed = kill_midway(STORE_WRITER, [str(store), str(trained["folder"])], store)
        if killed:
            break
        write_store(store, old, models)  # finished: put the old rows back, retry
        old_bytes = store.read_bytes()
    assert killed, "the store writer always finished before it could be killed"
    assert store.read_bytes() == old_bytes
    assert not (tmp_path / "scores.duckdb.wal").exists()
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p != store)
    assert all(n.startswith(".scores.duckdb.") and ".tmp" in n for n in leftovers), leftovers
    assert read_store(store) == before
    # The next write works and adds no file of its own.
    write_store(store, trained["frame"].tail(5), models)
    assert sorted(p.name for p in tmp_path.iterdir() if p != store) == leftovers
    assert set(read_store(store)) >= set(before)


LEDGER_WRITER = """
import sys
import pandas as pd
from serving.ledger import append_run

n = 400_000
rows = pd.DataFrame({
    "run_id": "killed", "run_at": pd.Timestamp("2026-10-01 07:00"), "source": "batch",
    "account_id": [f"a{i}" for i in range(n)], "as_of": pd.Timestamp("2026-10-01").date(),
    "churn_version": "1", "expansion_version": "1",
    "feature_hash": [f"{i:064d}" for i in range(n)],
    "features": ["{" + '"x": 1.0, ' * 60 + '"y": 2.0}'] * n,
})
print("writing", flush=True)
append_run(sys.argv[1], rows)
"""


def ledger_run(run_id: str, hour: int, n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": run_id,
            "run_at": pd.Timestamp(f"2026-10-01 {hour:02d}:00"),
            "source": "batch",
            "account_id": [f"b{i}" for i in range(n)],
            "as_of": pd.Timestamp("2026-10-01").date(),
            "churn_version": "1",
            "expansion_version": "1",
            "feature_hash": [f"{run_id}{i}" for i in range(n)],
            "features": ['{"x": 1.0}'] * n,
        }
    )


def test_a_killed_ledger_append_leaves_the_earlier_runs_intact(tmp_path):
    folder = tmp_path / "ledger"
    first = append_run(folder, ledger_run("first", 6))
    assert first.path is not None
    day = first.path.parent  # the killed run writes into the same run_date folder
    before_files, before_history = digests(folder), read_history(folder)
    killed = False
    for _ in range(5):
        killed = kill_midway(LEDGER_WRITER, [str(folder)], day / "none", watch=day)
        if killed:
            break
        for path in ledger_files(folder):  # finished: drop the run, retry
            if "killed" in path.name:
                path.unlink()
    assert killed, "the ledger writer always finished before it could be killed"
    whole = {k: v for k, v in digests(folder).items() if not k.endswith(".tmp")}
    assert whole == before_files
    assert ledger_files(folder) == [first.path]
    pd.testing.assert_frame_equal(read_history(folder), before_history)
    # The next run appends beside the leftover, which stays unread.
    second = append_run(folder, ledger_run("second", 8))
    assert second.appended == 3
    assert set(read_history(folder)["run_id"]) == {"first", "second"}
