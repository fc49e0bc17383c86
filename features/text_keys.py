"""Text keys grouped as stored, then made canonical: the canonical views' text rule, on groups.

The canonical views trim spaces from free text and read empty text as NULL (`features.source`).
On every row of a large table that rule is a large share of a grouping's cost: at 100k
accounts, the three groupings of 174M usage rows took 39-46 CPU seconds on the keys as stored
against 46-51 on the canonical keys (three A/B pairs in one process). After a grouping it
touches only the groups, and when no key changes (the usual case) nothing more is done.

The rule here is the Ibis twin of `features.source.canonical_expression`'s for free text, so
both engines give the same keys; `tests/features/test_text_keys.py` holds the two together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from features.windows import materialize

if TYPE_CHECKING:
    from features.source import DataSource

# Spaces only, at either end: SQL's TRIM on both engines (Ibis's `strip` also removes tabs).
_END_SPACES = "^ +| +$"


def changes_when_canonical(value: ir.StringValue) -> ir.BooleanValue:
    """Whether the canonical rule changes `value`: empty, or a space at an end (NULL: it does
    not, NULL stays NULL)."""
    return (value == "") | value.startswith(" ") | value.endswith(" ")


def canonical_text(value: ir.StringValue) -> ir.StringValue:
    """Free text as the canonical view has it: trimmed of spaces, NULL when empty."""
    trimmed = value.re_replace(_END_SPACES, "").nullif("")
    return ibis.ifelse(changes_when_canonical(value), trimmed, value)


def canonical_groups(
    source: DataSource,
    grouped: ir.Table,
    text_keys: Sequence[str],
    combine: Mapping[str, Callable[[ir.Column], ir.Scalar]],
    prefix: str,
) -> ir.Table:
    """`grouped`, a materialized grouping on `text_keys` as stored (and on its other columns
    not in `combine`), with one row per canonical key.

    Unchanged when no key changes; else its keys made canonical and grouped again, each column
    of `combine` aggregated by its function (the sum of sums, the OR of masks), and
    materialized under `prefix`.
    """
    changed = ibis.or_(*(changes_when_canonical(grouped[k]) for k in text_keys))
    if int(grouped.filter(changed).count().execute()) == 0:
        return grouped
    keys = [c for c in grouped.columns if c not in combine]
    canonical = grouped.mutate(**{k: canonical_text(grouped[k]) for k in text_keys})
    regrouped = canonical.group_by(keys).aggregate(
        **{column: fn(canonical[column]) for column, fn in combine.items()}
    )
    return materialize(source, regrouped.select(*grouped.columns), prefix)
