"""The P2P market's pure logic: the order book and uniform-price double auction per
15-minute block (:mod:`protocol.market.auction`) and the settlement of delivered
against contracted energy (:mod:`protocol.market.settlement`), pure; and the
platform's records of what it cleared and settled (:mod:`protocol.market.store`)."""
