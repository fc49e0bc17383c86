"""Point-in-time feature pipeline over the account data model (see features.contract).

`build_features(source, config, ...)` is the public entry point; it is imported lazily so that
`import features` stays cheap (no Ibis, no DuckDB work at import time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from features.build import build_features

__all__ = ["build_features"]


def __getattr__(name: str) -> Any:
    if name == "build_features":
        from features.build import build_features

        return build_features
    raise AttributeError(f"module 'features' has no attribute {name!r}")
