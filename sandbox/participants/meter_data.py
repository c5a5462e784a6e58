"""A discom's meter data over Beckn: its BPP side of Smart Meter Data Exchange.

The bank's BAP ``select``s the discom's consented-meter-data offer with a
MeterDataRequest v0.6 in the commitment's ``commitmentAttributes`` (its
``consumerConsent`` naming the consumer's consent at the consent manager), ``init``s and
``confirm``s the same contract, then pulls the result page by page with ``status``
(IES BAP-pull, ``protocol.sharing``).

Nothing in a Beckn message is signed apart from the message itself, so the consent gate
takes the caller the Beckn receiver authenticated (the request's signer, through the
directory) in place of a body signature (``ConsentGate.serve_authenticated``). What the
BPP needs later in the transaction is kept here, per (requester, transaction): the
MeterDataRequest the ``select`` carried (``confirm`` must confirm that very request),
and at ``confirm`` the gate's released slice, held on the ``DataProvider``'s shelf for
the ``status`` pages.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from consent.errors import ConsentProblem
from consent.gate import ConsentGate
from protocol.client import Outbox
from protocol.receiving import Inbound, Unit
from protocol.sharing import DataProvider, DatasetShelf, HeldDataset
from protocol.store import ProtocolStore
from registry.directory.keys import KeyLookup

MAX_PAGE = 1000  # the largest page a request may ask for (maxRecordsShared)
OFFER = "consented-meter-data"


def meter_data_request(contract: dict[str, Any]) -> dict[str, Any] | None:
    """The MeterDataRequest a contract's first commitment carries, if any."""
    for commitment in contract.get("commitments") or []:
        attributes = commitment.get("commitmentAttributes")
        if isinstance(attributes, dict) and attributes.get("@type") == "MeterDataRequest":
            return attributes
    return None


def collection_of(transaction_id: str) -> str:
    return f"meter-data-{transaction_id}"


@dataclass
class _Transaction:
    request: dict[str, Any]
    confirmed: bool = False


@dataclass
class MeterDataDesk:
    """The BPP's handler for select/init/confirm/status of consented meter data."""

    provider_id: str
    bpp_uri: str
    gate: ConsentGate
    provider: DataProvider
    _open: dict[tuple[str, str], _Transaction] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(
        cls, *, provider_id: str, bpp_uri: str, base_url: str, gate: ConsentGate,
        store: ProtocolStore, lookup: KeyLookup,
    ) -> MeterDataDesk:  # fmt: skip
        provider = DataProvider(
            shelf=DatasetShelf(),
            secret=secrets.token_bytes(32),
            store=store,
            lookup=lookup,
            subscriber_id=provider_id,
            bpp_uri=bpp_uri,
            download_base=base_url,
        )
        return cls(provider_id, bpp_uri, gate, provider)

    def handle(self, message: Inbound, unit: Unit, outbox: Outbox) -> bool:
        """Answer one request of the meter-data flow; False if it is not one."""
        action = message.action
        if action == "status":
            return self.provider.answer_status(message, unit, outbox)
        if action not in ("select", "init", "confirm"):
            return False
        contract = copy.deepcopy(message.document["message"]["contract"])
        request = meter_data_request(contract)
        if request is None:
            return False
        key = (message.context.bap_id, message.context.transaction_id)
        status = "ACTIVE"
        with self._lock:
            if action == "select":
                self._open[key] = _Transaction(request)
                status = "DRAFT"
            else:
                held = self._open.get(key)
                if held is None or held.request != request:
                    reason = "no select of this MeterDataRequest in this transaction"
                    contract["status"] = {"code": "REJECTED", "name": reason}
                    outbox.enqueue_callback(message, {"contract": contract}, self.bpp_uri, unit)
                    return True
                status = "DRAFT" if action == "init" else "ACTIVE"
        if action == "confirm":
            problem = self._release(message, request)
            if problem is not None:
                status = "REJECTED"
                contract["status"] = {"code": status, "name": problem}
            else:
                contract["id"] = contract.get("id") or str(uuid.uuid4())  # Beckn: a uuid
                contract["status"] = {"code": status}
        else:
            contract["status"] = {"code": status}
        outbox.enqueue_callback(message, {"contract": contract}, self.bpp_uri, unit)
        return True

    def _release(self, message: Inbound, request: dict[str, Any]) -> str | None:
        """The consent gate with the authenticated caller; the released slice held for
        this requester's transaction. The problem's slug and detail when refused."""
        caller = message.sender.subscriber_id  # verified by the receiver (validateSign)
        if caller != message.context.bap_id:
            return "consent-signature-invalid: the signer is not the requesting app"
        body = json.dumps(request, separators=(",", ":")).encode()
        try:
            served = self.gate.serve_authenticated(body, caller)
        except ConsentProblem as exc:
            return f"{exc.slug}: {exc.detail}"
        size = request.get("maxRecordsShared")
        page = size if isinstance(size, int) and 0 < size <= MAX_PAGE else MAX_PAGE
        self.provider.shelf.put(
            HeldDataset(
                requester=caller,
                transaction_id=message.context.transaction_id,
                collection_id=collection_of(message.context.transaction_id),
                records=served.payload,
                max_records=page,
            )
        )
        with self._lock:
            self._open[(caller, message.context.transaction_id)].confirmed = True
        return None
