"""The score ledger and score-change attribution on the demo book (issue 17).

    .venv/bin/python bench/ledger.py --data data/demo --features out/demo/features.parquet \\
        [--work /tmp/ledger-bench] [--before 2026-09-01] [--after 2026-10-01]

Fits the churn and expansion SegmentedModels on every labelled row of the feature file (the
`segmented` candidate, saved as a model folder), scores two monthly snapshots with the batch
path (`score_snapshot` + `write_store(..., config=...)`: ledger append, change, store) and
prints:

- additivity error over every account scored at both dates: |sum of the features' log-odds
  attributions - the change in the raw margin| (max and mean), the margins computed apart by
  LightGBM; and how many unchanged features got a non-zero attribution;
- ledger size and append time per 100k scores (the demo's rows replicated under new ids:
  building the rows, the key check against a ledger already holding 100k, the write), and the
  time to read the ledger back;
- explanation time per account: the whole book at once, and one account at a time.

Nothing is asserted: docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path


class _Clock:
    """Wall and CPU seconds of a block: the machine is shared, so both are printed."""

    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.1f} s ({self.cpu:.1f} s CPU)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/demo")
    parser.add_argument("--features", default="out/demo/features.parquet")
    parser.add_argument("--work", default="/tmp/ledger-bench")
    parser.add_argument("--before", default="2026-09-01")
    parser.add_argument("--after", default="2026-10-01")
    parser.add_argument("--singles", type=int, default=50, help="accounts explained one by one")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

    import numpy as np
    import pandas as pd

    from features.frame import known_label_mask
    from retain.config import load_config
    from serving.batch import build_snapshot, score_snapshot
    from serving.ledger import (
        append_run,
        latest_rows,
        ledger_folder,
        ledger_rows,
        previous_rows,
        read_history,
    )
    from serving.movers import ModelResolver, changes_for, frame_from_rows
    from serving.scoring import load_model_pair, save_model_pair
    from serving.store import build_store, write_store
    from training.change import ScoreFunction, explain_change
    from training.segmented import SegmentedModel

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = load_config(
        args.data,
        overrides={
            "serving": {
                "store_path": str(work / "scores.duckdb"),
                "model_path": str(work / "models"),
            }
        },
    )
    frame = pd.read_parquet(args.features)
    with _Clock() as fitting:
        fitted = {}
        for target in ("churn", "expansion"):
            rows = frame.loc[known_label_mask(frame, target)]
            fitted[target] = SegmentedModel(target=target, config=config).fit(rows, rows[target])
    save_model_pair(fitted["churn"], fitted["expansion"], work / "models", frame)
    print(f"fitted the model pair on {len(frame)} rows in {fitting}")
    print(f"churn segments: {fitted['churn'].segment_strategy_}")
    models = load_model_pair(config)

    for as_of in (args.before, args.after):
        snapshot = build_snapshot(args.data, config, as_of)
        with _Clock() as scored:
            results = score_snapshot(snapshot, models, config)
        with _Clock() as recorded:
            write_store(config.serving.store_path, snapshot, models, results, config=config)
        moved = sum(1 for r in results if "change" in r)
        print(
            f"scored {len(results)} accounts at {as_of} in {scored} (with changes for "
            f"{moved}); ledger append + store rebuild {recorded}"
        )

    folder = ledger_folder(config)
    history = latest_rows(read_history(folder))
    current = history[history["as_of"] == pd.Timestamp(args.after)].reset_index(drop=True)
    as_ofs = dict(zip(current["account_id"], current["as_of"], strict=True))
    previous = previous_rows(history, as_ofs)
    both = current[current["account_id"].isin(previous)].reset_index(drop=True)
    before = pd.DataFrame([previous[a] for a in both["account_id"]]).reset_index(drop=True)
    function = ScoreFunction(models.churn, models.churn_policy)
    old_frame, new_frame = frame_from_rows(before), frame_from_rows(both)
    explained = explain_change(old_frame, new_frame, function, function)
    held = new_frame.assign(segment=old_frame["segment"].to_numpy())
    filled_old = models.churn_policy.impute(old_frame)[0]
    filled_new = models.churn_policy.impute(held)[0]
    lightgbm = models.churn.raw_margin(filled_new) - models.churn.raw_margin(filled_old)
    error = np.abs(explained.contributions.to_numpy().sum(axis=1) - lightgbm)
    old_x = models.churn.design_.matrix(filled_old)
    new_x = models.churn.design_.matrix(filled_new)
    same = (old_x == new_x) | (np.isnan(old_x) & np.isnan(new_x))
    leaked = int((explained.contributions.to_numpy()[same] != 0).sum())
    recorded = np.abs(explained.margin_before - before["churn_margin"].to_numpy(dtype=float)).max()
    print(
        f"additivity over {len(both)} accounts scored at {args.before} and {args.after}: "
        f"max {error.max():.2e}, mean {error.mean():.2e} (log-odds; sum of attributions vs "
        f"LightGBM's margin change); unchanged features with a non-zero share: {leaked} of "
        f"{int(same.sum())}; recomputed vs recorded margins differ by at most {recorded:.1e}"
    )
    moved_points = np.abs(explained.probability_after - explained.probability_before) * 100
    print(
        f"churn moves: median {np.median(moved_points):.1f} points, 90th percentile "
        f"{np.percentile(moved_points, 90):.1f}, max {moved_points.max():.1f}; segment changed "
        f"for {int(explained.segment_changed.sum())}"
    )

    resolver = ModelResolver(config, models)
    with _Clock() as book:
        changes = changes_for(both, previous, resolver, top=config.serving.top_k_reasons)
    singles = both.head(args.singles)
    with _Clock() as alone:
        for i in range(len(singles)):
            changes_for(singles.iloc[[i]], previous, resolver, top=config.serving.top_k_reasons)
    n = max(1, len(singles))
    print(
        f"explanation time: {1000 * book.wall / len(both):.2f} ms per account for the whole "
        f"book ({1000 * book.cpu / len(both):.2f} ms CPU; {len(both)} in {book}, sentences "
        f"included); {1000 * alone.wall / n:.0f} ms for one account alone "
        f"({1000 * alone.cpu / n:.0f} ms CPU; mean of {n})"
    )
    biggest = max(changes.values(), key=lambda c: abs(c["points"]))
    print(f"example: {biggest['text']}")

    # Ledger size and append time per 100k scores: the demo's rows under new ids.
    snapshot = build_snapshot(args.data, config, args.after)
    results = score_snapshot(snapshot, models, config, with_change=False)
    copies = -(-100_000 // len(snapshot))
    big = pd.concat(
        [snapshot.assign(account_id=snapshot["account_id"] + f"-{k}") for k in range(copies)],
        ignore_index=True,
    ).head(100_000)
    big_results = [
        {**r, "account_id": f"{r['account_id']}-{k}"} for k in range(copies) for r in results
    ][:100_000]
    target = work / "ledger-100k"
    timings = []
    for run in range(2):
        rows_big = big if run == 0 else big.assign(arr=big["arr"] * 1.01)  # new feature hash
        with _Clock() as built:
            rows = ledger_rows(rows_big, big_results, models)
        with _Clock() as written:
            appended = append_run(target, rows)
        timings.append((built, written, appended))
    sizes = [p.stat().st_size for p in target.rglob("*.parquet")]
    with _Clock() as read:
        back = read_history(target)
    with _Clock() as rerun:
        noop = append_run(target, rows)
    with _Clock() as store:
        build_store(work / "store-200k.duckdb", target)
    built, written, appended = timings[1]
    print(
        f"ledger per 100k scores: {sum(sizes) / len(sizes) / 1e6:.1f} MB per run file; "
        f"building the rows (margins, features JSON, hashes) {built}; key check + write "
        f"{written} into a ledger already holding 100k ({appended.appended} appended; first "
        f"run {timings[0][1]}); a rerun of the same rows {rerun}, appends {noop.appended}; "
        f"reading all {len(back)} rows back {read}; the store from them {store}"
    )


if __name__ == "__main__":
    main()
