"""Checks across tables, run as SQL on the canonical (typed) views.

All of them are warnings: an orphan row or a usage event outside any contract does not make the
results wrong, it is just data the features cannot use or should not trust.
"""

from __future__ import annotations

from collections.abc import Iterator

from features._checks_sql import CheckFailed, fetch_one, quote
from features._defect import Defect
from features.contract import TABLES
from features.source import DataSource

# Usage or CRM activity this long after the account's contract coverage ended means a churned
# account still active (the label's grace period: a renewal up to 30 days late is no churn).
ACTIVE_AFTER_COVERAGE_DAYS = 30
# The tables whose rows show the customer using the product or talking to the vendor.
_ACTIVITY_TABLES = ("usage", "activities")
# A planned milestone may be due before the account existed in this system; no check there.
_DATED_BY_ACCOUNT = ("contracts", "usage", "tickets", "contacts", "activities", "surveys")


def _day(expression: str) -> str:
    return f"strftime({expression}, '%Y-%m-%d')"


def cross_table_defects(source: DataSource) -> list[Defect]:
    if not source.has("accounts"):
        return []
    defects: list[Defect] = []
    for name in source.tables:
        if name == "accounts":
            continue
        try:
            defects += _account_defects(source, name)
            if name in _ACTIVITY_TABLES and source.has("contracts"):
                defects += _coverage_defects(source, name)
        except CheckFailed as error:
            defects.append(Defect(name, "account_id", 0, "", f"cannot check: {error}", True))
    if source.has("contracts"):
        try:
            defects += _accounts_without_contracts(source)
        except CheckFailed as error:
            defects.append(Defect("contracts", "account_id", 0, "", f"cannot check: {error}", True))
    return defects


def _account_defects(source: DataSource, name: str) -> Iterator[Defect]:
    time = TABLES[name].event_time if name in _DATED_BY_ACCOUNT else None
    orphan = "acc.account_id IS NULL"
    early = f"t.{quote(time)} < acc.created" if time else "FALSE"
    early_example = (
        f"t.account_id || ' on ' || {_day('t.' + quote(time))} || "
        f"' (created ' || {_day('acc.created')} || ')'"
        if time
        else "NULL"
    )
    row = fetch_one(
        source.connection,
        f"""
        WITH acc AS (
            SELECT account_id, min(created_at) AS created FROM accounts
            WHERE account_id IS NOT NULL GROUP BY account_id
        )
        SELECT
            count(*) FILTER (WHERE {orphan}) AS orphan_rows,
            count(DISTINCT t.account_id) FILTER (WHERE {orphan}) AS orphan_accounts,
            min(t.account_id) FILTER (WHERE {orphan}) AS orphan_example,
            count(*) FILTER (WHERE {early}) AS early_rows,
            count(DISTINCT t.account_id) FILTER (WHERE {early}) AS early_accounts,
            min({early_example}) FILTER (WHERE {early}) AS early_example
        FROM {name} AS t LEFT JOIN acc ON acc.account_id = t.account_id
        WHERE t.account_id IS NOT NULL
        """,
    )
    if row["orphan_rows"]:
        yield Defect(
            name,
            "account_id",
            int(row["orphan_rows"]),
            f"account_id={row['orphan_example']}",
            f"orphan rows: {row['orphan_accounts']} account(s) not in accounts; rows ignored",
            False,
        )
    if row["early_rows"]:
        yield Defect(
            name,
            time or "",
            int(row["early_rows"]),
            str(row["early_example"]),
            f"dated before the account was created ({row['early_accounts']} account(s))",
            False,
        )


def _coverage_defects(source: DataSource, name: str) -> Iterator[Defect]:
    time = quote(TABLES[name].event_time or "timestamp")
    grace = f"INTERVAL {ACTIVE_AFTER_COVERAGE_DAYS} DAY"
    after = f"ev.ts >= i.e + {grace}"
    before = "ev.ts < f.first_start"
    row = fetch_one(
        source.connection,
        f"""
        WITH c AS (
            SELECT account_id, start_date AS s, end_date AS e FROM contracts
            WHERE account_id IS NOT NULL AND start_date IS NOT NULL AND end_date >= start_date
        ),
        reached AS (
            SELECT *, max(e) OVER (
                PARTITION BY account_id ORDER BY s, e
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ) AS reach
            FROM c
        ),
        numbered AS (
            SELECT *, sum(CASE WHEN reach IS NULL OR s > reach THEN 1 ELSE 0 END) OVER (
                PARTITION BY account_id ORDER BY s, e ROWS UNBOUNDED PRECEDING
            ) AS island
            FROM reached
        ),
        islands AS (
            SELECT account_id, min(s) AS s, max(e) AS e FROM numbered GROUP BY account_id, island
        ),
        firsts AS (SELECT account_id, min(s) AS first_start FROM islands GROUP BY account_id),
        ev AS (
            SELECT account_id, {time} AS ts FROM {name}
            WHERE account_id IS NOT NULL AND {time} IS NOT NULL
        )
        SELECT
            count(*) FILTER (WHERE {before}) AS before_rows,
            count(DISTINCT ev.account_id) FILTER (WHERE {before}) AS before_accounts,
            min(ev.account_id || ' on ' || {_day("ev.ts")} || ' (first contract '
                || {_day("f.first_start")} || ')') FILTER (WHERE {before}) AS before_example,
            count(*) FILTER (WHERE {after}) AS after_rows,
            count(DISTINCT ev.account_id) FILTER (WHERE {after}) AS after_accounts,
            min(ev.account_id || ' on ' || {_day("ev.ts")} || ' (coverage ended '
                || {_day("i.e")} || ')') FILTER (WHERE {after}) AS after_example
        FROM ev JOIN firsts AS f ON f.account_id = ev.account_id
        ASOF LEFT JOIN islands AS i ON i.account_id = ev.account_id AND ev.ts >= i.s
        """,
    )
    column = TABLES[name].event_time or ""
    if row["before_rows"]:
        yield Defect(
            name,
            column,
            int(row["before_rows"]),
            str(row["before_example"]),
            f"dated before the account's first contract ({row['before_accounts']} account(s))",
            False,
        )
    if row["after_rows"]:
        yield Defect(
            name,
            column,
            int(row["after_rows"]),
            str(row["after_example"]),
            f"activity more than {ACTIVE_AFTER_COVERAGE_DAYS} days after contract coverage "
            f"ended: churned accounts still active ({row['after_accounts']} account(s))",
            False,
        )


def _accounts_without_contracts(source: DataSource) -> Iterator[Defect]:
    row = fetch_one(
        source.connection,
        """
        SELECT count(DISTINCT a.account_id) AS rows, min(a.account_id) AS example
        FROM accounts AS a
        WHERE a.account_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM contracts AS c WHERE c.account_id = a.account_id)
        """,
    )
    if row["rows"]:
        yield Defect(
            "accounts",
            "account_id",
            int(row["rows"]),
            f"account_id={row['example']}",
            "accounts without any contract: never scored, never labelled",
            False,
        )
