"""`retain serve` as the parent of BentoML: it turns SIGTERM into a graceful drain.

BentoML's arbiter stops its workers the moment it gets SIGTERM, while a load balancer still
sends traffic. So BentoML runs as a child in its own session (a signal to `retain serve`'s group
does not reach it), and on SIGTERM or SIGINT `retain serve`:

1. starts the drain (serving._drain): every worker's `/readyz` answers 503 at once, requests are
   still served, each answer closes its connection;
2. after `serving.drain_seconds` the workers close the shared listener (new connections are
   refused);
3. then it sends SIGTERM to BentoML, which lets the requests in flight finish and exits;
   `retain serve` exits with BentoML's code. A second signal skips the rest of the drain.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

from serving._drain import POLL_SECONDS, SharedState

# After the drain deadline, time for every worker's watcher to notice it and close the listener.
_CLOSE_GRACE_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM if `retain serve` dies (even by SIGKILL), never linger."""
    os.setsid()
    with contextlib.suppress(AttributeError, OSError):  # not Linux: stays until stopped
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(
    command: Sequence[str], env: Mapping[str, str], state: SharedState, drain_seconds: float
) -> int:
    """Run `command` (BentoML) until it exits; drain on the first SIGTERM/SIGINT."""
    child = subprocess.Popen(list(command), env=dict(env), preexec_fn=_die_with_parent)
    signals: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        signals.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while child.poll() is None and not signals:
            time.sleep(POLL_SECONDS)
        if child.poll() is not None:
            return int(child.returncode)
        print(
            f"retain serve: draining for {drain_seconds:g} s (/readyz answers 503)",
            file=sys.stderr,
            flush=True,
        )
        deadline = state.begin_drain(drain_seconds) + _CLOSE_GRACE_SECONDS
        while time.time() < deadline and len(signals) < 2 and child.poll() is None:
            time.sleep(POLL_SECONDS)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)  # BentoML finishes requests in flight, then exits
        return int(child.wait())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if child.poll() is None:
            child.kill()
            child.wait()
