"""Progress bars for long work in the terminal (rich), quiet when stderr is no terminal or when asked.

``with progress_bar("refreshing the rollup", total=6) as bar: ... bar.advance()``. The bar
draws on stderr so stdout stays clean for the report itself, and leaves no trace when done.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Bar:
    """One task's bar; every method does nothing when the bar is quiet."""

    def __init__(self, progress: Any = None, task: Any = None):
        self._progress = progress
        self._task = task

    @property
    def quiet(self) -> bool:
        return self._progress is None

    def advance(self, n: float = 1, description: str | None = None) -> None:
        if self._progress is not None:
            kw = {"description": description} if description else {}
            self._progress.update(self._task, advance=n, **kw)

    def update(
        self, completed: float | None = None, total: float | None = None, description: str | None = None
    ) -> None:
        if self._progress is not None:
            kw: dict[str, Any] = {}
            if completed is not None:
                kw["completed"] = completed
            if total is not None:
                kw["total"] = total
            if description:
                kw["description"] = description
            self._progress.update(self._task, **kw)


def shows_progress(quiet: bool = False) -> bool:
    """Whether a bar would be drawn: not asked to be quiet, and stderr is a terminal."""
    stream = sys.stderr
    return not quiet and bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def progress_bar(description: str, total: float | None = None, *, quiet: bool = False) -> Iterator[Bar]:
    """A bar on stderr for the duration of the block (a quiet one when stderr is not a terminal or ``quiet``)."""
    if not shows_progress(quiet):
        yield Bar()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, transient=True, console=Console(stderr=True)) as progress:
        yield Bar(progress, progress.add_task(description, total=total))
