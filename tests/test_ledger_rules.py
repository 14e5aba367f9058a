"""The ledger's rules without a database: the canonical form (RFC 8785's subset), an entry's
hash over the one before, and verification naming the first bad entry of a chain or line of an
export, whatever byte of it was changed."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.engagement.decisions.canonical import NotCanonical, canonical
from services.engagement.decisions.ledger import (
    GENESIS,
    Author,
    Kind,
    Step,
    line_of,
    signed,
    unsigned,
    verify,
    verify_export,
)

DECISION = uuid.UUID("6f1c2a52-8d2e-4c3b-9a57-0e4b1d7c9f10")
ACCOUNT = uuid.UUID("0b8e6d7a-1c2f-4e5a-8b9c-3d4e5f607182")
ADA = Author(ACCOUNT, "Ada Lovelace", f"organizer:{uuid.UUID(int=7)}")
START = datetime(2025, 3, 4, 17, 5, 9, 123456, tzinfo=UTC)


def a_chain(steps: list[Step], author: Author = ADA) -> list[dict[str, object]]:
    chain: list[dict[str, object]] = []
    for number, step in enumerate(steps, start=1):
        prev = str(chain[-1]["hash"]) if chain else GENESIS
        at = START + timedelta(seconds=number)
        chain.append(signed(unsigned(step, author, sequence=number, at=at, prev_hash=prev)))
    return chain


STEPS = [
    Step(DECISION, Kind.CREATED, {"title": "Rezone the Northside industrial site", "method": "majority"}),
    Step(DECISION, Kind.STAGE_CHANGED, {"stage": "consultation"}),
    Step(DECISION, Kind.PARTICIPATION_COUNTED, {"survey_id": str(uuid.UUID(int=3)), "responses": 212}),
    Step(DECISION, Kind.CORRECTION, {"responses": 213, "why": "a late paper form"}, corrects=3),
]


def export(chain: list[dict[str, object]]) -> bytes:
    return b"".join(line_of(entry) for entry in chain)


def test_the_canonical_form_sorts_members_and_escapes_as_rfc_8785() -> None:
    value = {"b": [1, -2, None, True, False], "a": 'é "q" \\ \n\t\b\f\r \x01 \x7f \u2028 😀', "A": {}}
    expected = (
        '{"A":{},"a":"é \\"q\\" \\\\ \\n\\t\\b\\f\\r \\u0001 \x7f \u2028 😀","b":[1,-2,null,true,false]}'
    )
    assert canonical(value) == expected.encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [1.5, {"x": 2**53}, {"x": -(2**53)}, {"naïve": 1}, {"a b": 1}, {1: 2}, "\ud800", {"x": {1, 2}}],
)
def test_the_canonical_form_refuses_what_it_has_no_bytes_for(value: object) -> None:
    with pytest.raises(NotCanonical):
        canonical(value)


def test_the_largest_safe_integers_are_canonical() -> None:
    assert canonical([2**53 - 1, -(2**53 - 1)]) == b"[9007199254740991,-9007199254740991]"


def test_each_hash_is_sha_256_of_the_entry_without_its_hash_and_covers_the_previous_one() -> None:
    chain = a_chain(STEPS)
    for before, entry in zip([{"hash": GENESIS}, *chain], chain, strict=False):
        assert entry["prev_hash"] == before["hash"]
        without = {k: v for k, v in entry.items() if k != "hash"}
        body = json.dumps(without, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        assert entry["hash"] == hashlib.sha256(body).hexdigest()
    assert verify(chain).verifies
    assert verify(chain).entries == 4
    assert verify(chain).head == chain[-1]["hash"]
    assert verify_export(export(chain)).verifies


def test_the_readme_worked_example_is_true() -> None:
    """The README's example: the entry's canonical bytes without its hash, the hash, and the
    export's line, each as the README prints them."""
    [entry] = a_chain(STEPS[:1], Author(ACCOUNT, "Ana Núñez", ADA.role))
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    unsigned_bytes = canonical({k: v for k, v in entry.items() if k != "hash"})
    assert f"\n{unsigned_bytes.decode()}\n" in readme
    assert f"\n{entry['hash']}\n" in readme
    assert f"\n{line_of(entry).decode()}" in readme


@pytest.mark.parametrize(
    ("member", "value", "problem"),
    [
        ("sequence", 5, "sequence should be 2"),
        ("prev_hash", GENESIS, "prev_hash is not the previous entry's hash"),
        ("kind", "rumoured", "unknown kind"),
        ("at", "2025-03-04 17:05:09", "at is not a time"),
        ("payload", {"stage": "decided"}, "hash does not match"),
        ("who", {"account_id": None, "name": "Someone else"}, "hash does not match"),
        ("corrects", 1, "corrects must name an earlier entry"),
        ("payload", {"share": 0.5}, "no canonical form"),
    ],
)
def test_the_first_changed_entry_is_named(member: str, value: object, problem: str) -> None:
    chain = a_chain(STEPS)
    chain[1] = {**chain[1], member: value}
    verdict = verify(chain)
    assert (verdict.bad_at, verdict.entries, verdict.head) == (2, 1, chain[0]["hash"])
    assert problem in verdict.problem


def test_a_correction_must_point_back_and_only_a_correction_points() -> None:
    chain = a_chain([*STEPS[:3], Step(DECISION, Kind.CORRECTION, {"why": "x"}, corrects=4)])
    assert verify(chain).bad_at == 4


def test_an_entry_removed_or_two_swapped_breaks_the_chain() -> None:
    chain = a_chain(STEPS)
    assert verify(chain[:1] + chain[2:]).bad_at == 2
    assert verify([chain[0], chain[2], chain[1], chain[3]]).bad_at == 2
    assert verify(chain[1:]).bad_at == 1


def test_an_export_whose_line_is_written_otherwise_is_refused_though_it_means_the_same() -> None:
    chain = a_chain(STEPS)
    spaced = json.dumps(chain[2], sort_keys=True, ensure_ascii=False).encode() + b"\n"
    lines = [line_of(entry) for entry in chain]
    assert verify_export(b"".join([*lines[:2], spaced, lines[3]])).bad_at == 3
    assert verify_export(export(chain)[:-1]).bad_at == 4  # the last newline gone
    assert verify_export(export(chain) + b"\n").bad_at == 5  # an empty line


@given(st.data())
def test_any_byte_changed_anywhere_in_an_export_is_caught(data: st.DataObject) -> None:
    chain = a_chain(STEPS)
    lines = [line_of(entry) for entry in chain]
    line = data.draw(st.integers(0, len(lines) - 1), label="line")
    at = data.draw(st.integers(0, len(lines[line]) - 1), label="byte")
    flip = data.draw(st.integers(1, 255), label="xor")
    changed = bytearray(lines[line])
    changed[at] ^= flip
    tampered = b"".join([*lines[:line], bytes(changed), *lines[line + 1 :]])
    verdict = verify_export(tampered)
    assert not verdict.verifies
    assert verdict.bad_at is not None and verdict.bad_at <= line + 2  # this line, or the next if split


@given(
    st.lists(
        st.dictionaries(
            st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
            st.one_of(st.integers(-(2**53) + 1, 2**53 - 1), st.text(), st.booleans(), st.none()),
            max_size=4,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_chain_written_verifies_and_its_export_reads_back(payloads: list[dict[str, object]]) -> None:
    chain = a_chain([Step(DECISION, Kind.STAGE_CHANGED, payload) for payload in payloads])
    assert verify(chain).verifies
    assert verify_export(export(chain)) == verify(chain)
