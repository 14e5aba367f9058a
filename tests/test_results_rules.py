"""Survey results' rules alone, without I/O: small-cell suppression and representativeness."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.surveys.results.suppression import Suppressed, SuppressedTable, suppress


def tables(max_side: int, max_count: int = 30) -> st.SearchStrategy[list[list[int]]]:
    return st.integers(1, max_side).flatmap(
        lambda width: st.lists(
            st.lists(st.integers(0, max_count), min_size=width, max_size=width), min_size=1, max_size=max_side
        )
    )


thresholds = st.integers(2, 10)


def hidden(shown: object) -> bool:
    return isinstance(shown, Suppressed)


def rendered(table: SuppressedTable) -> list[list[str]]:
    rows = [
        [table.render(c) for c in row] + [table.render(total)]
        for row, total in zip(table.cells, table.row_totals, strict=True)
    ]
    return [*rows, [table.render(c) for c in table.column_totals] + [table.render(table.grand_total)]]


def test_a_worked_example() -> None:
    # Tenure by "would you use a new library branch": 3 renters said "no".
    table = suppress([[40, 12], [25, 3]])
    assert rendered(table) == [
        ["*", "*", "52"],
        ["*", "<5", "28"],
        ["65", "15", "80"],
    ]
    assert table.cells[1][1] == Suppressed(small=True)
    assert table.cells[0][1] == Suppressed(small=False)


def test_zeros_are_shown_and_a_line_of_zeros_has_its_total_hidden() -> None:
    # The 2 is alone in its row with zeros: no cell can hide it, so the row's total goes. Then the
    # 2 would be its column's total minus 9, so the 9 goes, and the 30 with it (row 1's total is
    # shown); the zero can't hide the 30 in its column, so that total goes, and the grand total
    # minus the shown row total would give row 0's: the 2. Only the zero and 39 are left.
    table = suppress([[2, 0], [9, 30]])
    assert rendered(table) == [
        ["<5", "0", "*"],
        ["*", "*", "39"],
        ["*", "*", "*"],
    ]


def test_nothing_small_hides_nothing_and_the_threshold_is_the_surveys() -> None:
    assert rendered(suppress([[5, 0], [7, 9]])) == [["5", "0", "5"], ["7", "9", "16"], ["12", "9", "21"]]
    assert rendered(suppress([[5, 8], [7, 9]], threshold=10))[0][:2] == ["<10", "<10"]


def test_cells_that_only_several_lines_together_would_give_are_hidden_too() -> None:
    # Two blocks of small cells, each safe within its own rows and columns, joined by the 1 at
    # (1, 2): the first two rows' totals minus the first two columns' would give it.
    counts = [
        [1, 1, 0, 0],
        [1, 1, 1, 0],
        [0, 0, 1, 1],
        [0, 0, 1, 1],
    ]
    counts = [[n if n else 20 for n in row] for row in counts]
    table = suppress(counts)
    assert alternatives_exist(counts, table)


@pytest.mark.parametrize("counts", [[], [[]], [[1, 2], [3]], [[1, -1]]])
def test_a_table_that_is_not_a_cross_tab_is_refused(counts: list[list[int]]) -> None:
    with pytest.raises(ValueError):
        suppress(counts)


@settings(max_examples=300)
@given(tables(max_side=5), thresholds)
def test_every_small_count_is_suppressed_and_the_rest_shown_as_they_are(
    counts: list[list[int]], threshold: int
) -> None:
    table = suppress(counts, threshold)
    for row, shown_row in zip(counts, table.cells, strict=True):
        for n, shown in zip(row, shown_row, strict=True):
            if 0 < n < threshold:
                assert shown == Suppressed(small=True)
                assert table.render(shown) == f"<{threshold}"
            elif n == 0:
                assert shown == 0
            else:
                assert shown in (n, Suppressed(small=False))
    for totals, sums in (
        (table.row_totals, [sum(r) for r in counts]),
        (table.column_totals, [sum(c) for c in zip(*counts, strict=True)]),
        ((table.grand_total,), [sum(map(sum, counts))]),
    ):
        assert all(shown in (n, Suppressed(small=False)) for shown, n in zip(totals, sums, strict=True))


@settings(max_examples=300)
@given(tables(max_side=5), thresholds)
def test_no_row_or_column_with_a_shown_total_holds_a_single_suppressed_cell(
    counts: list[list[int]], threshold: int
) -> None:
    table = suppress(counts, threshold)
    lines = [*zip(table.cells, table.row_totals, strict=True)]
    lines += [*zip(zip(*table.cells, strict=True), table.column_totals, strict=True)]
    for cells, total in lines:
        assert hidden(total) or sum(map(hidden, cells)) != 1


def alternatives_exist(counts: list[list[int]], table: SuppressedTable) -> bool:
    """Whether each suppressed cell takes two values among the tables consistent with what is
    shown (its shown cells and totals; suppressed cells any counts of 0 or more).

    It is enough to try the actual table changed by -1, 0 or +1 in each suppressed cell: the
    difference between two consistent tables is a sum of such ±1 changes round cycles of
    suppressed cells, each of them going the same way as the difference (so staying at 0 or more),
    and one of them changing the cell."""
    cells = [(i, j) for i, row in enumerate(table.cells) for j, c in enumerate(row) if hidden(c)]
    changed: set[tuple[int, int]] = set()
    for steps in itertools.product((-1, 0, 1), repeat=len(cells)):
        if not any(steps) or any(counts[i][j] + d < 0 for (i, j), d in zip(cells, steps, strict=True)):
            continue
        delta = dict(zip(cells, steps, strict=True))
        rows = [sum(delta.get((i, j), 0) for j in range(len(counts[0]))) for i in range(len(counts))]
        columns = [sum(delta.get((i, j), 0) for i in range(len(counts))) for j in range(len(counts[0]))]
        if (
            all(d == 0 for d, t in zip(rows, table.row_totals, strict=True) if not hidden(t))
            and all(d == 0 for d, t in zip(columns, table.column_totals, strict=True) if not hidden(t))
            and (hidden(table.grand_total) or sum(rows) == 0)
        ):
            changed |= {c for c, d in delta.items() if d}
    return changed == set(cells)


@settings(max_examples=150, deadline=None)
@given(tables(max_side=3), thresholds)
def test_no_suppressed_cell_can_be_worked_out_from_what_is_shown(
    counts: list[list[int]], threshold: int
) -> None:
    assert alternatives_exist(counts, suppress(counts, threshold))
