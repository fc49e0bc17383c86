import numpy as np
import pandas as pd
import pytest

from monitoring.inputs import (
    build_windows,
    check_windows,
    describe_window,
    load_windows,
    read_feature_file,
    select_as_of,
)
from retain.config import Config
from retain.errors import RetainError


def test_reads_parquet_and_csv_feature_files(tmp_path, reference):
    reference.to_parquet(tmp_path / "features.parquet")
    reference.to_csv(tmp_path / "features.csv", index=False)
    assert len(read_feature_file(tmp_path / "features.parquet", "reference")) == len(reference)
    assert len(read_feature_file(tmp_path / "features.csv", "current")) == len(reference)


def test_a_missing_file_is_an_exit_2_error_naming_it(tmp_path):
    with pytest.raises(
        RetainError, match=r"current feature file .*nope\.parquet does not exist"
    ) as e:
        read_feature_file(tmp_path / "nope.parquet", "current")
    assert e.value.exit_code == 2


def test_a_corrupt_parquet_is_an_exit_2_error(tmp_path):
    path = tmp_path / "features.parquet"
    path.write_bytes(b"PAR1 this is not parquet at all")
    with pytest.raises(RetainError, match="cannot be read as parquet") as e:
        read_feature_file(path, "reference")
    assert e.value.exit_code == 2


def test_feature_kinds_follow_the_feature_frame(reference, current):
    kinds = check_windows(reference, current)
    assert kinds.categorical == ["account_industry"]
    assert "active_users_28d" in kinds.numeric
    assert not {"churn", "account_id", "as_of", "segment"} & set(kinds.all)


def test_an_all_missing_text_column_stays_categorical(reference, current):
    current = current.assign(account_industry=np.nan)
    assert check_windows(reference, current).categorical == ["account_industry"]


def test_a_feature_that_changed_type_is_an_error_naming_it(reference, current):
    current = current.assign(seat_utilization="high")
    with pytest.raises(RetainError, match=r"'seat_utilization' is numeric in one window") as e:
        check_windows(reference, current)
    assert "'high'" in str(e.value)
    assert e.value.exit_code == 2


def test_an_empty_window_is_an_error(reference):
    with pytest.raises(RetainError, match="current window has no rows") as e:
        check_windows(reference, reference.iloc[:0])
    assert e.value.exit_code == 2


def test_files_without_features_are_an_error(reference):
    labels_only = reference[["account_id", "as_of", "churn"]]
    with pytest.raises(RetainError, match="Neither window has any feature column"):
        check_windows(labels_only, labels_only)


def test_describe_window_gives_rows_and_as_of_range():
    frame = pd.DataFrame({"as_of": pd.to_datetime(["2025-02-01", "2025-01-01"]), "arr": 1.0})
    assert describe_window(frame) == {
        "rows": 2,
        "as_of_min": "2025-01-01",
        "as_of_max": "2025-02-01",
    }


def test_a_date_picks_one_snapshot_out_of_a_feature_file(tmp_path, reference, current):
    both = pd.concat([reference, current], ignore_index=True)
    both.to_parquet(tmp_path / "features.parquet")
    path = str(tmp_path / "features.parquet")
    old, new = load_windows(
        Config(),
        reference=path,
        current=path,
        data=None,
        reference_as_of="2025-01-01",
        current_as_of="2025-04-01",
    )
    assert (len(old), len(new)) == (len(reference), len(current))
    assert set(new["as_of"]) == {pd.Timestamp("2025-04-01")}


def test_a_date_absent_from_the_file_is_an_error_listing_the_dates(reference):
    with pytest.raises(
        RetainError, match=r"no rows with as_of 2030-01-01 \(1 dates present: 2025-01-01\)"
    ):
        select_as_of(reference, "2030-01-01", "current")
    with pytest.raises(RetainError, match="'yesterday' is not a date"):
        select_as_of(reference, "yesterday", "current")


def test_files_and_a_data_source_together_are_an_error():
    with pytest.raises(RetainError, match="not both") as e:
        load_windows(
            Config(),
            reference="a.parquet",
            current=None,
            data="demo",
            reference_as_of="2025-01-01",
            current_as_of="2025-04-01",
        )
    assert e.value.exit_code == 2


def test_build_windows_gives_one_snapshot_per_account_and_date(data_source):
    before, after = build_windows(data_source, ["2024-06-01", "2024-10-01"], Config())
    assert (len(before), len(after)) == (40, 40)
    assert set(before["as_of"]) == {pd.Timestamp("2024-06-01")}
    assert before["active_users_28d"].eq(10.0).all()
    assert sorted(after["active_users_28d"].unique()) == [2.0, 10.0]


def test_build_windows_rejects_a_non_date(data_source):
    with pytest.raises(RetainError, match="'soon' is not a date") as e:
        build_windows(data_source, ["2024-06-01", "soon"], Config())
    assert e.value.exit_code == 2
