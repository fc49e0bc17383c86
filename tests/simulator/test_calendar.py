"""Window arithmetic: day numbers, calendar months, month starts."""

from __future__ import annotations

import numpy as np

from simulator._calendar import Window


def test_default_window_is_months_before_october_2026():
    window = Window.of(None, 36)
    assert window.start == np.datetime64("2023-10-01")
    assert window.end == np.datetime64("2026-10-01")
    assert window.n_days == 1096


def test_add_months_keeps_the_day_and_caps_it_at_the_28th():
    window = Window.of("2024-01-01", 12)
    days = np.array([0, 30, 59])  # 1 Jan, 31 Jan, 29 Feb 2024
    shifted = window.start + window.add_months(days, np.array([1, 1, 12]))
    assert list(shifted.astype(str)) == ["2024-02-01", "2024-02-28", "2025-02-28"]


def test_month_starts_are_first_days_inside_the_window():
    window = Window.of("2024-01-15", 3)
    starts = window.start + window.month_starts()
    assert list(starts.astype(str)) == ["2024-02-01", "2024-03-01", "2024-04-01"]


def test_dates_keep_the_time_of_day():
    window = Window.of("2024-01-01", 1)
    stamp = window.dates(np.array([1.5]))[0]
    assert stamp == np.datetime64("2024-01-02T12:00:00")


def test_activity_is_lower_on_weekends_and_over_new_year():
    window = Window.of("2024-12-01", 2)
    factor = window.activity_factor()
    assert factor[0] < factor[1]  # Sunday 1 Dec vs Monday 2 Dec
    assert factor[23] < factor[1]  # Tuesday 24 Dec vs Monday 2 Dec
