"""CLI commands of the simulator stage (registered on the `retain` app)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
    app.command("simulate")(simulate)


def simulate(
    out: Path = typer.Option(..., "--out", help="Folder to write the tables into (created)."),
    accounts: int = typer.Option(2000, "--accounts", min=1, help="Number of customer accounts."),
    months: int = typer.Option(36, "--months", min=1, help="Months of history to simulate."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed: same seed, same files."),
    start: str = typer.Option(
        None, "--start", help="First simulated day (YYYY-MM-DD); default: MONTHS before 2026-10-01."
    ),
    billing: str = typer.Option(
        "mixed",
        "--billing",
        help="'mixed': each segment's own term mix (monthly and annual SMB, annual and multi-year "
        "Enterprise); 'monthly': mostly month-to-month terms in every segment.",
    ),
    snapshot: bool = typer.Option(
        False,
        "--snapshot",
        help="Name one snapshot date in retain.toml (13 months before the end), so every stage "
        "sees one snapshot per account, like a CRM export.",
    ),
) -> None:
    """Simulate a B2B SaaS customer base that knows the true answer.

    Writes the eight input-contract tables (accounts, contracts, usage, tickets, contacts,
    activities, milestones, surveys) as parquet, a retain.toml naming the key value events and
    the data's end, and truth.parquet: the true churn and expansion probabilities of every
    monthly and renewal snapshot, for the oracle AUC in evaluation.

    The shapes (--months, --billing, --snapshot) exist to test and benchmark the product on data
    unlike the demo; nothing is tuned to them.
    """
    import time

    from rich.console import Console

    from retain.progress import progress_bar
    from simulator._run import simulate as run
    from simulator._summary import summarize

    began = time.perf_counter()
    with progress_bar(transient=True) as bar:
        task = bar.add_task(f"simulating {accounts:,} accounts x {months} months", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        run(
            out,
            n_accounts=accounts,
            months=months,
            seed=seed,
            start=start,
            billing=billing,
            snapshot=snapshot,
            progress=advance,
        )
    elapsed = time.perf_counter() - began
    summary = summarize(out)
    console = Console()
    console.print(
        f"Wrote {out} in {elapsed:.1f} s ({accounts:,} accounts, {months} months, {billing} "
        f"billing{', one snapshot' if snapshot else ''}, seed {seed})."
    )
    for table, rows in summary.rows.items():
        console.print(f"  {table:<11} {rows:>13,} rows")
    console.print(
        f"Renewals decided: {summary.renewals_decided:,}; churned {summary.churn_rate:.1%}, "
        f"expanded {summary.expansion_rate:.1%} and contracted {summary.contraction_rate:.1%} "
        "of the renewed."
    )
