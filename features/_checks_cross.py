"""Checks across tables, run as SQL on the typed tables.

Orphan rows (no such account) block when they are more than `max_orphan_share` of a table's rows
(default 20%, `[features] max_orphan_share`): then the table's features are silently missing for
most accounts (usage account_id 7 against accounts "0007" gave zero events for every snapshot),
so every result is wrong. A few orphans are a warning. Either way the message says when the
orphan ids match account ids once their type or zero padding is ignored (7, 7.0 and "0007"),
the usual cause.

The other checks are warnings: a usage event outside any contract does not make the results
wrong, it is just data the features should not trust. Each query first aggregates a table per
account (a hash aggregate, cheap even over 100M usage rows) and builds its example from the
per-account rows only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from features._checks_sql import CheckFailed, fetch_one, literal, quote, raw_types, typed
from features._defect import Defect
from features.contract import TABLES
from features.source import DataSource

# Usage or CRM activity this long after the account's contract coverage ended means a churned
# account still active (the label's grace period: a renewal up to 30 days late is no churn).
ACTIVE_AFTER_COVERAGE_DAYS = 30
# The tables whose rows show the customer using the product or talking to the vendor.
_ACTIVITY_TABLES = ("usage", "activities")
# A planned milestone may be due before the account existed in this system; no check there.
_DATED_BY_ACCOUNT = (
    "contracts",
    "usage",
    "tickets",
    "contacts",
    "activities",
    "surveys",
    "plays",
    "handoffs",
)


# The share of a table's rows above which orphans block (the default of the config field).
DEFAULT_MAX_ORPHAN_SHARE = 0.2


def _day(expression: str) -> str:
    return f"strftime({expression}, '%Y-%m-%d')"


def _normalized_id(expression: str) -> str:
    """An id with its type and zero padding ignored: 7, 7.0, "7" and "0007" all become "7"."""
    unpadded = f"ltrim(regexp_replace(trim({expression}), '\\.0+$', ''), '0')"
    return f"coalesce(nullif({unpadded}, ''), '0')"


def cross_table_defects(
    source: DataSource, max_orphan_share: float = DEFAULT_MAX_ORPHAN_SHARE
) -> list[Defect]:
    if not source.has("accounts"):
        return []
    defects: list[Defect] = []
    for name in source.tables:
        if name == "accounts":
            continue
        try:
            defects += _account_defects(source, name, max_orphan_share)
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


def _accounts(source: DataSource) -> str:
    return typed(source.connection, TABLES["accounts"], ("account_id", "created_at"))


def _dated(source: DataSource, name: str, time: str) -> str:
    return typed(source.connection, TABLES[name], ("account_id", time))


def _account_defects(source: DataSource, name: str, max_orphan_share: float) -> Iterator[Defect]:
    time = TABLES[name].event_time if name in _DATED_BY_ACCOUNT else None
    rows = (
        _dated(source, name, time)
        if time
        else typed(source.connection, TABLES[name], ("account_id",))
    )
    early = f"t.{quote(time)} < acc.created" if time else "FALSE"
    first_early = f"min(t.{quote(time)}) FILTER (WHERE {early})" if time else "NULL"
    row = fetch_one(
        source.connection,
        f"""
        WITH acc AS (
            SELECT account_id, min(created_at) AS created FROM {_accounts(source)}
            WHERE account_id IS NOT NULL GROUP BY account_id
        ),
        acc_keys AS (SELECT DISTINCT {_normalized_id("account_id")} AS k FROM acc),
        per_account AS (
            SELECT t.account_id, bool_or(acc.account_id IS NULL) AS orphan, count(*) AS n,
                   count(*) FILTER (WHERE {early}) AS early_n, {first_early} AS early_at,
                   min(acc.created) AS created
            FROM {rows} AS t LEFT JOIN acc ON acc.account_id = t.account_id
            WHERE t.account_id IS NOT NULL
            GROUP BY t.account_id
        ),
        orphans AS (
            SELECT p.account_id, p.n, k.k IS NOT NULL AS matches_when_normalized
            FROM per_account AS p
            LEFT JOIN acc_keys AS k ON k.k = {_normalized_id("p.account_id")}
            WHERE p.orphan
        )
        SELECT
            (SELECT sum(n) FROM per_account) AS rows,
            (SELECT sum(n) FROM orphans) AS orphan_rows,
            (SELECT count(*) FROM orphans) AS orphan_accounts,
            (SELECT min(account_id) FROM orphans) AS orphan_example,
            (SELECT count(*) FROM orphans WHERE matches_when_normalized) AS normalized_matches,
            (SELECT min(account_id) FROM orphans WHERE matches_when_normalized) AS matched_example,
            sum(early_n) AS early_rows,
            count(*) FILTER (WHERE early_n > 0) AS early_accounts,
            min(account_id || ' on ' || {_day("early_at")} || ' (created ' || {_day("created")}
                || ')') FILTER (WHERE early_n > 0) AS early_example
        FROM per_account
        """,
    )
    if row["orphan_rows"]:
        yield _orphan_defect(source, name, row, max_orphan_share)
    if row["early_rows"]:
        yield Defect(
            name,
            time or "",
            int(row["early_rows"]),
            str(row["early_example"]),
            f"dated before the account was created ({row['early_accounts']} account(s))",
            False,
        )


def _orphan_defect(source: DataSource, name: str, row: dict, max_orphan_share: float) -> Defect:
    def twin_of(matched: str) -> str:
        return fetch_one(
            source.connection,
            f"""SELECT min(account_id) AS id FROM {_accounts(source)}
            WHERE {_normalized_id("account_id")} = {_normalized_id(literal(matched))}""",
        )["id"]

    types = (
        raw_types(source.connection, f"raw_{name}").get("account_id", "?"),
        raw_types(source.connection, "raw_accounts").get("account_id", "?"),
    )
    return orphan_defect(name, row, max_orphan_share, twin_of, types)


def orphan_defect(
    name: str,
    row: dict,
    max_orphan_share: float,
    twin_of: Callable[[str], str],
    types: tuple[str, str],
) -> Defect:
    """The orphan-rows defect from an engine's counts (`rows`, `orphan_rows`,
    `orphan_accounts`, `orphan_example`, `normalized_matches`, `matched_example`): blocking
    above `max_orphan_share`, with the type/zero-padding hint when ids match once normalized
    (`twin_of(id)` looks up the accounts id it matches; `types` are the two columns' types)."""
    orphan_rows, total = int(row["orphan_rows"]), int(row["rows"] or 0)
    share = orphan_rows / total if total else 1.0
    blocking = share > max_orphan_share
    message = (
        f"orphan rows: {row['orphan_accounts']} account(s) not in accounts, {share:.0%} of the "
        f"table's {total:,} rows"
    )
    if blocking:
        message += (
            f" (over {max_orphan_share:.0%}: their features would silently be missing; "
            "`[features] max_orphan_share` sets the limit)"
        )
    else:
        message += "; rows ignored"
    example = f"account_id={row['orphan_example']}"
    if row["normalized_matches"]:
        matched = str(row["matched_example"])
        twin = twin_of(matched)
        message += (
            f". Hint: {row['normalized_matches']} of these ids match an accounts id once type "
            f"and zero padding are ignored ({name} {matched!r} vs accounts {twin!r}; column "
            f"types {types[0]} vs {types[1]}): write account_id the same way in both tables"
        )
        example = f"account_id={matched} (accounts has {twin})"
    return Defect(name, "account_id", orphan_rows, example, message, blocking)


def _coverage_defects(source: DataSource, name: str) -> Iterator[Defect]:
    time = TABLES[name].event_time or "timestamp"
    contracts = typed(
        source.connection, TABLES["contracts"], ("account_id", "start_date", "end_date")
    )
    grace = f"INTERVAL {ACTIVE_AFTER_COVERAGE_DAYS} DAY"
    # Coverage islands: contracts merged when the next one starts within the grace period, so
    # the windows [start, end + grace) are disjoint and a hash join on the account counts the
    # rows inside them exactly once (a few islands per account: cheap on 100M rows).
    common = f"""
        WITH c AS (
            SELECT account_id, start_date AS s, end_date AS e FROM {contracts}
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
            SELECT *, sum(CASE WHEN reach IS NULL OR s > reach + {grace} THEN 1 ELSE 0 END)
                OVER (PARTITION BY account_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island
            FROM reached
        ),
        islands AS (
            SELECT account_id, min(s) AS s, max(e) AS e FROM numbered GROUP BY account_id, island
        ),
        firsts AS (SELECT account_id, min(s) AS first_start FROM islands GROUP BY account_id),
        ev AS (
            SELECT account_id, {quote(time)} AS ts FROM {_dated(source, name, time)}
            WHERE account_id IS NOT NULL AND {quote(time)} IS NOT NULL
        )
    """
    row = fetch_one(
        source.connection,
        f"""{common},
        per_account AS (
            SELECT ev.account_id,
                   count(*) FILTER (WHERE ev.ts < f.first_start) AS before_n,
                   min(ev.ts) FILTER (WHERE ev.ts < f.first_start) AS before_at,
                   min(f.first_start) AS first_start,
                   count(*) FILTER (WHERE ev.ts >= f.first_start) AS since_first
            FROM ev JOIN firsts AS f ON f.account_id = ev.account_id
            GROUP BY ev.account_id
        ),
        covered AS (
            SELECT ev.account_id, count(*) AS covered_n
            FROM ev JOIN islands AS i
              ON i.account_id = ev.account_id AND ev.ts >= i.s AND ev.ts < i.e + {grace}
            GROUP BY ev.account_id
        ),
        counted AS (
            SELECT p.*, p.since_first - coalesce(c.covered_n, 0) AS after_n
            FROM per_account AS p LEFT JOIN covered AS c ON c.account_id = p.account_id
        )
        SELECT
            sum(before_n) AS before_rows,
            count(*) FILTER (WHERE before_n > 0) AS before_accounts,
            min(account_id || ' on ' || {_day("before_at")} || ' (first contract '
                || {_day("first_start")} || ')') FILTER (WHERE before_n > 0) AS before_example,
            sum(after_n) AS after_rows,
            count(*) FILTER (WHERE after_n > 0) AS after_accounts,
            min(account_id) FILTER (WHERE after_n > 0) AS after_account
        FROM counted
        """,
    )
    if row["before_rows"]:
        yield Defect(
            name,
            time,
            int(row["before_rows"]),
            str(row["before_example"]),
            f"dated before the account's first contract ({row['before_accounts']} account(s))",
            False,
        )
    if row["after_rows"]:
        # The example: that account's first row outside its coverage (one account: cheap).
        example = fetch_one(
            source.connection,
            f"""{common}
            SELECT ev.account_id || ' on ' || {_day("ev.ts")} || ' (coverage ended '
                   || {_day("i.e")} || ')' AS example
            FROM ev ASOF JOIN islands AS i ON i.account_id = ev.account_id AND ev.ts >= i.s
            WHERE ev.account_id = {literal(row["after_account"])} AND ev.ts >= i.e + {grace}
            ORDER BY ev.ts LIMIT 1
            """,
        )["example"]
        yield Defect(
            name,
            time,
            int(row["after_rows"]),
            str(example),
            f"activity more than {ACTIVE_AFTER_COVERAGE_DAYS} days after contract coverage "
            f"ended: churned accounts still active ({row['after_accounts']} account(s))",
            False,
        )


def _accounts_without_contracts(source: DataSource) -> Iterator[Defect]:
    contracts = typed(source.connection, TABLES["contracts"], ("account_id",))
    row = fetch_one(
        source.connection,
        f"""
        SELECT count(DISTINCT a.account_id) AS rows, min(a.account_id) AS example
        FROM {_accounts(source)} AS a
        WHERE a.account_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM {contracts} AS c WHERE c.account_id = a.account_id)
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
