"""Static account attributes: employees, industry, region, and any extra `accounts` column.

An extra column becomes `attr_<column>`: numeric when every non-null value parses as a number,
otherwise categorical text, and dropped when it has more than `max_category_levels` distinct
values (then it identifies accounts rather than describing them). `csm_id` is an owner, not a
feature, and `segment` is context. Columns mapped onto the sales handoff (`[handoffs]
accounts_columns` and `timestamp_column`) are left out: they hold today's values, which a static
attribute would show to every snapshot, including those from before the handoff was filled in;
the handoff family places them in time.
"""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from features.source import DataSource
from features.windows import SNAPSHOT_ID
from retain.config import Config

ATTRIBUTE_PREFIX = "attr_"


def attribute_kinds(source: DataSource, config: Config) -> dict[str, str]:
    """`{extra column: "numeric" | "categorical"}` for the extra columns kept as features."""
    kinds: dict[str, str] = {}
    accounts = source.table("accounts")
    handoff_columns = config.handoffs.mapped_account_columns
    for column in source.extra_account_columns():
        if column in handoff_columns:
            continue
        # Ibis, not SQL text: the same query on DuckDB and Spark (features.engine).
        present = accounts.filter(accounts[column].notnull())
        values = present.select(v=present[column]).distinct().to_pandas()
        text = values["v"].astype(str).str.strip()
        text = text[text != ""]
        if text.empty:
            continue
        if pd.to_numeric(text, errors="coerce").notna().all():
            kinds[column] = "numeric"
        elif text.nunique() <= config.features.max_category_levels:
            kinds[column] = "categorical"
    return kinds


def account_features(spine: ir.Table, source: DataSource, config: Config) -> ir.Table:
    accounts = source.table("accounts")
    kinds = attribute_kinds(source, config)
    other = accounts.rename(_account_id="account_id")
    joined = spine.select(SNAPSHOT_ID, "account_id").left_join(
        other, spine.account_id == other._account_id
    )
    columns = {
        "account_employees": joined.employees.cast("float64"),
        "account_industry": joined.industry,
        "account_region": joined.region,
    }
    for column, kind in kinds.items():
        value = joined[column]
        columns[f"{ATTRIBUTE_PREFIX}{column}"] = (
            value.strip().try_cast("float64") if kind == "numeric" else value.strip().nullif("")
        )
    return joined.select(SNAPSHOT_ID, **columns)
