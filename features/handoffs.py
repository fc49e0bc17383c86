"""Handoff features: the sales-to-CS handoff an account arrived with (the optional `handoffs`
table, or extra `accounts` columns mapped in `[handoffs]`).

A revision exists for a snapshot only when `handed_off_at < as_of`; the latest such revision is
the handoff as CS has it then (two revisions at the same instant count as one, a field filled
in either). Its named fields (`features.contract.HANDOFF_FIELDS`) count as filled or not: a
text field when it is not empty, `champion_named` when true. Completeness is the share filled
of the fields the source has (a table without a `timeline` column is not scored on it).

"The first contract" is the earliest contract started before as_of (`tenure_days`' start);
`days_to_handoff` counts from it. Early life and the missing deadline count from the
relationship's start, the account's creation or its first contract, whichever is earlier (as
the outcome family): an export holding only recent contracts must not make a years-old account
look new. In early life a handoff overdue and still missing has completeness 0 (CS has nothing).
Accounts-column mapping: one revision per account, handed off at `timestamp_column`, with the
values as they stand in the accounts table; without a timestamp no snapshot could use them point
in time, so the config refuses such a mapping (`retain.config.HandoffsConfig`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features._defect import Defect
from features.contract import HANDOFF_FIELDS
from features.source import DataSource
from features.windows import (
    SNAPSHOT_ID,
    attach,
    days,
    days_between,
    flag,
    in_window,
    latest_before,
    ratio,
    real,
)
from retain.config import Config
from retain.errors import RetainError

COUNTS = ("handoff_missing",)
VALUES = (
    "handoff_completeness",
    "handoff_success_criteria",
    "handoff_champion_named",
    "days_to_handoff",
    "handoff_completeness_first_180d",
)
_TRUE_SPELLINGS = ("true", "t", "yes", "y", "1", "1.0")


def mapped_columns(config: Config) -> dict[str, str]:
    """`{handoff field: accounts column}` from `[handoffs] accounts_columns`, checked."""
    mapping = dict(config.handoffs.accounts_columns)
    unknown = sorted(set(mapping) - set(HANDOFF_FIELDS))
    if unknown:
        raise RetainError(
            f"[handoffs] accounts_columns names unknown handoff field(s) {', '.join(unknown)}; "
            f"the fields are {', '.join(HANDOFF_FIELDS)}."
        )
    return mapping


def uses_handoffs(source: DataSource, config: Config) -> bool:
    """Whether the source has a handoff to read: the table, or a mapping of accounts columns."""
    return source.has("handoffs") or bool(config.handoffs.accounts_columns)


def mapping_defects(source: DataSource, config: Config) -> list[Defect]:
    """Validation of `[handoffs] accounts_columns`: mapped columns the accounts table lacks
    block; a mapping beside a handoffs table is a warning (the table wins)."""
    if not config.handoffs.accounts_columns or "accounts" not in source.raw_columns:
        return []
    present = set(source.raw_columns["accounts"])
    wanted = {**mapped_columns(config), "handed_off_at": str(config.handoffs.timestamp_column)}
    defects = [
        Defect(
            "accounts",
            column,
            0,
            f"[handoffs] maps {field} to it",
            "mapped handoff column is missing",
            True,
        )
        for field, column in sorted(wanted.items())
        if column not in present
    ]
    if source.has("handoffs"):
        defects.append(
            Defect(
                "handoffs",
                "",
                0,
                "[handoffs] accounts_columns",
                "a handoffs table and an accounts-column mapping: the table is used",
                False,
            )
        )
    return defects


def _filled_text(value: ir.Value) -> ir.BooleanValue:
    return value.notnull()


def _revisions(source: DataSource, config: Config) -> tuple[ir.Table, tuple[str, ...]]:
    """Per account and instant: one `_f_<field>` flag per present field (any revision then)."""
    if source.has("handoffs"):
        table = source.table("handoffs")
        fields = tuple(f for f in HANDOFF_FIELDS if f in source.raw_columns["handoffs"])
        flags = {
            f"_f_{f}": (
                table[f].fill_null(False) if f == "champion_named" else _filled_text(table[f])
            )
            for f in fields
        }
        base = table.select("account_id", "handed_off_at", **flags)
    else:
        mapping = mapped_columns(config)
        accounts = source.table("accounts")
        fields = tuple(f for f in HANDOFF_FIELDS if f in mapping)
        flags = {}
        for f in fields:
            text = accounts[mapping[f]].cast("string").strip().nullif("")
            flags[f"_f_{f}"] = (
                text.lower().isin(_TRUE_SPELLINGS).fill_null(False)
                if f == "champion_named"
                else text.notnull()
            )
        stamp = accounts[str(config.handoffs.timestamp_column)].cast("string").strip()
        base = accounts.select(
            "account_id", handed_off_at=stamp.nullif("").try_cast("timestamp"), **flags
        )
    base = base.filter(base.handed_off_at.notnull())
    per_instant = base.group_by(["account_id", "handed_off_at"]).aggregate(
        **{name: base[name].any() for name in base.columns if name.startswith("_f_")}
    )
    return per_instant, fields


def _first_contract_start(spine: ir.Table, source: DataSource) -> ir.Table:
    contracts = source.table("contracts").select("account_id", "start_date")
    visible = in_window(spine, contracts, "start_date")
    return visible.group_by(SNAPSHOT_ID).aggregate(first_start=visible.start_date.min())


def _relationship_start(spine: ir.Table, source: DataSource) -> ir.Table:
    contracts = source.table("contracts").select("account_id", "start_date")
    accounts = source.table("accounts").select("account_id", start_date="created_at")
    visible = in_window(spine, contracts.union(accounts), "start_date")
    return visible.group_by(SNAPSHOT_ID).aggregate(relationship_start=visible.start_date.min())


def _first_handoff(spine: ir.Table, revisions: ir.Table) -> ir.Table:
    visible = in_window(spine, revisions.select("account_id", "handed_off_at"), "handed_off_at")
    return visible.group_by(SNAPSHOT_ID).aggregate(first_handoff=visible.handed_off_at.min())


def handoff_completeness(h: ir.Table, fields: tuple[str, ...]) -> ir.Value:
    """Share of the present named fields filled in the latest revision (NULL: none yet)."""
    if not fields:
        return ibis.null("float64")
    filled = sum(
        (h[f"_f_{f}"].cast("float64") for f in fields[1:]), h[f"_f_{fields[0]}"].cast("float64")
    )
    known = h.handed_off_at.notnull()
    return ibis.ifelse(known, ratio(filled, real(float(len(fields)))), ibis.null("float64"))


def _field_flag(h: ir.Table, field: str, fields: tuple[str, ...]) -> ir.Value:
    if field not in fields:
        return ibis.null("float64")
    return flag(ibis.ifelse(h.handed_off_at.notnull(), h[f"_f_{field}"], ibis.null("boolean")))


def days_to_handoff(h: ir.Table) -> ir.Value:
    """Days from the first contract's start to the first revision (negative: handed off
    before the contract started)."""
    # Whole seconds: Spark's epoch seconds drop the fraction DuckDB keeps, and CRM handoff
    # times carry sub-second parts (the engines would differ by up to a second).
    return days_between(h.first_handoff.truncate("s"), h.first_start.truncate("s"))


def _overdue(h: ir.Table, missing_after_days: int) -> ir.BooleanValue:
    late = h.as_of > h.relationship_start + days(missing_after_days)
    return h.handed_off_at.isnull() & late.fill_null(False)


def handoff_missing(h: ir.Table, missing_after_days: int) -> ir.Value:
    """1.0 when no revision exists more than `missing_after_days` after the relationship's
    start."""
    return flag(_overdue(h, missing_after_days))


def handoff_completeness_first_180d(
    h: ir.Table, early_life_days: int, missing_after_days: int
) -> ir.Value:
    """Completeness while the account is in its early life (as_of within `early_life_days` of
    the relationship's start): 0 when the handoff is overdue and missing, NULL while it is not
    due yet and after early life."""
    early = (h.as_of <= h.relationship_start + days(early_life_days)).fill_null(False)
    value = ibis.ifelse(_overdue(h, missing_after_days), real(0.0), h.handoff_completeness)
    return ibis.ifelse(early, value, ibis.null("float64"))


def handoffs_features(spine: ir.Table, source: DataSource, config: Config) -> ir.Table | None:
    if not uses_handoffs(source, config):
        return None
    settings = config.handoffs
    revisions, fields = _revisions(source, config)
    latest = latest_before(
        spine.select(SNAPSHOT_ID, "account_id", "as_of"), revisions, "handed_off_at"
    )
    first_start = _first_contract_start(spine, source)
    first_handoff = _first_handoff(spine, revisions)
    relationship = _relationship_start(spine, source)
    h = latest.left_join(first_start, SNAPSHOT_ID).drop(f"{SNAPSHOT_ID}_right")
    h = h.left_join(first_handoff, SNAPSHOT_ID).drop(f"{SNAPSHOT_ID}_right")
    h = h.left_join(relationship, SNAPSHOT_ID).drop(f"{SNAPSHOT_ID}_right")
    h = h.mutate(handoff_completeness=handoff_completeness(h, fields))
    per_snapshot = h.select(
        SNAPSHOT_ID,
        handoff_missing=handoff_missing(h, settings.missing_after_days),
        handoff_completeness=h.handoff_completeness,
        handoff_success_criteria=_field_flag(h, "success_criteria", fields),
        handoff_champion_named=_field_flag(h, "champion_named", fields),
        days_to_handoff=days_to_handoff(h),
        handoff_completeness_first_180d=handoff_completeness_first_180d(
            h, settings.early_life_days, settings.missing_after_days
        ),
    )
    return attach(spine, per_snapshot, counts=COUNTS, values=VALUES)
