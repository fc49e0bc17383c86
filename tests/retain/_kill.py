"""Kill a writer subprocess midway with SIGKILL, the way a crash or the OOM killer ends it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _state(folder: Path, destination: Path) -> tuple[frozenset[str], tuple[int, int] | None]:
    names = frozenset(p.name for p in folder.iterdir()) if folder.exists() else frozenset()
    stat = destination.stat() if destination.exists() else None
    return names, (stat.st_size, stat.st_mtime_ns) if stat else None


def kill_midway(script: str, args: list[str], destination: Path, watch: Path | None = None) -> bool:
    """Run `script` (Python, reads sys.argv) in a subprocess of this checkout and SIGKILL it the
    moment its write has started: a new entry in `watch` (default: the destination's folder,
    such as a temporary file or a WAL) or the destination itself touched. True when it was
    killed mid-write, False when it finished first (the caller retries or fails)."""
    folder = watch or destination.parent
    # Taken before the writer starts: once it prints "writing" its temporary file may exist.
    before = _state(folder, destination)
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "writing", "the writer failed to start"
        deadline = time.monotonic() + 300  # a guard against a hung writer, not a measurement
        while process.poll() is None and time.monotonic() < deadline:
            if _state(folder, destination) != before:
                os.kill(process.pid, signal.SIGKILL)
                break
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode == -signal.SIGKILL
