"""Spark and DuckDB build the same feature frame and find the same blocking defects (issue 15).

One test, so that one local Spark session (one JVM) serves every check even under pytest-xdist:
a tiny simulated book through `retain features` on both engines (files); the fixture accounts
with planted edge rows through `build_features` (DuckDB from parquet files, Spark from catalog
tables saved from them); a CSV export with every blocking defect through `retain validate
--engine spark` against DuckDB's report. Skipped, with how to enable it, when pyspark or java is
missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from features._spark import spark_unavailable_reason
from features.build import build_features
from features.source import DataSource
from features.validate import SPARK_NOTE, check
from retain.cli import app
from retain.config import Config, SparkConfig
from tests.features.fixtures_data import AS_OF, DATA_END, T, base_frames, day, plant
from tests.features.test_validate import BLOCKING_CASES, _write_csv_folder, edited

UNAVAILABLE = spark_unavailable_reason()
pytestmark = pytest.mark.skipif(
    UNAVAILABLE is not None, reason=f"Spark parity tests skipped: {UNAVAILABLE}"
)


# Two cores, two shuffle partitions and no adaptive planning: the data is tiny, and the fixed
# cost per query is what takes the time (results do not depend on these settings). The CLI
# reads them from the data's retain.toml, so it does not reset them on the shared session.
SPARK_TOML = '\n[spark]\nmaster = "local[2]"\nshuffle_partitions = 2\n'


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from features._spark import spark_session

    # Catalog tables (`--data spark:<database>`) go to a temporary warehouse, not the cwd.
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    settings = (
        ("spark.sql.adaptive.enabled", "false"),
        ("spark.sql.warehouse.dir", str(warehouse)),
    )
    config = SparkConfig(master="local[2]", shuffle_partitions=2, settings=settings)
    session = spark_session(config)
    yield session
    session.stop()


def assert_same_frame(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    """Counts and flags exact, NaN in the same places, other floats within 1e-9 (rel and abs)."""
    assert list(duck.columns) == list(spark.columns)
    assert len(duck) == len(spark) > 0
    differences = {}
    for column in duck.columns:
        a, b = duck[column], spark[column]
        assert a.dtype == b.dtype, (column, a.dtype, b.dtype)
        missing_a, missing_b = a.isna().to_numpy(), b.isna().to_numpy()
        wrong = missing_a != missing_b
        both = ~missing_a & ~missing_b
        if a.dtype.kind == "f":
            x, y = a.to_numpy()[both], b.to_numpy()[both]
            if np.all(x == np.round(x)):  # a count or a flag: exact
                wrong[both] |= x != y
            else:
                wrong[both] |= ~np.isclose(x, y, rtol=1e-9, atol=1e-9)
        else:
            wrong[both] |= a.to_numpy()[both] != b.to_numpy()[both]
        if wrong.any():
            differences[column] = int(wrong.sum())
    assert not differences, f"columns that differ (rows): {differences}"


def test_spark_builds_the_duckdb_frame_and_finds_the_same_blocking_defects(tmp_path: Path, spark):
    _check_simulated_book(tmp_path)
    _check_edge_rows(spark, tmp_path)
    _check_validation(tmp_path)


def _check_simulated_book(tmp_path: Path) -> None:
    """`retain features --engine spark` (the session above, reused) on 60 accounts x 14 months:
    validated on DuckDB over the files, built on Spark from them."""
    from simulator._run import simulate

    data = simulate(tmp_path / "data", n_accounts=60, months=14, seed=3)
    with (data / "retain.toml").open("a", encoding="utf-8") as toml:
        toml.write(SPARK_TOML)
    frames = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.parquet"
        arguments = ["features", "--data", str(data), "--spine", "both", "--out", str(out)]
        result = CliRunner().invoke(app, [*arguments, "--engine", engine])
        assert result.exit_code == 0, result.output
        frames[engine] = pd.read_parquet(out)
    assert set(frames["duckdb"]["spine"]) == {"monthly", "renewals"}
    assert_same_frame(frames["duckdb"], frames["spark"])


def _edge_frames() -> dict[str, pd.DataFrame]:
    """The fixture accounts with rows on the edges where engines differ.

    Values meant as NaN are NULL in these pandas frames (pandas cannot tell them apart);
    `NAN_CELLS` says which cells `_write_parquet` stores as a real NaN.
    """
    frames = base_frames()
    # a3: a term ending exactly on as_of (in force, up for renewal that day) and the renewal
    # starting on it (not known at as_of).
    frames["accounts"] = pd.concat(
        [
            frames["accounts"],
            pd.DataFrame(
                {
                    "account_id": ["a3"],
                    "created_at": [T("2023-06-01")],
                    "industry": ["retail"],
                    "region": ["na"],
                    "employees": [40],
                    "csm_id": ["csm2"],
                }
            ),
        ],
        ignore_index=True,
    )
    # Extra account columns become attributes: one numeric, one categorical.
    frames["accounts"] = frames["accounts"].assign(
        plan=["pro", "basic", "pro"], health_score=["7", " 3 ", None]
    )
    # Origin of the usage day blocks is AS_OF - 90 days: days 31 and 32 of it are the last bit
    # of the first block and the first of the next (bits 31/32 of a 64-bit mask piece).
    origin = AS_OF - pd.Timedelta(days=90)
    second = pd.Timedelta(seconds=1)
    usage = [
        ("u3", origin + pd.Timedelta(days=31), "export"),
        ("u4", origin + pd.Timedelta(days=32), "share"),
        # On the as_of boundary: not seen by the AS_OF snapshot.
        ("u5", AS_OF, "export"),
        # Window edges at midnight: as_of - 7 days is in the 7-day window (twice, at the same
        # instant: a tie), as_of - 28 days in the 28-day one, as_of - 90 days in the 90-day
        # one; a second earlier is out of it.
        ("u6", day(-7), "export"),
        ("u6", day(-7), "share"),
        ("u6", day(-28), "export"),
        ("u7", day(-90), "export"),
        ("u8", day(-90) - second, "export"),
    ]
    frames = plant(
        frames,
        "usage",
        [{"account_id": "a1", "timestamp": t, "event": e, "user_id": u} for u, t, e in usage],
    )
    # Padded ids (features.text_keys): the same account, user u6 and feature as their trimmed
    # rows, merged after the usage groupings on both engines; a blank user id is no user.
    frames = plant(
        frames,
        "usage",
        [
            {"account_id": " a1", "timestamp": day(-3), "event": "share ", "user_id": " u6 "},
            {"account_id": "a1 ", "timestamp": day(-2), "event": " export", "user_id": "  "},
        ],
    )
    frames["usage"]["count"] = 1.0
    frames["usage"].loc[0, "count"] = np.nan  # NaN_CELLS: a NaN count is missing (default 1)
    ticket = {"account_id": "a1", "priority": "low", "escalated": False}
    frames = plant(
        frames,
        "tickets",
        [
            # NaN CSAT (missing) next to NULL ones and real ones.
            {**ticket, "ticket_id": "t4", "created_at": day(-30), "resolved_at": day(-29)},
            # Resolved exactly at as_of: not resolved yet for the AS_OF snapshot.
            {**ticket, "ticket_id": "t5", "created_at": day(-3), "resolved_at": AS_OF, "csat": 5.0},
            # Two created at the same instant, exactly as_of - 90 days (in the 90-day window).
            {**ticket, "ticket_id": "t6", "created_at": day(-90), "resolved_at": day(-87)},
            {**ticket, "ticket_id": "t7", "created_at": day(-90), "resolved_at": day(-86)},
            # Created before the window, resolved exactly at its start (resolved within it).
            {
                **ticket,
                "ticket_id": "t8",
                "created_at": day(-91),
                "resolved_at": day(-90),
                "csat": 5.0,
            },
        ],
    )
    # Two touches at the same time (a tie), one exactly 90 days before as_of (in the window),
    # and one at as_of (not seen).
    frames = plant(
        frames,
        "activities",
        [
            {"account_id": "a1", "timestamp": day(-9), "type": "email_in"},
            {"account_id": "a1", "timestamp": day(-90), "type": "meeting"},
            {"account_id": "a1", "timestamp": AS_OF, "type": "meeting"},
        ],
    )
    # Two NPS answers at the same instant (the higher score is the latest, by rule), a NaN one
    # after them (missing: skipped), and a CSAT answer exactly 180 days before as_of.
    frames = plant(
        frames,
        "surveys",
        [
            {"account_id": "a1", "timestamp": day(-15), "kind": "nps", "score": 4.0},
            {"account_id": "a1", "timestamp": day(-15), "kind": "nps", "score": 8.0},
            {"account_id": "a1", "timestamp": day(-2), "kind": "nps", "score": None},
            {"account_id": "a1", "timestamp": day(-180), "kind": "csat", "score": 1.0},
        ],
    )
    contract = {"end_date": pd.Timestamp("2025-06-01"), "arr": 90_000.0, "seats": 50.0}
    return plant(
        frames,
        "contracts",
        [
            # A contract starting on as_of is not known at as_of.
            {**contract, "contract_id": "c4", "account_id": "a2", "start_date": AS_OF},
            {
                "contract_id": "c5",
                "account_id": "a3",
                "start_date": T("2023-06-01"),
                "end_date": AS_OF,
                "arr": 40_000.0,
                "seats": None,  # NAN_CELLS
            },
            {**contract, "contract_id": "c6", "account_id": "a3", "start_date": AS_OF},
        ],
    )


# Cells stored as a real floating NaN in the parquet files (NULL in the frames).
NAN_CELLS = {
    ("usage", "count"): [0],
    ("tickets", "csat"): [3],  # t4
    ("surveys", "score"): [5],  # the NPS answer of day -2
    ("contracts", "seats"): [4],  # c5
}


def _write_parquet(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    """The frames as `<table>.parquet` files, NaN where `NAN_CELLS` says (nanosecond stamps)."""
    folder.mkdir()
    for name, frame in frames.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for (nan_table, column), rows in NAN_CELLS.items():
            if nan_table == name:
                values = table.column(column).to_pylist()
                assert all(values[i] is None for i in rows), (name, column)
                patched = [float("nan") if i in rows else v for i, v in enumerate(values)]
                index = table.schema.get_field_index(column)
                table = table.set_column(index, column, pa.array(patched, type=pa.float64()))
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def _check_edge_rows(spark, tmp_path: Path) -> None:
    from features._spark import SparkSource, _read_parquet

    frames = _edge_frames()
    folder = _write_parquet(frames, tmp_path / "edges")
    assert pq.read_table(folder / "usage.parquet").column("count").is_nan().to_pylist()[0]
    as_of = [AS_OF, day(31), day(32)]
    config = Config()
    duck = build_features(DataSource.open(folder, data_end=DATA_END), config, as_of=as_of)
    # A stored NaN means missing, exactly as a NULL does.
    from_frames = DataSource.from_frames(frames, data_end=DATA_END)
    assert_same_frame(build_features(from_frames, config, as_of=as_of), duck)
    _check_edge_values(duck)
    # On Spark from catalog tables (`--data spark:<database>`), saved from the same files.
    spark.sql("CREATE DATABASE IF NOT EXISTS retain_edges")
    for name in frames:
        _read_parquet(spark, folder / f"{name}.parquet").write.saveAsTable(f"retain_edges.{name}")
    source = SparkSource.open_catalog("retain_edges", spark, data_end=DATA_END)
    assert source.location == "spark:retain_edges" and set(source.tables) == set(frames)
    try:
        on_spark = build_features(source, config, as_of=as_of)
    finally:
        source.close()
    assert_same_frame(duck, on_spark)


def _check_edge_values(duck: pd.DataFrame) -> None:
    """The edges land where the rules say (worked by hand), so the comparison covers them."""
    at = duck[duck["as_of"] == AS_OF].set_index("account_id")
    a1 = at.loc["a1"]
    assert {"attr_plan", "attr_health_score"} <= set(duck.columns)
    assert a1["active_users_7d"] == 3  # u1, u2 and u6 at exactly as_of - 7 days
    assert a1["active_users_90d"] == 6  # u1-u4, u6, u7 (at as_of - 90 days); not u5, u8
    # t1-t4 and t6/t7 (created at as_of - 90 days) and t5; not t8 (a day earlier).
    assert a1["tickets_90d"] == 7
    # Resolved in the window, in hours: t1 48, t2 24, t4 24, t6 72, t7 96, t8 24 (t5 at as_of
    # is not resolved yet): the middle two are 24 and 48.
    assert a1["median_resolution_hours_90d"] == 36.0
    assert a1["ticket_csat_avg_90d"] == pytest.approx(11 / 3)  # t1 2, t2 4, t8 5; t4 NaN
    assert a1["meetings_90d"] == 2  # day -40 and exactly day -90; not the one at as_of
    assert (a1["nps_last"], a1["nps_change"]) == (8.0, 4.0)  # the tie: 8 after 4; NaN skipped
    assert a1["survey_csat_avg_180d"] == 2.0  # day -25: 3, exactly day -180: 1
    assert at.loc["a2", "arr"] == 150_000  # c4 starts on as_of: unknown
    a3 = at.loc["a3"]
    assert (a3["arr"], a3["days_to_renewal"]) == (40_000, 0)  # c5 ends on as_of: in force
    assert np.isnan(a3["seats"])  # NaN seats: missing


def _defective_frames() -> dict[str, pd.DataFrame]:
    """A CSV export with every kind of blocking defect at once (test_validate's cases)."""
    frames = edited(lambda frames: None)
    for case in (
        "unparseable date",
        "non-numeric ARR",
        "duplicate primary key",
        "end before start",
        "unparseable boolean",
        "empty account key",  # a3's key: its contract becomes an orphan (1 of 3 rows)
    ):
        BLOCKING_CASES[case][0](frames)
    frames["tickets"] = frames["tickets"].drop(columns="created_at")
    # Orphans over the share: one matching "a1" once its type is ignored (the hint).
    frames["usage"].loc[[0, 1], "account_id"] = ["a1.0", "ghost"]
    return {name: frames[name] for name in ("accounts", "contracts", "usage", "tickets")}


def _check_validation(tmp_path: Path) -> None:
    """`retain validate --engine spark`: the same blocking defects as DuckDB, word for word."""
    folder = _write_csv_folder(_defective_frames(), tmp_path / "defective")
    (folder / "retain.toml").write_text(SPARK_TOML, encoding="utf-8")
    on_duckdb = check(DataSource.open(folder))
    report = tmp_path / "report.json"
    arguments = ["validate", "--data", str(folder), "--engine", "spark", "--json", str(report)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 1, result.output
    on_spark = json.loads(report.read_text(encoding="utf-8"))
    expected = [d.to_dict() for d in on_duckdb.blocking]
    assert {d["message"].split(" (")[0] for d in expected} >= {
        "required value is empty",
        "value cannot be read as a date or timestamp",
        "value cannot be read as a number",
        "value cannot be read as true/false",
        "duplicate primary key",
        "end_date is before start_date",
        "required column is missing",
    }
    assert any("Hint: 1 of these ids" in d["message"] for d in expected)
    assert [d for d in on_spark["defects"] if d["blocking"]] == expected
    assert on_spark["note"] == SPARK_NOTE
