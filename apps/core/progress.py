"""A progress bar for long management commands: drawn with rich on a terminal, silent otherwise (a pipe, a log file,
`call_command` with a StringIO), so scripted output stays clean."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(stream, *, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yields `advance(steps)`. `stream` is a command's `self.stderr` (or any file); `total` None draws a bar with no
    end, counting steps."""
    if not stream.isatty():
        yield lambda steps: None
        return
    # rich is loaded only when a bar is drawn: a command in a pipe or a test does not pay for it (the start-up rule
    # in docs/architecture.md).
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    # Past Django's OutputWrapper, which would end every redraw with a newline and colour it as an error.
    console = Console(file=getattr(stream, "_out", stream))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(description, total=total)
        yield lambda steps: bar.advance(task, steps)
