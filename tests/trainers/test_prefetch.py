"""The read-ahead both input feeds share: order kept, errors surfaced, an early stop ends it."""

from __future__ import annotations

import itertools
import threading

import pytest

from trainers.prefetch import Prefetcher


def test_items_arrive_in_order_and_the_thread_ends_with_them() -> None:
    ahead = Prefetcher(iter(range(10)), ahead=2, name="test-read")
    assert list(ahead) == list(range(10))
    ahead.close()


def test_an_error_while_producing_is_raised_to_the_consumer() -> None:
    def items():  # type: ignore[no-untyped-def]
        yield 1
        raise OSError("disk went away")

    ahead = Prefetcher(items(), ahead=2, name="test-read")
    seen = iter(ahead)
    assert next(seen) == 1
    with pytest.raises(OSError, match="disk went away"):
        next(seen)
    ahead.close()


def test_close_stops_a_producer_blocked_on_a_full_queue() -> None:
    ahead = Prefetcher(itertools.count(), ahead=1, name="test-endless")
    assert next(iter(ahead)) == 0
    ahead.close()
    assert not any(t.name == "test-endless" for t in threading.enumerate())
