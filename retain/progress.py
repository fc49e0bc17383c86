"""Rich progress bars for long work, one look across every command.

On a terminal: a live bar on stderr. Piped or in a CI log, a live bar renders nothing until the
end, so the same calls print plain lines instead: one when a task starts or changes step, one
when it finishes, and a `[still working, m:ss]` line for any task that has been quiet for
`HEARTBEAT_SECONDS` (a step that reports nothing for a minute must not look hung).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

console = Console(stderr=True)
HEARTBEAT_SECONDS = 15.0


def progress_bar(*, transient: bool = False) -> Progress:
    """A progress bar on stderr (stdout stays clean for piping); plain lines when not a terminal."""
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    if console.is_terminal:
        return Progress(*columns, console=console, transient=transient)
    return PlainProgress(*columns, console=console)


def step(description: str) -> Progress:
    """One task with no count, for a single long call that cannot report its own progress:
    `with step("promote: backtest gate"): ...` (a spinner and the elapsed time; plain lines,
    with the heartbeat, when not a terminal)."""
    bar = progress_bar(transient=True)
    bar.add_task(description, total=None)
    return bar


class PlainProgress(Progress):
    """A rich Progress that draws nothing live and prints a plain line per event instead."""

    def __init__(self, *columns: Any, console: Console, heartbeat: float | None = None):
        super().__init__(*columns, console=console, disable=True)
        self._heartbeat = HEARTBEAT_SECONDS if heartbeat is None else heartbeat
        self._last_line: dict[TaskID, float] = {}
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at = time.monotonic()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stopped.clear()
            self._thread = threading.Thread(target=self._beat, name="progress", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.stop()
        if exc_type is None:
            # A task without a count never finishes by itself: say it did, with its time.
            with self._lock:
                open_ended = [i for i, t in self._tasks.items() if t.total is None]
            for task_id in open_ended:
                self._say(task_id, done=True)

    # -- events ---------------------------------------------------------------------------------

    def add_task(self, description: str, *args: Any, **kwargs: Any) -> TaskID:
        task_id = super().add_task(description, *args, **kwargs)
        self._say(task_id)
        return task_id

    def update(self, task_id: TaskID, **kwargs: Any) -> None:
        with self._lock:
            task = self._tasks[task_id]
            before = (task.description, task.finished)
        super().update(task_id, **kwargs)
        with self._lock:
            after = (task.description, task.finished)
        if after != before:
            self._say(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        with self._lock:
            was_finished = self._tasks[task_id].finished
        super().advance(task_id, advance)
        with self._lock:
            finished = self._tasks[task_id].finished
        if finished and not was_finished:
            self._say(task_id)

    # -- output ---------------------------------------------------------------------------------

    def _say(self, task_id: TaskID, still: bool = False, done: bool = False) -> None:
        with self._lock:
            task = self._tasks[task_id]
            description, completed, total = task.description, task.completed, task.total
            elapsed = task.elapsed or 0.0
            self._last_line[task_id] = time.monotonic()
        count = f" {completed:g}/{total:g}" if total is not None else ""
        suffix = " done" if done else ""
        clock = f"still working, {_clock(elapsed)}" if still else _clock(elapsed)
        line = f"{Text.from_markup(description).plain}{count}{suffix} [{clock}]"
        self.console.print(Text(line), highlight=False, soft_wrap=True)

    def _beat(self) -> None:
        while not self._stopped.wait(min(self._heartbeat, 1.0)):
            now = time.monotonic()
            with self._lock:
                quiet = [
                    task_id
                    for task_id, task in self._tasks.items()
                    if not task.finished
                    and now - self._last_line.get(task_id, self._started_at) >= self._heartbeat
                ]
            for task_id in quiet:
                self._say(task_id, still=True)


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"
