"""What the workers of one `retain serve` share: readiness of every worker, and the drain.

`retain serve` makes a state folder and passes it to every worker (RETAIN_SERVING_CONFIG):

- each worker writes `worker-<index>.json` (its pid, whether it is ready, why not), so any
  worker's `/readyz` answers 200 only when every worker is alive and ready;
- on SIGTERM `retain serve` writes `draining.json` with the drain's deadline: `/readyz` turns 503
  at once and responses say `Connection: close` (no idle keep-alive connection is left to cut);
  at the deadline each worker stops accepting and shuts the shared listening socket down, so a
  new connection is refused by the kernel instead of waiting in a backlog nobody reads; then
  `retain serve` stops BentoML, which finishes the requests in flight before it exits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from retain.files import write_json

logger = logging.getLogger("retain.serving")

DRAIN_FILE = "draining.json"
POLL_SECONDS = 0.05


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class SharedState:
    """The state folder of one server, and how many workers it has."""

    folder: Path
    workers: int

    def worker_file(self, index: int) -> Path:
        return self.folder / f"worker-{index}.json"

    def mark_worker(self, index: int, *, ready: bool, error: str | None = None) -> None:
        write_json(self.worker_file(index), {"pid": os.getpid(), "ready": ready, "error": error})

    def begin_drain(self, seconds: float) -> float:
        deadline = time.time() + seconds
        write_json(self.folder / DRAIN_FILE, {"deadline": deadline, "seconds": seconds})
        return deadline

    def drain_deadline(self) -> float | None:
        path = self.folder / DRAIN_FILE
        if not path.is_file():
            return None
        try:
            return float(json.loads(path.read_text())["deadline"])
        except (ValueError, KeyError, OSError):
            return time.time()  # a damaged drain file still means draining

    def not_ready_reason(self) -> str | None:
        """Why the server as a whole is not ready (draining, a worker missing, loading or
        failed), or None when every worker is ready."""
        if self.drain_deadline() is not None:
            return "draining: the server is shutting down"
        for index in range(1, self.workers + 1):
            path = self.worker_file(index)
            try:
                worker = json.loads(path.read_text())
            except (OSError, ValueError):
                return f"worker {index} has not started"
            if not _alive(int(worker.get("pid", -1))):
                return f"worker {index} is restarting"
            if not worker.get("ready"):
                return f"worker {index} is not ready" + (
                    " (failed to load the models)" if worker.get("error") else ""
                )
        return None


def listening_fd(argv: list[str] | None = None) -> int | None:
    """The listening socket BentoML's worker was given (`--fd N` on its command line)."""
    argv = sys.argv if argv is None else argv
    for i, arg in enumerate(argv[:-1]):
        if arg == "--fd":
            try:
                return int(argv[i + 1])
            except ValueError:
                return None
    return None


class DrainWatcher:
    """In a worker: notices the drain, closes the listener at its deadline."""

    def __init__(self, state: SharedState) -> None:
        self.state = state
        self.draining = threading.Event()
        self.closed = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        threading.Thread(target=self._watch, name="retain-drain", daemon=True).start()

    def _watch(self) -> None:
        while not self.closed.is_set():
            deadline = self.state.drain_deadline()
            if deadline is not None:
                self.draining.set()
                if time.time() >= deadline:
                    self._close_listener()
                    return
            time.sleep(POLL_SECONDS)

    def _close_listener(self) -> None:
        fd = listening_fd()
        if fd is None or self._loop is None:
            self.closed.set()
            return
        done = threading.Event()

        def stop_accepting() -> None:
            try:
                self._loop.remove_reader(fd)  # type: ignore[union-attr]
            finally:
                done.set()

        self._loop.call_soon_threadsafe(stop_accepting)
        done.wait(2)
        # The socket is shared by every worker and the arbiter: shutting it down (not closing
        # one copy) makes the kernel refuse new connections for all of them.
        try:
            copy = socket.socket(fileno=os.dup(fd))
            try:
                copy.shutdown(socket.SHUT_RD)
            finally:
                copy.close()
        except OSError:
            pass  # another worker shut it down first
        self.closed.set()
        logger.info("retain: drain over, listener closed (pid %d)", os.getpid())
