"""Survival metrics and the backtest's time-to-churn section.

Metrics (scikit-survival, IPCW for censoring; Uno et al. 2011, Graf et al. 1999):

- `uno_c_index`: Uno's concordance up to `tau` months, the risk being 1 - S(tau);
- `integrated_brier`: the Brier score of S(t) averaged over months 1..12 (lower is better);
- `brier_at`: the Brier score at given months, for comparing with the oracle's true S.

Durations are whole months (`features.person_months`): an account lost in month t has time t; a
censored one, observed through month c, has time c + 0.5, since its survival of month c is known
(so the censoring distribution at an event month does not count the censorings of that month).

`survival_backtest` refits the SurvivalModel at every backtest cutoff on the months known before
it, scores the cutoff's window (the rows the churn models scored), anchors each curve to the
headline churn model's probability at the risk window's end (`chosen` in a backtest: the model
served), and compares with a Kaplan-Meier
curve of the training months and, on simulated data, with the true S at 3, 6 and 12 months.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from features.person_months import curve_months, survival_outcome, window_months
from retain.config import Config
from retain.errors import RetainError

HORIZON_MONTHS = 12  # "integrated Brier score to 12 months"
ORACLE_MONTHS: tuple[int, ...] = (3, 6, 12)
CONSISTENCY_TOLERANCE = 0.02  # |mean(1 - S(T) - churn_probability)| per segment
_KEYS = ["account_id", "as_of", "spine"]


def truth_column(months: int) -> str:
    """The simulator truth's column holding the true S at `months` months."""
    return f"survival_{months}m"


# -- metrics -------------------------------------------------------------------------------------


def _surv(duration: np.ndarray, event: np.ndarray) -> np.ndarray:
    from sksurv.util import Surv

    event = np.asarray(event, dtype=bool)
    time = np.asarray(duration, dtype=np.float64) + np.where(event, 0.0, 0.5)
    return Surv.from_arrays(event=event, time=time)


def uno_c_index(
    duration: np.ndarray, event: np.ndarray, risk: np.ndarray, tau: float = HORIZON_MONTHS
) -> float:
    """Uno's IPCW concordance index truncated at `tau` months (0.5 random, 1 perfect)."""
    from sksurv.metrics import concordance_index_ipcw

    y = _surv(duration, event)
    return float(concordance_index_ipcw(y, y, np.asarray(risk, dtype=np.float64), tau=tau)[0])


def brier_at(
    duration: np.ndarray, event: np.ndarray, survival: np.ndarray, months: tuple[int, ...]
) -> np.ndarray:
    """IPCW Brier score of `survival` (n, len(months)) at each of `months`."""
    from sksurv.metrics import brier_score

    y = _surv(duration, event)
    _, scores = brier_score(y, y, np.asarray(survival, dtype=np.float64), np.asarray(months))
    return np.asarray(scores, dtype=np.float64)


def integrated_brier(
    duration: np.ndarray, event: np.ndarray, curves: np.ndarray, horizon: int = HORIZON_MONTHS
) -> float:
    """Brier score integrated over months 1..horizon (trapezoids, divided by the span)."""
    from sksurv.metrics import integrated_brier_score

    y = _surv(duration, event)
    times = np.arange(1, horizon + 1)
    curves = np.asarray(curves, dtype=np.float64)[:, :horizon]
    return float(integrated_brier_score(y, y, curves, times))


def kaplan_meier_curve(duration: np.ndarray, event: np.ndarray, n_months: int) -> np.ndarray:
    """The Kaplan-Meier S(t) at months 1..n_months (flat after the last observed month)."""
    from sksurv.nonparametric import kaplan_meier_estimator

    times, survival = kaplan_meier_estimator(
        np.asarray(event, dtype=bool), np.asarray(duration, dtype=np.float64)
    )
    index = np.searchsorted(times, np.arange(1, n_months + 1), side="right") - 1
    return np.where(index >= 0, survival[np.maximum(index, 0)], 1.0)


def consistency(
    segments: np.ndarray, churn_probability: np.ndarray, lost_by_window_end: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per segment (and "all"): rows and the mean signed difference 1 - S(T) - churn_probability."""
    diff = np.asarray(lost_by_window_end, float) - np.asarray(churn_probability, float)
    out = {"all": {"rows": len(diff), "mean_signed_difference": float(np.mean(diff))}}
    for segment in sorted(set(segments.tolist())):
        rows = segments == segment
        out[str(segment)] = {
            "rows": int(rows.sum()),
            "mean_signed_difference": float(np.mean(diff[rows])),
        }
    return out


# -- the backtest section ------------------------------------------------------------------------


def _is_date(name: str) -> bool:
    try:
        pd.Timestamp(name)
    except ValueError:
        return False
    return True


def _truth_values(rows: pd.DataFrame, truth: pd.DataFrame | None) -> np.ndarray:
    """(n, len(ORACLE_MONTHS)) true S from the simulator, NaN where unknown."""
    columns = [truth_column(m) for m in ORACLE_MONTHS]
    if truth is None or not set(columns) <= set(truth.columns):
        return np.full((len(rows), len(ORACLE_MONTHS)), np.nan)
    truth = truth.assign(
        account_id=truth["account_id"].astype(str),
        as_of=pd.to_datetime(truth["as_of"]),
        spine=truth["spine"].astype(str),
    )
    keyed = rows[_KEYS].merge(
        truth.drop_duplicates(_KEYS)[[*_KEYS, *columns]], on=_KEYS, how="left"
    )
    values = keyed[columns].to_numpy(np.float64)
    # A renewals snapshot on a month start may be stored under either spine in the truth.
    by_date = truth.drop_duplicates(["account_id", "as_of"])[["account_id", "as_of", *columns]]
    fallback = rows[["account_id", "as_of"]].merge(by_date, on=["account_id", "as_of"], how="left")
    return np.where(np.isnan(values), fallback[columns].to_numpy(np.float64), values)


def survival_backtest(
    frame: pd.DataFrame,
    coverage_end: pd.Series,
    predictions: pd.DataFrame,
    config: Config,
    *,
    data_end: pd.Timestamp,
    truth: pd.DataFrame | None = None,
    churn_model: str = "segmented",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The survival section of metrics.json (and of the report): see the module docstring.

    `frame` is the backtest's feature frame, `coverage_end` its rows' coverage ends
    (`features.person_months.coverage_end`), `predictions` the backtest's predictions (cutoff,
    model, account_id, as_of, spine, segment, p_churn). Cutoffs that are not dates (k-fold)
    are skipped: without time there is no time to churn.
    """
    from training.survival import (
        SurvivalModel,
        anchor_to_churn,
        expected_months_retained,
        survival_at,
    )

    frame = frame.reset_index(drop=True).copy()
    frame["account_id"] = frame["account_id"].astype(str)
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    frame["spine"] = frame["spine"].astype(str)
    ends = pd.Series(np.asarray(coverage_end), index=frame.index)
    n_months = curve_months(frame.get("contract_term_days"))
    scored_all = predictions[predictions["model"] == churn_model].copy()
    scored_all["account_id"] = scored_all["account_id"].astype(str)
    scored_all["as_of"] = pd.to_datetime(scored_all["as_of"])
    position = pd.Series(frame.index, index=pd.MultiIndex.from_frame(frame[_KEYS]))
    position = position[~position.index.duplicated()]
    full = survival_outcome(frame, ends, config, before=pd.Timestamp(data_end), n_months=n_months)

    parts: list[dict[str, np.ndarray]] = []
    training: dict[str, dict[str, Any]] = {}
    if not any(_is_date(name) for name in scored_all["cutoff"].astype(str).unique()):
        raise RetainError(
            "time to churn needs rolling origins (dates); this backtest's churn windows are "
            "cross-validation folds, so there is no time to follow accounts through"
        )
    for cutoff_name in sorted(scored_all["cutoff"].astype(str).unique()):
        try:
            cutoff = pd.Timestamp(cutoff_name)
        except ValueError:
            continue
        history = frame[frame["as_of"] < cutoff]
        known = survival_outcome(
            history, ends[history.index], config, before=cutoff, n_months=n_months
        )
        observed = known["duration"] > 0
        if known.loc[observed, "event"].sum() == 0:
            continue
        model = SurvivalModel(config, n_months=n_months).fit(history[observed], known[observed])
        training[cutoff_name] = dict(model.metrics_)
        scored = scored_all[scored_all["cutoff"].astype(str) == cutoff_name]
        index = position.reindex(pd.MultiIndex.from_frame(scored[_KEYS])).to_numpy()
        present = ~pd.isna(index)
        rows = frame.loc[index[present].astype(np.int64)]
        p = scored["p_churn"].to_numpy(np.float64)[present]
        outcome = full.loc[rows.index]
        keep = (outcome["duration"].to_numpy() > 0) & np.isfinite(p)
        rows, p, outcome = rows[keep], p[keep], outcome[keep]
        raw = model.predict_survival(rows)
        window = window_months(rows, config)
        km = kaplan_meier_curve(
            known.loc[observed, "duration"].to_numpy(),
            known.loc[observed, "event"].to_numpy(),
            n_months,
        )
        parts.append(
            {
                "segment": rows["segment"].astype(str).to_numpy(),
                "duration": outcome["duration"].to_numpy(),
                "event": outcome["event"].to_numpy(bool),
                "p_churn": p,
                "window": window,
                "raw": raw,
                "anchored": anchor_to_churn(raw, window, p),
                "km": np.broadcast_to(km, raw.shape),
                "truth": _truth_values(rows, truth),
            }
        )
        if progress is not None:
            progress(cutoff_name)
    if not parts:
        raise RetainError(
            "No backtest cutoff has survival outcomes to learn from (no churn among the months "
            f"known before any cutoff, {len(frame)} snapshots)"
        )
    pooled = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    duration, event = pooled["duration"], pooled["event"]
    curves = {"anchored": pooled["anchored"], "raw": pooled["raw"], "kaplan_meier": pooled["km"]}
    # The metrics need months inside the follow-up: short histories get a shorter horizon.
    follow_up = float(np.max(duration + np.where(event, 0.0, 0.5)))
    h = min(HORIZON_MONTHS, n_months, int(np.ceil(follow_up)) - 1)
    if h < 2:
        raise RetainError(
            f"time to churn needs at least 2 months of follow-up after the scored snapshots; "
            f"the longest is {follow_up:.1f}"
        )
    metrics = {
        name: {
            "uno_c_index": uno_c_index(duration, event, 1.0 - values[:, h - 1], tau=h),
            "integrated_brier": integrated_brier(duration, event, values, h),
        }
        for name, values in curves.items()
    }
    metrics["kaplan_meier"]["uno_c_index"] = None  # one curve for everyone ranks nobody
    ibs_km = metrics["kaplan_meier"]["integrated_brier"]
    for name in ("anchored", "raw"):
        metrics[name]["brier_skill_vs_kaplan_meier"] = 1.0 - metrics[name][
            "integrated_brier"
        ] / max(ibs_km, 1e-12)

    oracle: dict[str, Any] = {}
    with_truth = np.isfinite(pooled["truth"]).all(axis=1)
    within = tuple(m for m in ORACLE_MONTHS if m < follow_up)
    if with_truth.any() and within:
        months = np.array(within)
        columns = [ORACLE_MONTHS.index(m) for m in within]
        d, e = duration[with_truth], event[with_truth]
        table = {
            "anchored": pooled["anchored"][with_truth][:, months - 1],
            "raw": pooled["raw"][with_truth][:, months - 1],
            "kaplan_meier": pooled["km"][with_truth][:, months - 1],
            "oracle": pooled["truth"][with_truth][:, columns],
        }
        scores = {name: brier_at(d, e, values, within) for name, values in table.items()}
        oracle = {
            "rows": int(with_truth.sum()),
            "brier": {
                f"{m}m": {name: float(scores[name][i]) for name in table}
                for i, m in enumerate(within)
            },
            "mean_abs_error_vs_true_s": {
                f"{m}m": float(np.mean(np.abs(table["anchored"][:, i] - table["oracle"][:, i])))
                for i, m in enumerate(within)
            },
        }
    lost_raw = 1.0 - survival_at(pooled["raw"], pooled["window"])
    lost_anchored = 1.0 - survival_at(pooled["anchored"], pooled["window"])
    raw_check = consistency(pooled["segment"], pooled["p_churn"], lost_raw)
    anchored_check = consistency(pooled["segment"], pooled["p_churn"], lost_anchored)
    return {
        "model": "discrete-time hazard (LightGBM), anchored at T to the churn model "
        f"({churn_model})",
        "n_months": n_months,
        "horizon_months": h,
        "cutoffs": sorted(training),
        "n_scored": len(duration),
        "events": int(event.sum()),
        "metrics": metrics,
        "oracle": oracle,
        "consistency": {
            "tolerance": CONSISTENCY_TOLERANCE,
            "anchored": anchored_check,
            "raw": raw_check,
            "passed": all(
                abs(v["mean_signed_difference"]) <= CONSISTENCY_TOLERANCE
                for v in anchored_check.values()
            ),
        },
        "expected_months_retained_mean": float(
            np.mean(expected_months_retained(pooled["anchored"]))
        ),
        "training": training,
    }
