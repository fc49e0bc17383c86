"""Import IBM's Telco Customer Churn sample (one snapshot, no events) onto the input contract.

The export is one row per customer at one moment, with tenure in months and a Churn flag. The
mapping places that moment at the snapshot date D (2024-01-01; any fixed date works) and turns
the churn flag into contract coverage, the only way the contract represents churn:

- customerID -> accounts.account_id;
- tenure (months) -> accounts.created_at = D - tenure months (tenure 0: D - 1 day, so a new
  customer exists before the snapshot);
- every other column except customerID, Churn, tenure and TotalCharges -> an extra accounts
  column (a static attribute), named in snake_case: gender, senior_citizen, partner, dependents,
  phone_service, multiple_lines, internet_service, online_security, online_backup,
  device_protection, tech_support, streaming_tv, streaming_movies, contract, paperless_billing,
  payment_method, monthly_charges;
- MonthlyCharges -> contracts.arr = 12 x MonthlyCharges;
- Contract (Month-to-month, One year, Two year) -> contracts.plan, with terms of 1, 12 or 24
  months;
- Churn -> churners get no contract after the current term, non-churners a renewal.

Contracts, reconstructed from tenure: every customer's current term ends at D + 15 days (the next
billing cycle), whatever the churn flag, so the contract visible at D has the same end-date
distribution for churners and non-churners (a churner's term ending earlier would leak the label
through days_to_renewal). Earlier terms of the same plan and ARR go back in steps of the term
length to created_at (the first one clipped there); the export has no plan history, so every
customer is assumed to have kept the plan they hold at the snapshot. Non-churners get a renewal
term starting at D + 15 days: it starts after D, so no feature at D sees it, but the label does.
The export says only that the customer stayed, not for how long, so that renewal runs past the
end of the label window (one term of a month-to-month plan would end inside the horizon and turn
every staying month-to-month customer into a churner).

TotalCharges is left out: it is about tenure x MonthlyCharges and blank for tenure 0. `retain.toml`
sets `[features] as_of_dates = ["D"]` (score the snapshot only) and `data_end` = D + horizon +
grace + 1 day (the label defaults), so every churn label is known.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from features.importers._export import read_export, write_source
from retain.config import LabelsConfig

SNAPSHOT_DATE = pd.Timestamp("2024-01-01")
_LABELS = LabelsConfig()
# Labels are known once the horizon and grace after the snapshot have passed.
DATA_END = SNAPSHOT_DATE + pd.Timedelta(days=_LABELS.horizon_days + _LABELS.grace_days + 1)
# Every current term ends half a billing cycle after the snapshot: the next invoice date.
CURRENT_TERM_END = SNAPSHOT_DATE + pd.Timedelta(days=15)
TERM_MONTHS = {"Month-to-month": 1, "One year": 12, "Two year": 24}
# Known only at the end of the relationship, or derived from tenure (see the module docstring).
_NOT_ATTRIBUTES = ("customerID", "Churn", "tenure", "TotalCharges")

_SCHEMA = pa.DataFrameSchema(
    {
        "customerID": pa.Column(str, unique=True),
        "tenure": pa.Column(int, pa.Check.in_range(0, 1200), coerce=True),
        "Contract": pa.Column(str, pa.Check.isin(list(TERM_MONTHS))),
        "MonthlyCharges": pa.Column(float, pa.Check.ge(0), coerce=True),
        "Churn": pa.Column(str, pa.Check.isin(["Yes", "No"])),
    },
    strict=False,
)


def import_telco(csv_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Map the Telco CSV onto the contract in `out_dir`; returns `out_dir`."""
    telco = read_export(Path(csv_path), _SCHEMA)
    accounts = _accounts(telco)
    contracts = _contracts(telco, accounts["created_at"])
    config = (
        "# Written by `retain import telco`: one snapshot, labels known by data_end.\n"
        "[features]\n"
        f'as_of_dates = ["{SNAPSHOT_DATE.date()}"]\n'
        f'data_end = "{DATA_END.date()}"\n'
    )
    return write_source(
        Path(out_dir), {"accounts": accounts, "contracts": contracts}, config, defects=[]
    )


def snake_case(name: str) -> str:
    """`StreamingTV` -> `streaming_tv`, `customerID` -> `customer_id`."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    return re.sub(r"\W+", "_", spaced).strip("_").lower()


def _accounts(telco: pd.DataFrame) -> pd.DataFrame:
    tenure = telco["tenure"].astype(int)
    created = pd.Series(
        [SNAPSHOT_DATE - pd.DateOffset(months=int(m)) for m in tenure], index=telco.index
    )
    created = created.where(tenure > 0, SNAPSHOT_DATE - pd.Timedelta(days=1))
    attributes = telco.drop(columns=list(_NOT_ATTRIBUTES))
    attributes.columns = [snake_case(c) for c in attributes.columns]
    return pd.concat(
        [
            pd.DataFrame(
                {"account_id": telco["customerID"], "created_at": pd.to_datetime(created)}
            ),
            attributes.astype(str),
        ],
        axis=1,
    ).reset_index(drop=True)


def _contracts(telco: pd.DataFrame, created_at: pd.Series) -> pd.DataFrame:
    """Every customer's terms, the first clipped at created_at, and the non-churners' renewals.

    Term k (k = 0, 1, ...) ends k terms before CURRENT_TERM_END; the renewal is k = -1.
    """
    customers = pd.DataFrame(
        {
            "account_id": telco["customerID"].to_numpy(),
            "created": pd.to_datetime(created_at).to_numpy(),
            "months": telco["Contract"].map(TERM_MONTHS).astype(int).to_numpy(),
            "arr": (12.0 * telco["MonthlyCharges"]).round(2).to_numpy(),
            "plan": telco["Contract"].to_numpy(),
            "renews": (telco["Churn"] == "No").to_numpy(),
        }
    )
    span_months = (CURRENT_TERM_END.year - customers["created"].dt.year) * 12 + (
        CURRENT_TERM_END.month - customers["created"].dt.month
    )
    # k = -1 is the renewal; one extra k past the span absorbs partial months, filtered below.
    customers["k"] = [
        list(range(-1, n // m + 2)) for n, m in zip(span_months, customers["months"], strict=True)
    ]
    terms = customers.explode("k", ignore_index=True)
    terms["k"] = terms["k"].astype(int)
    terms["end_date"] = _months_before_term_end(terms["k"] * terms["months"])
    terms["start_date"] = _months_before_term_end((terms["k"] + 1) * terms["months"])
    keep = (terms["end_date"] > terms["created"]) & ((terms["k"] >= 0) | terms["renews"])
    terms = terms[keep].copy()
    renewal = terms["k"] == -1
    terms.loc[renewal, "end_date"] = terms.loc[renewal, "end_date"].clip(
        lower=DATA_END + pd.DateOffset(years=1)
    )
    terms["start_date"] = terms["start_date"].where(
        terms["start_date"] > terms["created"], terms["created"]
    )
    terms = terms.sort_values(["account_id", "start_date"], kind="stable", ignore_index=True)
    terms.insert(
        0, "contract_id", terms["account_id"] + "-" + terms["start_date"].dt.strftime("%Y%m%d")
    )
    return terms[["contract_id", "account_id", "start_date", "end_date", "arr", "plan"]]


def _months_before_term_end(months: pd.Series) -> pd.Series:
    """CURRENT_TERM_END moved back by `months` (negative: forward), keeping its day of month."""
    month = pd.Period(CURRENT_TERM_END, freq="M").ordinal - months.to_numpy()
    first = pd.PeriodIndex.from_ordinals(month, freq="M").to_timestamp()
    offset = pd.Timedelta(days=CURRENT_TERM_END.day - 1)
    return pd.Series(first + offset, index=months.index)
