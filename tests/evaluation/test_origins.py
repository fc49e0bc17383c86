"""Adaptive rolling origins: quarterly where history allows, monthly on short histories,
k-fold with the reason when no origin is possible, never an error."""

from __future__ import annotations

import pandas as pd

from evaluation._origins import choose_origins, find_origins
from evaluation._plan import plan_backtest
from retain.config import Config
from tests.evaluation.synthetic import make_frame


def _config(**evaluation) -> Config:
    return Config().with_overrides(
        {"training": {"min_positives_per_segment": 20}, "evaluation": evaluation}
    )


def test_eighteen_months_of_history_get_four_or_more_monthly_churn_origins() -> None:
    # 18 months of history: spines start after 3 months of lookback, so 15 monthly as_of dates.
    frame, _, _ = make_frame(n_accounts=300, months=15, start="2023-04-01")
    config = _config()
    quarterly = find_origins(frame, "churn", config, "quarterly")
    assert len(quarterly.windows) < 4
    chosen = choose_origins(frame, "churn", config)
    assert chosen.spacing == "monthly" and len(chosen.windows) >= 4
    for window in chosen.windows:
        assert window.end == window.start + pd.DateOffset(months=1)
        known_before = frame["churn"].notna() & (frame["churn_known_at"] < window.start)
        assert known_before.sum() > 0
    assert set(chosen.known_share) == {w.name for w in chosen.windows}
    assert min(chosen.known_share.values()) >= config.evaluation.min_known_share


def test_long_history_keeps_quarterly_origins_capped_at_n_cutoffs() -> None:
    frame, _, _ = make_frame(n_accounts=200, months=30)
    chosen = choose_origins(frame, "churn", _config(n_cutoffs=5))
    assert chosen.spacing == "quarterly" and len(chosen.windows) == 5
    forced = choose_origins(frame, "churn", _config(n_cutoffs=5, origin_spacing="monthly"))
    assert forced.spacing == "monthly" and len(forced.windows) == 5


def test_windows_mostly_still_open_do_not_qualify() -> None:
    frame, _, _ = make_frame(n_accounts=200, months=30)
    strict = choose_origins(frame, "expansion", _config(min_known_share=1.0, n_cutoffs=20))
    loose = choose_origins(frame, "expansion", _config(min_known_share=0.0, n_cutoffs=20))
    assert len(strict.windows) < len(loose.windows)
    assert all(share == 1.0 for share in strict.known_share.values())


def test_no_origin_falls_back_to_grouped_kfold_and_says_why() -> None:
    frame, _, data_end = make_frame(n_accounts=300, months=8)
    plans = plan_backtest(frame, _config(cv_folds=3), data_end, "auto")
    expansion = plans["expansion"]
    assert expansion.scheme == "grouped k-fold" and len(expansion.windows) == 3
    assert "no time-honest rolling origin is possible" in expansion.note
    assert "Cross-validation instead" in expansion.note
    # The hint names the setting that would allow origins.
    assert "[labels] horizon_days" in expansion.note
