"""CLI commands of the monitoring stage (registered on the `retain` app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
