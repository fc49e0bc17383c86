"""The simulated window: day numbers, calendar months and seasonality.

Inside the simulator every date is an integer day number counted from the window's first day
(negative before it), which keeps the week loop in plain integer arithmetic; `Window` turns them
into timestamps only when tables are written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator import _params as P

# The demo data ends here (exclusive), so its last months look like "now" in the product's time.
DEFAULT_END = np.datetime64("2026-10-01", "D")
_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class Window:
    start: np.datetime64  # day precision, the first simulated day (day number 0)
    n_days: int

    @classmethod
    def of(cls, start: str | pd.Timestamp | np.datetime64 | None, months: int) -> Window:
        if start is None:
            end_month = DEFAULT_END.astype("datetime64[M]")
            first = (end_month - months).astype("datetime64[D]")
        else:
            first = np.datetime64(pd.Timestamp(start).date(), "D")
        end = add_months_dates(np.array([first]), np.array([months]))[0]
        return cls(start=first, n_days=int((end - first).astype(int)))

    @property
    def n_weeks(self) -> int:
        return (self.n_days + 6) // 7

    @property
    def end(self) -> np.datetime64:
        return self.start + self.n_days

    def dates(self, days: np.ndarray) -> np.ndarray:
        """Day numbers (fractions are times of day) as datetime64[us]."""
        base = self.start.astype("datetime64[us]").astype(np.int64)
        micros = np.round(np.asarray(days, dtype=np.float64) * _US_PER_DAY).astype(np.int64)
        return (base + micros).astype("datetime64[us]")

    def add_months(self, days: np.ndarray, months: np.ndarray) -> np.ndarray:
        """Day number `months` calendar months after `days` (day of month capped at the 28th)."""
        dates = self.start + np.asarray(days, dtype=np.int64)
        return (add_months_dates(dates, months) - self.start).astype(np.int64)

    def month_starts(self) -> np.ndarray:
        """Day numbers of the first days of months inside the window."""
        first = self.start.astype("datetime64[M]")
        if first.astype("datetime64[D]") < self.start:
            first = first + 1
        months = np.arange(first, self.end.astype("datetime64[M]") + 1)
        days = (months.astype("datetime64[D]") - self.start).astype(np.int64)
        return days[(days >= 0) & (days < self.n_days)]

    def activity_factor(self) -> np.ndarray:
        """Per-day multiplier of product usage: quiet weekends, year-end and August dips."""
        dates = self.start + np.arange(self.n_days + 7)
        weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        month_of = dates.astype("datetime64[M]")
        month = month_of.astype(np.int64) % 12 + 1
        day = (dates - month_of.astype("datetime64[D]")).astype(np.int64) + 1
        factor = np.where(weekday >= 5, P.WEEKEND_FACTOR, 1.0)
        factor = factor * np.where(month == 8, 0.85, 1.0)
        holidays = ((month == 12) & (day >= 20)) | ((month == 1) & (day <= 2))
        return factor * np.where(holidays, 0.45, 1.0)


def add_months_dates(dates: np.ndarray, months: np.ndarray) -> np.ndarray:
    month_of = dates.astype("datetime64[M]")
    day_of_month = (dates - month_of.astype("datetime64[D]")).astype(np.int64)
    shifted = (month_of + np.asarray(months, dtype=np.int64)).astype("datetime64[D]")
    return shifted + np.minimum(day_of_month, 27)
