"""One data-quality finding, shared by the checks and the importers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Defect:
    """A defect of one column (or table) of a data source.

    `rows` is how many rows show it (for a missing table or column, the rows it would have
    applied to, 0 when unknown); `example` is one offending value or key, so the user can find it.
    Blocking defects make every result wrong and stop the run; the rest are warnings.
    """

    table: str
    column: str
    rows: int
    example: str
    message: str
    blocking: bool

    @property
    def severity(self) -> str:
        return "blocking" if self.blocking else "warning"

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, **asdict(self)}
