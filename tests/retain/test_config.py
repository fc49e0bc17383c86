import re
from pathlib import Path

import pytest

from retain.config import Config, load_config
from retain.errors import RetainError


def test_defaults_follow_the_brief() -> None:
    config = Config()
    assert config.labels.grace_days == 30
    assert config.labels.expansion_threshold == 0.05
    assert config.labels.lead_days == 90
    assert config.segments.names == ("SMB", "Mid-Market", "Enterprise")


def test_working_directory_toml_overrides_data_toml_and_cli_overrides_both(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "retain.toml").write_text(
        '[features]\nkey_events = ["report_created"]\n[labels]\nhorizon_days = 120\n'
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "retain.toml").write_text("[labels]\nhorizon_days = 90\ngrace_days = 14\n")

    config = load_config(data, workdir=workdir, overrides={"labels": {"grace_days": 7}})

    assert config.features.key_events == ("report_created",)
    assert config.labels.horizon_days == 90
    assert config.labels.grace_days == 7


def test_unset_cli_options_keep_the_configured_value(tmp_path: Path) -> None:
    config = load_config(workdir=tmp_path, overrides={"labels": {"lead_days": None}})
    assert config.labels.lead_days == 90


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[labelz]\nhorizon_days = 1\n", "Unknown config section [labelz]"),
        ("[labels]\nhorizon = 1\n", "Unknown key(s) in config section [labels]: horizon"),
        ("[labels\n", "Cannot parse"),
    ],
)
def test_bad_config_files_are_refused_with_a_clear_message(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "retain.toml").write_text(text)
    with pytest.raises(RetainError, match=re.escape(message)):
        load_config(workdir=tmp_path)


def test_segment_bands_from_toml_become_tuples(tmp_path: Path) -> None:
    (tmp_path / "retain.toml").write_text(
        '[segments]\narr_bands = [["Small", 10000.0], ["Medium", 50000.0]]\ntop_segment = "Large"\n'
    )
    config = load_config(workdir=tmp_path)
    assert config.segments.names == ("Small", "Medium", "Large")
    assert config.segments.arr_bands[1] == ("Medium", 50000.0)
