"""Segments: the accounts table's `segment` where given, otherwise ARR bands."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from retain.config import SegmentsConfig


def segment_from_arr(arr: ir.NumericValue, config: SegmentsConfig) -> ir.StringValue:
    """The first band whose (exclusive) upper bound exceeds `arr`; the top segment otherwise."""
    branches = [(arr < bound, ibis.literal(name)) for name, bound in config.arr_bands]
    if not branches:
        return ibis.literal(config.top_segment)
    return ibis.cases(*branches, else_=ibis.literal(config.top_segment))


def segment(given: ir.StringValue, arr: ir.NumericValue, config: SegmentsConfig) -> ir.StringValue:
    """`given` when non-null, else from `arr`."""
    return given.fill_null(segment_from_arr(arr, config))
