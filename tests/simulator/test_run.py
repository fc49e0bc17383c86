"""simulate(): determinism, the input contract's columns and types, atomic output, bad options."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.contract import TABLES
from retain.config import load_config
from retain.errors import RetainError
from simulator import simulate
from simulator._params import KEY_EVENTS, NOISE_EVENTS
from simulator._run import SIMULATED_TABLES

_PANDAS_KINDS = {"string": "O", "float": "f", "bool": "b", "timestamp": "M", "int": "i"}


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_same_seed_writes_identical_files_and_another_seed_differs(tmp_path):
    first = simulate(tmp_path / "a", n_accounts=80, months=12, seed=3)
    again = simulate(tmp_path / "b", n_accounts=80, months=12, seed=3)
    other = simulate(tmp_path / "c", n_accounts=80, months=12, seed=4)
    assert _files(first) == _files(again)
    # ten tables (plays, handoffs), truth, plays_truth (.parquet, .json), handoffs_truth, toml
    assert len(_files(first)) == 15
    differing = [
        name
        for name in ("contracts", "usage", "tickets", "truth")
        if not pd.read_parquet(first / f"{name}.parquet").equals(
            pd.read_parquet(other / f"{name}.parquet")
        )
    ]
    assert differing == ["contracts", "usage", "tickets", "truth"]


def test_every_table_has_exactly_the_contract_columns_and_types(tables):
    for name in SIMULATED_TABLES:
        spec = TABLES[name]
        frame = tables[name]
        assert list(frame.columns) == [c.name for c in spec.columns], name
        assert len(frame) > 0, name
        for column in spec.columns:
            dtype = frame[column.name].dtype
            assert dtype.kind == _PANDAS_KINDS[column.type], (name, column.name, dtype)
            if column.type == "timestamp":
                assert getattr(dtype, "tz", None) is None, (name, column.name)
            if column.type == "string":
                values = frame[column.name].dropna()
                assert values.map(type).eq(str).all(), (name, column.name)
            if column.required:
                assert frame[column.name].notna().all(), (name, column.name)
            if column.allowed is not None:
                assert set(frame[column.name].dropna()) <= set(column.allowed), (name, column.name)
            if column.min_value is not None:
                assert (frame[column.name].dropna() >= column.min_value).all(), (name, column.name)
            if column.max_value is not None:
                assert (frame[column.name].dropna() <= column.max_value).all(), (name, column.name)


def test_retain_toml_names_the_key_events_and_the_data_end(sim_dir, tables):
    config = load_config(sim_dir, workdir=sim_dir)
    assert config.features.key_events == KEY_EVENTS
    assert config.features.data_end == "2026-10-01"
    events = set(tables["usage"]["event"])
    assert set(KEY_EVENTS) <= events and set(NOISE_EVENTS) <= events


def test_default_window_ends_at_the_start_of_october_2026(tables):
    usage = tables["usage"]
    assert usage["timestamp"].min() == pd.Timestamp("2024-10-01")
    assert usage["timestamp"].max() == pd.Timestamp("2026-09-30")


def test_explicit_start_moves_the_window(tmp_path):
    out = simulate(tmp_path / "d", n_accounts=20, months=3, seed=1, start="2021-03-15")
    usage = pd.read_parquet(out / "usage.parquet")
    assert usage["timestamp"].min() >= pd.Timestamp("2021-03-15")
    assert usage["timestamp"].max() < pd.Timestamp("2021-06-15")
    assert load_config(out, workdir=out).features.data_end == "2021-06-15"


def test_a_crash_leaves_no_tables_behind(tmp_path):
    def fail(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(tmp_path / "e", n_accounts=20, months=2, seed=1, progress=fail)
    assert list((tmp_path / "e").iterdir()) == []


def test_progress_reports_every_chunk(tmp_path):
    calls: list[tuple[int, int]] = []
    simulate(
        tmp_path / "f", n_accounts=10, months=1, seed=1, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(1, 1)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_accounts": 0}, "--accounts"),
        ({"months": 0}, "--months"),
        ({"seed": -1}, "--seed"),
        ({"start": "not a date"}, "--start"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path, options, message):
    with pytest.raises(RetainError, match=message):
        simulate(tmp_path / "g", **{"n_accounts": 5, "months": 1, **options})


def test_out_must_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RetainError, match="not a folder"):
        simulate(tmp_path / "file", n_accounts=5, months=1)
