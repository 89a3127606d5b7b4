"""Progress displays more than one command shares (drawn through Printer.progress)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hrm_cli.output import get_printer

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn, TaskID


def build_count_column() -> ProgressColumn:
    """Done/total of a dataset-build stage: bytes and speed for downloads, items for the others."""
    from rich.progress import DownloadColumn, MofNCompleteColumn, ProgressColumn, TransferSpeedColumn
    from rich.table import Column
    from rich.text import Text

    from hrm.data.download import DOWNLOAD_STAGE

    class BuildCountColumn(ProgressColumn):
        def __init__(self) -> None:
            super().__init__(table_column=Column(no_wrap=True))
            self.items, self.size, self.speed = MofNCompleteColumn(), DownloadColumn(), TransferSpeedColumn()

        def render(self, task: Any) -> Text:
            if not task.description.startswith(DOWNLOAD_STAGE):
                return self.items.render(task)
            return Text.assemble(self.size.render(task), " ", self.speed.render(task))

    return BuildCountColumn()


class BuildProgress:
    """Shows a dataset build (hrm.data.build's progress(stage, done, total) callback) on stderr: one bar
    for the current stage, or a line per stage when bars are not shown. `hrm train` and `hrm eval` build
    missing datasets through it."""

    def __init__(self) -> None:
        self.printer = get_printer()
        self.stage: str | None = None
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self.stage:
            self.stage = stage
            if self.bar is None:
                self.bar = self.printer.progress("building dataset: {task.description}", count=build_count_column())
                if self.bar is not None:
                    self.bar.start()
            if self.bar is None:
                self.printer.info(f"building dataset: {stage}")
            else:
                if self.task is not None:
                    self.bar.remove_task(self.task)
                self.task = self.bar.add_task(stage, total=total)
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
