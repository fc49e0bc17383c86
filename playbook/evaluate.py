"""Which plays work: each past play's effect on renewal risk and on expansion, per segment.

A play row is evaluated on the snapshot at or just before its start (`started_at`): the latest
snapshot of the account with `as_of <= started_at`, at most `MAX_SNAPSHOT_GAP_DAYS` earlier. Its
features are what the team knew when the play began (point in time: the play itself is not in
them), its outcomes are that snapshot's labels (`churn`: the renewal risk's event by T;
`expansion` within the horizon), used only when known before the data's end
(`features.frame.known_label_mask`); unknown outcomes are left out and counted.

- A play whose rows carry `assignment` "random" with both arms is **randomized**: treated rate
  minus control rate (`playbook.effects`), from the random rows only.
- Any other play is **observational**: its treated rows against the untreated snapshots (no
  play of any kind started in the `UNTREATED_LOOKBACK_DAYS` before as_of or the
  `MAX_SNAPSHOT_GAP_DAYS` after it), by AIPW after an overlap check
  (`playbook.observational`), or "not identified" when the overlap check fails.

Every estimate carries the sample size that would make it conclusive (`playbook.power`), and
`conclusive` means after Holm's adjustment for the many estimates made (`playbook.multiplicity`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.frame import feature_columns, known_label_mask
from playbook.effects import arm_difference
from playbook.multiplicity import (
    ADJUSTMENT,
    ALPHA,
    OVERALL_SEGMENT,
    adjust_estimates,
    randomized_p_value,
    wald_p_value,
)
from playbook.observational import aipw_att
from playbook.power import power_at, sample_size

OUTCOMES: tuple[str, ...] = ("churn", "expansion")
# A snapshot more than this before the start describes another moment (monthly snapshots are
# at most a month apart).
MAX_SNAPSHOT_GAP_DAYS = 45
# An untreated comparison snapshot had no play in the quarter before it (a recent play's effect
# may still run) and none starting in the month after it.
UNTREATED_LOOKBACK_DAYS = 90
MIN_ARM_ROWS = 10  # fewer outcomes than this in an arm: no estimate, only the count
# The untreated pool is subsampled (fixed seed) to this many rows per treated row, at least
# MIN_POOL_ROWS: the effect on the treated stays identified (the propensity odds absorb the
# sampling rate) and the nuisance models fit in seconds instead of minutes on a large book.
POOL_PER_TREATED = 10
MIN_POOL_ROWS = 1000
RANDOMIZED = "randomized"
OBSERVATIONAL = "observational"
ALL_SEGMENTS = OVERALL_SEGMENT


def play_units(frame: pd.DataFrame, plays: pd.DataFrame, data_end: pd.Timestamp) -> pd.DataFrame:
    """One row per play row with the snapshot it is evaluated on and its known outcomes."""
    p = plays.copy()
    p["started_at"] = pd.to_datetime(p["started_at"]).astype("datetime64[ns]")
    p["account_id"] = p["account_id"].astype(str)
    for column in ("arm", "assignment"):
        if column not in p:
            p[column] = None
    p = p.reset_index(drop=True)
    p["play_row"] = np.arange(len(p))
    snapshots = _snapshots(frame, data_end)
    matched = pd.merge_asof(
        p.sort_values("started_at"),
        snapshots.sort_values("as_of"),
        left_on="started_at",
        right_on="as_of",
        by="account_id",
        direction="backward",
        tolerance=pd.Timedelta(days=MAX_SNAPSHOT_GAP_DAYS),
    )
    return matched.sort_values("play_row").reset_index(drop=True)


def _snapshots(frame: pd.DataFrame, data_end: pd.Timestamp) -> pd.DataFrame:
    f = frame.drop_duplicates(["account_id", "as_of"]).copy()
    f["account_id"] = f["account_id"].astype(str)
    f["as_of"] = pd.to_datetime(f["as_of"]).astype("datetime64[ns]")
    for target in OUTCOMES:
        f[target] = f[target].where(known_label_mask(f, target, data_end))
    return f


def untreated_snapshots(
    frame: pd.DataFrame, plays: pd.DataFrame, data_end: pd.Timestamp
) -> pd.DataFrame:
    """Snapshots with no play run (a control arm is no play) near them."""
    snapshots = _snapshots(frame, data_end)
    run = plays[plays["arm"].isna() | (plays["arm"] == "treated")] if "arm" in plays else plays
    starts = run.assign(
        account_id=run["account_id"].astype(str), started_at=pd.to_datetime(run["started_at"])
    )[["account_id", "started_at"]]
    pairs = snapshots[["account_id", "as_of"]].reset_index().merge(starts, on="account_id")
    near = (pairs["started_at"] >= pairs["as_of"] - pd.Timedelta(days=UNTREATED_LOOKBACK_DAYS)) & (
        pairs["started_at"] < pairs["as_of"] + pd.Timedelta(days=MAX_SNAPSHOT_GAP_DAYS)
    )
    touched = pairs.loc[near, "index"].unique()
    return snapshots.drop(index=touched)


def _design(rows: pd.DataFrame) -> str:
    random = rows[rows["assignment"] == "random"]
    if (random["arm"] == "treated").any() and (random["arm"] == "control").any():
        return RANDOMIZED
    return OBSERVATIONAL


def _model_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    X = frame[columns].copy()
    for column in columns:
        if X[column].dtype == object:
            X[column] = X[column].astype("category")
    return X


def evaluate_plays(
    frame: pd.DataFrame,
    plays: pd.DataFrame,
    data_end: pd.Timestamp,
    *,
    n_bootstrap: int = 2000,
    seed: int = 0,
    segments: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Estimates of every play on every outcome, overall and per segment (JSON-ready)."""
    data_end = pd.Timestamp(data_end)
    units = play_units(frame, plays, data_end)
    pool = None
    columns = feature_columns(frame)
    estimates = []
    summary = []
    for play, rows in units.groupby("play", sort=True):
        design = _design(rows)
        if progress is not None:
            progress(f"{play} ({design})")
        if design == RANDOMIZED:
            rows = rows[rows["assignment"] == "random"]
        matched = rows["as_of"].notna()
        summary.append(
            {
                "play": play,
                "design": design,
                "rows": len(rows),
                "without_snapshot": int((~matched).sum()),
                "treated_rows": int((rows["arm"].isna() | (rows["arm"] == "treated")).sum()),
                "control_rows": int((rows["arm"] == "control").sum()),
            }
        )
        rows = rows[matched]
        groups = [ALL_SEGMENTS]
        if segments:
            groups += sorted(rows["segment"].dropna().astype(str).unique())
        for segment in groups:
            part = rows if segment == ALL_SEGMENTS else rows[rows["segment"] == segment]
            for outcome in OUTCOMES:
                if design == RANDOMIZED:
                    estimate = _randomized(part, outcome, n_bootstrap, seed)
                else:
                    if pool is None:
                        pool = untreated_snapshots(frame, plays, data_end)
                    comparison = (
                        pool if segment == ALL_SEGMENTS else pool[pool["segment"] == segment]
                    )
                    estimate = _observational(part, comparison, columns, outcome, seed)
                estimates.append({"play": play, "segment": segment, "outcome": outcome, **estimate})
    return {
        "data_end": str(data_end.date()),
        "snapshot_rule": f"the account's latest snapshot with as_of <= started_at, at most "
        f"{MAX_SNAPSHOT_GAP_DAYS} days earlier",
        "outcomes": {
            "churn": "renewal risk: coverage ends by T = max(renewal, as_of + min_risk_days) "
            "without a new contract within the grace days",
            "expansion": "ARR up by more than the threshold within the horizon",
        },
        "effect_scale": "treated outcome rate minus the rate without the play (probability "
        "points / 100); negative churn effect = fewer churns",
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "multiplicity": {
            "adjustment": ADJUSTMENT,
            "alpha": ALPHA,
            "families": "overall estimates (segment 'all') and per-segment estimates, each "
            "adjusted on its own; conclusive = Holm-adjusted p-value below alpha",
        },
        "plays": summary,
        "estimates": adjust_estimates(estimates),
    }


def _power(p0: float, p1: float, n0: int, n1: int) -> dict:
    ratio = n1 / n0 if n0 else 1.0
    needed = sample_size(p0, p1, ratio=ratio)
    return {
        "power_at_observed": power_at(p0, p1, n0, n1) if n0 and n1 else float("nan"),
        "needed_control_n": needed[0] if needed else None,
        "needed_treated_n": needed[1] if needed else None,
        "needed_total": (needed[0] + needed[1]) if needed else None,
    }


def _randomized(rows: pd.DataFrame, outcome: str, n_bootstrap: int, seed: int) -> dict:
    known = rows[rows[outcome].notna()]
    treated = known.loc[known["arm"] == "treated", outcome].to_numpy()
    control = known.loc[known["arm"] == "control", outcome].to_numpy()
    base = {
        "design": RANDOMIZED,
        "method": "difference in proportions, treated - control (Newcombe hybrid score "
        "interval; percentile bootstrap beside it)",
        "label": "randomized: against the control arm",
        "unknown_outcomes": int(len(rows) - len(known)),
    }
    if len(treated) < MIN_ARM_ROWS or len(control) < MIN_ARM_ROWS:
        return {
            **base,
            "identified": None,
            "effect": None,
            "treated_n": len(treated),
            "control_n": len(control),
            "note": f"fewer than {MIN_ARM_ROWS} known outcomes in an arm: no estimate",
        }
    diff = arm_difference(treated, control, n_bootstrap=n_bootstrap, seed=seed)
    return {
        **base,
        "identified": True,
        **diff.as_dict(),
        "p_value": randomized_p_value(
            diff.treated_events, diff.treated_n, diff.control_events, diff.control_n
        ),
        "conclusive_unadjusted": bool(diff.ci_low > 0 or diff.ci_high < 0),
        **_power(diff.control_rate, diff.treated_rate, diff.control_n, diff.treated_n),
    }


def _observational(
    rows: pd.DataFrame, pool: pd.DataFrame, columns: list[str], outcome: str, seed: int
) -> dict:
    treated = rows[(rows["arm"].isna() | (rows["arm"] == "treated")) & rows[outcome].notna()]
    untreated = pool[pool[outcome].notna()]
    base = {
        "design": OBSERVATIONAL,
        "method": "AIPW effect on the treated, cross-fitted LightGBM propensity and outcome "
        "models on the features at the play's start (untreated pool subsampled)",
        "label": "observational estimate (no control group): valid only if the features "
        "capture why accounts got the play",
        "unknown_outcomes": int(
            (rows["arm"].isna() | (rows["arm"] == "treated")).sum() - len(treated)
        ),
    }
    if len(treated) < MIN_ARM_ROWS or len(untreated) < MIN_ARM_ROWS:
        return {
            **base,
            "identified": None,
            "effect": None,
            "treated_n": len(treated),
            "control_n": len(untreated),
            "note": f"fewer than {MIN_ARM_ROWS} known outcomes treated or untreated: no estimate",
        }
    cap = max(POOL_PER_TREATED * len(treated), MIN_POOL_ROWS)
    pool_rows = len(untreated)
    if pool_rows > cap:
        untreated = untreated.sample(n=cap, random_state=seed)
    base["untreated_pool_rows"] = int(pool_rows)
    base["untreated_sampled_rows"] = len(untreated)
    data = pd.concat([treated, untreated], ignore_index=True)
    t = np.r_[np.ones(len(treated), dtype=bool), np.zeros(len(untreated), dtype=bool)]
    X = _model_frame(data, columns)
    overlap, estimate = aipw_att(
        X, t, data[outcome].to_numpy(dtype=float), seed=seed, groups=data["account_id"].to_numpy()
    )
    result = {**base, "overlap": overlap.as_dict(), "identified": overlap.identified}
    if estimate is None:
        return {
            **result,
            "effect": None,
            "treated_n": overlap.treated_n,
            "control_n": overlap.untreated_n,
            "note": "not identified: " + overlap.note,
        }
    return {
        **result,
        **estimate.as_dict(),
        "control_n": estimate.untreated_n,
        "control_rate": estimate.adjusted_untreated_rate,
        "p_value": wald_p_value(estimate.effect, estimate.se),
        "conclusive_unadjusted": bool(estimate.ci_low > 0 or estimate.ci_high < 0),
        "note": overlap.note,
        **_power(
            estimate.adjusted_untreated_rate,
            estimate.treated_rate,
            estimate.untreated_n,
            estimate.treated_n,
        ),
    }
