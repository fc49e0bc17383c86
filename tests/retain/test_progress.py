"""Progress when output is not a terminal: plain lines, and a heartbeat for a quiet step."""

import io
import threading

from rich.console import Console

import retain.progress as progress_module
from retain.progress import PlainProgress, progress_bar


def _plain(heartbeat: float = 60.0) -> tuple[PlainProgress, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    return PlainProgress(console=console, heartbeat=heartbeat), buffer


def test_piped_output_gets_a_plain_progress(monkeypatch):
    monkeypatch.setattr(progress_module, "console", Console(file=io.StringIO()))
    assert isinstance(progress_bar(), PlainProgress)
    terminal = Console(file=io.StringIO(), force_terminal=True)
    monkeypatch.setattr(progress_module, "console", terminal)
    assert not isinstance(progress_bar(), PlainProgress)


def test_a_line_per_step_and_one_when_done():
    bar, buffer = _plain()
    with bar:
        task = bar.add_task("backtest", total=3)
        bar.update(task, advance=1, description="backtest: churn 2025-01-01 done")
        bar.update(task, advance=1)  # the same description: no line
        bar.update(task, advance=1, description="backtest: expansion 2025-04-01 done")
    lines = [line.rsplit(" [", 1)[0] for line in buffer.getvalue().splitlines()]
    assert lines == [
        "backtest 0/3",
        "backtest: churn 2025-01-01 done 1/3",
        "backtest: expansion 2025-04-01 done 3/3",
    ]


def test_advance_to_the_end_is_reported():
    bar, buffer = _plain()
    with bar:
        task = bar.add_task("score", total=2)
        bar.advance(task)
        bar.advance(task)
    assert buffer.getvalue().splitlines()[-1].startswith("score 2/2")


def test_a_quiet_step_gets_still_working_lines_and_a_done_line():
    bar, buffer = _plain(heartbeat=0.05)
    seen = threading.Event()
    original = bar._say

    def say(task_id, still=False, done=False):
        original(task_id, still=still, done=done)
        if still:
            seen.set()

    bar._say = say
    with bar:
        bar.add_task("promote churn: backtest gate", total=None)
        assert seen.wait(timeout=10)
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("promote churn: backtest gate [0:0")
    assert any(
        line.startswith("promote churn: backtest gate [still working, 0:0") for line in lines
    )
    assert lines[-1].startswith("promote churn: backtest gate done [")


def test_no_done_line_when_the_work_failed():
    bar, buffer = _plain()
    try:
        with bar:
            bar.add_task("train", total=None)
            raise ValueError("boom")
    except ValueError:
        pass
    assert "done" not in buffer.getvalue()
