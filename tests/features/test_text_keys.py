"""Text keys grouped as stored and made canonical afterwards give the canonical view's keys."""

from __future__ import annotations

import ibis
import pandas as pd

from features.source import DataSource
from features.text_keys import canonical_groups, canonical_text
from features.windows import materialize
from tests.features.fixtures_data import assert_same_features, base_frames, build, only

# Every shape of free text the canonical rule treats apart: trimmed of spaces at both ends,
# empty or blank as NULL, inner spaces and tabs kept, NULL kept.
AWKWARD = ["u1", " u1", "u1 ", "  u1  ", "", "   ", "a b", " a b ", "\tu1", "u1\t", None]


def _usage_source(user_ids: list[str | None]) -> DataSource:
    usage = pd.DataFrame(
        {
            "account_id": "a1",
            "timestamp": pd.Timestamp("2024-05-01"),
            "event": "login",
            "user_id": user_ids,
        }
    )
    return DataSource.from_frames({"usage": usage})


def test_canonical_text_is_the_canonical_views_rule():
    source = _usage_source(AWKWARD)
    canonical = source.table("usage").user_id.to_pandas()
    as_given = source.table_as_given("usage")
    assert as_given.user_id.to_pandas().tolist() == AWKWARD
    ours = as_given.select(user_id=canonical_text(as_given.user_id)).user_id.to_pandas()
    assert ours.tolist() == canonical.tolist()
    assert canonical.tolist()[:6] == ["u1", "u1", "u1", "u1", None, None]


def _blocks(source: DataSource, rows: list[tuple[str, str | None, int]]) -> object:
    frame = pd.DataFrame(rows, columns=["account_id", "user_id", "days"])
    return materialize(source, ibis.memtable(frame), "blocks")


def _combine():
    return {"days": lambda c: c.bit_or().cast("int64")}


def test_groups_whose_keys_are_canonical_come_back_as_they_are():
    source = _usage_source(["u1"])
    blocks = _blocks(source, [("a1", "u1", 1), ("a1", "u2", 2), ("a1", None, 4)])
    before = source.temporary_tables()
    assert canonical_groups(source, blocks, ("account_id", "user_id"), _combine(), "t") is blocks
    assert source.temporary_tables() == before


def test_groups_whose_keys_change_are_grouped_again_on_the_canonical_keys():
    source = _usage_source(["u1"])
    rows = [("a1", "u1", 1), ("a1", " u1", 2), ("a1 ", "u1 ", 4), ("a1", "", 8), ("a1", None, 16)]
    result = canonical_groups(
        source, _blocks(source, rows), ("account_id", "user_id"), _combine(), "t"
    ).to_pandas()
    assert list(result.columns) == ["account_id", "user_id", "days"]
    by_user = dict(zip(result["user_id"].fillna("<null>"), result["days"], strict=True))
    assert by_user == {"u1": 1 | 2 | 4, "<null>": 8 | 16}  # the blank id is no user: NULL


def test_padded_usage_keys_build_the_features_of_trimmed_ones():
    """Account, event and user ids with spaces around them (an export's padding) are the same
    ids: the usage groupings read them as stored and must merge them with the trimmed ones."""
    frames = only(base_frames(), "usage")
    padded = {name: frame.copy() for name, frame in frames.items()}
    usage = padded["usage"]
    every_other = usage.index % 2 == 0
    usage.loc[every_other, "account_id"] = " " + usage.loc[every_other, "account_id"]
    usage.loc[every_other, "user_id"] = usage.loc[every_other, "user_id"] + "  "
    usage.loc[~every_other, "event"] = usage.loc[~every_other, "event"] + " "
    assert_same_features(build(frames), build(padded))
