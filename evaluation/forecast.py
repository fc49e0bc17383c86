"""Renewal forecast: expected retained ARR (GRR) and expected ARR with expansion (NRR).

For the renewals scored inside a window (one snapshot per contract end, at as_of = end - lead
days), with calibrated churn probability p_c and expansion probability p_e per account:

- Expected GRR ARR = sum(ARR x (1 - p_c) x r), where r is the share of ARR surviving accounts
  keep once expansion is capped out (1 minus their contraction). r is learned from the training
  side (labels known before the cutoff) per segment, because "(1 - p) x ARR" alone assumes no
  survivor ever contracts and over-forecasts GRR by the contraction rate.
- Expected NRR ARR = sum(ARR x [p_e x g_up + (1 - p_c - p_e) x g_rest]), where g_up is the ARR
  ratio (at horizon / at as_of) of expanded training accounts and g_rest that of surviving
  accounts that did not expand (contractions included). Expansion implies survival, so the
  three outcomes churn / expand / neither partition the account; (1 - p_c - p_e) is clipped at
  zero. This uses the expansion model's probability rather than one average growth rate, so a
  base with many likely expanders is forecast higher, and needs nothing beyond the two models
  and three ratios per segment. All ratios are ARR-weighted (ratios of sums).
- Actual GRR ARR = sum(min(ARR at horizon, ARR at as_of)); actual NRR ARR = sum(ARR at horizon).
- Error % = (expected - actual) / actual x 100, per cutoff and segment; metrics.json reports the
  mean absolute error over cutoffs (all segments together).

Rates fall back to the whole training side when a segment has fewer than `min_rows` outcomes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ALL_SEGMENTS = "all"


@dataclass(frozen=True)
class ArrRates:
    """ARR ratios learned from outcomes known before a cutoff (see module docstring)."""

    retained: dict[str, float] = field(default_factory=dict)  # r per segment (+ "all")
    expanded_growth: dict[str, float] = field(default_factory=dict)  # g_up
    other_growth: dict[str, float] = field(default_factory=dict)  # g_rest

    def lookup(self, table: dict[str, float], segment: str) -> float:
        return table.get(segment, table.get(ALL_SEGMENTS, 1.0))


def _ratios(rows: pd.DataFrame) -> tuple[float, float, float, int]:
    # ARR-weighted (ratio of sums, not mean of ratios): the forecast is a sum of ARR, and a
    # $500 account tripling must not weigh as much as a $500k account renewing flat.
    arr = rows["arr"].to_numpy(float)
    after = rows["arr_at_horizon"].to_numpy(float)
    survived = rows["churn"].to_numpy(float) == 0
    expanded = np.nan_to_num(rows["expansion"].to_numpy(float)) == 1

    def ratio(mask: np.ndarray, values: np.ndarray) -> float:
        base = arr[mask].sum()
        return float(values[mask].sum() / base) if base > 0 else 1.0

    retained = ratio(survived, np.minimum(after, arr))
    up = ratio(survived & expanded, after)
    rest = ratio(survived & ~expanded, after)
    return retained, up, rest, int(survived.sum())


def fit_arr_rates(train: pd.DataFrame, *, min_rows: int = 30) -> ArrRates:
    """Learn r, g_up and g_rest per segment from labelled training rows.

    Uses renewal-spine rows when there are at least `min_rows` of them (renewals behave
    differently from mid-term months), else every row. Rows need `segment`, `arr`,
    `arr_at_horizon`, `churn`, `expansion`; rows without ARR or an outcome are skipped.
    """
    usable = train[(train["arr"] > 0) & train["arr_at_horizon"].notna() & train["churn"].notna()]
    renewals = usable[usable["spine"] == "renewals"] if "spine" in usable else usable.iloc[:0]
    if len(renewals) >= min_rows:
        usable = renewals
    retained, expanded, other = {}, {}, {}
    groups = [(ALL_SEGMENTS, usable)]
    groups += [(str(s), g) for s, g in usable.groupby("segment", observed=True)]
    for segment, rows in groups:
        r, up, rest, survivors = _ratios(rows)
        if segment != ALL_SEGMENTS and survivors < min_rows:
            continue
        retained[segment], expanded[segment], other[segment] = r, up, rest
    return ArrRates(retained, expanded, other)


def expected_arr(scored: pd.DataFrame, rates: ArrRates) -> pd.DataFrame:
    """Per-row expected and actual GRR/NRR ARR for scored renewals.

    `scored` needs `segment`, `arr`, `arr_at_horizon`, `p_churn`, and `p_expansion` (NaN when
    no expansion model: the NRR side then assumes no expansion beyond g_rest). Returns a copy
    with `expected_grr`, `expected_nrr`, `actual_grr`, `actual_nrr` added.
    """
    out = scored.copy()
    arr = out["arr"].to_numpy(float)
    p_churn = out["p_churn"].to_numpy(float)
    p_exp = np.nan_to_num(out["p_expansion"].to_numpy(float), nan=0.0)
    segments = out["segment"].astype(str).to_numpy()
    r = np.array([rates.lookup(rates.retained, s) for s in segments])
    g_up = np.array([rates.lookup(rates.expanded_growth, s) for s in segments])
    g_rest = np.array([rates.lookup(rates.other_growth, s) for s in segments])
    p_exp = np.minimum(p_exp, 1.0 - p_churn)
    out["expected_grr"] = arr * (1.0 - p_churn) * r
    out["expected_nrr"] = arr * (p_exp * g_up + np.clip(1.0 - p_churn - p_exp, 0, 1) * g_rest)
    after = out["arr_at_horizon"].to_numpy(float)
    out["actual_grr"] = np.minimum(after, arr)
    out["actual_nrr"] = after
    return out


def _error_pct(expected: float, actual: float) -> float:
    return (expected - actual) / actual * 100.0 if actual > 0 else math.nan


def forecast_table(rows: pd.DataFrame, by: tuple[str, ...] = ("cutoff", "model")) -> pd.DataFrame:
    """Sum expected and actual ARR per `by` x segment (plus segment "all"), with errors in %.

    `rows` is the output of `expected_arr` with the `by` columns present.
    """
    sums = ["arr", "expected_grr", "actual_grr", "expected_nrr", "actual_nrr"]
    keys = list(by)
    per_segment = rows.groupby([*keys, "segment"], observed=True, sort=True)[sums].sum()
    per_segment["n_renewals"] = rows.groupby([*keys, "segment"], observed=True).size()
    overall = rows.groupby(keys, observed=True, sort=True)[sums].sum()
    overall["n_renewals"] = rows.groupby(keys, observed=True).size()
    overall["segment"] = ALL_SEGMENTS
    table = pd.concat([per_segment.reset_index(), overall.reset_index()], ignore_index=True).rename(
        columns={"arr": "arr_at_as_of"}
    )
    table["grr_error_pct"] = [
        _error_pct(e, a) for e, a in zip(table["expected_grr"], table["actual_grr"], strict=True)
    ]
    table["nrr_error_pct"] = [
        _error_pct(e, a) for e, a in zip(table["expected_nrr"], table["actual_nrr"], strict=True)
    ]
    for side in ("grr", "nrr"):
        base = table["arr_at_as_of"].where(table["arr_at_as_of"] > 0)
        table[f"expected_{side}_rate"] = table[f"expected_{side}"] / base
        table[f"actual_{side}_rate"] = table[f"actual_{side}"] / base
    return table.sort_values([*keys, "segment"]).reset_index(drop=True)


def mean_absolute_error_pct(table: pd.DataFrame, side: str, model: str) -> float:
    """Mean |error %| over cutoffs for one model, all segments together; NaN when none."""
    rows = table[(table["model"] == model) & (table["segment"] == ALL_SEGMENTS)]
    values = rows[f"{side}_error_pct"].abs().dropna()
    return float(values.mean()) if len(values) else math.nan
