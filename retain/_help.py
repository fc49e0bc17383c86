"""`--help` without a `<bool>` after flags that take no value.

Typer (0.2x) prints a type for every option in its rich help, `--force <bool>` and even
`--help <bool>`, which reads as if the flag wanted a value. The option class has no setting for
it, so the one method that renders the type column skips flags.
"""

from __future__ import annotations

from typing import Any


def hide_flag_types() -> None:
    """Patch typer's option help once: flags (and counters) show no type."""
    import typer.core

    original = typer.core.TyperOption.display_type_rich
    if getattr(original, "_retain_hides_flags", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        return original(self, ctx)

    display_type_rich._retain_hides_flags = True  # type: ignore[attr-defined]
    typer.core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
