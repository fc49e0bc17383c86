"""The green/red ratio of every model at the band shares of the chosen model."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evaluation._summary import POOLED, _equal_share_records


def _rows(model: str, p: list[float], bands: list[str], churn: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cutoff": "2025-01-01",
            "model": model,
            "account_id": [f"a{i}" for i in range(len(p))],
            "spine": "renewals",
            "p_churn": p,
            "band": bands,
            "churn": churn,
        }
    )


def test_every_model_is_banded_at_the_chosen_models_shares() -> None:
    churn = [0, 0, 0, 0, 1, 0, 1, 1]
    # chosen: 4 green (50%), 2 red (25%)
    chosen = _rows(
        "chosen",
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
        ["green"] * 4 + ["yellow"] * 2 + ["red"] * 2,
        churn,
    )
    # scorecard: its own red band is one extreme account; equal shares give it two.
    scorecard = _rows(
        "scorecard",
        [0.8, 0.1, 0.2, 0.6, 0.3, 0.4, 0.7, 0.5],
        ["red"] + ["green"] * 5 + ["yellow"] * 2,
        churn,
    )
    records = _equal_share_records(pd.concat([chosen, scorecard]), ["2025-01-01"])
    values = {(cutoff, model): value for cutoff, model, _, _, _, value in records}
    # chosen: green renews 4/4, red 0/2 -> every red churned
    assert values[("2025-01-01", "chosen")] == math.inf
    # scorecard at equal shares: green = its 4 lowest (rows 1, 2, 4, 5: churn 0, 0, 1, 0),
    # red = its 2 highest (rows 0, 6: churn 0, 1).
    assert values[("2025-01-01", "scorecard")] == pytest.approx(0.75 / 0.5)
    assert values[(POOLED, "scorecard")] == pytest.approx(0.75 / 0.5)
