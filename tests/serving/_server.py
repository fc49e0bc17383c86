"""A real `retain serve` process on localhost for the tests that talk HTTP to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A `retain serve` process on localhost, its base URL and the log it writes."""

    process: subprocess.Popen
    base: str
    log: Path
    home: Path  # the folder the server runs in (cwd and BENTOML_HOME): every file it writes

    def stop(self, timeout: float = 60) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def worker_processes(server: Server) -> list:
    """The server's BentoML workers, lowest pid first: processes started as
    `_bentoml_impl.worker` whose parent is not one (a process a worker forks keeps its
    command line, and killing it would restart nothing)."""
    import psutil

    def is_worker(process: psutil.Process) -> bool:
        try:
            return "_bentoml_impl.worker" in " ".join(process.cmdline())
        except psutil.Error:  # gone meanwhile
            return False

    parent = psutil.Process(server.process.pid)
    found = [
        p
        for p in parent.children(recursive=True)
        if is_worker(p) and not (p.parent() is not None and is_worker(p.parent()))
    ]
    return sorted(found, key=lambda p: p.pid)


def tracked_worker_pids(server: Server) -> list[int]:
    """The pids the server's readiness watches, by worker index: each worker's own record in
    the state folder `retain serve` shares with its workers (`serving._drain.SharedState`).

    A victim taken from here is the process whose death `/readyz` must notice; one picked by
    its command line may be a process the readiness does not track.
    """
    import json

    import psutil

    from serving._drain import SharedState
    from serving.api import SETTINGS_ENV

    workers = worker_processes(server)
    for process in workers:
        try:
            settings = json.loads(process.environ().get(SETTINGS_ENV) or "{}")
        except psutil.Error:
            continue
        if settings.get("state_dir"):
            state = SharedState(Path(settings["state_dir"]), len(workers))
            break
    else:
        raise AssertionError("no worker of the server names a state folder")
    return [
        int(json.loads(state.worker_file(index).read_text())["pid"])
        for index in range(1, state.workers + 1)
    ]


def wait_ready(server: Server, timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.base, timeout=5) as client:
        while time.monotonic() < deadline:
            assert server.process.poll() is None, server.log.read_text()
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise AssertionError(server.log.read_text())


@contextmanager
def running_server(
    home: Path, args: list[str], env: dict[str, str] | None = None, *, ready: bool = True
) -> Iterator[Server]:
    """`retain serve --port <free> ARGS` started in `home`; always stopped (SIGTERM, then KILL)."""
    port = free_port()
    environ = {
        **os.environ,
        "BENTOML_HOME": str(home / "bentoml"),
        **(env or {}),
    }
    command = [sys.executable, "-m", "retain.cli", "serve", "--port", str(port), *args]
    log_path = home / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, cwd=home, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(process=process, base=f"http://127.0.0.1:{port}", log=log_path, home=home)
    try:
        if ready:
            wait_ready(server)
        yield server
    finally:
        server.stop()
        log.close()
