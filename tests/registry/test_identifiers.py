"""The identifier codec: round trips, and every typing error an operator can make is caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.checkdigit import verhoeff_digit, verhoeff_valid
from registry.errors import InvalidIdentifier, UnknownEntityType
from registry.identifiers import PAYLOAD_DIGITS, EntityType, from_payload, new_id, parse_id

types = st.sampled_from(list(EntityType))
payloads = st.text(alphabet="0123456789", min_size=PAYLOAD_DIGITS, max_size=PAYLOAD_DIGITS)


def test_verhoeff_matches_the_published_worked_example():
    # Verhoeff's standard example: the check digit of 236 is 3, and 2363 validates.
    assert verhoeff_digit("236") == "3"
    assert verhoeff_valid("2363")
    assert not verhoeff_valid("2364")


@given(types, payloads)
def test_round_trip_through_every_spelling(entity_type, payload):
    ies_id = from_payload(entity_type, payload)
    text = str(ies_id)
    assert parse_id(text) == ies_id
    assert parse_id(text.lower()) == ies_id
    assert parse_id(ies_id.compact) == ies_id
    assert parse_id(text.replace("-", " ")) == ies_id
    assert parse_id(text, expected=entity_type) == ies_id


@given(types, payloads, st.data())
def test_every_single_digit_error_is_caught(entity_type, payload, data):
    digits = from_payload(entity_type, payload).digits
    position = data.draw(st.integers(0, len(digits) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != digits[position]]))
    mistyped = entity_type.prefix + digits[:position] + wrong + digits[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        parse_id(mistyped)


@given(types, payloads, st.data())
def test_every_adjacent_transposition_is_caught(entity_type, payload, data):
    digits = from_payload(entity_type, payload).digits
    swappable = [i for i in range(len(digits) - 1) if digits[i] != digits[i + 1]]
    if not swappable:
        return
    i = data.draw(st.sampled_from(swappable))
    swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
    with pytest.raises(InvalidIdentifier):
        parse_id(entity_type.prefix + swapped)


def test_exhaustively_on_one_identifier_every_substitution_and_transposition_fails():
    ies_id = new_id(EntityType.METER)
    digits = ies_id.digits
    for i in range(len(digits)):
        for d in "0123456789":
            if d != digits[i]:
                with pytest.raises(InvalidIdentifier):
                    parse_id("MTR" + digits[:i] + d + digits[i + 1 :])
        if i + 1 < len(digits) and digits[i] != digits[i + 1]:
            with pytest.raises(InvalidIdentifier):
                parse_id("MTR" + digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :])


@given(types, types, payloads)
def test_relabelling_with_another_types_prefix_is_caught(original, other, payload):
    if original is other:
        return
    ies_id = from_payload(original, payload)
    with pytest.raises(InvalidIdentifier):
        parse_id(other.prefix + ies_id.digits)


@given(st.text(max_size=80))
def test_arbitrary_text_is_refused_with_a_problem_never_a_crash(text):
    try:
        parsed = parse_id(text)
    except (InvalidIdentifier, UnknownEntityType):
        return
    assert str(parse_id(str(parsed))) == str(parsed)


def test_unknown_prefix_is_an_unknown_type():
    digits = new_id(EntityType.METER).digits
    with pytest.raises(UnknownEntityType):
        parse_id("XYZ" + digits)


def test_expected_type_is_enforced():
    with pytest.raises(InvalidIdentifier, match="names a meter"):
        parse_id(str(new_id(EntityType.METER)), expected=EntityType.FEEDER)


def test_identifiers_are_random_not_sequential():
    ids = {new_id(EntityType.METER).digits[:15] for _ in range(1000)}
    assert len(ids) == 1000
