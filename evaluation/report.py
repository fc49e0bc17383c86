"""The backtest report: one self-contained HTML file (figures inlined as base64 PNG, no CDN).

Order follows its two readers: a plain-language summary for a CS leader first, then the tables
and curves a data scientist needs to decide whether the scores deserve trust.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation import forecast as fc
from evaluation._headline import headline_model
from evaluation.backtest import ALL, MODELS, POOLED, TARGETS, BacktestResult
from retain.files import write_text

_TEMPLATE = "report.html.j2"
_COLORS = {
    "segmented": "#1f77b4",
    "global": "#ff7f0e",
    "logistic": "#2ca02c",
    "scorecard": "#d62728",
    "oracle": "#7f7f7f",
}
# Pooled metrics shown with their 95% account-bootstrap interval (evaluation.bootstrap).
_INTERVAL_METRICS = ("roc_auc", "pr_auc", "band_renewal_ratio")
_BAND_COLORS = {"green": "#2ca02c", "yellow": "#e6b800", "red": "#d62728"}
_TABLE_METRICS = (
    "roc_auc",
    "pr_auc",
    "brier",
    "log_loss",
    "ece",
    "top_decile_lift",
    "arr_caught_10",
    "arr_caught_20",
    "band_renewal_ratio",
    "band_renewal_ratio_equal_shares",
)


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(n_axes: int, width: float = 5.0, height: float = 4.0) -> tuple[Any, list[Any]]:
    # Figure without pyplot: no global state, no display backend needed.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width * n_axes, height))
    axes = [figure.add_subplot(1, n_axes, i + 1) for i in range(n_axes)]
    return figure, axes


def _legend(ax: Any) -> None:
    # A target no model could learn (one class only) leaves an empty panel: no legend then.
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _models_in(predictions: pd.DataFrame) -> list[str]:
    present = set(predictions["model"])
    return [m for m in MODELS if m in present]


def _labelled(predictions: pd.DataFrame, model: str, target: str) -> tuple[np.ndarray, ...]:
    if f"p_{target}" not in predictions or target not in predictions:
        return np.array([]), np.array([])
    rows = predictions[
        (predictions["model"] == model)
        & predictions[target].notna()
        & predictions[f"p_{target}"].notna()
    ]
    return rows[target].to_numpy(float), rows[f"p_{target}"].to_numpy(float)


def _curves(predictions: pd.DataFrame, kind: str) -> str:
    from sklearn.metrics import precision_recall_curve, roc_curve

    figure, axes = _figure(len(TARGETS))
    for ax, target in zip(axes, TARGETS, strict=True):
        for model in _models_in(predictions):
            y, p = _labelled(predictions, model, target)
            if len(np.unique(y)) < 2:
                continue
            if kind == "roc":
                x_values, y_values, _ = roc_curve(y, p, drop_intermediate=True)
            else:
                precision, recall, _ = precision_recall_curve(y, p)
                x_values, y_values = recall, precision
            ax.plot(x_values, y_values, label=model, color=_COLORS.get(model), lw=1.5)
        if kind == "roc":
            ax.plot([0, 1], [0, 1], ls=":", color="black", lw=0.8)
            ax.set(xlabel="false positive rate", ylabel="true positive rate")
        else:
            ax.set(xlabel="recall", ylabel="precision")
        ax.set_title(f"{target}: {'ROC' if kind == 'roc' else 'precision-recall'} (pooled)")
        _legend(ax)
    return _png(figure)


def _calibration(predictions: pd.DataFrame, n_bins: int = 10) -> str:
    figure, axes = _figure(len(TARGETS))
    for ax, target in zip(axes, TARGETS, strict=True):
        for model in _models_in(predictions):
            y, p = _labelled(predictions, model, target)
            if not len(y):
                continue
            bins = np.minimum((np.clip(p, 0, 1) * n_bins).astype(int), n_bins - 1)
            frame = pd.DataFrame({"bin": bins, "y": y, "p": p}).groupby("bin").mean()
            ax.plot(frame["p"], frame["y"], marker="o", ms=3, label=model, color=_COLORS.get(model))
        ax.plot([0, 1], [0, 1], ls=":", color="black", lw=0.8)
        ax.set(xlabel="mean predicted probability", ylabel="observed rate")
        ax.set_title(f"{target}: calibration (10 equal-width bins)")
        _legend(ax)
    return _png(figure)


def _lift(predictions: pd.DataFrame) -> str:
    figure, axes = _figure(len(TARGETS))
    for ax, target in zip(axes, TARGETS, strict=True):
        for model in _models_in(predictions):
            y, p = _labelled(predictions, model, target)
            if not len(y) or y.sum() == 0:
                continue
            ordered = y[np.argsort(-p, kind="stable")]
            deciles = np.array_split(ordered, 10)
            lift = [part.mean() / y.mean() if len(part) else np.nan for part in deciles]
            ax.plot(range(1, 11), lift, marker="o", ms=3, label=model, color=_COLORS.get(model))
        ax.axhline(1.0, ls=":", color="black", lw=0.8)
        ax.set(xlabel="decile of predicted risk (1 = riskiest)", ylabel="lift over base rate")
        ax.set_title(f"{target}: lift by decile (pooled)")
        _legend(ax)
    return _png(figure)


def _band_rates_over_time(metrics: pd.DataFrame, cutoffs: list[str]) -> str | None:
    rows = metrics[
        (metrics["target"] == "churn")
        & (metrics["segment"] == ALL)
        & metrics["cutoff"].isin(cutoffs)
    ]
    if rows.empty or not rows["metric"].str.startswith("renewal_rate_").any():
        return None
    models = [m for m in MODELS if m in set(rows["model"])]
    figure, axes = _figure(2, width=6.0)
    headline = rows[rows["model"] == headline_model(models)]
    for band, color in _BAND_COLORS.items():
        series = headline[headline["metric"] == f"renewal_rate_{band}"].set_index("cutoff")
        values = series["value"].reindex(cutoffs)
        axes[0].plot(cutoffs, values, marker="o", color=color, label=band)
    axes[0].set(ylabel="renewal rate (renewals spine)", ylim=(0, 1.05))
    axes[0].set_title(f"{headline['model'].iloc[0]}: renewal rate per health band")
    _legend(axes[0])
    for model in models:
        series = rows[(rows["model"] == model) & (rows["metric"] == "band_renewal_ratio")]
        values = series.set_index("cutoff")["value"].reindex(cutoffs).replace(np.inf, np.nan)
        axes[1].plot(cutoffs, values, marker="o", label=model, color=_COLORS.get(model))
    axes[1].axhline(2.5, ls=":", color="black", lw=0.8)
    axes[1].set(ylabel="green / red renewal rate")
    axes[1].set_title("green/red renewal-rate ratio per cutoff (target 2.5)")
    _legend(axes[1])
    for ax in axes:
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    return _png(figure)


def _forecast_figure(table: pd.DataFrame) -> str | None:
    if table.empty:
        return None
    model = headline_model(name for name in MODELS if name in set(table["model"]))
    rows = table[(table["model"] == model) & (table["segment"] == fc.ALL_SEGMENTS)]
    figure, axes = _figure(2, width=6.0)
    x = np.arange(len(rows))
    for ax, side in zip(axes, ("grr", "nrr"), strict=True):
        ax.bar(x - 0.2, rows[f"expected_{side}"], width=0.4, label="expected", color="#1f77b4")
        ax.bar(x + 0.2, rows[f"actual_{side}"], width=0.4, label="actual", color="#999999")
        ax.set_xticks(x, rows["cutoff"], rotation=45, fontsize=8)
        ax.set(ylabel="ARR")
        ax.set_title(f"{model}: expected vs actual {side.upper()} ARR of renewals")
        _legend(ax)
    return _png(figure)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a" if value is None or math.isnan(value) else "inf"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _with_interval(value: Any, interval: Any) -> str:
    if not interval or None in interval:
        return _fmt(value)
    return f"{_fmt(value)} [{_fmt(interval[0], 2)}, {_fmt(interval[1], 2)}]"


def _pooled_table(metrics: pd.DataFrame, summary: dict[str, Any]) -> list[dict[str, str]]:
    pooled = metrics[(metrics["cutoff"] == POOLED) & (metrics["segment"] == ALL)]
    rows = []
    for target in TARGETS:
        intervals = summary.get("targets", {}).get(target, {}).get("models", {})
        for model in MODELS:
            values = pooled[(pooled["target"] == target) & (pooled["model"] == model)]
            if values.empty:
                continue
            series = values.set_index("metric")["value"]
            row = {"target": target, "model": model, "n": _fmt(int(series.get("n", 0)))}
            row |= {k: _fmt(series.get(k, math.nan)) for k in _TABLE_METRICS}
            for metric in _INTERVAL_METRICS:
                row[metric] = _with_interval(
                    series.get(metric, math.nan), intervals.get(model, {}).get(f"{metric}_ci")
                )
            rows.append(row)
    return rows


def evidence_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per target: the scheme, its note, the evidence sentence, why it is thin and what it does
    not support (evaluation._evidence)."""
    rows = []
    for target, block in summary.get("targets", {}).items():
        evaluation = block.get("evaluation") or {}
        evidence = block.get("evidence") or {}
        rows.append(
            {
                "target": target,
                "scheme": evaluation.get("scheme", summary.get("mode", "")),
                "spacing": evaluation.get("spacing"),
                "note": evaluation.get("note", ""),
                "sentence": evidence.get("sentence", "No model could be evaluated."),
                "unsupported": evidence.get("unsupported", []),
                "beaten_by": evidence.get("beaten_by", []),
            }
        )
    return rows


def _segment_table(metrics: pd.DataFrame) -> list[dict[str, str]]:
    pooled = metrics[(metrics["cutoff"] == POOLED) & (metrics["segment"] != ALL)]
    pooled = pooled[pooled["target"].isin(TARGETS)]
    wide = pooled.pivot_table(
        index=["target", "segment", "model"], columns="metric", values="value", aggfunc="first"
    )
    rows = []
    for (target, segment, model), series in wide.iterrows():
        rows.append(
            {
                "target": target,
                "segment": segment,
                "model": model,
                "n": _fmt(int(series.get("n", 0))),
                "base_rate": _fmt(series.get("base_rate", math.nan)),
                "roc_auc": _fmt(series.get("roc_auc", math.nan)),
                "pr_auc": _fmt(series.get("pr_auc", math.nan)),
                "ece": _fmt(series.get("ece", math.nan)),
                "band_renewal_ratio": _fmt(series.get("band_renewal_ratio", math.nan)),
            }
        )
    order = {m: i for i, m in enumerate(MODELS)}
    return sorted(rows, key=lambda r: (r["target"], r["segment"], order.get(r["model"], 99)))


def _forecast_rows(table: pd.DataFrame) -> list[dict[str, str]]:
    if table.empty:
        return []
    headline = headline_model(name for name in MODELS if name in set(table["model"]))
    rows = table[table["model"] == headline]
    return [
        {
            "cutoff": str(r.cutoff),
            "segment": str(r.segment),
            "n": str(int(r.n_renewals)),
            "expected_grr": f"{r.expected_grr:,.0f}",
            "actual_grr": f"{r.actual_grr:,.0f}",
            "grr_error_pct": _fmt(r.grr_error_pct, 1),
            "expected_nrr": f"{r.expected_nrr:,.0f}",
            "actual_nrr": f"{r.actual_nrr:,.0f}",
            "nrr_error_pct": _fmt(r.nrr_error_pct, 1),
        }
        for r in rows.itertuples(index=False)
    ]


def _pct(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value * 100:.0f}%"


def plain_summary(summary: dict[str, Any]) -> list[str]:
    """A few sentences a CS leader can read without knowing what ROC-AUC is."""
    sentences = []
    churn = summary.get("targets", {}).get("churn", {}).get("models", {})
    # The headline model is the one the selection rule registers ("chosen"), where present.
    headline = churn.get(headline_model(churn) or "")
    churn_plan = summary.get("targets", {}).get("churn", {}).get("evaluation") or {}
    n_windows = len(churn_plan.get("windows", summary.get("cutoffs", [])))
    spacing = churn_plan.get("spacing")
    if summary.get("mode") == "kfold":
        what = "folds"
    else:
        what = {"monthly": "months", "explicit": "periods"}.get(spacing or "", "quarters")
    if headline:
        green = headline.get("renewal_rate_green")
        red = headline.get("renewal_rate_red")
        ratio = headline.get("band_renewal_ratio")
        if green is not None and red is not None:
            if ratio is not None:
                ratio_text = f"{ratio:.1f}x"
            else:
                ratio_text = "every red account churned" if red == 0 else "no ratio"
            sentences.append(
                f"Across {n_windows} backtest {what}, accounts the model scored green renewed at "
                f"{_pct(green)}, red ones at {_pct(red)}: {ratio_text} "
                "(a useful health score reaches about 2.5x)."
            )
        caught = headline.get("arr_caught_20")
        if caught is not None:
            sentences.append(
                f"The riskiest 20% of accounts by the model held {_pct(caught)} of the ARR that "
                "actually churned."
            )
    scorecard = churn.get("scorecard")
    if headline and scorecard and headline.get("roc_auc") and scorecard.get("roc_auc"):
        better = headline["roc_auc"] > scorecard["roc_auc"]
        sentences.append(
            f"The model separates churners from renewers {'better' if better else 'worse'} than "
            f"a points-based rule scorecard (ROC-AUC {headline['roc_auc']:.2f} vs "
            f"{scorecard['roc_auc']:.2f}; 0.5 is a coin toss, 1.0 perfect)."
        )
    ours = (headline or {}).get("band_renewal_ratio_equal_shares")
    theirs = (scorecard or {}).get("band_renewal_ratio_equal_shares")
    if ours is not None and theirs is not None:
        sentences.append(
            f"With bands of the same sizes for both, green accounts renewed {ours:.2f}x as often "
            f"as red ones by the model and {theirs:.2f}x by the scorecard (each model's own "
            "bands differ in size, which can flatter a model with a tiny red band)."
        )
    forecast = summary.get("forecast", {})
    if forecast.get("grr_error_pct") is not None:
        sentences.append(
            f"Forecasting retained ARR (GRR) from these probabilities missed the actual by "
            f"{forecast['grr_error_pct']:.1f}% on average per {what[:-1]}"
            + (
                f" ({forecast['nrr_error_pct']:.1f}% including expansion)."
                if forecast.get("nrr_error_pct") is not None
                else "."
            )
        )
    evidence = summary.get("targets", {}).get("churn", {}).get("evidence") or {}
    if evidence.get("thin"):
        sentences.append(
            "Read these figures with care: " + "; ".join(evidence["thin"]) + " (see below)."
        )
    return sentences


def render_report(result: BacktestResult) -> str:
    """The report as one HTML string."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    summary = result.summary
    cutoffs = list(summary.get("cutoffs", []))
    figures = {
        "roc": _curves(result.predictions, "roc"),
        "pr": _curves(result.predictions, "pr"),
        "calibration": _calibration(result.predictions),
        "lift": _lift(result.predictions),
        "bands": _band_rates_over_time(result.metrics, cutoffs),
        "forecast": _forecast_figure(result.forecast),
    }
    return environment.get_template(_TEMPLATE).render(
        summary=summary,
        sentences=plain_summary(summary),
        models=_models_in(result.predictions),
        pooled=_pooled_table(result.metrics, summary),
        evidence=evidence_rows(summary),
        table_metrics=_TABLE_METRICS,
        segments=_segment_table(result.metrics),
        forecast_rows=_forecast_rows(result.forecast),
        figures=figures,
    )


def write_report(result: BacktestResult, path: str | Path) -> Path:
    """Render and write the report atomically."""
    return write_text(path, render_report(result))
