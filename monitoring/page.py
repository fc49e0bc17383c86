"""drift.html: the job's verdict (drift.json's payload, rendered) and Evidently's charts beside it.

Everything above Evidently's section is read from the payload written to drift.json, so the page
and the file cannot disagree: the same features, thresholds, drifted set and exit code. Rows of
the feature table carry `data-feature` and `data-drifted`, which the tests read back.
"""

from __future__ import annotations

from html import escape
from typing import Any

from monitoring.drift import share_text
from monitoring.evidently_report import EvidentlyView

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 1200px; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.verdict { padding: .8rem 1rem; border-radius: 6px; font-size: 1.05rem; }
.ok { background: #e8f5e9; border: 1px solid #66bb6a; }
.drift { background: #ffebee; border: 1px solid #ef5350; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.drifted td { background: #fff3e0; } tr.fails td { background: #ffe0e0; }
.note { color: #555; font-size: .9rem; }
.evidently { border-top: 3px solid #999; margin-top: 2.5rem; padding-top: .5rem; }
"""


def render_page(payload: dict[str, Any], view: EvidentlyView | None) -> str:
    """The whole drift.html document."""
    status = payload["status"]
    thresholds = payload["thresholds"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>retain drift</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Drift check: "
        f"{_window(payload['reference'])} (reference) vs {_window(payload['current'])} "
        "(current)</h1>",
        f"<p class='verdict {'drift' if status == 'drift' else 'ok'}' id='verdict' "
        f"data-status='{escape(status)}'><b>{escape(_headline(payload))}</b><br>"
        f"{escape(payload['message'])}</p>",
        _rules(payload, thresholds),
        "<h2>Top features by PSI</h2>",
        _feature_table(payload, payload["top_features"], top=True),
        _importance_line(payload["importance"]),
        "<h2>Scores</h2>",
        _prediction(payload["prediction"]),
        "<h2>Outcomes</h2>",
        _outcome(payload["outcome"]),
        "<h2>Set aside: structural features</h2>",
        _ignored(payload),
        f"<h2>All {len(payload['features'])} features</h2>",
        _all_features(payload),
        _evidently_section(payload, view),
        "</body></html>",
    ]
    return "\n".join(parts)


def _window(window: dict[str, Any]) -> str:
    start, end = window.get("as_of_min"), window.get("as_of_max")
    when = "" if start is None else (start if start == end else f"{start} to {end}")
    return escape(f"{when} ({window['rows']:,} rows)".strip())


def _headline(payload: dict[str, Any]) -> str:
    if payload["status"] == "drift":
        return f"DRIFT (exit 1): {', '.join(payload['failing'])} moved beyond the thresholds"
    return "NO DRIFT TO ACT ON (exit 0)"


def _rules(payload: dict[str, Any], thresholds: dict[str, Any]) -> str:
    fail_on = ", ".join(thresholds["fail_on"])
    return (
        "<p class='note'>The verdict of this job (it decides the exit code and is what drift.json "
        f"holds): a feature drifts when its PSI on the full windows ({thresholds['psi_bins']} "
        f"quantile bins of the reference plus a bin for missing values) exceeds "
        f"{thresholds['psi']} or its missing share moves by more than "
        f"{thresholds['null_share_delta']:.0%}; a score drifts at the same PSI; outcomes drift "
        f"when ROC-AUC falls or ECE rises by more than {thresholds['outcome_metric_delta']}. "
        f"Exit 1 on drift in: {escape(fail_on)} (drift.fail_on). "
        f"{len(payload['drifted_features'])} of "
        f"{len(payload['features']) - len(payload['ignored_features'])} counted features "
        f"drifted ({payload['drift_share']:.0%}).</p>"
    )


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _targets(payload: dict[str, Any]) -> list[str]:
    return list((payload["importance"].get("models") or {}).keys())


def _feature_table(payload: dict[str, Any], rows: list[dict[str, Any]], top: bool) -> str:
    targets = _targets(payload)
    head = "".join(f"<th>importance {escape(t)}</th>" for t in targets)
    lines = [
        "<table class='features' data-table='top' >" if top else "<table>",
        "<tr><th>feature</th><th>PSI</th><th>missing before</th><th>missing after</th>"
        f"{head}<th>used by a model</th><th>verdict</th></tr>",
    ]
    for row in rows:
        lines.append(_feature_row(row["feature"], payload["features"][row["feature"]], targets))
    lines.append("</table>")
    return "\n".join(lines)


def _feature_row(name: str, entry: dict[str, Any], targets: list[str]) -> str:
    shares = entry.get("importance") or {}
    used = entry.get("used_by_model")
    if entry.get("ignored"):
        verdict = "set aside (structural)"
    elif entry["fails"]:
        verdict = "DRIFT (fails the check)"
    elif entry["drifted"]:
        verdict = "drift (no model uses it)"
    else:
        verdict = "ok"
    css = "fails" if entry["fails"] else ("drifted" if entry["drifted"] else "")
    cells = "".join(f"<td>{share_text(shares.get(t))}</td>" for t in targets)
    return (
        f"<tr class='{css}' data-feature='{escape(name)}' "
        f"data-drifted='{str(bool(entry['drifted'])).lower()}'>"
        f"<td>{escape(name)}</td><td>{_num(entry['statistic'])}</td>"
        f"<td>{_pct(entry['null_share_reference'])}</td>"
        f"<td>{_pct(entry['null_share_current'])}</td>{cells}"
        f"<td>{'-' if used is None else ('yes' if used else 'no')}</td>"
        f"<td>{verdict}</td></tr>"
    )


def _importance_line(note: dict[str, Any]) -> str:
    if not note.get("available"):
        return f"<p class='note'>{escape(note.get('note', ''))}</p>"
    return f"<p class='note'>Importance: {escape(note['basis'])}.</p>"


def _prediction(section: dict[str, Any]) -> str:
    if "skipped" in section:
        return f"<p class='note'>Not checked: {escape(section['skipped'])}.</p>"
    lines = [
        "<table data-table='scores'><tr><th>score</th><th>model</th><th>PSI</th>"
        "<th>mean before</th><th>mean after</th><th>p10 / p50 / p90 before</th>"
        "<th>p10 / p50 / p90 after</th><th>verdict</th></tr>"
    ]
    for target, entry in section.items():
        if target == "bands" or not isinstance(entry, dict) or "psi" not in entry:
            continue
        lines.append(
            f"<tr data-score='{escape(target)}' data-drifted='{str(entry['drifted']).lower()}'>"
            f"<td>{escape(target)}</td><td>{escape(str(entry['model']))} "
            f"v{escape(str(entry['version']))}</td><td>{_num(entry['psi'])}</td>"
            f"<td>{_num(entry['mean_reference'])}</td><td>{_num(entry['mean_current'])}</td>"
            f"<td>{_quantiles(entry['quantiles_reference'])}</td>"
            f"<td>{_quantiles(entry['quantiles_current'])}</td>"
            f"<td>{'DRIFT' if entry['drifted'] else 'ok'}</td></tr>"
        )
    lines.append("</table>")
    bands = section.get("bands")
    if isinstance(bands, dict):
        lines.append(
            "<table data-table='bands'><tr><th>health band</th><th>share before</th>"
            "<th>share after</th></tr>"
        )
        for band, share in bands["share_reference"].items():
            lines.append(
                f"<tr><td>{escape(band)}</td><td>{_pct(share)}</td>"
                f"<td>{_pct(bands['share_current'].get(band))}</td></tr>"
            )
        lines.append(
            f"</table><p class='note'>Band mix PSI {_num(bands['psi'])}: "
            f"{'DRIFT' if bands['drifted'] else 'ok'}.</p>"
        )
    return "\n".join(lines)


def _quantiles(values: dict[str, float] | None) -> str:
    if not values:
        return "-"
    return " / ".join(_num(v) for v in values.values())


def _outcome(section: dict[str, Any]) -> str:
    if "skipped" in section:
        return f"<p class='note'>Not checked: {escape(section['skipped'])}.</p>"
    lines = [
        "<table data-table='outcomes'><tr><th>target</th><th>ROC-AUC before</th>"
        "<th>ROC-AUC after</th><th>ECE before</th><th>ECE after</th><th>known rows after</th>"
        "<th>verdict</th></tr>"
    ]
    notes = []
    for target, entry in section.items():
        if "skipped" in entry:
            notes.append(f"{target}: not checked, {entry['skipped']}")
            continue
        before, after = entry["reference"], entry["current"]
        lines.append(
            f"<tr data-outcome='{escape(target)}' data-drifted='{str(entry['drifted']).lower()}'>"
            f"<td>{escape(target)}</td><td>{_num(before.get('roc_auc'))}</td>"
            f"<td>{_num(after.get('roc_auc'))}</td><td>{_num(before.get('ece'))}</td>"
            f"<td>{_num(after.get('ece'))}</td><td>{after.get('rows', '-')}</td>"
            f"<td>{'DRIFT' if entry['drifted'] else 'ok'}</td></tr>"
        )
        if entry.get("basis", "reference window") != "reference window":
            notes.append(f"{target}: compared with {entry['basis']}")
        rates = entry.get("renewal_rate_by_band")
        if rates:
            notes.append(
                f"{target} renewal rate by band before / after: "
                + ", ".join(
                    f"{band} {_pct(rate)} / {_pct(rates['current'].get(band))}"
                    for band, rate in rates["reference"].items()
                )
            )
    lines.append("</table>")
    lines += [f"<p class='note'>{escape(note)}.</p>" for note in notes]
    return "\n".join(lines)


def _ignored(payload: dict[str, Any]) -> str:
    patterns = ", ".join(payload["thresholds"]["ignore_features"]) or "(none)"
    text = (
        "<p class='note'>Features that move with the calendar by design (a book ages: tenure "
        "and the renewal count grow between any two dates) are measured but never decide the "
        f"verdict. drift.ignore_features = {escape(patterns)} (default tenure_days, "
        "renewals_count; set it in retain.toml's [drift] section, [] to count them).</p>"
    )
    names = payload["ignored_features"]
    if not names:
        return text + "<p class='note'>None of them is in these windows.</p>"
    worst = sorted(names, key=lambda n: -payload["features"][n]["statistic"])
    rows = [{"feature": name} for name in worst]
    return text + _feature_table(payload, rows, top=False)


def _all_features(payload: dict[str, Any]) -> str:
    features = payload["features"]
    targets = _targets(payload)
    order = sorted(features, key=lambda name: -features[name]["statistic"])
    head = "".join(f"<th>importance {escape(t)}</th>" for t in targets)
    lines = [
        "<details><summary>Every feature compared, by PSI</summary>",
        "<table data-table='all'><tr><th>feature</th><th>PSI</th><th>missing before</th>"
        f"<th>missing after</th>{head}<th>used by a model</th><th>verdict</th></tr>",
        *(_feature_row(name, features[name], targets) for name in order),
        "</table></details>",
    ]
    return "\n".join(lines)


def _evidently_section(payload: dict[str, Any], view: EvidentlyView | None) -> str:
    report = payload.get("report", {})
    head = "<div class='evidently'><h2>Evidently's view (not the verdict)</h2>"
    if view is None or not view.html:
        reason = report.get("error") or "no column to chart"
        return head + f"<p class='note'>No Evidently charts: {escape(reason)}.</p></div>"
    reference_rows, current_rows = view.sample_rows
    note = (
        "<p class='note'>Evidently's per-feature charts and statistics, on a sample of "
        f"{reference_rows:,} reference and {current_rows:,} current rows, with its own binning "
        f"({escape(str(report.get('numerical_stattest')))} at "
        f"{report.get('numerical_stattest_threshold')} for numbers, "
        f"{escape(str(report.get('categorical_stattest')))} at "
        f"{report.get('categorical_stattest_threshold')} for categories; missing values "
        'dropped). Its "drift detected" per column can differ from the verdict above, which '
        "bins the full windows the job's way and decides the exit code. Ordered as the job "
        "ranks the features.</p>"
    )
    return head + note + view.html + "</div>"
