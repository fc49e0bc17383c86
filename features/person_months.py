"""Time to churn: each snapshot followed month by month after its as_of (discrete-time survival).

Month k of a snapshot is the calendar interval (as_of + (k-1) months, as_of + k months]; month 1
also holds as_of itself, so a term ending on as_of (in force, BRIEF: Labels and snapshots) is a
month-1 outcome. The outcome uses the churn label's own rules (`features.labels`): the coverage
block in force at as_of (`block_start < as_of <= block_end`, gaps of up to `grace_days` bridged,
`coverage_blocks`) ends at `coverage_end`; the snapshot churns in the month holding that end.

Month k is observed once its outcome is certain: at the month's end plus `grace_days` (a renewal
signed within the grace days would continue the block), strictly before the data's end or a
training cutoff, as every label (`known_at < data_end`). Censoring is thus administrative: it
depends on as_of only, never on the outcome.

The person-month frame has one row per snapshot and observed month at risk, with time covariates
computed from what the snapshot knows at as_of (`days_to_renewal`, `contract_term_days`): how many
of the account's renewal points (E, E + term, ...) fall in the month, how far the next one is, how
many have passed. Months far from any renewal point carry little signal; `expand` keeps a seeded
share of them with weight 1 / share, so the frame stays small and the hazards unbiased.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.source import DataSource
from retain.config import Config
from retain.errors import RetainError

# Fixed month length for the time covariates and the risk window's position (calendar months
# differ by up to three days; covariates and interpolation do not need more precision).
DAYS_PER_MONTH = 30.4375
TIME_COVARIATES: tuple[str, ...] = (
    "month",
    "renewal_points_in_month",
    "months_to_next_renewal",
    "renewals_passed",
)
# Horizons (months) every survival curve reaches at least: "will this account be here in two years"
MIN_CURVE_MONTHS = 24


def coverage_blocks_frame(source: DataSource, config: Config) -> pd.DataFrame:
    """Per account, its maximal coverage periods: `account_id`, `block_start`, `block_end`."""
    from features.commercial import known_contracts
    from features.labels import coverage_blocks

    contracts = known_contracts(source).select("account_id", "start_date", "end_date")
    blocks = coverage_blocks(contracts, config.labels.grace_days).to_pandas()
    blocks["account_id"] = blocks["account_id"].astype(str)
    for column in ("block_start", "block_end"):
        blocks[column] = pd.to_datetime(blocks[column]).astype("datetime64[ns]")
    return blocks[["account_id", "block_start", "block_end"]]


def coverage_end(snapshots: pd.DataFrame, blocks: pd.DataFrame) -> pd.Series:
    """Per snapshot row, the end of the coverage block in force at as_of (NaT when none)."""
    keys = pd.DataFrame(
        {
            "_row": np.arange(len(snapshots)),
            "account_id": snapshots["account_id"].astype(str).to_numpy(),
            "as_of": pd.to_datetime(snapshots["as_of"]).to_numpy(),
        }
    )
    joined = keys.merge(blocks, on="account_id", how="inner")
    joined = joined[
        (joined["block_start"] < joined["as_of"]) & (joined["as_of"] <= joined["block_end"])
    ]
    ends = joined.groupby("_row")["block_end"].max()
    out = pd.Series(pd.NaT, index=np.arange(len(snapshots)), dtype="datetime64[ns]")
    out.loc[ends.index] = ends.to_numpy()
    return pd.Series(out.to_numpy(), index=snapshots.index, name="coverage_end")


def curve_months(contract_term_days: pd.Series | np.ndarray | None) -> int:
    """Months a curve reaches: max(24, the longest term in the data, in whole months)."""
    if contract_term_days is None:
        return MIN_CURVE_MONTHS
    terms = pd.to_numeric(pd.Series(np.asarray(contract_term_days)), errors="coerce").dropna()
    if terms.empty:
        return MIN_CURVE_MONTHS
    # A term of 365 or 366 days is 12 months, a three-year term 36: round to whole months.
    return max(MIN_CURVE_MONTHS, int(np.round(terms.max() / DAYS_PER_MONTH)))


def month_ends(as_of: pd.Series, n_months: int) -> np.ndarray:
    """(n, n_months + 1) datetime64[ns]: as_of + k calendar months for k = 0..n_months, the day
    of month clipped to the target month's length (as pandas' DateOffset(months=k))."""
    stamps = pd.to_datetime(pd.Series(np.asarray(as_of))).to_numpy().astype("datetime64[ns]")
    unique, inverse = np.unique(stamps, return_inverse=True)
    day = unique.astype("datetime64[D]")
    time_of_day = unique - day.astype("datetime64[ns]")
    month = day.astype("datetime64[M]")
    day_of_month = (day - month.astype("datetime64[D]")).astype(np.int64)
    target = month[:, None] + np.arange(n_months + 1)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    shifted = target.astype("datetime64[D]") + np.minimum(day_of_month[:, None], length - 1)
    table = shifted.astype("datetime64[ns]") + time_of_day[:, None]
    return table[inverse.reshape(-1)]


def event_month(as_of: pd.Series, end: pd.Series, n_months: int) -> np.ndarray:
    """Month (1..n_months) holding each coverage end; n_months + 1 beyond; 1 for a NaT end (no
    coverage in force at as_of: lost at once, as the churn label says)."""
    ends = month_ends(as_of, n_months)
    values = pd.to_datetime(pd.Series(np.asarray(end))).to_numpy()
    missing = pd.isna(values)
    filled = np.where(missing, ends[:, 0], values)
    # Number of month ends strictly before the coverage end = the month index - 1 (month 1 holds
    # as_of itself).
    month = (ends[:, 1:] < filled[:, None]).sum(axis=1) + 1
    return np.where(missing, 1, month).astype(np.int64)


def observed_months(
    as_of: pd.Series, n_months: int, grace_days: int, before: pd.Timestamp
) -> np.ndarray:
    """How many months (0..n_months) of each snapshot have a known outcome strictly before
    `before` (the data's end, or a training cutoff): month k is known at its end + grace."""
    ends = month_ends(as_of, n_months)[:, 1:]
    known_at = ends + np.timedelta64(grace_days, "D")
    return (known_at < np.datetime64(pd.Timestamp(before))).sum(axis=1).astype(np.int64)


def survival_outcome(
    frame: pd.DataFrame,
    end: pd.Series,
    config: Config,
    *,
    before: pd.Timestamp,
    n_months: int,
) -> pd.DataFrame:
    """Per snapshot: `duration` (months observed: the churn month, else the last month known) and
    `event` (churned within the observed months), the usual (time, event) pair of survival."""
    month = event_month(frame["as_of"], end, n_months)
    observed = observed_months(frame["as_of"], n_months, config.labels.grace_days, before)
    event = month <= observed
    duration = np.where(event, month, observed)
    return pd.DataFrame({"duration": duration, "event": event}, index=frame.index)


def time_covariates(frame: pd.DataFrame, n_months: int) -> dict[str, np.ndarray]:
    """(n, n_months) arrays of TIME_COVARIATES, from what each snapshot knows at as_of.

    `months_to_next_renewal` is in months of DAYS_PER_MONTH from the month's start.

    Renewal points are E, E + term, E + 2 term, ... (E = as_of + days_to_renewal); unknown
    renewal timing gives NaN (LightGBM's missing branch), an unknown term a single point.
    """
    n = len(frame)
    to_renewal, term = _renewal_schedule(frame)
    k = np.arange(1, n_months + 1, dtype=np.float64)[None, :]
    # Month k in days after as_of: (start, stop], calendar months when as_of is known (a renewal
    # on as_of + 4 months falls in month 4, as the outcome does); month 1 also holds day 0.
    if "as_of" in frame.columns and pd.to_datetime(frame["as_of"]).notna().all():
        ends = month_ends(frame["as_of"], n_months)
        edges = (ends - ends[:, :1]) / np.timedelta64(1, "D")
    else:
        edges = np.broadcast_to(np.arange(n_months + 1) * DAYS_PER_MONTH, (n, n_months + 1))
    start = edges[:, :-1].astype(np.float64)
    start[:, 0] = -0.5
    stop = edges[:, 1:].astype(np.float64)
    d = to_renewal[:, None]
    period = term[:, None]
    passed = _points_up_to(start, d, period)
    in_month = _points_up_to(stop, d, period) - passed
    with np.errstate(invalid="ignore"):
        next_point = np.where(start < d, d, d + passed * np.where(np.isinf(period), 0.0, period))
    next_months = np.where(
        np.isinf(period) & (start >= d), np.nan, (next_point - np.maximum(start, 0.0))
    )
    unknown = ~np.isfinite(d)
    covariates = {
        "month": np.broadcast_to(k, (n, n_months)).copy(),
        "renewal_points_in_month": in_month,
        "months_to_next_renewal": next_months / DAYS_PER_MONTH,
        "renewals_passed": passed,
    }
    for name in TIME_COVARIATES[1:]:
        covariates[name] = np.where(unknown, np.nan, covariates[name])
    return covariates


def expand(
    frame: pd.DataFrame,
    outcome: pd.DataFrame,
    n_months: int,
    *,
    far_month_share: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """The person-month frame: `row` (position in `frame`), `month`, `event` (churned in that
    month), `weight`, and TIME_COVARIATES. A snapshot contributes its months 1..duration.

    Non-event months with no renewal point in them or in the next month are kept with
    probability `far_month_share` and weight 1 / share (seeded).
    """
    if not 0.0 < far_month_share <= 1.0:
        raise RetainError(f"far_month_share must be in (0, 1] (got {far_month_share})")
    duration = np.minimum(outcome["duration"].to_numpy(np.int64), n_months)
    event = outcome["event"].to_numpy(bool) & (outcome["duration"].to_numpy(np.int64) <= n_months)
    covariates = time_covariates(frame, n_months)
    rows, months = np.nonzero(np.arange(1, n_months + 1)[None, :] <= duration[:, None])
    is_event = event[rows] & (months + 1 == duration[rows])
    near = covariates["renewal_points_in_month"][rows, months] > 0
    following = np.minimum(months + 1, n_months - 1)
    near |= covariates["renewal_points_in_month"][rows, following] > 0
    near |= np.isnan(covariates["renewal_points_in_month"][rows, months])
    keep = np.ones(len(rows), dtype=bool)
    weight = np.ones(len(rows))
    if far_month_share < 1.0:
        far = ~near & ~is_event
        drawn = np.random.default_rng(seed).random(len(rows)) < far_month_share
        keep = ~far | drawn
        weight = np.where(far, 1.0 / far_month_share, 1.0)
    rows, months, is_event, weight = rows[keep], months[keep], is_event[keep], weight[keep]
    out = pd.DataFrame({"row": rows, "event": is_event.astype(np.int64), "weight": weight})
    for name in TIME_COVARIATES:
        out[name] = covariates[name][rows, months]
    return out


def window_months(frame: pd.DataFrame, config: Config) -> np.ndarray:
    """Position of each snapshot's renewal-risk window end T on the curve's month axis, such
    that `training.survival.survival_at(curves, position)` is S(T).

    T is `churn_window_end` when the frame has it, else as_of + max(days_to_renewal,
    min_risk_days), the label's rule from the features (a caller-sent /score row). The position
    is m - 1 + share for T inside month m, where share is the part of month m's hazard that
    falls by T: coverage ends at contract ends, so when the month holds renewal points (E, E +
    term, ...) share is the fraction of them on or before T (a T on the renewal itself counts
    the whole renewal month); otherwise the fraction of the month's days. Months are calendar
    months when as_of is known, else DAYS_PER_MONTH long.
    """
    n = len(frame)
    min_days = float(config.labels.min_risk_days)
    window_days = np.full(n, np.nan)
    has_as_of = "as_of" in frame.columns and pd.to_datetime(frame["as_of"]).notna().all()
    if "churn_window_end" in frame.columns and has_as_of:
        delta = pd.to_datetime(frame["churn_window_end"]) - pd.to_datetime(frame["as_of"])
        window_days = (delta.dt.total_seconds() / 86_400.0).to_numpy(np.float64)
    fallback = np.fmax(_column(frame, "days_to_renewal", n), min_days)
    window_days = np.maximum(np.where(np.isfinite(window_days), window_days, fallback), 0.0)
    if n == 0:
        return window_days
    horizon = int(np.ceil(window_days.max() / 28.0)) + 1
    if has_as_of:
        ends = month_ends(frame["as_of"], horizon)
        edges = ((ends - ends[:, :1]) / np.timedelta64(1, "D")).astype(np.float64)
    else:
        edges = np.broadcast_to(np.arange(horizon + 1) * DAYS_PER_MONTH, (n, horizon + 1))
    # Month k holds T when edges[k-1] < T <= edges[k] (month 1 also holds T = as_of).
    k = np.clip((edges[:, 1:] < window_days[:, None]).sum(axis=1) + 1, 1, horizon)
    rows = np.arange(n)
    low, high = edges[rows, k - 1], edges[rows, k]
    share = (window_days - low) / (high - low)
    d, period = _renewal_schedule(frame)
    start = np.where(k == 1, -0.5, low)
    in_month = _points_up_to(high, d, period) - _points_up_to(start, d, period)
    by_window_end = _points_up_to(window_days, d, period) - _points_up_to(start, d, period)
    share = np.where(in_month > 0, by_window_end / np.maximum(in_month, 1.0), share)
    return (k - 1) + np.clip(share, 0.0, 1.0)


def _renewal_schedule(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(days to the next renewal E, term in days; inf when unknown) per snapshot."""
    n = len(frame)
    term = _column(frame, "contract_term_days", n)
    return _column(frame, "days_to_renewal", n), np.where(
        np.isfinite(term) & (term > 0), term, np.inf
    )


def _points_up_to(x: np.ndarray, d: np.ndarray, period: np.ndarray) -> np.ndarray:
    """How many renewal points d, d + period, d + 2 period, ... are <= x (0 where d is NaN)."""
    with np.errstate(invalid="ignore"):
        count = np.where(x >= d, np.floor((x - d) / period) + 1, 0.0)
    return np.where(np.isinf(period), (x >= d).astype(np.float64), count)


def _column(frame: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in frame.columns:
        return np.full(n, np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float64)
