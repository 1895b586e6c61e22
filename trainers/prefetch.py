"""A bounded read-ahead: items made on a daemon thread while the training thread works.

Both input feeds use it (``feed.BatchFeed`` for in-memory data, ``stream.StreamFeed``
for streamed data): the producer stops as soon as the consumer closes it, even when the
queue is full, and an exception raised while producing is raised on the consumer's side.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

_DONE = object()


class Prefetcher:
    """Iterates ``items`` on a thread named ``name``, at most ``ahead`` items waiting."""

    def __init__(self, items: Iterable[object], ahead: int, name: str) -> None:
        self._stop = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._thread: threading.Thread | None = threading.Thread(
            target=self._produce, args=(items,), name=name, daemon=True
        )
        self._thread.start()

    def _produce(self, items: Iterable[object]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as exc:  # re-raised on the consumer's thread
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[object]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop the thread (an early stop leaves items unread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
