"""features.windows at its edges: the in-force rule on the day a term starts and the day it
ends, evaluated by DuckDB, and the guards of the weekly activity's two window words."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from features.windows import in_force_at, weekly_activity

T = pd.Timestamp


def test_in_force_from_the_day_after_the_start_through_the_end_day():
    at = T("2024-06-01")
    terms = pd.DataFrame(
        {
            "start_date": [T("2024-06-01"), T("2024-05-31"), T("2023-06-01"), T("2023-06-01")],
            "end_date": [T("2025-06-01"), T("2025-05-31"), T("2024-06-01"), T("2024-05-31")],
            "case": ["starts on at", "started the day before", "ends on at", "ended before"],
        }
    )
    table = ibis.memtable(terms)
    result = ibis.duckdb.connect().execute(
        table.select("case", in_force=in_force_at(table, ibis.literal(at.to_pydatetime())))
    )
    assert dict(zip(result["case"], result["in_force"], strict=True)) == {
        "starts on at": False,
        "started the day before": True,
        "ends on at": True,
        "ended before": False,
    }


def test_weeks_longer_than_the_window_are_refused():
    with pytest.raises(ValueError, match="the weeks do not fit the window"):
        weekly_activity(None, None, None, "user_id", 13, 90, T("2024-01-01"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("weeks", "window_days"),
    [
        (8, 119),  # 8 recent weeks in one word, 63 older days: one more than a word holds
        (1, 70),  # 7 recent days, 63 older days
    ],
)
def test_a_window_longer_than_two_words_is_refused(weeks, window_days):
    with pytest.raises(ValueError, match="two 64-bit words"):
        weekly_activity(None, None, None, "user_id", weeks, window_days, T("2024-01-01"))  # type: ignore[arg-type]


@pytest.mark.parametrize(("weeks", "window_days"), [(8, 118), (1, 69), (16, 118)])
def test_the_largest_layouts_that_fit_pass_the_guards(weeks, window_days):
    # Past the guards the function needs a real source: None fails there, not at a guard.
    with pytest.raises(AttributeError):
        weekly_activity(None, None, None, "user_id", weeks, window_days, T("2024-01-01"))  # type: ignore[arg-type]
