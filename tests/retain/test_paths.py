import os

import pytest

from retain.errors import RetainError
from retain.paths import check_output_file, check_output_folder


def test_a_new_file_in_a_new_folder_is_fine_and_nothing_is_created(tmp_path):
    path = tmp_path / "new" / "deeper" / "features.parquet"
    assert check_output_file(path) == path
    assert not (tmp_path / "new").exists()
    assert os.listdir(tmp_path) == []  # the write probe leaves nothing behind


def test_a_file_path_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(RetainError, match=r"--out .* is a folder; give a file path inside it"):
        check_output_file(tmp_path)


def test_a_folder_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "report").write_text("")
    with pytest.raises(RetainError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "report", "--out")


def test_a_path_below_a_file_is_refused_naming_the_file(tmp_path):
    (tmp_path / "scores.csv").write_text("")
    with pytest.raises(RetainError) as error:
        check_output_folder(tmp_path / "scores.csv" / "drift")
    assert f"{tmp_path / 'scores.csv'} is a file, so no folder can be made there" in str(
        error.value
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a read-only /proc")
def test_a_folder_that_takes_no_files_is_refused():
    # /proc refuses new files even for root, which os.access would wave through.
    with pytest.raises(RetainError, match="cannot write in /proc/self"):
        check_output_file("/proc/self/features.parquet")
