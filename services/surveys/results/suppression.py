"""Small-cell suppression for a survey's cross-tabs. No I/O.

A cross-tab counts respondents by two questions (or a question and a demographic band): a cell
per pair of options, with row totals, column totals and a grand total. What is shown, for a
survey's ``threshold`` t (default 5):

- A count of 0 is shown: it names no one, and it is the common rule (hiding zeros too would hide
  most of a sparse table for nothing).
- Every count from 1 to t-1 is suppressed.
- Complementary suppression: a row or column whose total is shown never holds
  exactly one suppressed cell, or the total minus the shown cells would give it. Where one does,
  the smallest shown non-zero cell of that line is suppressed too (ties: the upper row, then the
  left column); where the line has none (its other cells are zeros), its total is suppressed
  instead. Each new suppression can leave another line with a single one, so this repeats
  until no line does.
- Then an audit for what several lines give together: adding and subtracting shown totals of
  several rows and columns can isolate a suppressed cell that no single line gives (two blocks of
  suppressed cells joined by one cell). Such a cell is protected by suppressing one more shown
  non-zero cell that joins the two blocks (the smallest, same ties), or, where there is none, its
  row's total, else its column's, else the grand total. Then the line rule again, until stable.

Every suppressed cell and total is shown alike, ``*``, the legend saying "fewer than 5, or hidden so
that such a count can't be worked out" (with the survey's threshold). Not ``<5`` for the small ones
and something else for the others: a reader would then know a complementary cell is at least t,
and with a ``<5`` in [1, t-1] beside it often pin both (a row of 1 and 5 with its total 6).

The guarantee. Call a table *consistent* with what is shown when it has the shown cells and the
shown totals (and its totals are its sums), its suppressed cells being any counts of 0 or more.
Then every suppressed cell takes at least two different values among the consistent tables:
no combination of sums and differences of what is shown gives it. In particular every row and
every column whose total is shown holds 0 or at least 2 suppressed cells. Suppressed totals are
not themselves protected (a total hidden alone may be the grand total minus the others) — only
the cells are. Not guaranteed: a reader who also uses that a ``*`` is not 0 (zeros are shown)
can narrow a cell further, and in some tables pin it (a 2x2 of ones with its totals shown);
auditing for that needs bounds in the audit (a linear programme per cell), not done here.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field, NonNegativeInt, model_validator

THRESHOLD = 5  # the counts under it are small; a survey may set its own

Cell = tuple[int, int]
# A node of the audit's graph: a row or a column whose total is shown, or all the rows (all the
# columns) whose totals are suppressed together: nothing ties a hidden total to its own cells.
Node = tuple[str, int]
ROWS_HIDDEN: Node = ("rows", -1)
COLUMNS_HIDDEN: Node = ("columns", -1)


class Suppressed(BaseModel, frozen=True):
    """A count not shown: small, or hidden so that a small one cannot be worked out. Which of the
    two is not kept, so that no page or API can tell."""


Shown = int | Suppressed


class SuppressedTable(BaseModel, frozen=True):
    threshold: int
    cells: tuple[tuple[Shown, ...], ...]
    row_totals: tuple[Shown, ...]
    column_totals: tuple[Shown, ...]
    grand_total: Shown

    def render(self, shown: Shown) -> str:
        """A cell or total as a results page prints it: the count, or ``*`` (see ``legend``)."""
        return str(shown) if isinstance(shown, int) else "*"

    @property
    def legend(self) -> str:
        return f"*: fewer than {self.threshold}, or hidden so that such a count can't be worked out"


class _Counts(BaseModel, frozen=True):
    counts: tuple[tuple[NonNegativeInt, ...], ...] = Field(min_length=1)
    threshold: int = Field(ge=1)

    @model_validator(mode="after")
    def _rectangular(self) -> "_Counts":
        if len({len(row) for row in self.counts}) != 1 or not self.counts[0]:
            raise ValueError("a cross-tab's rows must all have the same, non-zero number of cells")
        return self


@dataclass
class _Hiding:
    """What is suppressed so far: grows only, so the rules below end."""

    counts: tuple[tuple[int, ...], ...]
    cells: set[Cell]
    rows: set[int] = field(default_factory=set)
    columns: set[int] = field(default_factory=set)
    grand: bool = False

    def value(self, cell: Cell) -> int:
        return self.counts[cell[0]][cell[1]]

    def pick(self, candidates: Iterable[Cell]) -> Cell | None:
        """The smallest shown non-zero cell among ``candidates``: the least information lost."""
        shown = [c for c in candidates if c not in self.cells and self.value(c) > 0]
        return min(shown, key=lambda c: (self.value(c), c), default=None)

    def row_node(self, row: int) -> Node:
        return ROWS_HIDDEN if row in self.rows else ("row", row)

    def column_node(self, column: int) -> Node:
        return COLUMNS_HIDDEN if column in self.columns else ("column", column)


def _lines(hiding: _Hiding) -> list[tuple[list[Cell], set[int], int]]:
    """Each row and column: its cells, the set its total is hidden in, and its index there."""
    height, width = len(hiding.counts), len(hiding.counts[0])
    rows = [([(i, j) for j in range(width)], hiding.rows, i) for i in range(height)]
    columns = [([(i, j) for i in range(height)], hiding.columns, j) for j in range(width)]
    return rows + columns


def _complement_a_single(hiding: _Hiding) -> bool:
    """Protects the first line (rows, then columns) with a shown total and exactly one suppressed
    cell; whether there was one."""
    for cells, hidden_totals, index in _lines(hiding):
        if index in hidden_totals or sum(c in hiding.cells for c in cells) != 1:
            continue
        other = hiding.pick(cells)
        if other is None:
            hidden_totals.add(index)
        else:
            hiding.cells.add(other)
        return True
    return False


def _edges(hiding: _Hiding) -> list[tuple[Cell | None, Node, Node]]:
    """The audit's graph: an edge per suppressed cell between its row's and its column's nodes,
    and, when the grand total is suppressed, one (None) between the hidden rows and columns.

    Shown totals make each node's cells sum to a known number (with a shown grand total, the
    hidden rows' together, and the hidden columns' together). So a suppressed cell can change, the
    others making up for it, exactly when its edge lies on a cycle: +1 and -1 alternately round it,
    the -1s on cells that are not 0 (no suppressed cell is). A cell on no cycle (a bridge) is the
    difference of the known sums on either side of it."""
    edges: list[tuple[Cell | None, Node, Node]] = [
        (cell, hiding.row_node(cell[0]), hiding.column_node(cell[1])) for cell in sorted(hiding.cells)
    ]
    if hiding.grand:
        edges.append((None, ROWS_HIDDEN, COLUMNS_HIDDEN))
    return edges


def _reached(edges: list[tuple[Cell | None, Node, Node]], start: Node, without: int) -> set[Node]:
    """The nodes joined to ``start`` by the edges other than the ``without``-th."""
    seen, queue = {start}, deque([start])
    while queue:
        node = queue.popleft()
        for index, (_, u, v) in enumerate(edges):
            if index != without and node in (u, v):
                other = v if node == u else u
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
    return seen


def _join_a_bridge(hiding: _Hiding) -> bool:
    """Protects the first suppressed cell that several lines' totals give together; whether there
    was one."""
    edges = _edges(hiding)
    height, width = len(hiding.counts), len(hiding.counts[0])
    for index, (cell, u, v) in enumerate(edges):
        side_u = _reached(edges, u, index)
        if cell is None or v in side_u:
            continue
        side_v = _reached(edges, v, index)
        # Any cell from one side to the other closes a cycle through this one.
        joining = [
            (i, j)
            for i in range(height)
            for j in range(width)
            if {hiding.row_node(i), hiding.column_node(j)} & side_u
            and {hiding.row_node(i), hiding.column_node(j)} & side_v
        ]
        other = hiding.pick(joining)
        if other is not None:
            hiding.cells.add(other)
        elif cell[0] not in hiding.rows:
            hiding.rows.add(cell[0])
        elif cell[1] not in hiding.columns:
            hiding.columns.add(cell[1])
        else:
            # Both its totals hidden: its edge joins the hidden rows to the hidden columns, and
            # so does the grand total's once hidden, a cycle of two.
            hiding.grand = True
        return True
    return False


def suppress(counts: list[list[int]], threshold: int = THRESHOLD) -> SuppressedTable:
    """A cross-tab as a results page may show it (the module's docstring says what that means)."""
    table = _Counts(counts=tuple(tuple(row) for row in counts), threshold=threshold)
    hiding = _Hiding(
        counts=table.counts,
        cells={(i, j) for i, row in enumerate(table.counts) for j, n in enumerate(row) if 0 < n < threshold},
    )
    while _complement_a_single(hiding) or _join_a_bridge(hiding):
        pass

    def shown(value: int, hidden: bool) -> Shown:
        return Suppressed() if hidden else value

    columns = list(zip(*table.counts, strict=True))
    return SuppressedTable(
        threshold=threshold,
        cells=tuple(
            tuple(shown(n, (i, j) in hiding.cells) for j, n in enumerate(row))
            for i, row in enumerate(table.counts)
        ),
        row_totals=tuple(shown(sum(row), i in hiding.rows) for i, row in enumerate(table.counts)),
        column_totals=tuple(shown(sum(col), j in hiding.columns) for j, col in enumerate(columns)),
        grand_total=shown(sum(map(sum, table.counts)), hiding.grand),
    )
