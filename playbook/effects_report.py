"""The plays report: one self-contained HTML file (figures inlined as base64 PNG, no CDN).

One forest plot per outcome: each play's estimated effect with its 95% interval, overall and
per segment, randomized estimates and observational ones told apart, "not identified" plays
listed instead of drawn; then the table of every estimate with the sample size it would take.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

OUTCOME_TITLES = {
    "churn": "Effect on renewal risk (churn rate, treated - without the play)",
    "expansion": "Effect on expansion (expansion rate, treated - without the play)",
}
_COLORS = {"randomized": "#1f77b4", "observational": "#d62728"}


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def effect_plot(estimates: list[dict], outcome: str) -> str | None:
    """Forest plot (base64 PNG) of the estimates of one outcome; None when there are none."""
    from matplotlib.figure import Figure

    rows = [e for e in estimates if e["outcome"] == outcome and e.get("effect") is not None]
    if not rows:
        return None
    figure = Figure(figsize=(8.0, 0.42 * len(rows) + 1.4))
    axis = figure.add_subplot(1, 1, 1)
    labels = []
    for i, e in enumerate(reversed(rows)):
        color = _COLORS.get(e["design"], "#555")
        marker = "o" if e["segment"] == "all" else "s"
        axis.errorbar(
            e["effect"] * 100,
            i,
            xerr=[[(e["effect"] - e["ci_low"]) * 100], [(e["ci_high"] - e["effect"]) * 100]],
            fmt=marker,
            color=color,
            capsize=3,
            markersize=6 if e["segment"] == "all" else 4,
        )
        labels.append(f"{e['play']} ({e['segment']})")
    axis.axvline(0.0, color="#999", linewidth=1)
    axis.set_yticks(range(len(labels)))
    axis.set_yticklabels(labels, fontsize=8)
    axis.set_xlabel("effect, percentage points (95% interval)")
    axis.set_title(OUTCOME_TITLES.get(outcome, outcome), fontsize=10)
    handles = [axis.plot([], [], "o", color=c, label=d)[0] for d, c in _COLORS.items()]
    axis.legend(handles=handles, fontsize=8, loc="best")
    return _png(figure)


def render_effects_report(result: dict, data: str = "") -> str:
    """The report as one HTML string."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    estimates = result["estimates"]
    plots = {outcome: effect_plot(estimates, outcome) for outcome in OUTCOME_TITLES}
    return environment.get_template("effects_report.html.j2").render(
        result=result,
        data=data,
        plots=plots,
        titles=OUTCOME_TITLES,
        estimates=estimates,
        headline=[e for e in estimates if e["segment"] == "all"],
    )
