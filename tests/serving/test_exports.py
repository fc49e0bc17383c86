"""`retain export`: golden files per platform on tiny literal data, limits, history, the CLI.

The golden files under golden/exports/ were written by the code and then checked by hand
against the literal data below (every value is worked out in the comments). To regenerate them
after an intended change: RETAIN_UPDATE_GOLDEN=1 pytest tests/serving/test_exports.py, then
read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from retain.cli import app
from retain.config import ExportsConfig
from retain.errors import RetainError
from serving.exports import PLATFORMS, build_records, write_export
from serving.exports._files import write_csv_parts, write_json_parts
from serving.exports._record import custom_fields, read_scores_file, scores_from_store
from serving.exports.vitally import trait_key

GOLDEN = Path(__file__).parent / "golden" / "exports"


def _reasons(*texts: str, lowers: str | None = None) -> str:
    reasons = [{"direction": "raises", "text": t, "feature": "f"} for t in texts]
    if lowers:
        reasons.insert(1, {"direction": "lowers", "text": lowers, "feature": "g"})
    return json.dumps(reasons)


def literal_scores() -> pd.DataFrame:
    """Three accounts scored at 2026-10-01, in the shape of serving.batch.results_frame."""
    return pd.DataFrame(
        {
            "account_id": ["A1", "B2", "C_3"],
            "as_of": pd.to_datetime(["2026-10-01"] * 3),
            "segment": ["SMB", "Enterprise", "Mid-Market"],
            # A1: 0.42371 -> 42.37 (4 decimals of the probability, x 100)
            "churn_probability": [0.42371, 0.05, 0.2],
            "expansion_probability": [0.1, 0.6, 0.25],
            "health_band": ["red", "green", "yellow"],
            # ARR at risk: A1 0.42371 x 12,000 = 5,084.52; B2 has no ARR; C_3 0.2 x 50,000
            "arr": [12_000.0, float("nan"), 50_000.0],
            "renewal_date": pd.to_datetime(["2026-12-01", "2027-03-01", "2027-01-15"]),
            "reasons": [
                # a comma, a quote and a line break: CSV quoting and the line-break cleaning
                _reasons('Usage down 52%, "steep"\nover 14 days', "Champion left", lowers="x"),
                _reasons(),
                _reasons("Escalations open: 2", "NPS fell 4 points", "Seats unused: 30%", "4th"),
            ],
            "recommended_plays": [
                json.dumps([{"play": "Executive sponsor outreach"}, {"play": "Save plan"}]),
                json.dumps([]),
                json.dumps(["Adoption review"]),
            ],
        }
    )


def literal_history() -> pd.DataFrame:
    """Ledger rows: A1 twice before, C_3 once; a rescoring of A1's latest snapshot (the scores
    file wins) and a row after it (not part of this export)."""
    return pd.DataFrame(
        {
            "account_id": ["A1", "A1", "C_3", "A1", "A1"],
            "as_of": pd.to_datetime(
                ["2026-08-01", "2026-09-01", "2026-09-01", "2026-10-01", "2026-11-01"]
            ),
            # previous churn risk: A1 0.3 -> 30.0, change 42.37 - 30.0 = 12.37;
            # C_3 0.25 -> 25.0, change 20.0 - 25.0 = -5.0
            "churn_probability": [0.2, 0.3, 0.25, 0.99, 0.5],
            "expansion_probability": [0.1, 0.1, 0.2, 0.99, 0.1],
            "health_band": ["yellow", "yellow", "yellow", "red", "red"],
        }
    )


@pytest.fixture()
def records():
    return build_records(literal_scores(), literal_history())


def _golden_files(out: Path, platform: str) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(out.glob(f"{platform}-*"))}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_golden_files(platform: str, records, tmp_path: Path) -> None:
    write_export(platform, records, ExportsConfig(), tmp_path)
    written = _golden_files(tmp_path, platform)
    folder = GOLDEN / platform
    if os.environ.get("RETAIN_UPDATE_GOLDEN"):
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in written.items():
            (folder / name).write_text(text, encoding="utf-8")
    expected = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}
    assert written == expected


def test_record_values_worked_by_hand(records) -> None:
    latest = records.latest.set_index("account_id")
    assert list(records.latest["account_id"]) == ["A1", "B2", "C_3"]
    assert latest.loc["A1", "arr_at_risk"] == 5084.52
    assert pd.isna(latest.loc["B2", "arr_at_risk"])
    # one line: a platform field holds no line break
    assert latest.loc["A1", "risk_reasons"] == [
        'Usage down 52%, "steep" over 14 days',
        "Champion left",
    ]
    assert latest.loc["A1", "next_play"] == "Executive sponsor outreach"
    assert latest.loc["C_3", "next_play"] == "Adoption review"
    assert latest.loc["B2", "next_play"] == ""
    # The ledger's rescoring of 2026-10-01 (0.99) loses to the scores; 2026-11-01 is dropped.
    assert latest.loc["A1", "previous_churn_probability"] == 0.3
    assert latest.loc["C_3", "previous_churn_probability"] == 0.25
    assert pd.isna(latest.loc["B2", "previous_churn_probability"])
    points = records.history
    assert list(zip(points["account_id"], points["as_of"].dt.strftime("%m"), strict=True)) == [
        ("A1", "08"),
        ("A1", "09"),
        ("C_3", "09"),
        ("A1", "10"),
        ("B2", "10"),
        ("C_3", "10"),
    ]
    fields = custom_fields(records, ExportsConfig()).set_index(records.latest["account_id"])
    assert fields.loc["A1", "Retain Churn Risk"] == 42.37
    assert fields.loc["A1", "Retain Churn Risk Change"] == 12.37
    assert fields.loc["C_3", "Retain Churn Risk Change"] == -5.0
    assert fields.loc["C_3", "Retain Risk Reason 3"] == "Seats unused: 30%"  # the 4th is cut


def test_without_history_or_plays_the_fields_are_left_out(tmp_path: Path) -> None:
    scores = literal_scores().drop(columns=["recommended_plays"])
    records = build_records(scores)
    assert not records.has_history and not records.has_next_play
    columns = list(custom_fields(records, ExportsConfig()).columns)
    assert "Retain Next Play" not in columns and "Retain Previous Churn Risk" not in columns
    write_export("planhat", records, ExportsConfig(), tmp_path)
    points = json.loads((tmp_path / "planhat-metrics-0001.json").read_text())
    assert [p["externalId"] for p in points] == ["A1", "B2", "C_3"]  # one point each


def test_mapping_comes_from_config(records, tmp_path: Path) -> None:
    config = ExportsConfig(
        score="expansion_probability",
        score_scale=1.0,
        score_field="Expansion",
        reasons=1,
        arr_at_risk_field="",
        gainsight_key_field="Company External Id",
    )
    write_export("gainsight", records, config, tmp_path)
    frame = pd.read_csv(tmp_path / "gainsight-companies-0001.csv")
    assert list(frame.columns[:2]) == ["Company External Id", "Expansion"]
    assert list(frame["Expansion"]) == [0.1, 0.6, 0.25]
    assert "Retain ARR at Risk" not in frame.columns
    assert "Retain Risk Reason 2" not in frame.columns
    with pytest.raises(RetainError, match="score must be one of"):
        write_export("gainsight", records, ExportsConfig(score="arr"), tmp_path)


def test_files_are_cut_to_the_limits_and_stale_parts_removed(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [f"a{i}" for i in range(7)], "v": range(7)})
    parts = write_csv_parts(frame, tmp_path, "p", "rows", max_rows=3)
    assert [p.rows for p in parts] == [3, 3, 1]
    for part in parts:
        assert part.path.read_text().splitlines()[0] == "id,v"  # a header in every file
        assert part.bytes == part.path.stat().st_size
    # "id,v\n" is 5 bytes, each row "aN,N\n" 5: at most 15 bytes is a header and two rows.
    parts = write_csv_parts(frame, tmp_path, "p", "rows", max_bytes=15)
    assert [p.rows for p in parts] == [2, 2, 2, 1]
    assert all(p.bytes <= 15 for p in parts)
    broken = pd.DataFrame({"id": ["a", "b"], "text": ["two\nlines", "one"]})
    parts = write_csv_parts(broken, tmp_path, "q", "rows", max_rows=1)
    assert [p.path.read_text() for p in parts] == ["id,text\na,two lines\n", "id,text\nb,one\n"]
    parts = write_csv_parts(frame, tmp_path, "p", "rows")
    assert [p.path.name for p in parts] == ["p-rows-0001.csv"]
    assert sorted(f.name for f in tmp_path.glob("p-*")) == ["p-rows-0001.csv"]  # 0002-0004 gone
    items = [{"k": i} for i in range(5)]  # each '{"k":N}' is 7 bytes + a comma
    parts = write_json_parts(items, tmp_path, "p", "calls", max_items=2)
    assert [len(json.loads(p.path.read_text())) for p in parts] == [2, 2, 1]
    parts = write_json_parts(items, tmp_path, "p", "calls", max_bytes=2 + 8 * 3)
    assert [p.rows for p in parts] == [3, 2]
    assert all(p.bytes - 1 <= 2 + 8 * 3 for p in parts)  # the trailing newline aside


def test_platform_limits_split_big_exports(tmp_path: Path) -> None:
    n = 5_001  # one more than Planhat's 5,000 items per bulk upsert
    scores = pd.DataFrame(
        {
            "account_id": [f"acc{i:05d}" for i in range(n)],
            "as_of": pd.Timestamp("2026-10-01"),
            "churn_probability": 0.5,
            "expansion_probability": 0.5,
            "health_band": "yellow",
        }
    )
    records = build_records(scores)
    write_export("planhat", records, ExportsConfig(), tmp_path)
    sizes = [len(json.loads(p.read_text())) for p in sorted(tmp_path.glob("planhat-companies-*"))]
    assert sizes == [5_000, 1]
    write_export("vitally", records, ExportsConfig(), tmp_path)
    batches = sorted(tmp_path.glob("vitally-batch-*.json"))
    assert len(batches) == 51 and len(json.loads(batches[-1].read_text())) == 1
    manifest = json.loads((tmp_path / "vitally-manifest.json").read_text())
    assert sum(f["rows"] for f in manifest["files"]["batch"]) == n


def test_vitally_trait_keys_and_idempotent_message_ids(records, tmp_path: Path) -> None:
    assert trait_key("Retain Risk Reason 1") == "retainRiskReason1"
    assert trait_key("Retain ARR at Risk") == "retainARRAtRisk"
    write_export("vitally", records, ExportsConfig(), tmp_path / "a")
    write_export("vitally", records, ExportsConfig(), tmp_path / "b")
    first = json.loads((tmp_path / "a" / "vitally-batch-0001.json").read_text())
    again = json.loads((tmp_path / "b" / "vitally-batch-0001.json").read_text())
    assert [m["messageId"] for m in first] == [m["messageId"] for m in again]
    assert len({m["messageId"] for m in first}) == len(first)
    # Oldest first, so Vitally's trait history ends on the latest score.
    assert [m["timestamp"][:10] for m in first] == sorted(m["timestamp"][:10] for m in first)


def test_bad_input_is_a_clear_error(tmp_path: Path, records) -> None:
    with pytest.raises(RetainError, match="Unknown platform 'hubspot'"):
        write_export("hubspot", records, ExportsConfig(), tmp_path)
    with pytest.raises(RetainError, match="does not exist; run `retain score"):
        read_scores_file(tmp_path / "missing.parquet")
    empty = tmp_path / "empty.parquet"
    literal_scores().head(0).to_parquet(empty)
    with pytest.raises(RetainError, match="holds no scores yet"):
        read_scores_file(empty)
    other = tmp_path / "other.parquet"
    pd.DataFrame({"account_id": ["A"], "score": [1.0]}).to_parquet(other)
    with pytest.raises(RetainError, match="no column as_of, churn_probability"):
        read_scores_file(other)
    with pytest.raises(RetainError, match="does not exist; run `retain score"):
        scores_from_store(tmp_path / "no_store.duckdb")


@pytest.fixture(scope="module")
def scored_file(trained: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real scores file, score store and ledger (the month before, then the latest month),
    written by retain score's own functions."""
    from serving.batch import results_frame, score_snapshot, write_outputs
    from serving.ledger import append_run, ledger_rows
    from serving.scoring import load_model_pair
    from serving.store import write_store

    models = load_model_pair(trained["config"])
    frame = trained["frame"]
    tmp = tmp_path_factory.mktemp("export_scores")
    dates = sorted(frame["as_of"].unique())[-2:]
    for as_of in dates:
        snapshot = frame[frame["as_of"] == as_of].head(25).reset_index(drop=True)
        results = score_snapshot(snapshot, models, trained["config"])
        append_run(tmp / "ledger", ledger_rows(snapshot, results, models))
        if as_of == dates[0]:
            earlier = {r["account_id"]: r for r in results}
    parquet, _ = write_outputs(results_frame(snapshot, results, models), tmp / "scores", 3)
    store = write_store(tmp / "store.duckdb", snapshot, models, results)
    return {
        "parquet": parquet,
        "store": store,
        "ledger": tmp / "ledger",
        "results": results,
        "earlier": earlier,
        "dates": [pd.Timestamp(d).strftime("%Y-%m-%d") for d in dates],
    }


def test_cli_exports_a_real_scores_file(scored_file: dict, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "exports"
    command = ["export", "--to", "gainsight", "--data", str(data), "--out", str(out)]
    no_ledger = ["--ledger", str(tmp_path / "no_ledger")]
    result = CliRunner().invoke(
        app, [*command, *no_ledger, "--scores", str(scored_file["parquet"])]
    )
    assert result.exit_code == 0, result.output
    assert "Exported 25 accounts" in result.output and "no earlier scores" in result.output
    exported = pd.read_csv(out / "gainsight-companies-0001.csv", dtype={"External ID": str})
    expected = {r["account_id"]: r for r in scored_file["results"]}
    assert sorted(exported["External ID"]) == sorted(expected)
    for row in exported.itertuples(index=False):
        result_row = expected[row[0]]
        assert row[1] == pytest.approx(round(result_row["churn_probability"], 4) * 100)
        assert row[2] == result_row["health_band"]
        raising = [r["text"] for r in result_row["reasons"] if r["direction"] == "raises"]
        assert (row[5] if isinstance(row[5], str) else "") == (raising[0] if raising else "")
    # The same accounts from the score store instead of the file.
    result = CliRunner().invoke(
        app,
        [*command, *no_ledger, "--store", str(scored_file["store"]), "--out", str(tmp_path / "s")],
    )
    assert result.exit_code == 0, result.output
    from_store = pd.read_csv(tmp_path / "s" / "gainsight-companies-0001.csv", dtype=str)
    from_file = pd.read_csv(out / "gainsight-companies-0001.csv", dtype=str)
    pd.testing.assert_frame_equal(
        from_store.sort_values("External ID").reset_index(drop=True),
        from_file.sort_values("External ID").reset_index(drop=True),
    )


def test_cli_reads_the_ledger_history(scored_file: dict, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    common = ["--data", str(tmp_path), "--scores", str(scored_file["parquet"])]
    common += ["--ledger", str(scored_file["ledger"]), "--out", str(out)]
    result = CliRunner().invoke(app, ["export", "--to", "planhat", *common])
    assert result.exit_code == 0, result.output
    assert "with history" in result.output
    points = json.loads((out / "planhat-metrics-0001.json").read_text())
    assert len(points) == 50  # 25 accounts at both dates
    assert sorted({p["date"] for p in points}) == scored_file["dates"]
    companies = json.loads((out / "planhat-companies-0001.json").read_text())
    for company in companies:
        before = scored_file["earlier"][company["externalId"]]["churn_probability"]
        custom = company["custom"]
        assert custom["Retain Previous Churn Risk"] == pytest.approx(round(before, 4) * 100)
        change = custom["Retain Churn Risk"] - custom["Retain Previous Churn Risk"]
        assert custom["Retain Churn Risk Change"] == pytest.approx(change, abs=0.006)
    # --since the latest date: the time series holds the latest points only, the trend stays.
    result = CliRunner().invoke(
        app, ["export", "--to", "planhat", *common, "--since", scored_file["dates"][1]]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads((out / "planhat-metrics-0001.json").read_text())) == 25
    result = CliRunner().invoke(app, ["export", "--to", "planhat", *common, "--since", "May"])
    assert "--since must be a date" in str(result.exception)


def test_cli_refuses_an_unknown_platform_and_missing_scores(tmp_path: Path) -> None:
    base = ["export", "--data", str(tmp_path), "--out", str(tmp_path / "x")]
    result = CliRunner().invoke(app, [*base, "--to", "salesforce"])
    assert isinstance(result.exception, RetainError)
    assert "choose one of gainsight, churnzero" in str(result.exception)
    result = CliRunner().invoke(
        app, [*base, "--to", "totango", "--store", str(tmp_path / "none.duckdb")]
    )
    assert isinstance(result.exception, RetainError)
    assert "does not exist" in str(result.exception)


def test_totango_manifest_notes_ids_it_would_refuse(tmp_path: Path) -> None:
    scores = literal_scores()
    scores["account_id"] = ["A1", "B-2", "C 3"]  # Totango's account_id: letters, digits, _
    write_export("totango", build_records(scores), ExportsConfig(), tmp_path)
    manifest = json.loads((tmp_path / "totango-manifest.json").read_text())
    assert manifest["notes"] and manifest["notes"][0].startswith("2 account ids")


def test_since_keeps_later_points_and_the_trend() -> None:
    records = build_records(literal_scores(), literal_history(), since="2026-09-01")
    assert sorted(records.history["as_of"].dt.strftime("%m-%d").unique()) == ["09-01", "10-01"]
    assert records.latest.set_index("account_id").loc["A1", "previous_churn_probability"] == 0.3
    later = build_records(literal_scores(), literal_history(), since="2027-01-01")
    assert len(later.history) == 3  # the latest scores always go


def test_only_the_latest_run_is_exported() -> None:
    from serving.exports._record import latest_run

    scores = literal_scores()
    scores.loc[1, "as_of"] = pd.Timestamp("2026-09-01")  # B2 was not scored in the latest run
    current, left_out = latest_run(scores)
    assert list(current["account_id"]) == ["A1", "C_3"] and left_out == 1


def test_next_play_from_a_plays_file_never_for_the_control_arm(tmp_path: Path) -> None:
    from serving.exports._record import read_plays_file

    scores = literal_scores().drop(columns=["recommended_plays"])
    plays = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "C_3"],
            "as_of": pd.Timestamp("2026-10-01"),
            "play": ["Save plan", "Executive sponsor outreach", "Adoption review"],
            "rank": [2, 1, 1],
            "arm": ["treated", "treated", "control"],
        }
    )
    path = tmp_path / "plays.parquet"
    plays.to_parquet(path)
    records = build_records(scores, plays=read_plays_file(path))
    # A1: rank 1; B2: no play; C_3: held back as control, so the platform gets no play
    assert list(records.latest["next_play"]) == ["Executive sponsor outreach", "", ""]
    with pytest.raises(RetainError, match="plays are of 2026-09-01, the scores of 2026-10-01"):
        build_records(scores, plays=plays.assign(as_of=pd.Timestamp("2026-09-01")))
    # The same rule on plays a result carries (the API's recommended_plays).
    scores["recommended_plays"] = [
        json.dumps([{"play": "Save plan", "arm": "control"}]),
        "[]",
        json.dumps([{"play": "Adoption review", "arm": "treated"}]),
    ]
    assert list(build_records(scores).latest["next_play"]) == ["", "", "Adoption review"]
