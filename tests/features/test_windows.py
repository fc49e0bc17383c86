import ibis
import pandas as pd

from features.source import DataSource
from features.windows import attach, change_pct, in_window, latest_before, materialize, ratio

T = pd.Timestamp


def _source() -> DataSource:
    accounts = pd.DataFrame({"account_id": ["a", "b"], "created_at": T("2024-01-01")})
    contracts = pd.DataFrame(
        {
            "contract_id": ["c1", "c2"],
            "account_id": ["a", "b"],
            "start_date": T("2024-01-01"),
            "end_date": T("2025-01-01"),
            "arr": 1.0,
        }
    )
    activities = pd.DataFrame(
        {
            "account_id": ["a"] * 4,
            # before the window, its first instant, the last instant before as_of, as_of itself
            "timestamp": [
                T("2024-02-29 23:59"),
                T("2024-03-02"),
                T("2024-03-31 23:59"),
                T("2024-04-01"),
            ],
            "type": ["call"] * 4,
        }
    )
    return DataSource.from_frames(
        {"accounts": accounts, "contracts": contracts, "activities": activities}
    )


def _spine(source: DataSource) -> ibis.Table:
    frame = pd.DataFrame(
        {"snapshot_id": [0, 1], "account_id": ["a", "b"], "as_of": [T("2024-04-01")] * 2}
    )
    return materialize(source, ibis.memtable(frame), "test_spine")


def test_window_is_closed_at_its_start_and_open_at_as_of():
    source = _source()
    spine = _spine(source)
    joined = in_window(spine, source.table("activities"), "timestamp", 30).to_pandas()
    assert sorted(joined["timestamp"]) == [T("2024-03-02"), T("2024-03-31 23:59")]
    everything_before = in_window(spine, source.table("activities"), "timestamp").to_pandas()
    assert len(everything_before) == 3


def test_latest_before_finds_the_last_event_strictly_before_as_of():
    source = _source()
    spine = _spine(source)
    latest = latest_before(spine, source.table("activities"), "timestamp").to_pandas()
    latest = latest.set_index("account_id")["timestamp"]
    assert latest["a"] == T("2024-03-31 23:59")
    assert pd.isna(latest["b"])


def test_attach_fills_counts_with_zero_and_leaves_values_missing():
    source = _source()
    spine = _spine(source)
    per_snapshot = ibis.memtable(pd.DataFrame({"snapshot_id": [0], "n": [3], "v": [0.5]}))
    frame = attach(spine, per_snapshot, counts=["n"], values=["v"]).order_by("snapshot_id")
    frame = frame.to_pandas()
    assert frame["n"].tolist() == [3.0, 0.0]
    assert frame["v"].iloc[0] == 0.5 and pd.isna(frame["v"].iloc[1])


def test_ratios_with_a_zero_denominator_are_missing():
    t = ibis.memtable(pd.DataFrame({"a": [1.0, 1.0, 3.0], "b": [0.0, 2.0, 2.0]}))
    out = t.select(r=ratio(t.a, t.b), c=change_pct(t.a, t.b)).to_pandas()
    assert pd.isna(out["r"].iloc[0]) and pd.isna(out["c"].iloc[0])
    assert out["r"].iloc[1] == 0.5
    assert out["c"].iloc[2] == 50.0


def test_days_between_counts_whole_seconds_so_engines_agree_on_milliseconds() -> None:
    from features.windows import days_between

    frame = pd.DataFrame(
        {
            "later": [T("2024-04-01 00:00:00.999"), T("2024-04-02 12:00:00")],
            "earlier": [T("2024-03-31 00:00:00.250"), T("2024-04-01 00:00:00.5")],
        }
    )
    table = ibis.memtable(frame)
    days = ibis.duckdb.connect().execute(
        table.select(days=days_between(table.later, table.earlier))
    )["days"]
    # 1 day exactly (the .999 and .250 are dropped); 1.5 days (the .5 is dropped)
    assert days.tolist() == [1.0, 1.5]
