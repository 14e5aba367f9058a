"""A competition's rules without I/O: the weighted score, the ranking with shared ranks, a tie
across the last place refused, incomplete scores refused, a score sheet's refusals."""

import uuid
from fractions import Fraction

import pytest

from services.engagement.decisions.competition import (
    CriterionScore,
    NotRankable,
    ScoreSheet,
    hundredths,
    ranking,
    sheet_refusal,
    weighted_score,
)


def test_the_weighted_score_is_the_weighted_mean_of_the_reviewers_means() -> None:
    # Criterion 1 weighs 3, criterion 2 weighs 1; two reviewers.
    sheets = [{1: 8, 2: 4}, {1: 6, 2: 10}]
    # means: 7 and 7; (3 * 7 + 1 * 7) / 4 = 7
    assert weighted_score([3, 1], sheets) == 7
    assert weighted_score([3, 1], [{1: 10, 2: 0}]) == Fraction(30, 4)
    assert weighted_score([1, 1, 1], [{1: 1, 2: 1, 3: 0}]) == Fraction(2, 3)
    assert hundredths(Fraction(2, 3)) == 67 and hundredths(Fraction(1, 200)) == 1


def test_the_ranking_designates_the_top_places_and_shares_ranks() -> None:
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    applications = [(a, "Alpha"), (b, "Bravo"), (c, "Charlie"), (d, "Delta")]
    sheets = {
        a: {1: {1: 9}, 2: {1: 9}},
        b: {1: {1: 5}, 2: {1: 7}},
        c: {1: {1: 6}, 2: {1: 6}},  # ties with Bravo at 6, below the cut
        d: {2: {1: 10}},  # reviewer 1 declared a conflict: one reviewer expected
    }
    expected = {a: 2, b: 2, c: 2, d: 1}
    ranked = ranking([1], applications, sheets, expected, places=2)
    assert [(r.community, r.rank, r.designated, r.reviewers) for r in ranked] == [
        ("Delta", 1, True, 1),
        ("Alpha", 2, True, 2),
        ("Bravo", 3, False, 2),
        ("Charlie", 3, False, 2),
    ]


def test_a_tie_across_the_last_place_and_missing_scores_are_refused() -> None:
    a, b, c = (uuid.uuid4() for _ in range(3))
    applications = [(a, "Alpha"), (b, "Bravo"), (c, "Charlie")]
    tied = {a: {1: {1: 9}}, b: {1: {1: 5}}, c: {1: {1: 5}}}
    with pytest.raises(NotRankable, match="tie at the last designated place"):
        ranking([1], applications, tied, dict.fromkeys((a, b, c), 1), places=2)
    assert [
        r.designated for r in ranking([1], applications, tied, dict.fromkeys((a, b, c), 1), places=1)
    ] == [
        True,
        False,
        False,
    ]
    missing = {a: {1: {1: 9}}, b: {1: {1: 5}}}
    with pytest.raises(NotRankable, match="Charlie: scored by 0 of its 1 reviewers"):
        ranking([1], applications, missing, dict.fromkeys((a, b, c), 1), places=1)
    with pytest.raises(NotRankable, match="Bravo: scored by 1 of its 2"):
        ranking([1], applications, tied, {a: 1, b: 2, c: 1}, places=1)


def test_a_sheet_is_refused_for_a_conflict_or_incomplete() -> None:
    sheet = ScoreSheet(
        reviewer=2, scores=(CriterionScore(criterion=1, score=7), CriterionScore(criterion=2, score=3))
    )
    assert sheet_refusal(sheet, 2, 3, conflicted=False) is None
    assert "conflict of interest" in str(sheet_refusal(sheet, 2, 3, conflicted=True))
    assert "every criterion" in str(sheet_refusal(sheet, 3, 3, conflicted=False))
    assert "no such member" in str(sheet_refusal(sheet, 2, 1, conflicted=False))
    with pytest.raises(ValueError, match="score each criterion once"):
        ScoreSheet(
            reviewer=1, scores=(CriterionScore(criterion=1, score=1), CriterionScore(criterion=1, score=2))
        )
    with pytest.raises(ValueError):
        CriterionScore(criterion=1, score=11)
