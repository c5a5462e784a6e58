"""The read-ahead keeps order, re-raises the producer's error where it happened, and
stops reading when the consumer gives up."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.prefetch import prefetched


@given(st.lists(st.integers()), st.integers(1, 7), st.integers(1, 4))
def test_items_come_out_in_order_and_complete(items, chunk, depth):
    assert list(prefetched(items, chunk=chunk, depth=depth)) == items


def test_an_error_while_producing_is_raised_after_the_items_before_it():
    def rows():
        yield from range(5)
        raise ValueError("line 6 is broken")

    seen: list[int] = []

    def consume() -> None:
        seen.extend(prefetched(rows(), chunk=2))

    with pytest.raises(ValueError, match="line 6"):
        consume()
    assert seen == [0, 1, 2, 3, 4]


def test_the_producer_stops_when_the_consumer_gives_up():
    produced = itertools.count()

    def endless():
        while True:
            yield next(produced)

    stream = prefetched(endless(), chunk=4, depth=2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert next(produced) < 100  # bounded read-ahead: it did not run on
