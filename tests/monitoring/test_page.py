"""drift.html renders drift.json's verdict: the same drifted set, status and sections."""

from html.parser import HTMLParser

from monitoring.drift import run_drift
from monitoring.prediction import load_models
from retain.config import Config

_ROW_KEYS = {"data-feature", "data-score", "data-outcome"}


class _Rows(HTMLParser):
    """Rows of the page's tables, by the table's data-table attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.table: str | None = None
        self.rows: dict[str, list[dict[str, str]]] = {}
        self.verdict: dict[str, str] = {}
        self.headings: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.table = attrs.get("data-table")
        elif tag == "tr" and self.table and _ROW_KEYS & set(attrs):
            self.rows.setdefault(self.table, []).append(attrs)
        elif tag == "p" and attrs.get("id") == "verdict":
            self.verdict = attrs
        elif tag == "h2":
            self._in_heading = True
            self.headings.append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self.table = None
        elif tag == "h2":
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.headings[-1] += data


def _page(path) -> _Rows:
    parser = _Rows()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_the_page_drifted_set_is_drift_json_s(tmp_path, reference, current):
    current = current.assign(
        active_users_28d=current["active_users_28d"] * 0.5,
        tenure_days=reference["arr"].to_numpy() * 0 + 900.0,
    )
    reference = reference.assign(tenure_days=400.0)
    result = run_drift(reference, current, tmp_path, Config(), log_to_mlflow=False)
    page = _page(tmp_path / "drift.html")

    every = {row["data-feature"]: row["data-drifted"] == "true" for row in page.rows["all"]}
    assert set(every) == set(result.payload["features"])
    assert sorted(name for name, drifted in every.items() if drifted) == sorted(
        result.payload["drifted_features"]
    )
    assert result.payload["drifted_features"] == ["active_users_28d"]
    assert page.verdict["data-status"] == result.payload["status"] == "drift"
    top = [row["data-feature"] for row in page.rows["top"]]
    assert top == [row["feature"] for row in result.payload["top_features"]]
    assert top[0] == "active_users_28d"
    # tenure_days moved (PSI far above 0.2) but is set aside, shown in its own section.
    assert "tenure_days" in result.payload["ignored_features"]
    assert result.payload["features"]["tenure_days"]["psi_drifted"]
    headings = page.headings
    assert "Set aside: structural features" in headings
    assert headings[-1] == "Evidently's view (not the verdict)"
    html = (tmp_path / "drift.html").read_text(encoding="utf-8")
    assert "drift.ignore_features = tenure_days, renewals_count" in html
    assert "Dataset Drift" not in html


def test_the_page_shows_score_and_outcome_verdicts(tmp_path, saved_models, reference, current):
    models = load_models(Config(), alias=None, model_path=str(saved_models))
    result = run_drift(reference, current, tmp_path, Config(), models=models, log_to_mlflow=False)
    page = _page(tmp_path / "drift.html")
    scores = {row["data-score"]: row["data-drifted"] == "true" for row in page.rows["scores"]}
    assert scores == {t: result.payload["prediction"][t]["drifted"] for t in ("churn", "expansion")}
    outcomes = {row["data-outcome"] for row in page.rows["outcomes"]}
    assert outcomes == {t for t, e in result.payload["outcome"].items() if "skipped" not in e}
    assert outcomes


def test_without_the_report_no_page_is_left(tmp_path, reference):
    run_drift(reference, reference.copy(), tmp_path, Config(), log_to_mlflow=False)
    assert (tmp_path / "drift.html").is_file()
    run_drift(reference, reference.copy(), tmp_path, Config(), log_to_mlflow=False, report=False)
    assert not (tmp_path / "drift.html").exists()
