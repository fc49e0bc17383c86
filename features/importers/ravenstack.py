"""Import the RavenStack synthetic SaaS export (five CSV files) onto the input contract.

- accounts: account_id -> account_id, signup_date -> created_at, industry -> industry,
  country -> region, referral_source -> an extra attribute;
- subscriptions -> contracts, one row per monthly term (below): contract_id =
  `<subscription_id>-<term number>`, account_id, arr_amount -> arr, seats, plan_tier -> plan;
- feature_usage -> usage: account_id of the row's subscription, usage_date -> timestamp,
  feature_name -> event, usage_count -> count;
- support_tickets -> tickets: ticket_id, account_id, submitted_at -> created_at, closed_at (else
  submitted_at + resolution_time_hours) -> resolved_at, priority (medium -> normal),
  escalation_flag -> escalated, satisfaction_score -> csat;
- churn_events: account_id, churn_date -> the end of contract coverage (below).

Left out on purpose: the accounts' plan_tier, seats and is_trial are the state at export time
(the end of 2024), so as static attributes they would show every earlier snapshot the future;
the contracts carry plan and seats over time instead. The accounts' churn_flag and the
subscriptions' churn, upgrade and downgrade flags are outcomes, not attributes. account_name is
an identifier. Usage duration and error counts, the tickets' first response time and the churn
events' reasons and refunds have no place in the contract.

Churn is contract coverage ending, the only way the contract represents it. Coverage comes from
the subscriptions, cut by the churn events:

- Each subscription becomes monthly terms starting at its start_date. Cancelling ends coverage
  at the end of the running term (what was paid for), so every term's end_date is a regular
  billing date known when the term starts: an end date set to the churn day itself would show
  the churn in advance through days_to_renewal. Terms are monthly whatever billing_frequency
  says, because the export's own end dates ignore it (annual subscriptions end a median 35 days
  after they start); yearly terms would stretch every cancellation to a year of coverage, and
  the next subscription would always start within it, leaving no churn to learn or test.
- A subscription stops at its own end_date or at the account's first churn event after its
  start, whichever comes first: coverage ends with the term running at that date. Subscriptions
  starting on or after a churn event are a reactivation and start coverage again.
- A subscription still open at the end of the export runs until the term that covers the
  export's last day, so its last end_date lies in the future, like any contract's renewal date.

The churn events are the source of churn because the account flag has no date. The two disagree
(the README: 68% of flagged and 71% of unflagged accounts have a churn event); this and the other
defects of the export that the contract tables can no longer show (usage dated before its own
subscription started, usage after the churn event) go to `import_defects.json`, which
`retain validate` reports as warnings, beside its own checks of the contract tables (usage before
the account was created, activity after contract coverage ended, orphans).

`retain.toml` sets `[features] data_end` to the day after the export's last event date.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from features._defect import Defect
from features.importers._export import read_export, write_source

TERM_MONTHS = 1  # see the module docstring: the export's end dates ignore billing_frequency
PRIORITIES = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}
# README: "keep using the product more than 30 days after" the churn event.
_USAGE_AFTER_CHURN_DAYS = 30

_DATE = pa.Column("datetime64[ns]", coerce=True)
_OPTIONAL_DATE = pa.Column("datetime64[ns]", coerce=True, nullable=True)

_SCHEMAS = {
    "accounts": pa.DataFrameSchema(
        {
            "account_id": pa.Column(str, unique=True),
            "signup_date": _DATE,
            "industry": pa.Column(str, nullable=True),
            "country": pa.Column(str, nullable=True),
            "referral_source": pa.Column(str, nullable=True),
            "churn_flag": pa.Column(str, pa.Check.isin(["True", "False"]), nullable=True),
        }
    ),
    "subscriptions": pa.DataFrameSchema(
        {
            "subscription_id": pa.Column(str, unique=True),
            "account_id": pa.Column(str),
            "start_date": _DATE,
            "end_date": _OPTIONAL_DATE,
            "plan_tier": pa.Column(str, nullable=True),
            "seats": pa.Column(float, coerce=True, nullable=True),
            "arr_amount": pa.Column(float, coerce=True),
        }
    ),
    "feature_usage": pa.DataFrameSchema(
        {
            "usage_id": pa.Column(str),
            "subscription_id": pa.Column(str),
            "usage_date": _DATE,
            "feature_name": pa.Column(str),
            "usage_count": pa.Column(float, coerce=True, nullable=True),
        }
    ),
    "support_tickets": pa.DataFrameSchema(
        {
            "ticket_id": pa.Column(str),
            "account_id": pa.Column(str),
            "submitted_at": _DATE,
            "closed_at": _OPTIONAL_DATE,
            "resolution_time_hours": pa.Column(float, coerce=True, nullable=True),
            "priority": pa.Column(str, nullable=True),
            "satisfaction_score": pa.Column(float, coerce=True, nullable=True),
            "escalation_flag": pa.Column(str, nullable=True),
        }
    ),
    "churn_events": pa.DataFrameSchema(
        {"account_id": pa.Column(str), "churn_date": _DATE},
    ),
}


def import_ravenstack(folder: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Map the RavenStack CSV files in `folder` onto the contract in `out_dir`; returns it."""
    export = {
        name: read_export(Path(folder) / f"ravenstack_{name}.csv", schema)
        for name, schema in _SCHEMAS.items()
    }
    churn = export["churn_events"]
    data_end = _data_end(export)
    usage, usage_defects = _usage(export["feature_usage"], export["subscriptions"], churn)
    tables = {
        "accounts": _accounts(export["accounts"]),
        "contracts": _contracts(export["subscriptions"], churn, data_end),
        "usage": usage,
        "tickets": _tickets(export["support_tickets"]),
    }
    defects = [*_churn_flag_defects(export["accounts"], churn), *usage_defects]
    config = (
        "# Written by `retain import ravenstack`: the export ends on its last event date.\n"
        "[features]\n"
        f'data_end = "{data_end.date()}"\n'
    )
    return write_source(Path(out_dir), tables, config, defects)


def _data_end(export: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The day after the export's last event (closing times may run past it)."""
    latest = max(
        export["accounts"]["signup_date"].max(),
        export["subscriptions"]["start_date"].max(),
        export["feature_usage"]["usage_date"].max(),
        export["support_tickets"]["submitted_at"].max(),
        export["churn_events"]["churn_date"].max(),
    )
    return pd.Timestamp(latest).normalize() + pd.Timedelta(days=1)


def _accounts(accounts: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": accounts["account_id"],
            "created_at": accounts["signup_date"],
            "industry": accounts["industry"],
            "region": accounts["country"],
            "referral_source": accounts["referral_source"],
        }
    )


def _contracts(
    subscriptions: pd.DataFrame, churn: pd.DataFrame, data_end: pd.Timestamp
) -> pd.DataFrame:
    churn_dates = churn.groupby("account_id")["churn_date"].apply(sorted).to_dict()
    rows = []
    for sub in subscriptions.itertuples(index=False):
        stop = sub.end_date if pd.notna(sub.end_date) else None
        later_churns = [d for d in churn_dates.get(sub.account_id, ()) if d > sub.start_date]
        if later_churns and (stop is None or later_churns[0] < stop):
            stop = later_churns[0]
        # Terms run until one contains the stop date, or the export's last day when open.
        last_covered = stop if stop is not None else data_end - pd.Timedelta(days=1)
        number, start = 1, sub.start_date
        while True:
            end = sub.start_date + pd.DateOffset(months=TERM_MONTHS * number)
            rows.append(
                (
                    f"{sub.subscription_id}-{number:02d}",
                    sub.account_id,
                    start,
                    end,
                    sub.arr_amount,
                    sub.seats,
                    sub.plan_tier,
                )
            )
            if end > last_covered:
                break
            number, start = number + 1, end
    return pd.DataFrame(
        rows,
        columns=["contract_id", "account_id", "start_date", "end_date", "arr", "seats", "plan"],
    ).astype({"start_date": "datetime64[ns]", "end_date": "datetime64[ns]"})


def _usage(
    usage: pd.DataFrame, subscriptions: pd.DataFrame, churn: pd.DataFrame
) -> tuple[pd.DataFrame, list[Defect]]:
    joined = usage.merge(
        subscriptions[["subscription_id", "account_id", "start_date"]],
        on="subscription_id",
        how="left",
    )
    defects = []
    unknown = joined["account_id"].isna()
    if unknown.any():
        defects.append(
            Defect(
                "ravenstack_feature_usage.csv",
                "subscription_id",
                int(unknown.sum()),
                f"subscription_id={joined.loc[unknown, 'subscription_id'].iloc[0]}",
                "usage of an unknown subscription: no account to map it to; rows dropped",
                False,
            )
        )
    known = joined[~unknown]
    early = known[known["usage_date"] < known["start_date"]]
    if len(early):
        first = early.sort_values(["usage_date", "usage_id"]).iloc[0]
        defects.append(
            Defect(
                "ravenstack_feature_usage.csv",
                "usage_date",
                len(early),
                f"{first['usage_id']} on {first['usage_date'].date()} (subscription "
                f"{first['subscription_id']} starts {first['start_date'].date()})",
                f"usage dated before its own subscription started ({len(early) / len(known):.0%}"
                " of usage rows); mapped to the account as it is",
                False,
            )
        )
    defects += _usage_after_churn(known, churn)
    mapped = pd.DataFrame(
        {
            "account_id": known["account_id"],
            "timestamp": known["usage_date"],
            "event": known["feature_name"],
            "count": known["usage_count"],
        }
    ).reset_index(drop=True)
    return mapped, defects


def _usage_after_churn(usage: pd.DataFrame, churn: pd.DataFrame) -> list[Defect]:
    """Accounts using the product more than 30 days after a churn event (the README's measure)."""
    # The last event: usage after an earlier churn may follow a reactivation.
    last_churn = churn.groupby("account_id")["churn_date"].max().rename("churn_date")
    with_churn = usage.join(last_churn, on="account_id", how="inner")
    late = with_churn[
        with_churn["usage_date"]
        > with_churn["churn_date"] + pd.Timedelta(days=_USAGE_AFTER_CHURN_DAYS)
    ]
    if late.empty:
        return []
    accounts = late["account_id"].nunique()
    example = late.sort_values(["account_id", "usage_date"]).iloc[0]
    return [
        Defect(
            "ravenstack_feature_usage.csv",
            "usage_date",
            len(late),
            f"{example['account_id']} on {example['usage_date'].date()} (churned "
            f"{example['churn_date'].date()})",
            f"usage more than {_USAGE_AFTER_CHURN_DAYS} days after the account's last churn "
            f"event: {accounts} of {last_churn.size} accounts with a churn event "
            f"({accounts / last_churn.size:.0%})",
            False,
        )
    ]


def _tickets(tickets: pd.DataFrame) -> pd.DataFrame:
    from_hours = tickets["submitted_at"] + pd.to_timedelta(
        tickets["resolution_time_hours"], unit="h"
    )
    priority = tickets["priority"].str.strip().str.lower()
    return pd.DataFrame(
        {
            "ticket_id": tickets["ticket_id"],
            "account_id": tickets["account_id"],
            "created_at": tickets["submitted_at"],
            "resolved_at": tickets["closed_at"].fillna(from_hours),
            # Unknown priorities pass through for `retain validate` to report.
            "priority": priority.map(PRIORITIES).fillna(priority),
            "escalated": tickets["escalation_flag"],
            "csat": tickets["satisfaction_score"],
        }
    )


def _churn_flag_defects(accounts: pd.DataFrame, churn: pd.DataFrame) -> list[Defect]:
    """The account churn flag against the churn events (README: they disagree)."""
    flagged = accounts["churn_flag"].fillna("False").eq("True")
    has_event = accounts["account_id"].isin(set(churn["account_id"]))
    disagree = flagged != has_event
    if not disagree.any():
        return []
    flagged_with = int((flagged & has_event).sum())
    unflagged_with = int((~flagged & has_event).sum())
    without_event = accounts.loc[flagged & ~has_event, "account_id"]
    if len(without_event):
        example = f"account_id={without_event.iloc[0]} (flagged, no churn event)"
    else:
        example = f"account_id={accounts.loc[disagree, 'account_id'].iloc[0]} (unflagged, churned)"
    return [
        Defect(
            "ravenstack_accounts.csv",
            "churn_flag",
            int(disagree.sum()),
            example,
            f"churn flag and churn events disagree: {flagged_with} of {int(flagged.sum())} "
            f"flagged and {unflagged_with} of {int((~flagged).sum())} unflagged accounts have a "
            "churn event; churn here follows the dated events, the flag is dropped",
            False,
        )
    ]
