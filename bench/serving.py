"""Serving benchmark: API latency under a bounded load, and batch scoring throughput.

    .venv/bin/python bench/serving.py [--duration 30] [--connections 1 8] [--accounts 5000]
                                      [--bentoml-defaults]

Builds a realistic model pair (every feature of the catalogue, 200 boosting rounds) on a
synthetic feature frame, writes a score store with `serving.batch`, starts the real service
(`retain serve`) on a free port and loads it from a second process with keep-alive HTTP/1.1
connections, each sending its next request when the last answer arrived (a closed loop, so the
load is bounded by the connection count). Prints requests/s, p50 and p99 for:

- `/score_accounts` for one precomputed account (the CS-platform look-up);
- `/score` for one account with reasons (on-demand scoring).

Then batch scoring accounts/s with and without reasons. `--bentoml-defaults` serves with
BentoML's own settings (access log, metrics, default workers) for the "before" figures.

Last, the byte cap: how long a 10 MB body takes to be answered 413 (declared by Content-Length,
and streamed chunked without one), how much of it was sent, and how much the workers' memory grew.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

# This file is named like the `serving` package it measures: keep its own folder off the import
# path so `import serving` finds the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

TOKEN = "bench-token"


def synthetic_frame(n_accounts: int, months: int, seed: int = 0) -> pd.DataFrame:
    """Every catalogue feature, random but with churn/expansion signal in a few of them."""
    from serving.catalogue import CATALOGUE

    rng = np.random.default_rng(seed)
    frames = []
    segments = np.array(["SMB", "Mid-Market", "Enterprise"])[rng.integers(0, 3, n_accounts)]
    for month in range(months):
        as_of = pd.Timestamp("2024-01-01") + pd.DateOffset(months=month)
        data: dict[str, object] = {}
        for name, entry in CATALOGUE.items():
            if entry.unit == "flag":
                data[name] = (rng.random(n_accounts) < 0.2).astype(float)
            elif entry.unit == "category":
                data[name] = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, n_accounts)]
            elif entry.unit in ("percent", "change_pct"):
                data[name] = rng.normal(0, 30, n_accounts)
            else:
                values = rng.lognormal(2, 1, n_accounts)
                values[rng.random(n_accounts) < 0.1] = np.nan
                data[name] = values
        frame = pd.DataFrame(data)
        logit = (
            -2
            - 0.03 * frame["usage_14d_change_pct"]
            + 1.2 * frame["champion_left_90d"]
            + 0.5 * np.minimum(frame["open_escalations"].fillna(0), 4)
        )
        frame["churn"] = (rng.random(n_accounts) < 1 / (1 + np.exp(-logit))).astype(float)
        logit = (
            -2 + 0.03 * frame["active_users_28d_change_pct"] + 1.0 * frame["first_value_reached"]
        )
        frame["expansion"] = (rng.random(n_accounts) < 1 / (1 + np.exp(-logit))).astype(float)
        frame.insert(0, "account_id", [f"acc_{i:06d}" for i in range(n_accounts)])
        frame.insert(1, "as_of", as_of)
        frame.insert(2, "segment", segments)
        frame["renewal_date"] = as_of + pd.Timedelta(days=120)
        frame["csm_id"] = "csm_1"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def build(tmp: Path, n_accounts: int) -> tuple[Path, Path, pd.DataFrame]:
    """Model pair and score store in `tmp`, reused when a previous run left them there."""
    from retain.config import Config
    from serving.batch import score_snapshot
    from serving.scoring import load_model_pair, save_model_pair
    from serving.store import write_store
    from training.segmented import SegmentedModel

    config = Config().with_overrides(
        {"training": {"num_boost_round": 200, "early_stopping_rounds": 200}}
    )
    folder = tmp / "models"
    if not (folder / "expansion" / "missing_policy.json").is_file():
        history = synthetic_frame(1_000, 4)
        train = history.drop(columns=["csm_id"])
        churn = SegmentedModel("churn", config).fit(train, train["churn"])
        expansion = SegmentedModel("expansion", config).fit(train, train["expansion"])
        save_model_pair(churn, expansion, folder, train)
    config = config.with_overrides(
        {"serving": {"model_path": str(folder), "store_path": str(tmp / "scores.duckdb")}}
    )
    snapshot = synthetic_frame(n_accounts, 1, seed=1)
    models = load_model_pair(config)
    results = score_snapshot(snapshot, models, config)
    write_store(config.serving.store_path, snapshot, models, results)
    return folder, Path(config.serving.store_path), snapshot


# -- load generator (runs in its own process) ---------------------------------------------------


async def _connection(host: str, port: int, request: bytes, until: float, out: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            length = None
            status = b""
            while True:
                line = await reader.readline()
                if not status:
                    status = line
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length or 0)
            if b" 200 " not in status:
                raise RuntimeError(f"{status!r} {body[:200]!r}")
            out.append(time.perf_counter() - started)
    finally:
        writer.close()


def _load(host: str, port: int, request: bytes, seconds: float, connections: int, queue) -> None:
    latencies: list[float] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(_connection(host, port, request, until, latencies) for _ in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(main())
    queue.put((latencies, time.perf_counter() - started))


def http_request(path: str, payload: dict, port: int) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def measure(port: int, path: str, payload: dict, seconds: float, connections: int) -> dict:
    request = http_request(path, payload, port)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    # A short warm-up so the first connection's set-up is not in the figures.
    _warm = context.Process(target=_load, args=("127.0.0.1", port, request, 1.0, 1, queue))
    _warm.start()
    queue.get()
    _warm.join()
    process = context.Process(
        target=_load, args=("127.0.0.1", port, request, seconds, connections, queue)
    )
    process.start()
    latencies, elapsed = queue.get()
    process.join()
    ms = np.asarray(latencies) * 1000
    return {
        "endpoint": path,
        "connections": connections,
        "requests": len(ms),
        "rps": len(ms) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    folder: Path, store: Path, port: int, defaults: bool, workdir: Path, workers: int | None
) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "retain.cli",
        "serve",
        "--port",
        str(port),
        "--model-path",
        str(folder),
        "--store",
        str(store),
    ]
    command += ["--drain-seconds", "0"]  # the benchmark's own server: no drain on exit
    if defaults:
        command.append("--bentoml-defaults")
    elif workers is not None:
        command += ["--workers", str(workers)]
    env = {**os.environ, "RETAIN_API_TOKENS": TOKEN}
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the service did not become ready within 120 s")


def _workers_rss(server: subprocess.Popen) -> int:
    import psutil

    parent = psutil.Process(server.pid)
    children = parent.children(recursive=True)
    return sum(p.memory_info().rss for p in children if "worker" in " ".join(p.cmdline()))


def measure_body_cap(server: subprocess.Popen, port: int, size: int = 10_000_000) -> list[str]:
    """The 413 for a `size`-byte body: after the headers (Content-Length), and streamed."""
    import select

    lines = []
    before = _workers_rss(server)
    head = (
        f"POST /score_accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(head + f"Content-Length: {size}\r\n\r\n".encode())
        status = sock.recv(4096).split(b"\r\n", 1)[0].decode()
        elapsed = (time.perf_counter() - started) * 1000
    lines.append(f"{size / 1e6:.0f} MB body by Content-Length: {status!r} in {elapsed:.1f} ms")
    chunk = b"a" * 65_536
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        sent, answer = 0, b""
        while sent < size:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except OSError:
                break
            sent += len(chunk)
        answer = sock.recv(4096)
        elapsed = (time.perf_counter() - started) * 1000
    status = answer.split(b"\r\n", 1)[0].decode()
    grown = (_workers_rss(server) - before) / 2**20
    lines.append(
        f"{size / 1e6:.0f} MB body streamed: {status!r} after {sent / 2**20:.2f} MiB sent, "
        f"{elapsed:.1f} ms; workers' RSS {grown:+.1f} MiB"
    )
    return lines


def batch_rate(snapshot: pd.DataFrame, folder: Path, with_reasons: bool) -> float:
    from retain.config import Config
    from serving.batch import score_snapshot
    from serving.scoring import load_model_pair

    config = Config().with_overrides({"serving": {"model_path": str(folder)}})
    models = load_model_pair(config)
    started = time.perf_counter()
    score_snapshot(snapshot, models, config, with_reasons=with_reasons)
    return len(snapshot) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--bentoml-defaults", action="store_true")
    parser.add_argument("--workers", type=int, help="API workers [serving.workers]")
    parser.add_argument(
        "--workdir", type=Path, help="Keep (and reuse) the model pair and store here."
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="retain-bench-") as tmp_name:
        tmp = args.workdir or Path(tmp_name)
        folder, store, snapshot = build(tmp, args.accounts)
        print(f"model pair: {len(snapshot.columns)} columns; store of {len(snapshot)} accounts")
        with_reasons = batch_rate(snapshot, folder, True)
        without = batch_rate(snapshot, folder, False)
        print(
            f"batch scoring: {with_reasons:,.0f} accounts/s with reasons, {without:,.0f} without "
            f"(ratio {without / with_reasons:.2f})"
        )
        account = snapshot.iloc[0]
        features = {
            k: (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in account.drop(
                ["account_id", "as_of", "segment", "renewal_date", "csm_id", "churn", "expansion"]
            ).items()
        }
        cases = [
            ("/score_accounts", {"account_ids": [str(account["account_id"])]}),
            (
                "/score",
                {
                    "accounts": [
                        {"account_id": "bench", "segment": account["segment"], "features": features}
                    ]
                },
            ),
        ]
        port = free_port()
        server = start_server(folder, store, port, args.bentoml_defaults, tmp, args.workers)
        try:
            label = "BentoML defaults" if args.bentoml_defaults else "retain settings"
            if args.workers and not args.bentoml_defaults:
                label += f" w={args.workers}"
            for path, payload in cases:
                for connections in args.connections:
                    row = measure(port, path, payload, args.duration, connections)
                    print(
                        f"{label:17} {row['endpoint']:16} connections={connections:<3} "
                        f"{row['rps']:8,.0f} req/s  p50 {row['p50_ms']:6.2f} ms  "
                        f"p99 {row['p99_ms']:6.2f} ms  ({row['requests']:,} requests)"
                    )
            if not args.bentoml_defaults:
                for line in measure_body_cap(server, port):
                    print(line)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
