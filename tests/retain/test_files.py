from pathlib import Path

import pandas as pd
import pytest

from retain.files import atomic_path, write_json, write_parquet


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out" / "metrics.json"
    write_json(target, {"version": 1})

    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"version": 2, "half')
        raise RuntimeError("crash in the middle of writing")

    assert target.read_text() == '{\n  "version": 1\n}'
    assert sorted(p.name for p in target.parent.iterdir()) == ["metrics.json"]


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame({"account_id": ["a", "b"], "arr": [1.0, float("nan")]})
    written = write_parquet(tmp_path / "frame.parquet", frame)
    pd.testing.assert_frame_equal(pd.read_parquet(written), frame)


def test_written_files_honour_the_umask(tmp_path: Path) -> None:
    import os

    previous = os.umask(0o022)
    try:
        written = write_json(tmp_path / "metrics.json", {})
    finally:
        os.umask(previous)
    assert written.stat().st_mode & 0o777 == 0o644
