"""A small synthetic feature frame (both spines) from a known generating process, whose true
probabilities serve as the oracle's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

HORIZON_AND_GRACE = pd.Timedelta(days=210)  # expansion: known at as_of + horizon + grace
# Churn (renewal risk): the renewal 90 days out is the risk window's end T, known at T + grace.
RISK_AND_GRACE = pd.Timedelta(days=120)


def make_frame(
    n_accounts: int = 240, months: int = 30, seed: int = 0, start: str = "2021-01-01"
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """(feature frame, truth, data_end): churn and expansion driven by `usage_change` and
    `champion_present`, with the true probabilities kept as the oracle's truth."""
    rng = np.random.default_rng(seed)
    month_starts = pd.date_range(start, periods=months, freq="MS")
    data_end = month_starts[-1] + pd.offsets.MonthBegin(1)
    accounts = [f"a{i:04d}" for i in range(n_accounts)]
    segment = rng.choice(["SMB", "Enterprise"], n_accounts, p=[0.7, 0.3])
    base_arr = np.where(segment == "SMB", 12_000.0, 150_000.0) * rng.uniform(0.5, 1.5, n_accounts)
    renewal_month = rng.integers(0, 12, n_accounts)
    rows = []
    for i, account in enumerate(accounts):
        for j, as_of in enumerate(month_starts):
            rows.append((account, as_of, "monthly", i))
            if j % 12 == renewal_month[i]:
                rows.append((account, as_of + pd.Timedelta(days=9), "renewals", i))
    frame = pd.DataFrame(rows, columns=["account_id", "as_of", "spine", "_i"])
    n = len(frame)
    idx = frame.pop("_i").to_numpy()
    frame["segment"] = segment[idx]
    frame["renewal_date"] = frame["as_of"] + pd.Timedelta(days=90)
    frame["arr"] = base_arr[idx]
    frame["usage_change"] = rng.normal(0, 1, n)
    frame["champion_present"] = (rng.random(n) < 0.7).astype(float)
    frame["noise"] = rng.normal(0, 1, n)
    logit_churn = -2.0 - 1.2 * frame["usage_change"] - 1.0 * frame["champion_present"]
    logit_exp = -1.8 + 1.0 * frame["usage_change"]
    p_churn = 1 / (1 + np.exp(-logit_churn))
    p_exp = (1 - p_churn) / (1 + np.exp(-logit_exp))
    u = rng.random(n)
    churn = (u < p_churn).astype(float)
    expansion = ((u >= p_churn) & (u < p_churn + p_exp)).astype(float)
    frame["churn_window_end"] = frame["renewal_date"]
    frame["churn_known_at"] = frame["churn_window_end"] + pd.Timedelta(days=30)
    frame["expansion_known_at"] = frame["as_of"] + HORIZON_AND_GRACE
    frame["contraction_known_at"] = frame["expansion_known_at"]
    churn_known = frame["churn_known_at"] < data_end
    known = frame["expansion_known_at"] < data_end
    frame["churn"] = churn.where(churn_known)
    frame["expansion"] = expansion.where(known)
    frame["contraction"] = pd.Series(0.0, index=frame.index).where(known)
    growth = np.where(expansion == 1, 1.2, 1.0)
    frame["arr_at_horizon"] = (frame["arr"] * growth * (1 - churn)).where(known)
    truth = frame[["account_id", "as_of", "spine"]].assign(
        churn_probability=p_churn, expansion_probability=p_exp
    )
    return frame, truth, pd.Timestamp(data_end)
