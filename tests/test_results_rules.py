"""Survey results' rules alone, without I/O: small-cell suppression and representativeness."""

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.surveys.results.representativeness import BandCount, representativeness
from services.surveys.results.suppression import Suppressed, SuppressedTable, suppress
from shared.demographics import Dimension


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
        ["*", "*", "28"],
        ["65", "15", "80"],
    ]
    assert table.legend == "*: fewer than 5, or hidden so that such a count can't be worked out"


def test_zeros_are_shown_and_a_line_of_zeros_has_its_total_hidden() -> None:
    # The 2 is alone in its row with zeros: no cell can hide it, so the row's total goes. Then the
    # 2 would be its column's total minus 9, so the 9 goes, and the 30 with it (row 1's total is
    # shown); the zero can't hide the 30 in its column, so that total goes, and the grand total
    # minus the shown row total would give row 0's: the 2. Only the zero and 39 are left.
    table = suppress([[2, 0], [9, 30]])
    assert rendered(table) == [
        ["*", "0", "*"],
        ["*", "*", "39"],
        ["*", "*", "*"],
    ]


def test_nothing_small_hides_nothing_and_the_threshold_is_the_surveys() -> None:
    assert rendered(suppress([[5, 0], [7, 9]])) == [["5", "0", "5"], ["7", "9", "16"], ["12", "9", "21"]]
    assert rendered(suppress([[5, 8], [7, 9]], threshold=10))[0][:2] == ["*", "*"]
    assert suppress([[5]], threshold=10).legend.startswith("*: fewer than 10,")


def test_a_hidden_cell_does_not_say_whether_it_is_small() -> None:
    # Were the 1 shown as "<5" and the 5 as something else, the 5 would be known to be at least 5
    # and the 1 at least 1, and their total of 6 would give both.
    table = suppress([[1, 5], [20, 20]])
    assert table.cells[0] == (Suppressed(), Suppressed())
    assert table.row_totals[0] == 6


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
                assert shown == Suppressed()
                assert table.render(shown) == "*"
            elif n == 0:
                assert shown == 0
            else:
                assert shown in (n, Suppressed())
    for totals, sums in (
        (table.row_totals, [sum(r) for r in counts]),
        (table.column_totals, [sum(c) for c in zip(*counts, strict=True)]),
        ((table.grand_total,), [sum(map(sum, counts))]),
    ):
        assert all(shown in (n, Suppressed()) for shown, n in zip(totals, sums, strict=True))


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
    # Row by row, only the changes that keep the row's shown total, so that 4x4 tables stay quick.
    per_row = []
    for i, total in enumerate(table.row_totals):
        mine = [(i, j) for (r, j) in cells if r == i]
        per_row.append(
            [
                dict(zip(mine, steps, strict=True))
                for steps in itertools.product((-1, 0, 1), repeat=len(mine))
                if (hidden(total) or sum(steps) == 0)
                and all(counts[i][j] + d >= 0 for (_, j), d in zip(mine, steps, strict=True))
            ]
        )
    changed: set[tuple[int, int]] = set()
    for parts in itertools.product(*per_row):
        delta = {c: d for part in parts for c, d in part.items()}
        columns = [sum(delta.get((i, j), 0) for i in range(len(counts))) for j in range(len(counts[0]))]
        if all(d == 0 for d, t in zip(columns, table.column_totals, strict=True) if not hidden(t)) and (
            hidden(table.grand_total) or sum(columns) == 0
        ):
            changed |= {c for c, d in delta.items() if d}
    return changed == set(cells)


@settings(max_examples=150, deadline=None)
@given(tables(max_side=3), thresholds)
def test_no_suppressed_cell_can_be_worked_out_from_what_is_shown(
    counts: list[list[int]], threshold: int
) -> None:
    assert alternatives_exist(counts, suppress(counts, threshold))


def tenure(owners: int, renters: int) -> list[BandCount]:
    # Owners are 60% of the region's households, renters 40%.
    return [
        BandCount(band="owner", respondents=owners, population=6_000),
        BandCount(band="renter", respondents=renters, population=4_000),
    ]


def test_renters_under_represented_in_a_worked_example() -> None:
    result = representativeness(Dimension.TENURE, tenure(owners=90, renters=10))
    owner, renter = result.bands
    assert (owner.respondent_share, owner.population_share) == (0.9, 0.6)
    assert renter.representation == pytest.approx(0.25)
    assert result.index == pytest.approx(0.7)  # 1 - ½(|0.9-0.6| + |0.1-0.4|)
    assert result.under_represented == ("renter",)


def test_bands_without_a_baseline_are_listed_not_compared() -> None:
    bands = [
        BandCount(band="english_only", respondents=34, population=700),
        BandCount(band="spanish", respondents=6, population=300),
        BandCount(band="other", respondents=5, population=None),
        BandCount(band="asian_pacific_island", respondents=2, population=0),
    ]
    result = representativeness(Dimension.LANGUAGE_AT_HOME, bands)
    assert [b.band for b in result.bands] == ["english_only", "spanish", "other", "asian_pacific_island"]
    assert [b.respondent_share for b in result.bands] == [0.85, 0.15, None, None]
    assert result.bands[2].representation is None
    assert result.under_represented == ("spanish",)  # 0.15 / 0.3 < 0.8


def test_no_respondents_no_index() -> None:
    result = representativeness(Dimension.TENURE, tenure(owners=0, renters=0))
    assert result.index is None
    assert result.under_represented == ()
    assert all(b.respondent_share is None for b in result.bands)
    # Respondents only where there is no baseline are none to compare either.
    only_unknown = [BandCount(band="owner", respondents=4, population=None)]
    assert representativeness(Dimension.TENURE, only_unknown).index is None


def test_exactly_four_fifths_is_not_under_represented_and_ties_go_by_population_then_code() -> None:
    bands = [
        BandCount(band="under_25000", respondents=8, population=100),
        BandCount(band="25000_49999", respondents=1, population=100),
        BandCount(band="50000_74999", respondents=2, population=200),
        BandCount(band="75000_99999", respondents=1, population=100),
        BandCount(band="100000_149999", respondents=28, population=100),
    ]
    # Shares of 40 respondents and 600 households: representation 1.2, 0.15, 0.15, 0.15, 4.2...
    result = representativeness(Dimension.HOUSEHOLD_INCOME, bands)
    assert result.under_represented == ("50000_74999", "25000_49999", "75000_99999")
    at_the_line = [
        BandCount(band="owner", respondents=4, population=5),
        BandCount(band="renter", respondents=6, population=5),
    ]
    assert representativeness(Dimension.TENURE, at_the_line).under_represented == ()  # 0.8 exactly


def test_a_band_counted_twice_or_of_another_dimension_is_refused() -> None:
    owners = BandCount(band="owner", respondents=1, population=1)
    with pytest.raises(ValueError, match="counted twice"):
        representativeness(Dimension.TENURE, [*tenure(1, 1), owners])
    with pytest.raises(ValueError, match="not a band of age"):
        representativeness(Dimension.AGE, [owners])


CODES = ["under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus"]
dimensions = st.lists(
    st.tuples(st.integers(0, 500), st.one_of(st.none(), st.integers(0, 100_000))), min_size=1, max_size=7
).map(
    lambda pairs: [
        BandCount(band=code, respondents=r, population=p) for code, (r, p) in zip(CODES, pairs, strict=False)
    ]
)


@given(dimensions)
def test_shares_add_up_and_the_index_is_between_0_and_1(bands: list[BandCount]) -> None:
    result = representativeness(Dimension.AGE, bands)
    compared = [b for b in result.bands if b.respondent_share is not None]
    if not any(b.respondents for b in bands if b.population):
        assert result.index is None and not compared
        return
    assert sum(b.respondent_share or 0 for b in compared) == pytest.approx(1)
    assert sum(b.population_share or 0 for b in compared) == pytest.approx(1)
    assert result.index is not None and 0 <= result.index <= 1
    assert {b.band for b in compared} == {b.band for b in bands if b.population}


@given(st.lists(st.integers(1, 100_000), min_size=1, max_size=7), st.integers(1, 50))
def test_respondents_spread_as_the_population_is_perfectly_representative(
    populations: list[int], per_person: int
) -> None:
    bands = [
        BandCount(band=code, respondents=p * per_person, population=p)
        for code, p in zip(CODES, populations, strict=False)
    ]
    result = representativeness(Dimension.AGE, bands)
    assert result.index == 1
    assert all(b.representation == pytest.approx(1) for b in result.bands)
    assert result.under_represented == ()


@given(dimensions, st.integers(1, 1000))
def test_scaling_the_respondents_changes_nothing(bands: list[BandCount], factor: int) -> None:
    scaled = [b.model_copy(update={"respondents": b.respondents * factor}) for b in bands]
    before, after = representativeness(Dimension.AGE, bands), representativeness(Dimension.AGE, scaled)
    assert after.index == before.index
    assert after.under_represented == before.under_represented
    assert [(b.respondent_share, b.population_share, b.representation) for b in after.bands] == [
        (b.respondent_share, b.population_share, b.representation) for b in before.bands
    ]


@given(dimensions)
def test_the_under_represented_are_exactly_the_bands_under_four_fifths_most_under_first(
    bands: list[BandCount],
) -> None:
    result = representativeness(Dimension.AGE, bands)
    # Worked out again here from the counts, exactly, not from the rounded shares.
    compared = [b for b in bands if b.population]
    respondents = sum(b.respondents for b in compared)
    population = sum(b.population or 0 for b in compared)
    ratio = {
        b.band: Fraction(b.respondents * population, respondents * (b.population or 1))
        for b in compared
        if respondents
    }
    expected = sorted(
        (code for code, r in ratio.items() if r < Fraction(4, 5)),
        key=lambda code: (ratio[code], -(next(b.population for b in bands if b.band == code) or 0), code),
    )
    assert list(result.under_represented) == expected
