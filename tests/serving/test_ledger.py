"""The score ledger: immutable runs, idempotent reruns, interrupted appends, the store derived
from it, and one change explanation whether asked from the API or `retain explain-change`."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from retain.cli import app
from serving.batch import score_snapshot
from serving.ledger import (
    append_run,
    latest_rows,
    ledger_folder,
    ledger_rows,
    read_history,
)
from serving.scoring import load_model_pair, score_frame
from serving.store import build_store, read_store, write_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def models(trained: dict):
    return load_model_pair(trained["config"])


def snapshot_at(trained: dict, month: str, n: int = 6) -> pd.DataFrame:
    frame = trained["frame"]
    return frame[frame["as_of"] == pd.Timestamp(month)].head(n).reset_index(drop=True)


def config_in(trained: dict, tmp: Path):
    return trained["config"].with_overrides({"serving": {"store_path": str(tmp / "s.duckdb")}})


def files_of(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_same_change(a: object, b: object, path: str = "change") -> None:
    """Equal texts, flags and dates; numbers to float rounding (numpy's vector math may round
    the last bit of a row's logistic by its position in a batch)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same_change(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_change(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12), path
    else:
        assert a == b, path


def test_default_folder_is_beside_the_store(trained: dict, tmp_path: Path) -> None:
    config = config_in(trained, tmp_path)
    assert ledger_folder(config) == tmp_path / "s.ledger"
    other = config.with_overrides({"serving": {"ledger_path": str(tmp_path / "elsewhere")}})
    assert ledger_folder(other) == tmp_path / "elsewhere"


def test_a_rerun_is_a_no_op_and_the_key_decides(trained: dict, models, tmp_path: Path) -> None:
    snapshot = snapshot_at(trained, "2024-08-01")
    results = score_frame(snapshot, models, trained["config"])
    folder = tmp_path / "ledger"
    first = append_run(folder, ledger_rows(snapshot, results, models))
    assert first.appended == 6 and first.path is not None
    assert first.path.parent.name.startswith("run_date=")
    again = append_run(folder, ledger_rows(snapshot, results, models))
    assert (again.appended, again.skipped, again.path) == (0, 6, None)
    assert len(list(folder.rglob("*.parquet"))) == 1

    # One account's feature value changed: only its row is new (another feature hash).
    changed = snapshot.copy()
    changed.loc[2, "open_escalations"] = changed.loc[2, "open_escalations"] + 1
    rescored = score_frame(changed, models, trained["config"])
    third = append_run(folder, ledger_rows(changed, rescored, models))
    assert (third.appended, third.skipped) == (1, 5)

    # Another churn model version: every row is new.
    other = dataclasses.replace(
        models, churn_info=dataclasses.replace(models.churn_info, version="path:other")
    )
    fourth = append_run(folder, ledger_rows(snapshot, results, other))
    assert fourth.appended == 6
    history = read_history(folder)
    assert len(history) == 13
    assert set(history["churn_version"]) == {models.churn_info.version, "path:other"}
    row = history.iloc[0]
    assert len(row["feature_hash"]) == 64 and len(row["churn_sha256"]) == 64
    assert json.loads(row["features"])["account_industry"] == snapshot.loc[0, "account_industry"]
    assert json.loads(row["result"])["churn_probability"] == pytest.approx(row["churn_probability"])
    assert np.isfinite(history["churn_margin"]).all()
    assert read_history(folder, account_ids=[snapshot.loc[2, "account_id"]]).shape[0] == 3


def test_an_exception_mid_write_leaves_no_file(trained: dict, models, tmp_path: Path) -> None:
    snapshot = snapshot_at(trained, "2024-08-01")
    rows = ledger_rows(snapshot, score_frame(snapshot, models, trained["config"]), models)
    rows["result"] = [object()] * len(rows)  # pyarrow cannot write it: the write fails midway
    folder = tmp_path / "ledger"
    with pytest.raises(Exception, match="object"):
        append_run(folder, rows)
    assert [p for p in folder.rglob("*") if p.is_file()] == []
    assert read_history(folder).empty


_WRITER = """
import sys
import numpy as np
import pandas as pd
from serving.ledger import append_run

n = 400_000
rows = pd.DataFrame({
    "run_id": "killed", "run_at": pd.Timestamp("2026-10-01 06:00"), "source": "batch",
    "account_id": [f"a{i}" for i in range(n)], "as_of": pd.Timestamp("2026-10-01").date(),
    "churn_version": "1", "expansion_version": "1",
    "feature_hash": [f"{i:064d}" for i in range(n)],
    "features": ["{" + '"x": 1.0, ' * 60 + '"y": 2.0}'] * n,
})
print("writing", flush=True)
append_run(sys.argv[1], rows)
print("done", flush=True)
"""


def test_a_killed_writer_leaves_no_partial_run(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(_WRITER))
    process = subprocess.Popen(
        [sys.executable, str(script), str(folder)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "writing"
        deadline = time.monotonic() + 120
        # Kill it once its temporary file has bytes in it: mid-write.
        while time.monotonic() < deadline and process.poll() is None:
            partial = [p for p in folder.rglob("*.tmp") if p.stat().st_size > 0]
            if partial:
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, "the writer finished before it was killed"
    assert list(folder.rglob("*.parquet")) == []  # the run is not in the ledger, not half of it
    assert read_history(folder).empty  # and its leftover temporary file is no run


def test_the_store_is_the_latest_rows_of_the_ledger(trained: dict, models, tmp_path: Path) -> None:
    config = config_in(trained, tmp_path)
    store = Path(config.serving.store_path)
    for month in ("2024-07-01", "2024-08-01"):
        snapshot = snapshot_at(trained, month)
        write_store(
            store, snapshot, models, score_snapshot(snapshot, models, config), config=config
        )
    folder = ledger_folder(config)
    assert len(read_history(folder)) == 12
    stored = read_store(store)
    assert {a.as_of for a in stored.values()} == {"2024-08-01"}
    assert all(a.is_fresh_for(models) for a in stored.values())
    # August results carry their change since July, in the store as in the ledger.
    first = stored["acc_0000"].result
    assert first["change"]["previous_as_of"] == "2024-07-01"

    # A later run rescoring July with another model version: the store serves that run's row.
    july = snapshot_at(trained, "2024-07-01")
    other = dataclasses.replace(
        models, churn_info=dataclasses.replace(models.churn_info, version="path:newer")
    )
    later = pd.Timestamp.now() + pd.Timedelta(minutes=1)
    results = score_snapshot(july, other, config, with_change=False)
    before = files_of(folder)
    write_store(store, july, other, results, config=config, now=later)
    after = files_of(folder)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing edited
    assert len(after) == len(before) + 1  # one new file for the run
    rescored = read_store(store, as_of="2024-07-01", account_ids=["acc_0001"])
    assert rescored["acc_0001"].churn_version == "path:newer"
    # Rebuilding the store from the ledger alone gives the same store.
    copy = build_store(tmp_path / "copy.duckdb", folder)
    assert read_store(copy).keys() == read_store(store).keys()
    assert len(latest_rows(read_history(folder))) == 12


def test_api_change_agrees_with_explain_change(trained: dict, models, tmp_path: Path) -> None:
    from serving.api import ScoringApi, Settings

    config = config_in(trained, tmp_path)
    store = Path(config.serving.store_path)
    for month in ("2024-06-01", "2024-07-01", "2024-08-01"):
        snapshot = snapshot_at(trained, month, n=12)
        write_store(
            store, snapshot, models, score_snapshot(snapshot, models, config), config=config
        )
    api = ScoringApi(Settings(config=config, tokens=()))
    api.load()
    ids = [f"acc_{i:04d}" for i in range(12)]
    body = json.loads(asyncio.run(api.score_accounts(ids, None)).body)
    changes = {r["account_id"]: r["change"] for r in body["results"]}
    assert all(c["previous_as_of"] == "2024-07-01" for c in changes.values())
    runner = CliRunner()
    base = ["explain-change", "--store", str(store), "--model-path", str(trained["folder"])]
    for account in ids[:4]:
        result = runner.invoke(app, [*base, "--account", account, "--json", "--top", "3"])
        assert result.exit_code == 0, result.output
        assert_same_change(json.loads(result.output), changes[account])
        # Every mover listed: the log-odds shares add up to the move, the points to the points.
        result = runner.invoke(app, [*base, "--account", account, "--json"])
        full = json.loads(result.output)
        assert sum(m["log_odds"] for m in full["movers"]) == pytest.approx(
            full["log_odds_change"], abs=1e-6
        )
        assert sum(m["points"] for m in full["movers"]) == pytest.approx(full["points"], abs=1e-6)
        assert full["points"] == pytest.approx(
            100 * (full["churn_probability"] - full["previous_churn_probability"])
        )
    text = runner.invoke(app, [*base, "--account", ids[0]]).output
    assert "since 2024-07-01" in text and "log-odds" in text
    since = runner.invoke(app, [*base, "--account", ids[0], "--since", "2024-06-15", "--json"])
    assert json.loads(since.output)["previous_as_of"] == "2024-06-01"
    unknown = runner.invoke(app, [*base, "--account", "nobody"])
    assert unknown.exit_code == 1 and "no scores" in str(unknown.exception)


def test_an_api_rescoring_is_a_run_of_its_own(trained: dict, models, tmp_path: Path) -> None:
    from serving.api import ScoringApi, Settings

    config = config_in(trained, tmp_path)
    store = Path(config.serving.store_path)
    july = snapshot_at(trained, "2024-07-01")
    write_store(store, july, models, score_snapshot(july, models, config), config=config)
    # August stored as a snapshot without scores: the API rescores it on demand.
    write_store(store, snapshot_at(trained, "2024-08-01"), models, None)
    api = ScoringApi(Settings(config=config, tokens=()))
    api.load()
    body = json.loads(asyncio.run(api.score_accounts(["acc_0001"], None)).body)
    change = body["results"][0]["change"]
    assert change["previous_as_of"] == "2024-07-01" and change["text"].startswith("Risk")
    history = read_history(ledger_folder(config))
    api_rows = history[history["source"] == "api"]
    assert api_rows["account_id"].tolist() == ["acc_0001"]
    assert json.loads(api_rows["result"].iloc[0])["change"] == change


def test_a_model_change_is_its_own_part(trained: dict, models, tmp_path: Path) -> None:
    """July scored by a version no longer at hand: the account part uses the current model on
    both snapshots, the model part is the rest, from July's recorded margin."""
    config = config_in(trained, tmp_path)
    store = Path(config.serving.store_path)
    gone = dataclasses.replace(
        models, churn_info=dataclasses.replace(models.churn_info, version="path:gone")
    )
    july = snapshot_at(trained, "2024-07-01")
    write_store(store, july, gone, score_snapshot(july, gone, config), config=config)
    august = snapshot_at(trained, "2024-08-01")
    results = score_snapshot(august, models, config)
    change = results[0]["change"]
    assert change["model_changed"] and "not at hand" in change["explained_with"]
    assert f"model changed (path:gone to {models.churn_info.version})" in change["text"]
    assert change["account_log_odds"] + change["model_log_odds"] == pytest.approx(
        change["log_odds_change"], abs=1e-12
    )
    # The same files under both names: the model part is nothing.
    assert change["model_log_odds"] == pytest.approx(0.0, abs=1e-12)
