"""Turn a simulated chunk into Arrow tables with the input contract's columns and types.

Ids are strings, timestamps timezone-naive (microseconds). Repeated strings (account ids in the
usage table, event names) are written dictionary-encoded: the files stay small and writing is
fast, and readers (pandas, DuckDB) still see plain strings because the Arrow schema is not
stored in the files.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from features.contract import TABLES
from simulator import _handoffs, _plays
from simulator import _params as P
from simulator._calendar import Window
from simulator._engine import ACTIVITY_TYPES, CONTACT_ROLES, PRIORITIES, SURVEY_KINDS, ChunkResult
from simulator._truth import SPINES, SURVIVAL_MONTHS, plays_truth_rows, truth_rows

_ARROW_TYPES = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
}
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
# Columns with few distinct values per chunk, written dictionary-encoded.
_DICTIONARY_COLUMNS = frozenset(
    {
        "account_id",
        "segment",
        "industry",
        "region",
        "csm_id",
        "plan",
        "event",
        "user_id",
        "priority",
        "role",
        "type",
        "milestone",
        "kind",
        "spine",
    }
)


def schema(table: str) -> pa.Schema:
    if table == "truth":
        columns = [
            ("account_id", "string"),
            ("as_of", "timestamp"),
            ("spine", "string"),
            ("churn_probability", "float"),
            ("expansion_probability", "float"),
            *((f"survival_{t}m", "float") for t in SURVIVAL_MONTHS),
        ]
    elif table == "plays_truth":
        columns = PLAYS_TRUTH_COLUMNS
    elif table == "handoffs_truth":
        columns = _handoffs.TRUTH_COLUMNS
    else:
        columns = [(c.name, c.type) for c in TABLES[table].columns]
    return pa.schema(
        [
            (name, _DICTIONARY if name in _DICTIONARY_COLUMNS else _ARROW_TYPES[kind])
            for name, kind in columns
        ]
    )


# plays_truth.parquet (not a contract table): per play row, the snapshot whose label it is
# evaluated on and the oracle's probabilities with and without the play's effect.
PLAYS_TRUTH_COLUMNS: list[tuple[str, str]] = [
    ("account_id", "string"),
    ("play", "string"),
    ("started_at", "timestamp"),
    ("arm", "string"),
    ("as_of", "timestamp"),
    ("churn_probability_with", "float"),
    ("churn_probability_without", "float"),
    ("expansion_probability_with", "float"),
    ("expansion_probability_without", "float"),
]


def _coded(codes: np.ndarray, names: tuple[str, ...] | np.ndarray) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(names), type=pa.string())
    )


def _minutes(days: np.ndarray) -> np.ndarray:
    return np.floor(days * 1440.0) / 1440.0


def _numbered(ids: np.ndarray, account: np.ndarray, tag: str) -> pa.Array:
    """`<account id>-<tag><n>` numbered within each account (rows sorted by account)."""
    first = np.searchsorted(account, account, side="left")
    number = np.arange(len(account)) - first
    return pa.array([f"{ids[a]}-{tag}{k:03d}" for a, k in zip(account, number, strict=True)])


def _ordered(columns: dict[str, np.ndarray], *keys: str) -> dict[str, np.ndarray]:
    order = np.lexsort(tuple(columns[k] for k in reversed(keys)))
    return {name: values[order] for name, values in columns.items()}


def chunk_tables(
    result: ChunkResult, window: Window, *, horizon_days: int, lead_days: int, min_risk_days: int
) -> dict[str, pa.Table]:
    pop = result.population
    ids = pop.ids
    tables: dict[str, pa.Table] = {}

    def account_ids(account: np.ndarray) -> pa.DictionaryArray:
        return _coded(account, ids)

    tables["accounts"] = pa.table(
        {
            "account_id": account_ids(np.arange(len(pop))),
            "created_at": window.dates(pop.created),
            "segment": _coded(pop.segment, P.SEGMENTS),
            "industry": _coded(pop.industry, P.INDUSTRIES),
            "region": _coded(pop.region, P.REGIONS),
            "employees": pop.employees.astype(np.float64),
            "csm_id": pa.array(pop.csm).dictionary_encode(),
        },
        schema=schema("accounts"),
    )

    contracts = _ordered(result.columns("contracts"), "account", "start", "addon")
    tables["contracts"] = pa.table(
        {
            "contract_id": _numbered(ids, contracts["account"], "c"),
            "account_id": account_ids(contracts["account"]),
            "start_date": window.dates(contracts["start"]),
            "end_date": window.dates(contracts["end"]),
            "arr": contracts["arr"].astype(np.float64),
            "seats": contracts["seats"].astype(np.float64),
            "plan": pa.array(contracts["plan"]).dictionary_encode(),
        },
        schema=schema("contracts"),
    )

    usage = result.columns("usage")
    users = result.users
    user_names = np.array(
        [f"{ids[a]}-u{s:03d}" for a, s in zip(users.account, users.slot, strict=True)], dtype=object
    )
    tables["usage"] = pa.table(
        {
            "account_id": account_ids(users.account[usage["user"]]),
            "timestamp": window.dates(usage["day"]),
            "event": _coded(usage["event"], P.EVENTS),
            "user_id": _coded(usage["user"], user_names),
            "count": usage["count"],
        },
        schema=schema("usage"),
    )

    tickets = _ordered(result.columns("tickets"), "account", "created")
    tables["tickets"] = pa.table(
        {
            "ticket_id": _numbered(ids, tickets["account"], "t"),
            "account_id": account_ids(tickets["account"]),
            "created_at": window.dates(_minutes(tickets["created"])),
            "resolved_at": _optional_dates(window, _minutes(tickets["resolved"])),
            "priority": _coded(tickets["priority"], PRIORITIES),
            "escalated": tickets["escalated"],
            # Unanswered surveys are nulls, not NaN (SQL engines treat NaN as a value).
            "csat": pa.array(tickets["csat"], from_pandas=True),
        },
        schema=schema("tickets"),
    )

    contacts = _ordered(result.columns("contacts"), "account", "added", "role")
    tables["contacts"] = pa.table(
        {
            "contact_id": _numbered(ids, contacts["account"], "k"),
            "account_id": account_ids(contacts["account"]),
            "role": _coded(contacts["role"], CONTACT_ROLES),
            "added_at": window.dates(contacts["added"]),
            "left_at": _optional_dates(window, contacts["left"]),
        },
        schema=schema("contacts"),
    )

    activities = _ordered(result.columns("activities"), "account", "time")
    tables["activities"] = pa.table(
        {
            "account_id": account_ids(activities["account"]),
            "timestamp": window.dates(_minutes(activities["time"])),
            "type": _coded(activities["type"], ACTIVITY_TYPES),
        },
        schema=schema("activities"),
    )

    milestones = result.columns("milestones")
    tables["milestones"] = pa.table(
        {
            "account_id": account_ids(milestones["account"]),
            "milestone": _coded(milestones["milestone"], P.MILESTONES),
            "due_date": window.dates(milestones["due"]),
            "achieved_at": _optional_dates(window, milestones["achieved"]),
        },
        schema=schema("milestones"),
    )

    surveys = _ordered(result.columns("surveys"), "account", "time")
    tables["surveys"] = pa.table(
        {
            "account_id": account_ids(surveys["account"]),
            "timestamp": window.dates(_minutes(surveys["time"])),
            "kind": _coded(surveys["kind"], SURVEY_KINDS),
            "score": surveys["score"].astype(np.float64),
        },
        schema=schema("surveys"),
    )

    truth = truth_rows(
        result,
        result.columns("contracts"),
        window,
        horizon_days=horizon_days,
        lead_days=lead_days,
        min_risk_days=min_risk_days,
    )
    truth = _ordered(truth, "account", "day", "spine")
    tables["truth"] = pa.table(
        {
            "account_id": account_ids(truth["account"]),
            "as_of": window.dates(truth["day"]),
            "spine": _coded(truth["spine"], SPINES),
            "churn_probability": truth["churn_probability"],
            "expansion_probability": truth["expansion_probability"],
            **{f"survival_{t}m": truth[f"survival_{t}m"] for t in SURVIVAL_MONTHS},
        },
        schema=schema("truth"),
    )
    tables.update(
        _plays_tables(result, window, horizon_days=horizon_days, min_risk_days=min_risk_days)
    )
    return tables


def _plays_tables(
    result: ChunkResult, window: Window, *, horizon_days: int, min_risk_days: int
) -> dict[str, pa.Table]:
    """The plays table (contract) and plays_truth (the true effect of each row)."""
    ids, csm = result.population.ids, result.population.csm
    if "plays" in result.parts:
        plays = _ordered(result.columns("plays"), "account", "start")
    else:
        plays = {
            "account": np.zeros(0, np.int64),
            "play": np.zeros(0, np.int8),
            "start": np.zeros(0, np.int64),
            "closed": np.zeros(0),
            "arm": np.zeros(0, np.int8),
            "assignment": np.zeros(0, np.int8),
        }
    plays_table = pa.table(
        {
            "account_id": _coded(plays["account"], ids),
            "play": pa.array([_plays.NAMES[c] for c in plays["play"]], type=pa.string()),
            "started_at": window.dates(plays["start"]),
            "owner": pa.array([str(csm[a]) for a in plays["account"]], type=pa.string()),
            "arm": pa.array([_plays.ARMS[c] for c in plays["arm"]], type=pa.string()),
            "assignment": pa.array(
                [_plays.ASSIGNMENTS[c] for c in plays["assignment"]], type=pa.string()
            ),
            "closed_at": _optional_dates(window, plays["closed"].astype(np.float64)),
            "note": pa.array([_plays.PLAYS[c].note for c in plays["play"]], type=pa.string()),
        },
        schema=schema("plays"),
    )
    truth = plays_truth_rows(
        result,
        result.columns("contracts"),
        window,
        horizon_days=horizon_days,
        min_risk_days=min_risk_days,
    )
    truth = _ordered(truth, "account", "start") if len(truth["account"]) else truth
    truth_table = pa.table(
        {
            "account_id": _coded(truth["account"].astype(np.int64), ids),
            "play": pa.array([_plays.NAMES[int(c)] for c in truth["play"]], type=pa.string()),
            "started_at": window.dates(truth["start"].astype(np.int64)),
            "arm": pa.array([_plays.ARMS[int(c)] for c in truth["arm"]], type=pa.string()),
            "as_of": window.dates(truth["snapshot"].astype(np.int64)),
            "churn_probability_with": truth["churn_with"],
            "churn_probability_without": truth["churn_without"],
            "expansion_probability_with": truth["expansion_with"],
            "expansion_probability_without": truth["expansion_without"],
        },
        schema=schema("plays_truth"),
    )
    return {"plays": plays_table, "plays_truth": truth_table}


def _optional_dates(window: Window, days: np.ndarray) -> pa.Array:
    missing = np.isnan(days)
    return pa.array(
        window.dates(np.where(missing, 0.0, days)), mask=missing, type=pa.timestamp("us")
    )
