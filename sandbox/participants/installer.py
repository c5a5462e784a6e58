"""A rooftop solar installer's process: a Beckn BAP in the DER integration network and
a credential verifier, with the same small back end as the bank's
(``POST /app/beckn/send``, ``GET /app/beckn/received``): it sends a customer's DER
connection application to the discom's BPP and collects the discom's decision."""

from __future__ import annotations

from kernel.service import LazyApp
from sandbox.participants.bank import create

app = LazyApp(create)
