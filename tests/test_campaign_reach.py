"""How representative a campaign's audience is of its regions' households: services/engagement/
campaigns/reach.py, without a database."""

import random
import uuid
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from services.engagement.campaigns.models import AudienceSize
from services.engagement.campaigns.reach import NAMED, RegionCount, reach, shares, under_represented
from shared.representation import UNDER


def region(name: str, people: int, households: int | None) -> RegionCount:
    return RegionCount(
        region_id=uuid.uuid5(uuid.NAMESPACE_URL, name), name=name, people=people, households=households
    )


regions = st.lists(
    st.builds(
        RegionCount,
        region_id=st.uuids(),
        name=st.text(min_size=1, max_size=5),
        people=st.integers(0, 1000),
        households=st.none() | st.integers(0, 10**6),
    ),
    max_size=12,
    unique_by=lambda r: r.region_id,
)


def test_a_region_with_a_quarter_of_the_audience_and_three_quarters_of_the_households_is_named() -> None:
    oakland, san_jose = region("Alameda", 1, 3000), region("Santa Clara", 3, 1000)
    assert shares([oakland, san_jose])[oakland.region_id] == (Fraction(1, 4), Fraction(3, 4))
    assert under_represented([oakland, san_jose]) == [oakland.region_id]


def test_an_audience_spread_as_the_households_names_no_region() -> None:
    assert under_represented([region("A", 2, 200), region("B", 5, 500), region("C", 0, None)]) == []


def test_regions_without_households_or_without_audience_are_not_compared() -> None:
    unmeasured = region("No baseline", 9, None)
    assert unmeasured.region_id not in shares([unmeasured, region("A", 1, 10)])
    assert shares([region("A", 0, 10), region("B", 0, 20)]) == {}  # no one to compare
    result = reach(AudienceSize(people=9, consenting=0), [unmeasured])
    assert result.regions[0].representation is None and result.under_represented == ()


def test_a_campaign_no_one_answered_or_came_to_counts_zero() -> None:
    result = reach(AudienceSize(people=1, consenting=1), [region("A", 1, 10)])
    assert (result.registered, result.attended, result.responded) == (0, 0, 0)  # no one yet
    assert result.respondents == ()


@given(regions)
def test_compared_shares_each_add_up_to_one(counts: list[RegionCount]) -> None:
    compared = shares(counts)
    if compared:
        assert sum(a for a, _ in compared.values()) == 1
        assert sum(p for _, p in compared.values()) == 1


@given(regions)
def test_the_named_regions_are_exactly_those_under_four_fifths_most_under_first(
    counts: list[RegionCount],
) -> None:
    compared = shares(counts)
    named = under_represented(counts)
    assert set(named) == {i for i, (a, p) in compared.items() if a / p < UNDER}
    ratios = [compared[i][0] / compared[i][1] for i in named]
    assert ratios == sorted(ratios)


@given(regions, st.randoms())
def test_the_order_regions_are_listed_in_changes_nothing_but_the_table(
    counts: list[RegionCount], rnd: random.Random
) -> None:
    shuffled = list(counts)
    rnd.shuffle(shuffled)
    assert under_represented(shuffled) == under_represented(counts)
    result = reach(AudienceSize(people=0, consenting=0), counts)
    assert [r.region_id for r in result.regions] == [r.region_id for r in counts]
    assert len(result.under_represented) <= NAMED


@given(regions, st.integers(1, 50))
def test_more_audience_in_a_region_never_makes_it_more_under_represented(
    counts: list[RegionCount], more: int
) -> None:
    for i, counted in enumerate(counts):
        grown = [*counts[:i], counted.model_copy(update={"people": counted.people + more}), *counts[i + 1 :]]
        before, after = shares(counts), shares(grown)
        if counted.region_id in before:
            (a0, p0), (a1, p1) = before[counted.region_id], after[counted.region_id]
            assert a1 / p1 >= a0 / p0
