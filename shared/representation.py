"""Who is under-represented: the parts of a group (a campaign's audience by region, a survey's
respondents by band) set beside the same parts of the population. No I/O.

Shares are among the *compared* parts: those with a population figure above 0. A part without
one is not compared (nothing is made up, and a ratio to 0 means nothing); with nobody of the
group in the compared parts there are no shares. Shares are exact fractions, so the same group
in any multiple gives the same answer and ties are real ties. A part whose share of the group is
under four fifths of its share of the population is under-represented: the "four-fifths" rule
of thumb for adverse impact, read as fewer than 4 in the group for every 5 the population would
have there."""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

UNDER = Fraction(4, 5)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Part(Generic[K]):
    key: K
    label: str  # orders ties after the population: a name or a band's code
    count: int
    population: int | None


def shares(parts: Sequence[Part[K]]) -> dict[K, tuple[Fraction, Fraction]]:
    """Each compared part's (share of the group, share of the population)."""
    compared = [p for p in parts if p.population]
    group = sum(p.count for p in compared)
    population = sum(p.population or 0 for p in compared)
    if group == 0:
        return {}
    return {p.key: (Fraction(p.count, group), Fraction(p.population or 0, population)) for p in compared}


def under_represented(parts: Sequence[Part[K]]) -> list[K]:
    """The parts under four fifths of their population share, the most under-represented first
    (ties: the larger population first, then the label, then the key, so the order is stable)."""
    by_key = {p.key: p for p in parts}
    found = [
        (share / population, -(by_key[key].population or 0), by_key[key].label, str(key), key)
        for key, (share, population) in shares(parts).items()
        if share / population < UNDER
    ]
    return [key for *_, key in sorted(found)]
