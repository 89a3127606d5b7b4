"""The puzzle board: one widget for every task, drawn with the Line API.

A 30x30 maze or ARC grid is 900 cells, far too many for a widget each, so the board renders whole
rows (`render_line`) from a cached drawing that is rebuilt when the frame or the size changes.
Colours come from the `board--*` component classes in hrm.tcss.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.strip import Strip
from textual.widget import Widget

from hrm.solver import Frame
from hrm.tasks.base import Puzzle
from hrm.tasks.look import CodeLook, DigitLook, PaletteLook, unknown_look
from hrm_cli.tui.widgets import cells
from hrm_cli.tui.widgets.cells import HALF, SCALES, BoardView, Paint


class Board(Widget):
    COMPONENT_CLASSES = {
        "board--grid", "board--given", "board--digit", "board--faint", "board--changed", "board--wrong",
        "board--wall", "board--open", "board--start", "board--goal", "board--path", "board--caption",
    }

    def __init__(self, puzzle: Puzzle, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.puzzle = puzzle
        self.view: BoardView = cells.board_view(puzzle, None)
        self._drawing: list[Strip] | None = None

    def show(self, frame: Frame | None) -> None:
        """Draw `frame` (None: the bare question before the first segment)."""
        self.view = cells.board_view(self.puzzle, frame)
        self._invalidate()

    def rows_text(self) -> list[str]:
        """The board as plain text, one string per terminal row (for tests and debugging)."""
        return [strip.text for strip in self._layout()]

    def render_line(self, y: int) -> Strip:
        drawing = self._layout()
        return drawing[y] if y < len(drawing) else Strip.blank(self.size.width, self.rich_style)

    def on_resize(self) -> None:
        self._invalidate()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._invalidate()

    def _invalidate(self) -> None:
        self._drawing = None
        self.refresh()

    def _layout(self) -> list[Strip]:
        if self._drawing is None:
            width, height = self.size
            self._drawing = cells.centre(self._draw(width, height), width, height, self.rich_style)
        return self._drawing

    def _draw(self, width: int, height: int) -> list[Strip]:
        paint, look = self._paint(), self.view.look
        if isinstance(look, DigitLook):
            cell_w, cell_h = cells.digit_cell_size(look, width, height)
            return cells.digit_strips(self.view, look, paint, cell_w, cell_h)
        if isinstance(look, CodeLook):
            rows, cols = self.view.question.shape
            scale = next((s for s in SCALES if _fits(cells.pixel_size(rows, cols, s), width, height)), HALF)
            return cells.pixel_strips(cells.code_colours(self.view, look, paint), scale)
        if isinstance(look, PaletteLook):
            return self._draw_palette(look, paint, width, height)
        raise unknown_look(look, "the board")

    def _draw_palette(self, look: PaletteLook, paint: Paint, width: int, height: int) -> list[Strip]:
        """Input and answer side by side (an answer may differ in size); the answer alone when the terminal
        is too small for both."""
        for scale in (*SCALES, HALF):
            drawing = cells.hstack([self._palette_input(look, paint, scale), self._palette_answer(look, paint, scale)],
                                   3, self.rich_style)
            if _fits((drawing[0].cell_length, len(drawing)), width, height):
                return drawing
        return self._palette_answer(look, paint, HALF, note=" (widen for the input)")

    def _palette_input(self, look: PaletteLook, paint: Paint, scale: int) -> list[Strip]:
        grid = self.view.question
        strips = cells.pixel_strips(cells.palette_colours(grid, None, look, paint), scale)
        caption = f"input {grid.shape[0]}×{grid.shape[1]}"
        return cells.captioned(caption, strips, paint.caption, self.rich_style)

    def _palette_answer(self, look: PaletteLook, paint: Paint, scale: int, note: str = "") -> list[Strip]:
        view = self.view
        if view.answer is None:
            waiting = Strip([Segment("waiting for the model…", paint.caption)])
            return cells.captioned("answer", [waiting], paint.caption, self.rich_style)
        colours = cells.palette_colours(view.answer, view.confidence, look, paint)
        strips = cells.pixel_strips(colours, scale, view.changed)
        caption = f"answer {view.answer.shape[0]}×{view.answer.shape[1]}{note}"
        return cells.captioned(caption, strips, paint.caption, self.rich_style)

    def _paint(self) -> Paint:
        def fg(name: str) -> Color:
            style = self.get_component_rich_style(f"board--{name}")
            return Color.from_rich_color(style.color) if style.color else Color.parse("white")

        background = self.styles.background if self.styles.background.a else Color(0, 0, 0)
        changed = self.get_component_rich_style("board--changed")
        return Paint(
            background=background,
            grid=self.get_component_rich_style("board--grid") + Style(bgcolor=background.rich_color),
            given=self.get_component_rich_style("board--given"),
            digit=fg("digit"), faint=fg("faint"),
            changed=Color.from_rich_color(changed.bgcolor) if changed.bgcolor else fg("changed"),
            fresh=fg("changed"),
            wrong=fg("wrong"), wall=fg("wall"), open=fg("open"), start=fg("start"), goal=fg("goal"),
            path=fg("path"), caption=self.get_component_rich_style("board--caption"),
        )


def _fits(size: tuple[int, int], width: int, height: int) -> bool:
    return size[0] <= width and size[1] <= height
