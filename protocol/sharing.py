"""Sharing a large dataset over the signed exchange: the provider (BPP) answers
``status`` page by page or with a signed download link; the requester (BAP) pulls
every page, or fetches the link.

The wire follows IES (ies-accelerator, "Setting up Exchange", Appendix B, BAP-PULL;
docs/protocol.md): the cursor rides on ``status`` in ``message.tags`` (``pagination``:
``pageCursor``, ``collectionId``); each ``on_status`` carries one page in
``contract.performance[].performanceAttributes`` as a ``DatasetItem`` with
``dataPayload`` and ``pageInfo``. Each page is a solicited callback: signed with the
BAP's request signature bound in, ``requestDigest`` set, its payload validated by the
BAP's receiver like any other.

The provider's page-cursor check runs as a receiver step (``checkPageCursor``), so a
tampered, foreign or replayed cursor is NACKed, naming that step, before anything is
recorded or queued. A cursor pulls its page once: the provider records the cursors it
served (``protocol_page_cursor``) in the same transaction as the callback it queues.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from kernel.database import to_db
from protocol.client import Delivery, Exchange, Outbox, now_utc
from protocol.datasets import (
    DATASET_ITEM_CONTEXT,
    DATASET_ITEM_TYPE,
    PageInfo,
    cursor_digest,
    inline_page,
    paginate,
    pagination_tags,
    read_page_info,
    read_page_token,
    requested_page,
)
from protocol.datasets import check_download as check_download_link
from protocol.datasets import sign_download_url as sign_link
from protocol.envelope import Context
from protocol.errors import (
    AckRefused,
    DownloadLinkInvalid,
    PageTokenInvalid,
    PageTokenReplayed,
)
from protocol.receiving import MAX_SKEW_SECONDS, Inbound, RequestCheck, Unit
from protocol.signing import Signer, sign, verify
from protocol.store import PageCursorRow, ProtocolStore
from registry.directory.keys import KeyLookup

METERDATA_SCHEMA = (
    "https://india-energy-stack.github.io/ies-accelerator/schemas/MeterData/v0.6/schema.json"
)
CHECK_STEP = "checkPageCursor"
# A signed GET lives no longer than this (the link itself lives longer).
MAX_FETCH_SIGNATURE_SECONDS = 300
CHUNK_BYTES = 64 * 1024


# ------------------------------------------------------------------ the provider (BPP)


@dataclass(frozen=True, slots=True)
class HeldDataset:
    """A result the provider computed for one requester's transaction (e.g. the
    MeterData profiles a MeterDataRequest selected), and how it is delivered."""

    requester: str
    transaction_id: str
    collection_id: str
    records: Sequence[Any]
    max_records: int  # the request's maxRecordsShared
    schema: str = METERDATA_SCHEMA
    access: Literal["INLINE", "DOWNLOAD"] = "INLINE"

    def serialised(self) -> bytes:
        """The bytes a download streams, and its checksum covers."""
        return json.dumps(list(self.records), separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class DatasetShelf:
    """The results a provider holds, by (requester, transaction, collection)."""

    _held: dict[tuple[str, str, str], HeldDataset] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, dataset: HeldDataset) -> None:
        with self._lock:
            key = (dataset.requester, dataset.transaction_id, dataset.collection_id)
            self._held[key] = dataset

    def get(self, requester: str, transaction_id: str, collection_id: str) -> HeldDataset | None:
        with self._lock:
            return self._held.get((requester, transaction_id, collection_id))

    def for_download(self, requester: str, collection_id: str) -> HeldDataset | None:
        with self._lock:
            return next(
                (
                    d
                    for d in self._held.values()
                    if d.requester == requester and d.collection_id == collection_id
                ),
                None,
            )


def _binding(requester: str, collection_id: str) -> str:
    # The cursor is bound to the transaction (paginate) and to who asked for what.
    return f"{collection_id}\n{requester}"


class DataProvider:
    """A BPP's dataset delivery: :meth:`check` is its receiver step, :meth:`answer_status`
    its handler for ``status``, :meth:`open_download` the download route's check."""

    def __init__(
        self,
        *,
        shelf: DatasetShelf,
        secret: bytes,
        store: ProtocolStore,
        lookup: KeyLookup,
        subscriber_id: str,
        bpp_uri: str,
        download_base: str,
        link_seconds: int = 300,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.shelf = shelf
        self.secret = secret
        self.store = store
        self.lookup = lookup
        self.subscriber_id = subscriber_id
        self.bpp_uri = bpp_uri
        self.download_base = download_base.rstrip("/")
        self.link_seconds = link_seconds
        self.clock = clock

    @property
    def step(self) -> tuple[str, RequestCheck]:
        return CHECK_STEP, self.check

    def _held(self, context: Context, collection_id: str) -> HeldDataset:
        held = self.shelf.get(context.bap_id, context.transaction_id, collection_id)
        if held is None:
            raise PageTokenInvalid(
                f"no dataset {collection_id!r} is held for {context.bap_id} in this transaction"
            )
        return held

    def check(self, context: Context, message: dict[str, Any]) -> None:
        """The ``checkPageCursor`` step: a ``status`` pulling a page must name a dataset
        held for this requester and transaction, with a cursor this provider issued for
        it and has not served before."""
        if context.action != "status":
            return
        page = requested_page(message)
        if page is None:
            return
        held = self._held(context, page.collection_id)
        if page.cursor is None:
            return
        read_page_token(
            self.secret,
            page.cursor,
            context.transaction_id,
            _binding(held.requester, held.collection_id),
        )
        if self.store.cursor_served(self.subscriber_id, cursor_digest(page.cursor)):
            raise PageTokenReplayed("this pageCursor has pulled its page already")

    def answer_status(self, request: Inbound, unit: Unit, outbox: Outbox) -> bool:
        """Queue the ``on_status`` for a ``status`` pulling a page; False when the status
        asks for no dataset (the participant answers it otherwise)."""
        context = request.context
        message = request.document["message"]
        page_request = requested_page(message)
        if page_request is None:
            return False
        held = self._held(context, page_request.collection_id)
        if held.access == "DOWNLOAD":
            attributes = self.download_item(held)
            status = "DELIVERY_COMPLETE"
        else:
            page = paginate(
                held.records,
                secret=self.secret,
                transaction_id=context.transaction_id,
                dataset=_binding(held.requester, held.collection_id),
                max_records=held.max_records,
                token=page_request.cursor,
            )
            attributes = inline_page(
                page,
                payload=list(page.items),
                collection_id=held.collection_id,
                cursor=page_request.cursor,
                schema=held.schema,
            )
            status = "DELIVERY_COMPLETE" if page.next_token is None else "DELIVERY_IN_PROGRESS"
        if page_request.cursor is not None:
            # Same transaction as the receipt and the queued callback: a concurrent
            # second use of the cursor loses on the unique index (StateConflict).
            unit.add(
                PageCursorRow(
                    provider=self.subscriber_id,
                    cursor_digest=cursor_digest(page_request.cursor),
                    requester=held.requester,
                    transaction_id=context.transaction_id,
                    message_id=context.message_id,
                    used_at=to_db(self.clock()),
                )
            )
        contract = copy.deepcopy(message["contract"])
        contract["performance"] = [
            {
                "id": f"delivery-{held.collection_id}",
                "status": {"code": status},
                "commitmentIds": [c["id"] for c in contract.get("commitments", []) if "id" in c],
                "performanceAttributes": attributes,
            }
        ]
        outbox.enqueue_callback(request, {"contract": contract}, self.bpp_uri, unit)
        return True

    # -------------------------------------------------------------- DOWNLOAD

    def download_url(self, held: HeldDataset) -> tuple[str, datetime]:
        expires = self.clock().replace(microsecond=0) + timedelta(seconds=self.link_seconds)
        url = f"{self.download_base}/datasets/{held.collection_id}"
        return sign_link(url, self.secret, int(expires.timestamp()), held.requester), expires

    def download_item(self, held: HeldDataset) -> dict[str, Any]:
        """The ``performanceAttributes`` offering ``held`` by a signed link (DEG's
        DatasetItem DOWNLOAD members) bound to its requester."""
        url, expires = self.download_url(held)
        body = held.serialised()
        return {
            "@context": DATASET_ITEM_CONTEXT,
            "@type": DATASET_ITEM_TYPE,
            "schema:identifier": held.collection_id,
            "dataset:accessMethod": "DOWNLOAD",
            "dataset:exportFormat": "JSON",
            "ies:dataSchema": held.schema,
            "dataset:downloadUrl": url,
            "dataset:downloadExpiresAt": expires.isoformat().replace("+00:00", "Z"),
            "dataset:fileSizeBytes": len(body),
            "dataset:checksum": {"algorithm": "SHA-256", "value": hashlib.sha256(body).hexdigest()},
        }

    def open_download(
        self, collection_id: str, path: str, query: str, authorization: str | None
    ) -> Iterator[bytes]:
        """The bytes of a download, in chunks, if the link and its fetcher pass; else
        :class:`DownloadLinkInvalid` (or the signature's own refusal). Nothing of the
        dataset is read before every check passed."""
        now = self.clock()
        requester = check_download_link(path, query, self.secret, int(now.timestamp()))
        if requester is None:
            raise DownloadLinkInvalid("this provider issues links bound to their requester only")
        verdict = verify(authorization, fetch_target(path, query), self.lookup)
        params = verdict.params
        if params.subscriber_id != requester:
            raise DownloadLinkInvalid(
                f"the link was issued to {requester}, not {params.subscriber_id}"
            )
        moment = int(now.timestamp())
        if (
            params.expires <= params.created
            or params.expires - params.created > MAX_FETCH_SIGNATURE_SECONDS
            or params.created > moment + MAX_SKEW_SECONDS
            or moment >= params.expires
        ):
            raise DownloadLinkInvalid("the fetch signature is expired or not fresh")
        held = self.shelf.for_download(requester, collection_id)
        if held is None:
            raise DownloadLinkInvalid(f"no dataset {collection_id!r} is held for {requester}")
        body = held.serialised()
        return (body[i : i + CHUNK_BYTES] for i in range(0, len(body), CHUNK_BYTES))


def fetch_target(path: str, query: str) -> bytes:
    """What a fetcher signs (as the "body" of a Beckn signature): the request target, so
    a signature for one link cannot be used to fetch another."""
    return f"GET {path}?{query}".encode()


# ------------------------------------------------------------------ the requester (BAP)


@dataclass(frozen=True, slots=True)
class PulledPage:
    message: Inbound
    info: PageInfo
    records: list[Any]


@dataclass(frozen=True, slots=True)
class PulledDataset:
    collection_id: str
    pages: list[PulledPage]

    @property
    def records(self) -> list[Any]:
        return [record for page in self.pages for record in page.records]


def _attributes(message: Inbound) -> dict[str, Any]:
    performance = message.document["message"]["contract"].get("performance") or []
    for entry in performance:
        attributes = entry.get("performanceAttributes")
        if isinstance(attributes, dict) and attributes.get("@type") == DATASET_ITEM_TYPE:
            return attributes
    raise ValueError("the on_status carries no DatasetItem")


class DatasetPull:
    """A BAP pulling datasets: :meth:`take` is its ``on_status`` handler (inside the
    receiver's hand-over, after every check passed), :meth:`pull` drives the pages."""

    def __init__(self, exchange: Exchange, http: httpx.Client, *, timeout: float = 15.0):
        self.exchange = exchange
        self.http = http
        self.timeout = timeout
        self._answers: dict[str, Inbound] = {}
        self._arrived = threading.Condition()

    def take(self, message: Inbound, unit: Unit) -> None:
        if message.action != "on_status":
            return
        with self._arrived:
            self._answers[message.context.message_id] = message
            self._arrived.notify_all()

    def _answer(self, message_id: str) -> Inbound:
        with self._arrived:
            if not self._arrived.wait_for(lambda: message_id in self._answers, self.timeout):
                raise TimeoutError(f"no on_status answered {message_id}")
            return self._answers.pop(message_id)

    def request(
        self, url: str, bpp_id: str, status: dict[str, Any], collection_id: str, cursor: str | None
    ) -> tuple[Delivery, dict[str, Any]]:
        """Send one ``status`` pulling a page (a new messageId, the same transaction)."""
        document = copy.deepcopy(status)
        context = document["context"]
        context["messageId"] = str(uuid.uuid4())
        context["timestamp"] = (
            self.exchange.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
        document["message"]["tags"] = pagination_tags(collection_id, cursor)
        return self.exchange.send(url, bpp_id, document), document

    def answer_to(self, delivery: Delivery) -> Inbound:
        if not delivery.acknowledged:
            ack = delivery.ack
            raise AckRefused(
                f"status refused: {ack.error_code} at {ack.step}: {ack.error_message}"
                if ack is not None
                else f"status not delivered: {delivery.failure}"
            )
        return self._answer(delivery.prepared.context.message_id)

    def pull(
        self, url: str, bpp_id: str, status: dict[str, Any], collection_id: str
    ) -> PulledDataset:
        """Every page of ``collection_id``, in order: ``status`` without a cursor, then
        with each ``nextCursor`` until ``isLast``."""
        pages: list[PulledPage] = []
        cursor: str | None = None
        while True:
            delivery, _ = self.request(url, bpp_id, status, collection_id, cursor)
            message = self.answer_to(delivery)
            attributes = _attributes(message)
            info = read_page_info(attributes)
            if info.collection_id != collection_id or info.sequence != len(pages) + 1:
                raise ValueError(f"page {info.sequence} of {info.collection_id} is out of order")
            pages.append(PulledPage(message, info, list(attributes["dataPayload"])))
            if info.is_last:
                return PulledDataset(collection_id, pages)
            cursor = info.next_cursor

    def download(self, attributes: dict[str, Any], signer: Signer, ttl: int = 30) -> bytes:
        """Fetch a DOWNLOAD link signed with our key (the link is bound to us) and check
        the bytes against the offered SHA-256 checksum."""
        url = attributes["dataset:downloadUrl"]
        split = httpx.URL(url)
        created = int(self.exchange.clock().timestamp())
        target = fetch_target(split.path, split.query.decode())
        response = self.http.get(
            url, headers={"Authorization": sign(target, signer, created, created + ttl)}
        )
        response.raise_for_status()
        checksum = attributes["dataset:checksum"]
        if checksum.get("algorithm") != "SHA-256" or (
            hashlib.sha256(response.content).hexdigest() != checksum.get("value")
        ):
            raise ValueError("the downloaded bytes do not match the offered checksum")
        return response.content
