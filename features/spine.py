"""Snapshot spines: which (account_id, as_of) pairs get a feature row.

- `monthly`: every account with a contract in force (start_date < as_of <= end_date, the one
  rule of `features.windows.in_force_at`) at each month start, from its first contract up to the
  data's end (exclusive);
- `renewals`: each distinct (account, contract end E) scored at as_of = E - lead_days, when that
  contract is in force then (a term starting on or after as_of is unknown at as_of) and as_of is
  before the data's end;
- `explicit`: every account with a contract in force at each given date.

Neither spine starts before `history_days` after the event history begins (`first_snapshot_date`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from features.source import DataSource
from features.windows import days, in_force_at
from retain.config import Config
from retain.errors import RetainError

SPINES = ("monthly", "renewals", "both")


def parse_dates(values: Sequence[date | str | pd.Timestamp]) -> list[pd.Timestamp]:
    """Dates as midnight timestamps; a clear error for anything that is not a date."""
    parsed = []
    for value in values:
        try:
            parsed.append(pd.Timestamp(value).normalize())
        except (TypeError, ValueError) as error:
            raise RetainError(f"--as-of {value!r} is not a date (expected YYYY-MM-DD).") from error
    return sorted(set(parsed))


def _contracts(source: DataSource, account_ids: Sequence[str] | None) -> ir.Table:
    contracts = source.table("contracts").select("account_id", "start_date", "end_date")
    if account_ids is not None:
        contracts = contracts.filter(contracts.account_id.isin(list(account_ids)))
    return contracts


def _active_at(contracts: ir.Table, dates: list[pd.Timestamp], spine_name: str) -> ir.Table:
    """Every account with a contract in force at one of `dates`."""
    if not dates:
        return _empty()
    calendar = ibis.memtable(pd.DataFrame({"as_of": pd.to_datetime(dates)}))
    joined = contracts.join(calendar, in_force_at(contracts, calendar.as_of))
    return joined.select("account_id", "as_of", spine=ibis.literal(spine_name)).distinct()


def _empty() -> ir.Table:
    frame = pd.DataFrame(
        {
            "account_id": pd.Series([], dtype="string"),
            "as_of": pd.Series([], dtype="datetime64[ns]"),
            "spine": pd.Series([], dtype="string"),
        }
    )
    return ibis.memtable(frame)


def first_snapshot_date(source: DataSource, config: Config) -> pd.Timestamp | None:
    """The earliest as_of a spine may use: a full lookback after the event history begins.

    None when the source has no event tables (snapshot-only data), where nothing is cut.
    """
    if source.data_start is None:
        return None
    return source.data_start + pd.Timedelta(days=config.features.history_days)


def monthly_spine(
    source: DataSource, config: Config, account_ids: Sequence[str] | None = None
) -> ir.Table:
    contracts = _contracts(source, account_ids)
    first = contracts.start_date.min().to_pandas()
    if first is None or pd.isna(first):
        return _empty()
    earliest = first_snapshot_date(source, config)
    month_starts = pd.date_range(
        pd.Timestamp(first).to_period("M").to_timestamp(), source.data_end, freq="MS"
    )
    dates = [m for m in month_starts if m < source.data_end and (earliest is None or m >= earliest)]
    return _active_at(contracts, dates, "monthly")


def renewals_spine(
    source: DataSource, config: Config, account_ids: Sequence[str] | None = None
) -> ir.Table:
    contracts = _contracts(source, account_ids)
    scored = contracts.mutate(
        as_of=contracts.end_date.truncate("D") - days(config.labels.lead_days)
    )
    # Only terms already signed when the renewal window opens: a term that starts after as_of
    # is unknown then, and scoring its end would reveal that the account survived until it began
    # (monthly terms would leak about two months of survival).
    ends = scored.filter(scored.start_date < scored.as_of).select("account_id", "as_of").distinct()
    ends = ends.filter(ends.as_of < ibis.literal(source.data_end.to_pydatetime()))
    earliest = first_snapshot_date(source, config)
    if earliest is not None:
        ends = ends.filter(ends.as_of >= ibis.literal(earliest.to_pydatetime()))
    other = contracts.rename(_account_id="account_id")
    active = ends.join(
        other,
        [ends.account_id == other._account_id, in_force_at(other, ends.as_of)],
    )
    return active.select("account_id", "as_of", spine=ibis.literal("renewals")).distinct()


def explicit_spine(
    source: DataSource,
    dates: Sequence[date | str | pd.Timestamp],
    account_ids: Sequence[str] | None = None,
) -> ir.Table:
    return _active_at(_contracts(source, account_ids), parse_dates(dates), "explicit")


def snapshot_spine(
    source: DataSource,
    config: Config,
    *,
    spine: str = "monthly",
    as_of: Sequence[date | str | pd.Timestamp] | None = None,
    account_ids: Sequence[str] | None = None,
) -> ir.Table:
    """The spine as an Ibis table of `account_id`, `as_of`, `spine`."""
    if as_of:
        return explicit_spine(source, as_of, account_ids)
    if spine == "monthly":
        return monthly_spine(source, config, account_ids)
    if spine == "renewals":
        return renewals_spine(source, config, account_ids)
    if spine == "both":
        monthly = monthly_spine(source, config, account_ids)
        return monthly.union(renewals_spine(source, config, account_ids))
    raise RetainError(f"Unknown spine {spine!r}; choose one of {', '.join(SPINES)}.")
