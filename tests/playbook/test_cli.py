"""`retain plays assign` on a real score store: a real model pair scores a small book through
the serving path (`score_snapshot`, `write_store`, `write_outputs`), then the CLI reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from playbook.control import control_draw
from playbook.recommend import PLAY_COLUMNS
from retain.cli import app
from retain.config import Config
from retain.errors import RetainError
from tests.serving.conftest import synthetic_frame, tiny_config, train_pair

NO_CSM = ("acc_0003", "acc_0011", "acc_0020", "acc_0042")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store holding two monthly snapshots, the latest also as a scores file."""
    from serving.batch import results_frame, score_snapshot, write_outputs
    from serving.scoring import load_model_pair
    from serving.store import write_store

    tmp = tmp_path_factory.mktemp("plays_book")
    frame = synthetic_frame(n_accounts=120, months=6, seed=3)
    config = tiny_config(tmp)
    folder = train_pair(frame, config, tmp / "models")
    config = config.with_overrides({"serving": {"model_path": str(folder)}})
    models = load_model_pair(config)
    store = tmp / "scores.duckdb"
    dates = sorted(frame["as_of"].unique())
    for as_of in dates[-2:]:
        snapshot = frame[frame["as_of"] == as_of].reset_index(drop=True)
        snapshot.loc[snapshot["account_id"].isin(NO_CSM), "csm_id"] = None
        results = score_snapshot(snapshot, models, config)
        write_store(store, snapshot, models, results)
    scored = results_frame(snapshot, results, models)
    book_results, book_snapshot = results, snapshot
    parquet, _ = write_outputs(scored, tmp / "scores.parquet", 3)
    data = tmp / "data"
    data.mkdir()
    return {
        "tmp": tmp,
        "data": data,
        "store": store,
        "scores": parquet,
        "folder": folder,
        "scored": scored,
        "ready_from": models.expansion.bands_["red_from"],
        "dates": [pd.Timestamp(d) for d in dates[-2:]],
        "results": book_results,
        "snapshot": book_snapshot,
    }


def _assign(book: dict, out: Path, *extra: str):
    return CliRunner().invoke(
        app,
        [
            "plays",
            "assign",
            "--data",
            str(book["data"]),
            "--out",
            str(out),
            "--model-path",
            str(book["folder"]),
            *extra,
        ],
    )


def test_assign_writes_a_play_owner_and_review_date_for_every_red_account(book, tmp_path):
    result = _assign(book, tmp_path / "plays", "--store", str(book["store"]))
    assert result.exit_code == 0, result.output
    plays = pd.read_parquet(tmp_path / "plays" / "plays.parquet")
    summary = json.loads((tmp_path / "plays" / "plays_summary.json").read_text())
    scored = book["scored"]
    assert list(plays.columns) == [*PLAY_COLUMNS, "other_plays"]
    assert plays["account_id"].is_unique and (plays["rank"] == 1).all()
    assert set(plays["as_of"]) == {book["dates"][-1]}  # the store's latest snapshot
    red = set(scored.loc[scored["health_band"] == "red", "account_id"])
    assert red and red <= set(plays["account_id"])  # risk_review reaches every red account
    # The owner is the csm_id of the snapshot, else "unassigned"; the summary counts them.
    csm = scored.set_index("account_id")["csm_id"]
    expected = plays["account_id"].map(csm).fillna("unassigned")
    assert plays["owner"].tolist() == expected.tolist()
    unassigned = set(plays.loc[plays["owner"] == "unassigned", "account_id"])
    assert unassigned == set(NO_CSM) & set(plays["account_id"])
    assert summary["unassigned_accounts"] == len(unassigned)
    covered = len(red - unassigned)
    assert summary["red_accounts"] == len(red)
    assert summary["red_with_play_owner_review"] == covered
    assert f"{covered} of {len(red)}" in result.output
    owners = pd.read_csv(tmp_path / "plays" / "plays_by_owner.csv", keep_default_na=False)
    assert owners["accounts"].sum() == len(plays) and owners["red"].sum() == len(red)
    assert set(owners["owner"]) == set(plays["owner"])
    # Dates from the playbook, counted from as_of; arms from the draw; the model's threshold.
    plays_config = {p.name: p for p in Config().playbook.plays}
    for row in plays.itertuples():
        play = plays_config[row.play]
        assert row.due_date == row.as_of + pd.Timedelta(days=play.due_days)
        assert row.review_date == row.as_of + pd.Timedelta(days=play.review_days)
        draw = control_draw(row.account_id, row.play, row.as_of)
        assert row.arm == ("control" if draw < play.control_share else "treated")
    assert summary["expansion_ready_from"] == pytest.approx(book["ready_from"])
    ready = plays[plays["play"] == "expansion_opportunity"]
    assert (ready["expansion_probability"] >= book["ready_from"]).all()


def test_the_csv_is_the_same_rows_with_plain_dates_and_a_rerun_writes_the_same(book, tmp_path):
    assert _assign(book, tmp_path / "a", "--store", str(book["store"])).exit_code == 0
    assert _assign(book, tmp_path / "b", "--store", str(book["store"])).exit_code == 0
    for name in ("plays.parquet", "plays.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    csv = pd.read_csv(tmp_path / "a" / "plays.csv", dtype=str)
    parquet = pd.read_parquet(tmp_path / "a" / "plays.parquet")
    assert csv["account_id"].tolist() == parquet["account_id"].tolist()
    assert csv["review_date"].tolist() == parquet["review_date"].dt.strftime("%Y-%m-%d").tolist()


def test_the_scores_file_gives_the_same_plays_as_the_store(book, tmp_path):
    assert _assign(book, tmp_path / "store", "--store", str(book["store"])).exit_code == 0
    result = _assign(book, tmp_path / "file", "--scores", str(book["scores"]))
    assert result.exit_code == 0, result.output
    from_store = pd.read_parquet(tmp_path / "store" / "plays.parquet")
    from_file = pd.read_parquet(tmp_path / "file" / "plays.parquet")
    pd.testing.assert_frame_equal(from_store, from_file, check_dtype=False)


def test_an_earlier_snapshot_and_a_threshold_given_on_the_command_line(book, tmp_path):
    earlier = str(book["dates"][0].date())
    result = _assign(
        book,
        tmp_path / "p",
        "--store",
        str(book["store"]),
        "--as-of",
        earlier,
        "--expansion-ready-from",
        "0.999",
    )
    assert result.exit_code == 0, result.output
    plays = pd.read_parquet(tmp_path / "p" / "plays.parquet")
    assert set(plays["as_of"]) == {book["dates"][0]}
    assert "expansion_opportunity" not in set(plays["play"])
    summary = json.loads((tmp_path / "p" / "plays_summary.json").read_text())
    assert summary["expansion_ready_basis"] == "[playbook] expansion_ready_from"


def test_a_playbook_in_the_data_toml_replaces_the_defaults(book, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "retain.toml").write_text(
        '[[playbook.plays]]\nname = "call_red"\nbands = ["red"]\ndue_days = 2\n', encoding="utf-8"
    )
    arguments = ["--data", str(data), "--out", str(tmp_path / "p"), "--store", str(book["store"])]
    result = CliRunner().invoke(app, ["plays", "assign", *arguments])
    assert result.exit_code == 0, result.output  # no expansion play: no model needed
    plays = pd.read_parquet(tmp_path / "p" / "plays.parquet")
    assert set(plays["play"]) == {"call_red"} and set(plays["health_band"]) == {"red"}


def test_errors_the_user_can_fix(book, tmp_path):
    missing = _assign(book, tmp_path / "p", "--store", str(tmp_path / "none.duckdb"))
    assert isinstance(missing.exception, RetainError)
    assert "Score store" in str(missing.exception) and "retain score" in str(missing.exception)
    data = tmp_path / "typo"
    data.mkdir()
    (data / "retain.toml").write_text(
        '[[playbook.plays]]\nname = "x"\nsignals = ["champion_gone"]\n', encoding="utf-8"
    )
    typo = CliRunner().invoke(
        app, ["plays", "assign", "--data", str(data), "--out", str(tmp_path / "q")]
    )
    assert isinstance(typo.exception, RetainError)
    assert "unknown signal(s) champion_gone" in str(typo.exception)
    late = _assign(book, tmp_path / "r", "--store", str(book["store"]), "--as-of", "2001-01-01")
    assert isinstance(late.exception, RetainError) and "2001-01-01" in str(late.exception)


def test_help_says_what_it_writes():
    result = CliRunner().invoke(app, ["plays", "assign", "--help"])
    assert result.exit_code == 0
    for words in ("unassigned", "plays.csv", "control", "review date"):
        assert words in result.output


def test_scoring_results_and_their_snapshot_give_the_plays_of_the_scores_file(book):
    """How the review page and /score_accounts call it: the result dicts of `score_frame` and
    the snapshot frame they scored (owner and ARR come from the snapshot)."""
    from playbook import expansion_ready_from, recommend, recommended_plays

    config = Config()
    ready_from, _ = expansion_ready_from(config, {"red_from": book["ready_from"]})
    from_results = recommend(
        pd.DataFrame(book["results"]), book["snapshot"], config, expansion_ready_from=ready_from
    )
    from_file = recommend(
        pd.read_parquet(book["scores"]), None, config, expansion_ready_from=ready_from
    )
    pd.testing.assert_frame_equal(from_results, from_file, check_dtype=False)
    lists = recommended_plays(from_results)
    assert set(lists) == set(from_results["account_id"])


def test_a_playbook_no_account_reaches_writes_empty_files(book, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "retain.toml").write_text(
        '[[playbook.plays]]\nname = "soon"\nrenewal_within_days = 0\nbands = ["red"]\n',
        encoding="utf-8",
    )
    arguments = ["--data", str(data), "--out", str(tmp_path / "p"), "--store", str(book["store"])]
    result = CliRunner().invoke(app, ["plays", "assign", *arguments])
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(tmp_path / "p" / "plays.parquet").empty
    summary = json.loads((tmp_path / "p" / "plays_summary.json").read_text())
    assert summary["accounts_with_play"] == 0 and summary["red_with_play_owner_review"] == 0
