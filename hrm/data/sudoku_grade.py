"""Grade a Sudoku by the techniques a human solver needs, as puzzle books and newspapers do.

The grader solves with pencil marks (one 9-bit candidate mask per cell), always applying the easiest
technique that makes progress, and the puzzle's grade is the hardest level it had to use:

    1  singles: naked single (one candidate left in a cell), hidden single (one place left for a digit
       in a row, column or box). Newspapers' easy and medium puzzles.
    2  + locked candidates (pointing: a digit confined to one line inside a box; box-line reduction:
       a digit confined to one box inside a line), naked and hidden pairs and triples. Puzzle books' hard.
    3  + naked and hidden quads, fish (X-wing, swordfish, jellyfish), wings (XY-wing, XYZ-wing) and
       chains (simple colouring of one digit's conjugate pairs, XY-chains of bivalue cells). The
       "diabolical" / "evil" puzzles of newspapers and handmade Nikoli-style puzzles.
    4  anything the above cannot finish (forcing nets, ALS, trial and error): the hardest collections.

Levels 1-3 are what the tables in the README call G1-G3; G4 are the hardest public collections.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from hrm.data.sudoku_gen import ALL_DIGITS, CELLS, PEERS, UNITS, _values

ROWS, COLS, BOXES = UNITS[:9], UNITS[9:18], UNITS[18:]
PEER_SETS = [frozenset(p) for p in PEERS]
MAX_CHAIN = 12            # bivalue cells in an XY-chain
UNSOLVABLE = 4
GRADE_NAMES = {1: "singles", 2: "pairs, pointing, box-line", 3: "fish, wings, chains", 4: "beyond chains"}


def _bits(mask: int) -> list[int]:
    return [d for d in range(9) if mask >> d & 1]


def _popcount(mask: int) -> int:
    return bin(mask).count("1")


class _Board:
    """Values (0 = empty) and candidate masks of the cells; `place` keeps the candidates consistent."""

    def __init__(self, values: Sequence[int]) -> None:
        self.values = [0] * CELLS
        self.cands = [ALL_DIGITS] * CELLS
        self.broken = False
        for cell, v in enumerate(values):
            if v:
                self.place(cell, v - 1)

    def place(self, cell: int, digit: int) -> None:
        bit = 1 << digit
        if not self.cands[cell] & bit or self.values[cell]:
            self.broken = True
            return
        self.values[cell] = digit + 1
        self.cands[cell] = 0
        for p in PEERS[cell]:
            self.cands[p] &= ~bit

    def eliminate(self, cells: Sequence[int], mask: int) -> bool:
        changed = False
        for cell in cells:
            if self.cands[cell] & mask:
                self.cands[cell] &= ~mask
                changed = True
                if not self.values[cell] and not self.cands[cell]:
                    self.broken = True
        return changed

    def places(self, unit: Sequence[int], digit: int) -> list[int]:
        bit = 1 << digit
        return [c for c in unit if self.cands[c] & bit]

    @property
    def solved(self) -> bool:
        return all(self.values)


# ----------------------------------------------------------------------------------------------------
# Level 1


def naked_single(board: _Board) -> bool:
    for cell in range(CELLS):
        mask = board.cands[cell]
        if not board.values[cell] and mask and not mask & (mask - 1):
            board.place(cell, mask.bit_length() - 1)
            return True
    return False


def hidden_single(board: _Board) -> bool:
    for unit in UNITS:
        for digit in range(9):
            spots = board.places(unit, digit)
            if len(spots) == 1:
                board.place(spots[0], digit)
                return True
    return False


# ----------------------------------------------------------------------------------------------------
# Level 2


def locked_candidates(board: _Board) -> bool:
    """Pointing (box -> line) and box-line reduction (line -> box)."""
    for box in BOXES:
        box_set = set(box)
        for digit in range(9):
            spots = board.places(box, digit)
            if len(spots) < 2:
                continue
            for lines in (ROWS, COLS):
                line = next((u for u in lines if set(spots) <= set(u)), None)
                if line and board.eliminate([c for c in line if c not in box_set], 1 << digit):
                    return True
    for line in ROWS + COLS:
        for digit in range(9):
            spots = board.places(line, digit)
            if len(spots) < 2:
                continue
            box = next((b for b in BOXES if set(spots) <= set(b)), None)
            if box and board.eliminate([c for c in box if c not in line], 1 << digit):
                return True
    return False


def naked_subset(board: _Board, size: int) -> bool:
    for unit in UNITS:
        open_cells = [c for c in unit if not board.values[c]]
        small = [c for c in open_cells if _popcount(board.cands[c]) <= size]
        for group in itertools.combinations(small, size):
            union = 0
            for c in group:
                union |= board.cands[c]
            if _popcount(union) == size and board.eliminate([c for c in open_cells if c not in group], union):
                return True
    return False


def hidden_subset(board: _Board, size: int) -> bool:
    for unit in UNITS:
        spots = {d: board.places(unit, d) for d in range(9)}
        digits = [d for d, cells in spots.items() if 2 <= len(cells) <= size]
        for group in itertools.combinations(digits, size):
            cells = set().union(*(spots[d] for d in group))
            if len(cells) != size:
                continue
            keep = sum(1 << d for d in group)
            if board.eliminate(sorted(cells), ALL_DIGITS & ~keep):
                return True
    return False


# ----------------------------------------------------------------------------------------------------
# Level 3


def fish(board: _Board, size: int) -> bool:
    """X-wing (2), swordfish (3), jellyfish (4), row- and column-based."""
    for digit in range(9):
        for bases, covers in ((ROWS, COLS), (COLS, ROWS)):
            index = {c: i for i, unit in enumerate(covers) for c in unit}
            lines = []
            for unit in bases:
                spots = board.places(unit, digit)
                if 2 <= len(spots) <= size:
                    lines.append((unit, {index[c] for c in spots}))
            for group in itertools.combinations(lines, size):
                cover = set().union(*(s for _, s in group))
                if len(cover) != size:
                    continue
                base_cells = {c for unit, _ in group for c in unit}
                targets = [c for i in cover for c in covers[i] if c not in base_cells]
                if board.eliminate(targets, 1 << digit):
                    return True
    return False


def _bivalue(board: _Board) -> list[int]:
    return [c for c in range(CELLS) if not board.values[c] and _popcount(board.cands[c]) == 2]


def xy_wing(board: _Board) -> bool:
    bivalue = _bivalue(board)
    for pivot in bivalue:
        wings = [c for c in bivalue if c in PEER_SETS[pivot]]
        for p, q in itertools.combinations(wings, 2):
            mp, mq = board.cands[p], board.cands[q]
            shared = mp & mq
            if _popcount(shared) != 1 or shared & board.cands[pivot]:
                continue
            if (mp | mq) & ~shared != board.cands[pivot]:
                continue
            targets = PEER_SETS[p] & PEER_SETS[q]
            if board.eliminate(sorted(targets - {pivot}), shared):
                return True
    return False


def xyz_wing(board: _Board) -> bool:
    bivalue = _bivalue(board)
    for pivot in range(CELLS):
        mask = board.cands[pivot]
        if board.values[pivot] or _popcount(mask) != 3:
            continue
        wings = [c for c in bivalue if c in PEER_SETS[pivot] and board.cands[c] & ~mask == 0]
        for p, q in itertools.combinations(wings, 2):
            mp, mq = board.cands[p], board.cands[q]
            shared = mp & mq
            if mp == mq or _popcount(shared) != 1 or (mp | mq) != mask:
                continue
            targets = PEER_SETS[p] & PEER_SETS[q] & PEER_SETS[pivot]
            if board.eliminate(sorted(targets), shared):
                return True
    return False


def _conjugate_graph(board: _Board, digit: int) -> dict[int, set[int]]:
    graph: dict[int, set[int]] = {}
    for unit in UNITS:
        spots = board.places(unit, digit)
        if len(spots) == 2:
            a, b = spots
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set()).add(a)
    return graph


def _colour_components(graph: dict[int, set[int]]) -> list[dict[int, int]]:
    seen: set[int] = set()
    components = []
    for start in graph:
        if start in seen:
            continue
        colour = {start: 0}
        stack = [start]
        while stack:
            cell = stack.pop()
            for other in graph[cell]:
                if other not in colour:
                    colour[other] = 1 - colour[cell]
                    stack.append(other)
        seen |= set(colour)
        if len(colour) > 2:
            components.append(colour)
    return components


def simple_colouring(board: _Board) -> bool:
    """One digit's conjugate pairs coloured alternately: two cells of one colour that see each other
    make that colour false (colour wrap); a cell that sees both colours loses the digit (colour trap)."""
    for digit in range(9):
        bit = 1 << digit
        for colour in _colour_components(_conjugate_graph(board, digit)):
            sides = [[c for c, k in colour.items() if k == side] for side in (0, 1)]
            for side in sides:
                if any(b in PEER_SETS[a] for a, b in itertools.combinations(side, 2)):
                    for cell in side:
                        board.eliminate([cell], bit)
                    return True
            trapped = [c for c in range(CELLS) if board.cands[c] & bit and c not in colour
                       and any(s in PEER_SETS[c] for s in sides[0]) and any(s in PEER_SETS[c] for s in sides[1])]
            if board.eliminate(trapped, bit):
                return True
    return False


def xy_chain(board: _Board) -> bool:
    """A chain of bivalue cells, each seeing the next, linked by the digit one cell's assumption forces
    into the next: if the start is not x, the end is x, so every cell seeing both ends loses x."""
    bivalue = _bivalue(board)
    bivalue_set = set(bivalue)
    for start in bivalue:
        for x in _bits(board.cands[start]):
            first = board.cands[start] & ~(1 << x)          # true in `start` when it is not x
            frontier = [(start, first)]
            visited = {(start, first)}
            for _ in range(MAX_CHAIN):
                following = []
                for cell, true_bit in frontier:
                    for nxt in PEER_SETS[cell] & bivalue_set:
                        if not board.cands[nxt] & true_bit:
                            continue
                        forced = board.cands[nxt] & ~true_bit
                        if forced == 1 << x and nxt != start:
                            targets = PEER_SETS[start] & PEER_SETS[nxt]
                            if board.eliminate(sorted(targets), 1 << x):
                                return True
                        if (nxt, forced) not in visited:
                            visited.add((nxt, forced))
                            following.append((nxt, forced))
                frontier = following
                if not frontier:
                    break
    return False


# ----------------------------------------------------------------------------------------------------
# The ladder


Technique = Callable[[_Board], bool]
LADDER: list[tuple[str, int, Technique]] = [
    ("naked single", 1, naked_single),
    ("hidden single", 1, hidden_single),
    ("locked candidates", 2, locked_candidates),
    ("naked pair", 2, lambda b: naked_subset(b, 2)),
    ("hidden pair", 2, lambda b: hidden_subset(b, 2)),
    ("naked triple", 2, lambda b: naked_subset(b, 3)),
    ("hidden triple", 2, lambda b: hidden_subset(b, 3)),
    ("x-wing", 3, lambda b: fish(b, 2)),
    ("xy-wing", 3, xy_wing),
    ("xyz-wing", 3, xyz_wing),
    ("simple colouring", 3, simple_colouring),
    ("swordfish", 3, lambda b: fish(b, 3)),
    ("naked quad", 3, lambda b: naked_subset(b, 4)),
    ("hidden quad", 3, lambda b: hidden_subset(b, 4)),
    ("jellyfish", 3, lambda b: fish(b, 4)),
    ("xy-chain", 3, xy_chain),
]


@dataclass
class Grade:
    level: int                                                  # 1-3, or 4 when the ladder gets stuck
    uses: dict[str, int] = field(default_factory=dict)          # technique -> times it made progress
    values: list[int] = field(default_factory=list)             # the grid where the grader stopped

    @property
    def name(self) -> str:
        return GRADE_NAMES[self.level]


def grade(puzzle: np.ndarray | Sequence[int] | str, max_level: int = 3) -> Grade:
    """The human grade of a puzzle (see the module docstring). Stops early, at level 4, once techniques
    above `max_level` would be needed."""
    board = _Board(_values(puzzle))
    level, uses = 1, {}
    while not board.solved and not board.broken:
        for name, technique_level, technique in LADDER:
            if technique_level > max_level:
                return Grade(UNSOLVABLE, uses, board.values)
            if technique(board):
                level = max(level, technique_level)
                uses[name] = uses.get(name, 0) + 1
                break
        else:
            return Grade(UNSOLVABLE, uses, board.values)
    if board.broken:
        return Grade(UNSOLVABLE, uses, board.values)
    return Grade(level, uses, board.values)
