"""serving._drain: the readiness every worker shares, and the drain deadline."""

from __future__ import annotations

import json
import os

from serving._drain import SharedState, listening_fd


def test_ready_only_when_every_worker_is_alive_and_ready(tmp_path) -> None:
    state = SharedState(tmp_path, workers=2)
    assert "worker 1 has not started" in state.not_ready_reason()
    state.mark_worker(1, ready=True)
    assert "worker 2" in state.not_ready_reason()
    state.mark_worker(2, ready=False, error="SHA-256 mismatch")
    assert "failed to load" in state.not_ready_reason()
    state.mark_worker(2, ready=True)
    assert state.not_ready_reason() is None
    # A worker that died (its pid is gone) is restarting until it writes its file again.
    state.worker_file(2).write_text(json.dumps({"pid": 2**22 + 12345, "ready": True}))
    assert "worker 2 is restarting" in state.not_ready_reason()


def test_a_drain_makes_the_server_not_ready(tmp_path) -> None:
    state = SharedState(tmp_path, workers=1)
    state.mark_worker(1, ready=True)
    assert state.drain_deadline() is None
    deadline = state.begin_drain(5)
    assert state.drain_deadline() == deadline
    assert state.not_ready_reason().startswith("draining")
    assert os.getpid() == json.loads(state.worker_file(1).read_text())["pid"]


def test_listening_fd_comes_from_the_worker_command_line() -> None:
    assert listening_fd(["service.py", "x", "--fd", "7", "--worker-id", "1"]) == 7
    assert listening_fd(["service.py"]) is None
