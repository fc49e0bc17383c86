"""The input contract: the account data model of BRIEF.md, table by table.

This is the single description of the tables retain reads. The readers (`features.source`), the
validation (`features.validate`), the simulator and the importers all build on it.

Logical types: "string" ids and labels, "timestamp" (a date or a timezone-naive UTC timestamp),
"float", "int", "bool".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LogicalType = Literal["string", "timestamp", "float", "int", "bool"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: LogicalType
    required: bool = False
    allowed: tuple[str, ...] | None = None  # closed vocabulary, checked case-insensitively
    min_value: float | None = None
    max_value: float | None = None
    default: object | None = None  # value used when an optional column is absent


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    required: bool = False
    primary_key: tuple[str, ...] = ()
    # The column that says when a row became known; point-in-time filters use it.
    event_time: str | None = None

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no column {name!r}")


CONTACT_ROLES = ("champion", "decision_maker", "executive_sponsor", "admin", "user")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
ACTIVITY_TYPES = ("meeting", "qbr", "call", "email_out", "email_in")
SURVEY_KINDS = ("nps", "csat")
PLAY_ARMS = ("treated", "control")  # control: held back on purpose, so the effect can be measured
PLAY_ASSIGNMENTS = ("random", "rule", "manual")

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            name="accounts",
            required=True,
            primary_key=("account_id",),
            event_time="created_at",
            columns=(
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("created_at", "timestamp", required=True),
                ColumnSpec("segment", "string"),
                ColumnSpec("industry", "string"),
                ColumnSpec("region", "string"),
                ColumnSpec("employees", "float", min_value=0),
                ColumnSpec("csm_id", "string"),
            ),
        ),
        TableSpec(
            name="contracts",
            required=True,
            primary_key=("contract_id",),
            event_time="start_date",
            columns=(
                ColumnSpec("contract_id", "string", required=True),
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("start_date", "timestamp", required=True),
                ColumnSpec("end_date", "timestamp", required=True),
                ColumnSpec("arr", "float", required=True, min_value=0),
                ColumnSpec("seats", "float", min_value=0),
                ColumnSpec("plan", "string"),
            ),
        ),
        TableSpec(
            name="usage",
            event_time="timestamp",
            columns=(
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("timestamp", "timestamp", required=True),
                ColumnSpec("event", "string", required=True),
                ColumnSpec("user_id", "string"),
                ColumnSpec("count", "float", min_value=0, default=1.0),
            ),
        ),
        TableSpec(
            name="tickets",
            primary_key=("ticket_id",),
            event_time="created_at",
            columns=(
                ColumnSpec("ticket_id", "string", required=True),
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("created_at", "timestamp", required=True),
                ColumnSpec("resolved_at", "timestamp"),
                ColumnSpec("priority", "string", allowed=TICKET_PRIORITIES),
                ColumnSpec("escalated", "bool", default=False),
                ColumnSpec("csat", "float", min_value=1, max_value=5),
            ),
        ),
        TableSpec(
            name="contacts",
            primary_key=("contact_id",),
            event_time="added_at",
            columns=(
                ColumnSpec("contact_id", "string", required=True),
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("role", "string", required=True, allowed=CONTACT_ROLES),
                ColumnSpec("added_at", "timestamp", required=True),
                ColumnSpec("left_at", "timestamp"),
            ),
        ),
        TableSpec(
            name="activities",
            event_time="timestamp",
            columns=(
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("timestamp", "timestamp", required=True),
                ColumnSpec("type", "string", required=True, allowed=ACTIVITY_TYPES),
            ),
        ),
        TableSpec(
            name="milestones",
            event_time="due_date",
            columns=(
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("milestone", "string", required=True),
                ColumnSpec("due_date", "timestamp"),
                ColumnSpec("achieved_at", "timestamp"),
            ),
        ),
        TableSpec(
            name="surveys",
            event_time="timestamp",
            columns=(
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("timestamp", "timestamp", required=True),
                ColumnSpec("kind", "string", required=True, allowed=SURVEY_KINDS),
                ColumnSpec("score", "float", required=True, min_value=0, max_value=10),
            ),
        ),
        # CS interventions (a play run on an account) and their control groups. Optional: the
        # plays feature family reads it; a play started on or after as_of does not exist yet.
        TableSpec(
            name="plays",
            event_time="started_at",
            columns=(
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("play", "string", required=True),
                ColumnSpec("started_at", "timestamp", required=True),
                ColumnSpec("owner", "string"),
                ColumnSpec("arm", "string", allowed=PLAY_ARMS),
                ColumnSpec("assignment", "string", allowed=PLAY_ASSIGNMENTS),
                ColumnSpec("closed_at", "timestamp"),
                ColumnSpec("note", "string"),
            ),
        ),
        # The sales-to-CS handoff. Optional; several rows per account are revisions, and at an
        # as_of the latest revision handed off strictly before it counts (features.handoffs).
        # The named fields count as filled or not (champion_named: filled when true).
        TableSpec(
            name="handoffs",
            event_time="handed_off_at",
            columns=(
                ColumnSpec("account_id", "string", required=True),
                ColumnSpec("handed_off_at", "timestamp", required=True),
                ColumnSpec("business_outcome", "string"),
                ColumnSpec("success_criteria", "string"),
                ColumnSpec("champion_named", "bool"),
                ColumnSpec("commitments", "string"),
                ColumnSpec("timeline", "string"),
                ColumnSpec("owner", "string"),
            ),
        ),
    )
}
# The handoff's named fields, in the order completeness lists them.
HANDOFF_FIELDS: tuple[str, ...] = (
    "business_outcome",
    "success_criteria",
    "champion_named",
    "commitments",
    "timeline",
    "owner",
)

REQUIRED_TABLES: tuple[str, ...] = tuple(name for name, spec in TABLES.items() if spec.required)
