"""The P2P platform's open order book, kept in its database.

An order the platform answers 201 for is in its database before the answer leaves
(:meth:`Records.take_order`, with the exact bytes the prosumer signed and the
signature), so a restarted platform loads the same open book (:class:`OpenBook`'s
constructor) and clears it as it would have without the restart. The auction
(:class:`protocol.market.auction.OrderBook`) works on the in-memory copy, which is
only ever changed after the database was.

* A re-post of the same signed order (same id, same bytes) is answered with the order
  as first taken (and its arrival ``seq``), whether it is still open or cleared; another
  order under a taken id is refused.
* Clearing a day takes its blocks' orders out of the book first (a second clearing
  running at the same time finds none), then :meth:`Records.cleared` writes the
  cleared blocks and marks their orders cleared in one transaction, refusing if any
  was marked already: no order is cleared twice. If clearing fails before that, the
  orders go back into the book (they are still open in the database too).
* A cleared block takes no more orders: its record is what it cleared from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

from protocol.market.auction import Block, Order, OrderBook, OrderRefused
from protocol.market.store import OrdersAlreadyCleared
from sandbox.participants.p2p_views import Records


class OpenBook:
    """The open orders, kept (``records``) and cached for the auction (``book``)."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self.lock = threading.Lock()
        self.book = OrderBook()
        self.closing: set[Block] = set()  # taken out by a clearing that has not ended
        for order in records.open_orders():
            self.book.add(order)
        self.seq = records.last_seq()

    def take(
        self, order_id: str, make: Callable[[int], Order], holder: str, body: bytes, signature: str
    ) -> Order:
        """Take the order ``make(seq)`` builds (``body`` as ``holder`` signed it, already
        verified), kept before it enters the book; or the one taken before under
        ``order_id`` if ``body`` is the same. :class:`OrderRefused` when not taken."""
        with self.lock:
            known = self.records.known(order_id)
            if known is not None:
                order, signed = known
                if signed != body:
                    raise OrderRefused(f"order id {order_id} is taken by another order")
                return order
            order = make(self.seq + 1)
            if order.block in self.closing or self.records.is_cleared(order.block):
                raise OrderRefused(f"block {order.block} is cleared: it takes no more orders")
            self.book.check(order)
            self.records.take_order(order, holder, body, signature)
            self.book.add(order)
            self.seq = order.seq
            return order

    def clearing(self, day: date) -> dict[Block, list[Order]]:
        """The day's blocks with their open orders, taken out of the book to be cleared."""
        with self.lock:
            books = {b: self.book.take(b) for b in self.book.blocks() if b.day == day}
            self.closing.update(books)
        return books

    def cleared(self, result: dict[str, Any], books: dict[Block, list[Order]]) -> None:
        """Record the clearing of ``books`` (:meth:`clearing`'s) and mark their orders."""
        try:
            self.records.cleared(result, books)
        finally:
            with self.lock:
                self.closing.difference_update(books)

    def put_back(self, books: dict[Block, list[Order]], error: BaseException) -> None:
        """A clearing of ``books`` failed with ``error``: its orders are open again,
        unless another clearing marked them (which the error says) or the failure came
        after this one's record was written (the block is recorded: a clearing that
        committed and then failed)."""
        with self.lock:
            self.closing.difference_update(books)
            if isinstance(error, OrdersAlreadyCleared):
                return
            for block, orders in books.items():
                try:
                    recorded = self.records.is_cleared(block)
                except Exception:  # cannot tell: open again; a second record is refused
                    recorded = False
                if not recorded:
                    for order in orders:
                        self.book.add(order)
