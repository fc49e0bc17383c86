"""The `retain` command line: a thin shell over the stage modules.

Each stage registers its own commands (`<stage>/cli.py: register(app)`), imports its heavy
dependencies inside the command functions (so `retain --help` stays fast), and raises
`RetainError` for problems the user can fix; `main` turns those into a message and an exit code,
never a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.text import Text

from retain._help import hide_flag_types
from retain.errors import RetainError

hide_flag_types()  # `--force`, not `--force <bool>`, in every --help
app = typer.Typer(
    name="retain",
    help=(
        "Churn and expansion prediction for B2B SaaS customer-success teams.\n\n"
        "Typical flow: simulate (or import) -> validate -> features -> train -> backtest -> "
        "score / serve -> drift. Settings come from retain.toml (see README); options override."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # reflow docstring paragraphs in --help
    add_completion=False,
)


def _register_all() -> None:
    from evaluation import cli as evaluation_cli
    from features import cli as features_cli
    from features import contract_cli
    from monitoring import cli as monitoring_cli
    from playbook import cli as playbook_cli
    from serving import change_cli, export_cli
    from serving import cli as serving_cli
    from simulator import cli as simulator_cli
    from training import cli as training_cli

    for module in (
        simulator_cli,
        contract_cli,
        features_cli,
        training_cli,
        evaluation_cli,
        serving_cli,
        change_cli,
        export_cli,
        playbook_cli,
        monitoring_cli,
    ):
        module.register(app)


@app.command("config")
def show_config(
    data: str = typer.Option(None, "--data", help="Data source whose retain.toml also applies."),
) -> None:
    """Print the effective configuration (defaults, then retain.toml files) as TOML."""
    import dataclasses

    from retain.config import load_config

    config = load_config(data)
    for section in dataclasses.fields(config):
        typer.echo(f"[{section.name}]")
        for key, value in dataclasses.asdict(getattr(config, section.name)).items():
            if isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            typer.echo(f"{key} = {value!r}".replace("None", '"" # unset'))
        typer.echo("")


@app.callback()
def _root() -> None:
    """Churn and expansion prediction for B2B SaaS customer-success teams."""


_register_all()


def main() -> None:
    # Typer's standalone mode handles usage errors (exit 2) itself; user-fixable problems raised
    # anywhere in a command arrive here as RetainError and leave without a traceback.
    try:
        app()
    except RetainError as error:
        # Text, not markup: messages quote user data, which may contain [brackets]. One line
        # (soft wrap: the terminal folds it), so a log or a grep shows the whole message.
        Console(stderr=True).print(
            Text.assemble(("error: ", "bold red"), str(error)), soft_wrap=True
        )
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
