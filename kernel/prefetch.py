"""Read ahead of a slow consumer: an iterator drained by a background thread.

A bulk import alternates between Python work (parsing rows) and waiting for the
database (COPY, lookups). The wait releases the GIL, so a thread that parses the next
rows meanwhile turns that idle time into progress; a bounded queue keeps memory flat
however large the file is. Order is kept, and an exception raised while producing is
raised again in the consumer at the point it happened.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[T], *, chunk: int = 512, depth: int = 8) -> Iterator[T]:
    """``items`` in order, produced up to ``depth * chunk`` items ahead by a thread.

    Closing the returned generator (or abandoning it on an exception) stops the
    producer at its next chunk, so a rejected import does not read the rest of the file.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        batch: list[T] = []
        try:
            for item in items:
                batch.append(item)
                if len(batch) >= chunk:
                    if not put(batch):
                        return
                    batch = []
            if batch and not put(batch):
                return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            if batch and not put(batch):
                return
            put(_Failed(exc))

    producer = threading.Thread(target=produce, name="prefetch", daemon=True)
    producer.start()
    try:
        while True:
            got = handoff.get()
            if got is _DONE:
                return
            if isinstance(got, _Failed):
                raise got.error
            assert isinstance(got, list)
            yield from got
    finally:
        stop.set()
        producer.join(timeout=5)
