"""The weekly account review a CS leader opens in a browser: one self-contained HTML file.

Every red and yellow account, whatever its renewal date, red first and by ARR at risk (ARR x
churn probability), with the window its risk refers to ("renewal 2027-03-01"), the owner, the
drivers raising its risk (compared with healthy peers), the contract context beside them, what
the data does not say, signals and a small plot of the survival curve over the
next 24 months (its expected months retained beside it); expansion candidates; and per segment the
accounts, ARR and expected retained ARR (sum of (1 - p) x ARR over calibrated probabilities).

From the score ledger (the `change` and `trend` of each result, serving.movers): what moved
since the previous snapshot (the biggest moves first, each with the features that moved it and
their share in probability points), and per at-risk account a trend of its last 12 scored
points with its top movers.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from retain.config import LabelsConfig
from retain.files import write_text
from serving.scoring import ModelPair
from serving.survival import survival_svg

EXPANSION_CANDIDATES = 25  # a review lists the best few; the CSV has every account
BIGGEST_MOVES = 15  # "what moved": the accounts whose risk moved most since the last snapshot
_BAND_ORDER = {"red": 0, "yellow": 1, "green": 2}


def _money(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"${value:,.0f}"


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _days_to_renewal(row: pd.Series) -> str:
    if pd.isna(row["renewal_date"]) or pd.isna(row["as_of"]):
        return "–"
    return str((pd.Timestamp(row["renewal_date"]) - pd.Timestamp(row["as_of"])).days)


def _risk_window(row: pd.Series) -> str:
    """What the churn probability refers to: "renewal 2027-03-01", or the minimum window
    ("by 2026-12-30") when the renewal comes sooner (monthly terms, a renewal due now)."""
    window_end = row.get("churn_window_end")
    renewal = row.get("renewal_date")
    if window_end is None or pd.isna(window_end):
        return "–" if renewal is None or pd.isna(renewal) else f"renewal {_date(renewal)}"
    if renewal is not None and not pd.isna(renewal) and pd.Timestamp(renewal) >= window_end:
        return f"renewal {_date(renewal)}"
    return f"by {_date(window_end)}"


def _date(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def _json_list(row: pd.Series, column: str) -> list[Any]:
    value = row.get(column)
    return json.loads(value) if isinstance(value, str) else []


def _json_value(row: pd.Series, column: str) -> Any:
    value = row.get(column)
    return json.loads(value) if isinstance(value, str) else None


def trend_svg(points: list[dict[str, Any]] | None, bands: dict[str, Any]) -> str:
    """A small inline SVG of the last scored churn probabilities (numbers only, safe to embed),
    dashed lines at the band thresholds, the latest point marked."""
    if not points:
        return ""
    width, height, pad = 120, 36, 4
    values = [float(p["churn_probability"]) for p in points]
    top = max([*values, float(bands.get("red_from", 0.0))]) * 1.15 or 1.0
    n = max(1, len(values) - 1)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / n if len(values) > 1 else 1.0)

    def y(v: float) -> float:
        return pad + (height - 2 * pad) * (1 - v / top)

    xy = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    lines = "".join(
        f'<line x1="0" y1="{y(float(bands[k])):.1f}" x2="{width}" y2="{y(float(bands[k])):.1f}" '
        f'stroke="{color}" stroke-dasharray="2,2"/>'
        for k, color in (("red_from", "#cf222e"), ("green_below", "#1a7f37"))
        if isinstance(bands.get(k), int | float)
    )
    last_x, last_y = x(len(values) - 1), y(values[-1])
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="churn probability at the last {len(values)} scored snapshots">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f6f8fa"/>{lines}'
        f'<path fill="none" stroke="#57606a" stroke-width="1.5" d="M{xy}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="#1f2328"/></svg>'
    )


def _owner(value: object) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def review_context(
    scored: pd.DataFrame, models: ModelPair, *, min_risk_days: int = LabelsConfig.min_risk_days
) -> dict[str, Any]:
    """Everything the template shows, computed from a `serving.batch.results_frame`."""
    frame = scored.copy()
    frame["arr"] = pd.to_numeric(frame["arr"]).fillna(0.0)
    frame["arr_at_risk"] = frame["arr"] * frame["churn_probability"]
    frame["expected_retained"] = frame["arr"] * (1.0 - frame["churn_probability"])
    frame["band_order"] = frame["health_band"].map(_BAND_ORDER)

    at_risk = frame[frame["health_band"].isin(["red", "yellow"])].sort_values(
        ["band_order", "arr_at_risk", "account_id"], ascending=[True, False, True]
    )
    candidates = frame[frame["health_band"] != "red"].assign(
        expected_expansion=lambda f: f["arr"] * f["expansion_probability"]
    )
    candidates = candidates.sort_values(
        ["expected_expansion", "account_id"], ascending=[False, True]
    ).head(EXPANSION_CANDIDATES)

    def account(row: pd.Series) -> dict[str, Any]:
        reasons = json.loads(row["reasons"])
        change = _json_value(row, "change") or {}
        curve = json.loads(row["survival"]) if isinstance(row.get("survival"), str) else None
        expected = row.get("expected_months_retained")
        return {
            # Built from numbers only (serving.survival.survival_svg): safe to embed as markup.
            "survival_svg": Markup(survival_svg(curve)),
            "expected_months": "–"
            if expected is None or pd.isna(expected)
            else f"{float(expected):.1f}",
            "account_id": row["account_id"],
            "segment": row["segment"],
            "health_band": row["health_band"],
            "churn": _percent(row["churn_probability"]),
            "expansion": _percent(row["expansion_probability"]),
            "arr": _money(row["arr"]),
            "arr_at_risk": _money(row["arr_at_risk"]),
            "days_to_renewal": _days_to_renewal(row),
            "risk_window": _risk_window(row),
            "context": [c["text"] for c in _json_list(row, "context")],
            "data_gaps": _json_list(row, "data_gaps"),
            "csm_id": _owner(row["csm_id"]),
            "reasons": [r["text"] for r in reasons if r["direction"] == "raises"],
            "expansion_reasons": [r["text"] for r in json.loads(row["expansion_reasons"])],
            "signals": [s["text"] for s in json.loads(row["signals"])],
            "trend_svg": Markup(trend_svg(_json_value(row, "trend"), models.bands)),
            "change": _change_view(change),
            "plays": _plays_view(_json_list(row, "recommended_plays")),
        }

    segments = []
    for segment, group in frame.groupby(frame["segment"].fillna("(none)"), sort=True):
        arr = float(group["arr"].sum())
        retained = float(group["expected_retained"].sum())
        segments.append(
            {
                "segment": segment,
                "accounts": len(group),
                "arr": _money(arr),
                "expected_retained_arr": _money(retained),
                "grr": _percent(retained / arr) if arr > 0 else "–",
                "red": int((group["health_band"] == "red").sum()),
                "yellow": int((group["health_band"] == "yellow").sum()),
            }
        )
    moved = [
        (row, change)
        for _, row in frame.iterrows()
        if (change := _json_value(row, "change")) and abs(change.get("points", 0.0)) >= 0.5
    ]
    moved.sort(key=lambda item: (-abs(item[1]["points"]), str(item[0]["account_id"])))
    moves = [
        {
            **account(row),
            "previous_churn": _percent(change["previous_churn_probability"]),
        }
        for row, change in moved[:BIGGEST_MOVES]
    ]
    changes = [c for _, row in frame.iterrows() if (c := _json_value(row, "change"))]
    as_of = pd.Timestamp(frame["as_of"].iloc[0]).date().isoformat() if len(frame) else "–"
    return {
        "as_of": as_of,
        "models": models.info(),
        "bands": models.bands,
        "min_risk_days": min_risk_days,
        "totals": {
            "accounts": len(frame),
            "arr": _money(float(frame["arr"].sum())),
            "expected_retained_arr": _money(float(frame["expected_retained"].sum())),
            "arr_at_risk": _money(float(at_risk["arr_at_risk"].sum())),
            "red": int((frame["health_band"] == "red").sum()),
            "yellow": int((frame["health_band"] == "yellow").sum()),
        },
        "segments": segments,
        "at_risk": [account(row) for _, row in at_risk.iterrows()],
        "expansion": [account(row) for _, row in candidates.iterrows()],
        "moves": moves,
        "owners": _owners_view(frame),
        "previous_as_of": changes[0]["previous_as_of"] if changes else None,
        "compared": len(changes),
        "moved_up": sum(1 for c in changes if c["points"] >= 0.5),
        "moved_down": sum(1 for c in changes if c["points"] <= -0.5),
        "generated_at": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
    }


def _plays_view(plays: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The account's plays for the "what to do" column; a control-arm play is held back."""
    return [
        {
            "play": p["play"].replace("_", " "),
            "owner": p.get("owner") or "–",
            "due": p.get("due_date") or "–",
            "review": p.get("review_date") or "–",
            "reason": p.get("reason") or "",
            "held_back": p.get("arm") == "control",
        }
        for p in plays
    ]


def _owners_view(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per owner: the accounts whose play (rank 1) is theirs to run, red ones, the next due
    date and the ARR at stake; held-back (control) plays are counted apart, not as work."""
    rows = []
    for _, row in frame.iterrows():
        plays = _json_list(row, "recommended_plays")
        if plays:
            first = plays[0]
            rows.append(
                {
                    "owner": first.get("owner") or "unassigned",
                    "held_back": first.get("arm") == "control",
                    "red": row["health_band"] == "red",
                    "due": first.get("due_date") or "",
                    "arr": float(first.get("arr_at_stake") or 0.0),
                    "play": first["play"],
                }
            )
    if not rows:
        return []
    plays = pd.DataFrame(rows)
    owners = []
    for owner, group in plays.groupby("owner", sort=True):
        run = group[~group["held_back"]]
        owners.append(
            {
                "owner": owner,
                "plays": len(run),
                "red": int(run["red"].sum()),
                "held_back": int(group["held_back"].sum()),
                "next_due": min((d for d in run["due"] if d), default="–"),
                "arr_at_stake": _money(float(run["arr"].sum())),
                "top_plays": ", ".join(
                    f"{name.replace('_', ' ')} ({count})"
                    for name, count in run["play"].value_counts().head(3).items()
                ),
            }
        )
    owners.sort(key=lambda o: (-o["red"], -o["plays"], str(o["owner"])))
    return owners


def _change_view(change: dict[str, Any]) -> dict[str, Any] | None:
    if not change:
        return None
    points = float(change["points"])
    return {
        "since": change["previous_as_of"],
        "points": f"{points:+.0f}" if abs(points) >= 0.95 else f"{points:+.1f}",
        "direction": "up" if points >= 0.5 else "down" if points <= -0.5 else "flat",
        "text": change["text"],
        "movers": [m["text"] for m in change.get("movers", []) if abs(m["points"]) >= 0.05],
        # The model part is the sentence's last clause ("model changed (3 to 4) (+2 points)").
        "model": change["text"].split("; ")[-1] if change.get("model_points") is not None else "",
    }


def render_review(context: dict[str, Any]) -> str:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,  # account ids and attribute values are customer data
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template("review.html.j2").render(**context)


def write_review(
    scored: pd.DataFrame,
    models: ModelPair,
    out: str | os.PathLike[str],
    *,
    min_risk_days: int = LabelsConfig.min_risk_days,
) -> dict[str, int]:
    """Render the review to `out` (atomically); return the counts the CLI prints."""
    context = review_context(scored, models, min_risk_days=min_risk_days)
    write_text(out, render_review(context))
    return {"at_risk": len(context["at_risk"]), "expansion": len(context["expansion"])}
