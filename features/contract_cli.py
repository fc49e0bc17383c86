"""CLI commands for the input contract: `validate` and `import`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
