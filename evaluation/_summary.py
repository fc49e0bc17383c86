"""Tidy metrics (per window, model, target, segment, and pooled) and the metrics.json summary."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from evaluation import forecast as fc
from evaluation import metrics as m
from evaluation._headline import headline_model
from features.frame import TARGETS
from retain.config import Config

MODELS: tuple[str, ...] = (
    "chosen",
    "segmented",
    "global",
    "small_data",
    "logistic",
    "scorecard",
    "oracle",
)
POOLED = "pooled"
ALL = fc.ALL_SEGMENTS


def _score_metrics(
    rows: pd.DataFrame, target: str, n_bootstrap: int, seed: int
) -> dict[str, float]:
    out: dict[str, float] = {}
    p_column = f"p_{target}"
    rows = rows[rows[target].notna() & rows[p_column].notna()]
    y = rows[target].to_numpy(float)
    p = rows[p_column].to_numpy(float)
    out["n"] = float(len(y))
    out["base_rate"] = float(y.mean()) if len(y) else math.nan
    for name, metric in m.SCORE_METRICS.items():
        out[name] = metric(y, p)
    if target != "churn":
        return out
    arr = rows["arr"].to_numpy(float)
    out["arr_caught_10"] = m.arr_caught_share(y, p, arr, top=0.1)
    out["arr_caught_20"] = m.arr_caught_share(y, p, arr, top=0.2)
    if "band" not in rows or rows["band"].isna().all():
        return out
    for spine, suffix in (("renewals", ""), ("monthly", "_monthly")):
        on_spine = rows[rows["spine"] == spine]
        if on_spine.empty:
            continue
        _band_metrics(out, on_spine, suffix, n_bootstrap, seed)
    if not (rows["spine"] == "renewals").any() and not (rows["spine"] == "monthly").any():
        # Snapshot-only data has neither spine: every row counts as the primary ratio.
        _band_metrics(out, rows, "", n_bootstrap, seed)
    return out


def _band_metrics(
    out: dict[str, float], rows: pd.DataFrame, suffix: str, n_bootstrap: int, seed: int
) -> None:
    churned = rows["churn"].to_numpy(float)
    bands = rows["band"].to_numpy(object)
    for band, rate in m.band_renewal_rates(churned, bands).items():
        out[f"renewal_rate_{band}{suffix}"] = rate
    estimate = m.green_red_ratio(churned, bands, n_bootstrap=n_bootstrap, seed=seed)
    out[f"band_renewal_ratio{suffix}"] = estimate.ratio
    if n_bootstrap > 0:
        out[f"band_renewal_ratio_low{suffix}"] = estimate.low
        out[f"band_renewal_ratio_high{suffix}"] = estimate.high


def tidy_metrics(
    predictions: pd.DataFrame,
    forecast_table: pd.DataFrame,
    windows: Sequence[str],
    config: Config,
) -> pd.DataFrame:
    """Long table (cutoff, model, target, segment, metric, value), per window and pooled."""
    records: list[tuple[str, str, str, str, str, float]] = []
    # Intervals come from the account bootstrap of the pooled predictions (evaluation.bootstrap),
    # not from resampling rows per window.
    n_boot, seed = 0, config.training.seed
    groups: list[tuple[str, pd.DataFrame]] = [
        (w, predictions[predictions["cutoff"] == w]) for w in windows
    ]
    groups.append((POOLED, predictions))
    for cutoff, rows in groups:
        for (model, segment), part in _by_model_and_segment(rows):
            for target in TARGETS:
                if f"p_{target}" not in part or part[f"p_{target}"].isna().all():
                    continue
                for metric, value in _score_metrics(part, target, n_boot, seed).items():
                    records.append((cutoff, model, target, segment, metric, float(value)))
    records += _equal_share_records(predictions, windows)
    if not forecast_table.empty:
        value_columns = [
            "arr_at_as_of",
            "expected_grr",
            "actual_grr",
            "grr_error_pct",
            "expected_nrr",
            "actual_nrr",
            "nrr_error_pct",
            "n_renewals",
        ]
        for row in forecast_table.itertuples(index=False):
            for metric in value_columns:
                value = float(getattr(row, metric))
                records.append((row.cutoff, row.model, "forecast", row.segment, metric, value))
        for model in forecast_table["model"].unique():
            for side in ("grr", "nrr"):
                value = fc.mean_absolute_error_pct(forecast_table, side, model)
                records.append((POOLED, model, "forecast", ALL, f"{side}_abs_error_pct", value))
    return pd.DataFrame.from_records(
        records, columns=["cutoff", "model", "target", "segment", "metric", "value"]
    )


def _equal_share_records(
    predictions: pd.DataFrame, windows: Sequence[str]
) -> list[tuple[str, str, str, str, str, float]]:
    """`band_renewal_ratio_equal_shares` of every model, per window and pooled.

    Each model's own bands differ in size, and a model whose red band is a small extreme group
    "wins" the green/red ratio while ranking worse: so every model is also banded at the band
    shares of the headline model (evaluation._headline) in the same window, by rank of its
    own scores, on the same rows as the headline ratio (the renewal spine where there is one).
    """
    needed = {"model", "cutoff", "band", "churn", "p_churn", "spine"}
    if predictions.empty or not needed <= set(predictions.columns):
        return []
    models = set(predictions["model"])
    reference = headline_model(name for name in MODELS if name in models)
    if reference is None:
        return []
    rows = predictions[predictions["churn"].notna() & predictions["p_churn"].notna()]
    spine = rows["spine"].astype(str)
    if (spine == "renewals").any():
        rows = rows[spine == "renewals"]
    elif (spine == "monthly").any():
        rows = rows[spine == "monthly"]
    banded: list[pd.DataFrame] = []
    records: list[tuple[str, str, str, str, str, float]] = []
    for cutoff in windows:
        window = rows[rows["cutoff"] == cutoff]
        own = window[window["model"] == reference]["band"]
        if own.empty or own.isna().any():
            continue
        green, red = float((own == "green").mean()), float((own == "red").mean())
        for model, part in window.groupby("model", sort=False):
            bands = m.bands_at_shares(part["p_churn"].to_numpy(float), green, red)
            banded.append(pd.DataFrame({"model": model, "churn": part["churn"], "band": bands}))
            records.append(
                (
                    cutoff,
                    str(model),
                    "churn",
                    ALL,
                    "band_renewal_ratio_equal_shares",
                    m.band_ratio(part["churn"].to_numpy(float), bands),
                )
            )
    if banded:
        pooled = pd.concat(banded, ignore_index=True)
        for model, part in pooled.groupby("model", sort=False):
            ratio = m.band_ratio(part["churn"].to_numpy(float), part["band"].to_numpy(object))
            records.append(
                (POOLED, str(model), "churn", ALL, "band_renewal_ratio_equal_shares", ratio)
            )
    return records


def _by_model_and_segment(rows: pd.DataFrame) -> Iterator[tuple[tuple[str, str], pd.DataFrame]]:
    for model, part in rows.groupby("model", sort=False):
        yield (model, ALL), part
        for segment, seg_part in part.groupby("segment", sort=True, observed=True):
            yield (model, str(segment)), seg_part


# -- metrics.json -------------------------------------------------------------------------------


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def summarize(
    tidy: pd.DataFrame,
    forecast_table: pd.DataFrame,
    predictions: pd.DataFrame,
    *,
    windows: Sequence[str],
    plans: Mapping[str, Any],
    config: Config,
    data_label: str,
    bands: Mapping[str, Any],
    strategies: Mapping[str, Any],
    n_snapshots: int,
) -> dict[str, Any]:
    """The metrics.json payload (layout documented in the evaluation issue; other tools read it).

    `plans` maps each target to its evaluation._plan.TargetPlan. Per target and model, the pooled
    metrics plus `<metric>_ci` (95% account-bootstrap intervals of roc_auc, pr_auc and, for churn,
    band_renewal_ratio, and `roc_auc_vs_headline_ci`: the difference to the headline model, see
    evaluation._headline); per target, `evaluation` (scheme,
    windows, note) and `evidence` (what stands behind the figures, evaluation._evidence).
    """
    from evaluation._evidence import evidence_for
    from evaluation.bootstrap import bootstrap_intervals

    pooled = tidy[(tidy["cutoff"] == POOLED) & (tidy["segment"] == ALL)]
    targets: dict[str, Any] = {}
    for target in TARGETS:
        rows = pooled[pooled["target"] == target]
        plan = plans.get(target)
        if rows.empty:
            if plan is not None:
                targets[target] = {"models": {}, "evaluation": plan.as_dict(), "evidence": None}
            continue
        intervals = bootstrap_intervals(
            predictions,
            target,
            n_bootstrap=config.evaluation.n_bootstrap,
            seed=config.training.seed,
        )
        models: dict[str, Any] = {}
        for model in [name for name in MODELS if name in set(rows["model"])]:
            values = rows[rows["model"] == model].set_index("metric")["value"]
            entry = {k: _clean(v) for k, v in values.items()}
            entry.update(intervals.get(model, {}))
            models[model] = entry
        block: dict[str, Any] = {"models": models}
        if plan is not None:
            block["evaluation"] = plan.as_dict()
            block["evidence"] = evidence_for(target, predictions, models, plan, config)
        targets[target] = block
    churn_plan = plans.get("churn") or next(iter(plans.values()), None)
    summary: dict[str, Any] = {
        "data": data_label,
        "mode": churn_plan.mode if churn_plan is not None else "none",
        "schemes": {target: plan.scheme for target, plan in plans.items()},
        "cutoffs": list(windows),
        "cutoff_note": " ".join(plan.note for plan in plans.values()),
        "n_snapshots": n_snapshots,
        "n_scored": len(predictions.drop_duplicates(["cutoff", "account_id", "as_of", "spine"]))
        if len(predictions)
        else 0,
        "targets": targets,
        "forecast": _forecast_summary(forecast_table),
        "bands": dict(bands),
        "segment_strategy": dict(strategies),
    }
    return summary


def _forecast_summary(table: pd.DataFrame) -> dict[str, Any]:
    if table.empty:
        return {"grr_error_pct": None, "nrr_error_pct": None, "models": {}}
    per_model = {}
    for model in table["model"].unique():
        per_model[str(model)] = {
            "grr_error_pct": _clean(fc.mean_absolute_error_pct(table, "grr", model)),
            "nrr_error_pct": _clean(fc.mean_absolute_error_pct(table, "nrr", model)),
        }
    headline = headline_model(name for name in MODELS if name in per_model)
    reference = per_model.get(headline or "", {"grr_error_pct": None, "nrr_error_pct": None})
    overall = table[(table["model"] == headline) & (table["segment"] == ALL)]
    return {
        "model": headline,
        "grr_error_pct": reference["grr_error_pct"],
        "nrr_error_pct": reference["nrr_error_pct"],
        "by_cutoff": [
            {
                "cutoff": row.cutoff,
                "n_renewals": int(row.n_renewals),
                "expected_grr": _clean(row.expected_grr),
                "actual_grr": _clean(row.actual_grr),
                "grr_error_pct": _clean(row.grr_error_pct),
                "expected_nrr": _clean(row.expected_nrr),
                "actual_nrr": _clean(row.actual_nrr),
                "nrr_error_pct": _clean(row.nrr_error_pct),
            }
            for row in overall.itertuples(index=False)
        ],
        "models": per_model,
    }
