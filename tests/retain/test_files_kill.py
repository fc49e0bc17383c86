"""Every retain.files writer killed midway by SIGKILL (no `finally` runs, no exception): the
previous file is intact byte for byte, and what the killed writer leaves is only its hidden
temporary file (`.<name>.<random>.tmp`, never read as the destination), which the next write
neither needs nor trips over."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retain.files import write_csv, write_json, write_parquet, write_text
from tests.retain._kill import kill_midway

# Each writer gets a payload large enough that its write lasts a while (hundreds of ms).
WRITERS = {
    "parquet": (
        "big.parquet",
        """
        import sys
        import numpy as np
        import pandas as pd
        from retain.files import write_parquet
        n = 3_000_000
        frame = pd.DataFrame({"i": np.arange(n), "s": [f"row {i}" for i in range(n)]})
        print("writing", flush=True)
        write_parquet(sys.argv[1], frame)
        """,
    ),
    "csv": (
        "big.csv",
        """
        import sys
        import numpy as np
        import pandas as pd
        from retain.files import write_csv
        n = 1_000_000
        frame = pd.DataFrame({"i": np.arange(n), "x": np.arange(n) / 7.0})
        print("writing", flush=True)
        write_csv(sys.argv[1], frame)
        """,
    ),
    "json": (
        "big.json",
        """
        import sys
        from retain.files import write_json
        payload = {"rows": ["x" * 100] * 1_500_000}
        print("writing", flush=True)
        write_json(sys.argv[1], payload)
        """,
    ),
    "text": (
        "big.html",
        """
        import sys
        from retain.files import write_text
        text = "<p>" + "y" * 150_000_000 + "</p>"
        print("writing", flush=True)
        write_text(sys.argv[1], text)
        """,
    ),
}

OLD = {
    "parquet": lambda path: write_parquet(path, pd.DataFrame({"i": [1, 2], "s": ["a", "b"]})),
    "csv": lambda path: write_csv(path, pd.DataFrame({"i": [1, 2], "x": [0.5, 1.5]})),
    "json": lambda path: write_json(path, {"old": True}),
    "text": lambda path: write_text(path, "<p>old</p>"),
}


def assert_only_hidden_leftovers(folder: Path, destination: Path) -> list[Path]:
    others = sorted(p for p in folder.iterdir() if p != destination)
    for leftover in others:
        assert leftover.name.startswith(f".{destination.name}.") and leftover.suffix == ".tmp"
    return others


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_a_killed_writer_leaves_the_previous_file_intact(kind, tmp_path):
    name, script = WRITERS[kind]
    destination = tmp_path / name
    OLD[kind](destination)
    old_bytes = destination.read_bytes()
    killed = False
    for _ in range(5):  # the write may (rarely) finish before the kill lands: try again
        killed = kill_midway(script, [str(destination)], destination)
        if killed:
            break
        OLD[kind](destination)
    assert killed, "the writer always finished before it could be killed"
    assert destination.read_bytes() == old_bytes
    leftovers = assert_only_hidden_leftovers(tmp_path, destination)
    # The next write replaces the file and leaves nothing new of its own.
    OLD[kind](destination)
    assert destination.read_bytes() == old_bytes
    assert assert_only_hidden_leftovers(tmp_path, destination) == leftovers
