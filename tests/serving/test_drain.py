"""SIGTERM under load: /readyz turns 503 at once, no accepted request goes unanswered."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from tests.serving._server import running_server

pytestmark = pytest.mark.slow

AUTH = {"Authorization": "Bearer drain-token"}
DRAIN_SECONDS = 3.0


def test_sigterm_under_load_drops_nothing(trained: dict, tmp_path) -> None:
    args = [
        "--model-path",
        str(trained["folder"]),
        "--store",
        str(tmp_path / "none.duckdb"),
        "--drain-seconds",
        str(DRAIN_SECONDS),
    ]
    body = {"accounts": [{"account_id": "a", "segment": "SMB", "features": {"arr": 5000.0}}]}
    outcomes: list[tuple[float, str]] = []
    probes: list[tuple[float, int | str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    # Like a load balancer that has seen /readyz turn 503: no new requests once the drain is
    # nearly over. A connection that reaches the kernel's backlog at the instant the listener
    # closes is reset whatever the server does; the drain exists so that no client sends one.
    last_send = {"at": float("inf")}

    with running_server(tmp_path, args, {"RETAIN_API_TOKENS": "drain-token"}) as server:

        def load() -> None:
            with httpx.Client(base_url=server.base, timeout=30) as client:
                while not stop.is_set() and time.monotonic() < last_send["at"]:
                    try:
                        answer = client.post("/score", json=body, headers=AUTH)
                        outcome = (
                            "ok" if answer.status_code == 200 else f"http {answer.status_code}"
                        )
                    except httpx.ConnectError:
                        outcome = "refused"  # never accepted: the client knows to retry
                    except httpx.HTTPError as error:
                        outcome = f"dropped: {type(error).__name__}"
                    with lock:
                        outcomes.append((time.monotonic(), outcome))
                    if outcome == "refused":
                        time.sleep(0.02)

        def probe() -> None:
            with httpx.Client(base_url=server.base, timeout=5) as client:
                while not stop.is_set():
                    try:
                        status: int | str = client.get("/readyz").status_code
                    except httpx.HTTPError as error:
                        status = type(error).__name__
                    probes.append((time.monotonic(), status))
                    time.sleep(0.05)

        threads = [threading.Thread(target=load) for _ in range(6)]
        threads.append(threading.Thread(target=probe))
        for thread in threads:
            thread.start()
        # Under load first: a 200 from /readyz and answered requests (however busy the box).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            any(s == 200 for _, s in probes) and sum(k == "ok" for _, k in outcomes) >= 20
        ):
            time.sleep(0.05)
        signalled = time.monotonic()
        last_send["at"] = signalled + DRAIN_SECONDS - 0.5
        os.kill(server.process.pid, signal.SIGTERM)  # `retain serve` only, as a supervisor does
        code = server.process.wait(timeout=60)
        exited = time.monotonic()
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    assert code == 0, server.log.read_text()[-3000:]
    kinds = {kind for _, kind in outcomes}
    dropped = [
        kind for _, kind in outcomes if kind.startswith("dropped") or kind.startswith("http")
    ]
    assert dropped == [], (dropped[:5], len(outcomes))
    during = [kind for t, kind in outcomes if signalled + 0.2 < t < signalled + DRAIN_SECONDS - 0.2]
    assert during and set(during) == {"ok"}  # still served while draining
    # After the drain, new connections are refused (the probe keeps connecting).
    assert "ConnectError" in [s for t, s in probes if t > signalled + DRAIN_SECONDS], probes[-5:]
    before = [s for t, s in probes if t < signalled]
    assert 200 in before
    after = [s for t, s in probes if signalled + 0.3 < t < exited]
    assert after and 200 not in after and 503 in after, after
    counts = {kind: sum(k == kind for _, k in outcomes) for kind in sorted(kinds)}
    print(f"drain: {counts}, exit {exited - signalled:.1f} s after SIGTERM")
