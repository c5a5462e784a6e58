"""Large datasets (pure): BAP-pull pagination across status/on_status, and signed,
expiring download links for the DOWNLOAD access method.

Pagination, as IES frames it (ies-accelerator, "Setting up Exchange", Appendix B,
BAP-PULL): the request's ``maxRecordsShared`` (MeterDataRequest v0.6) is the page
size. The BAP sends ``status`` without a cursor for the first page; the BPP answers
``on_status`` with one page inline in ``performance[].performanceAttributes``
(``dataPayload`` beside a ``pageInfo``); while ``pageInfo.nextCursor`` is set the BAP
sends another ``status`` carrying it in ``message.tags`` (the ``pagination`` tag group,
``pageCursor`` and ``collectionId``). The cursor is opaque to the BAP and
tamper-evident (HMAC-SHA256 under the provider's secret), bound to the transaction
and dataset, so it cannot be moved to another request or edited to skip the
consent's limits.

Download links: ``{url}?expires={unix}[&requester={subscriber}]&signature={b64url
HMAC-SHA256}`` over ``GET\\n{path}\\n{expires}[\\n{requester}]``; checked in constant
time, refused after ``expires``; a link bound to a requester is fetched only by it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

from protocol.errors import DownloadLinkInvalid, PageTokenInvalid

T = TypeVar("T")
# The IES wire names (Appendix B) and the DatasetItem bag the DEG examples use.
PAGINATION_TAG = "pagination"
CURSOR_CODE = "pageCursor"
COLLECTION_CODE = "collectionId"
PAGE_INFO_TYPE = "PageInfo"
DATASET_ITEM_CONTEXT = "https://schema.nfh.global/DatasetItem/v1.1/context.jsonld"
DATASET_ITEM_TYPE = "DatasetItem"


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


# ------------------------------------------------------------------ pagination


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    index: int
    size: int
    total: int
    next_token: str | None

    @property
    def sequence(self) -> int:
        """1 for the first page."""
        return self.index + 1

    def info(self, collection_id: str, cursor: str | None) -> dict[str, Any]:
        """The IES ``pageInfo`` of this page, answering ``cursor`` (None: the first)."""
        page: dict[str, Any] = {
            "@type": PAGE_INFO_TYPE,
            "sequence": self.sequence,
            "pageSize": self.size,
            "total": self.total,
            "isLast": self.next_token is None,
            "nextCursor": self.next_token,
            "collectionId": collection_id,
        }
        if cursor is not None:
            page["cursor"] = cursor
        return page


def page_token(secret: bytes, transaction_id: str, dataset: str, offset: int, size: int) -> str:
    claims = json.dumps(
        {"t": transaction_id, "d": dataset, "o": offset, "s": size}, separators=(",", ":")
    ).encode()
    return f"{_b64u(claims)}.{_b64u(_mac(secret, claims))}"


def read_page_token(
    secret: bytes, token: str, transaction_id: str, dataset: str
) -> tuple[int, int]:
    """(offset, size) of a token this provider issued for this transaction and dataset."""
    try:
        encoded, mac = token.split(".")
        claims_raw = _unb64u(encoded)
        valid = hmac.compare_digest(_unb64u(mac), _mac(secret, claims_raw))
        claims = json.loads(claims_raw) if valid else None
    except ValueError:
        raise PageTokenInvalid("the page token cannot be read") from None
    if not isinstance(claims, dict):
        raise PageTokenInvalid("the page token was not issued by this provider")
    if claims.get("t") != transaction_id or claims.get("d") != dataset:
        raise PageTokenInvalid("the page token belongs to another transaction or dataset")
    offset, size = claims.get("o"), claims.get("s")
    if not isinstance(offset, int) or not isinstance(size, int) or offset < 0 or size < 1:
        raise PageTokenInvalid("the page token is malformed")
    return offset, size


def paginate(
    records: Sequence[T],
    *,
    secret: bytes,
    transaction_id: str,
    dataset: str,
    max_records: int,
    token: str | None = None,
) -> Page[T]:
    """The page ``token`` points at (the first page without one)."""
    if token is None:
        offset, size = 0, max_records
    else:
        offset, size = read_page_token(secret, token, transaction_id, dataset)
    items = records[offset : offset + size]
    following = offset + size
    next_token = (
        page_token(secret, transaction_id, dataset, following, size)
        if following < len(records)
        else None
    )
    return Page(items, offset // size, size, len(records), next_token)


def cursor_digest(token: str) -> str:
    """What a provider keeps of a cursor it served (never the cursor itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The page a ``status`` asks for: a collection, and a cursor after the first page."""

    collection_id: str
    cursor: str | None


def pagination_tags(collection_id: str, cursor: str | None = None) -> list[dict[str, Any]]:
    """``message.tags`` of a ``status`` pulling a page (IES: Contract is closed, so the
    cursor rides on the message's tags)."""
    items = [{"descriptor": {"code": COLLECTION_CODE}, "value": collection_id}]
    if cursor is not None:
        items.insert(0, {"descriptor": {"code": CURSOR_CODE}, "value": cursor})
    return [{"descriptor": {"code": PAGINATION_TAG}, "list": items}]


def requested_page(message: Mapping[str, Any]) -> PageRequest | None:
    """The page ``message`` pulls; None when it carries no ``pagination`` tag group.

    A group that is there but unreadable (two of them, a value that is not text, a
    cursor without a collection) is refused rather than read as "the first page".
    """
    tags = message.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, list):
        raise PageTokenInvalid("message.tags is not a list")
    groups = [
        t
        for t in tags
        if isinstance(t, Mapping)
        and isinstance(t.get("descriptor"), Mapping)
        and t["descriptor"].get("code") == PAGINATION_TAG
    ]
    if not groups:
        return None
    if len(groups) > 1 or not isinstance(groups[0].get("list"), list):
        raise PageTokenInvalid("one pagination tag group with a list is expected")
    values: dict[str, list[Any]] = {}
    for item in groups[0]["list"]:
        code = item.get("descriptor", {}).get("code") if isinstance(item, Mapping) else None
        if isinstance(code, str):
            values.setdefault(code, []).append(item.get("value"))
    cursors, collections = values.get(CURSOR_CODE, []), values.get(COLLECTION_CODE, [])
    if len(collections) != 1 or not isinstance(collections[0], str) or not collections[0]:
        raise PageTokenInvalid("the pagination tag names no single collectionId")
    if len(cursors) > 1 or (cursors and not isinstance(cursors[0], str)):
        raise PageTokenInvalid("the pagination tag carries more than one pageCursor")
    return PageRequest(collections[0], cursors[0] if cursors else None)


def inline_page(
    page: Page[Any], *, payload: Any, collection_id: str, cursor: str | None, schema: str
) -> dict[str, Any]:
    """The ``performanceAttributes`` of an ``on_status`` carrying one page inline."""
    return {
        "@context": DATASET_ITEM_CONTEXT,
        "@type": DATASET_ITEM_TYPE,
        "schema:identifier": collection_id,
        "dataset:accessMethod": "INLINE",
        "ies:dataSchema": schema,
        "dataPayload": payload,
        "pageInfo": page.info(collection_id, cursor),
    }


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What the BAP reads of a page's ``pageInfo``."""

    sequence: int
    total: int
    is_last: bool
    next_cursor: str | None
    collection_id: str


def read_page_info(attributes: Mapping[str, Any]) -> PageInfo:
    info = attributes.get("pageInfo")
    if not isinstance(info, Mapping):
        raise ValueError("the page carries no pageInfo")
    next_cursor = info.get("nextCursor")
    sequence, total, is_last = info.get("sequence"), info.get("total"), info.get("isLast")
    collection = info.get("collectionId")
    if (
        not isinstance(sequence, int)
        or not isinstance(total, int)
        or not isinstance(is_last, bool)
        or not isinstance(collection, str)
        or not (next_cursor is None or isinstance(next_cursor, str))
        or is_last != (next_cursor is None)
    ):
        raise ValueError(f"pageInfo is malformed: {dict(info)}")
    return PageInfo(sequence, total, is_last, next_cursor, collection)


# ------------------------------------------------------------------ download links


def _download_mac(secret: bytes, path: str, expires: int, requester: str | None) -> bytes:
    lines = ["GET", path, str(expires)] + ([requester] if requester is not None else [])
    return _mac(secret, "\n".join(lines).encode())


def sign_download_url(url: str, secret: bytes, expires: int, requester: str | None = None) -> str:
    """``url`` signed until ``expires``; with ``requester`` (a subscriber id), only that
    subscriber may fetch it (the provider checks its Beckn signature on the GET)."""
    path = urlsplit(url).path
    params: dict[str, Any] = {"expires": expires}
    if requester is not None:
        params["requester"] = requester
    params["signature"] = _b64u(_download_mac(secret, path, expires, requester))
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode(params)}"


def check_download(path: str, query: str, secret: bytes, now: int) -> str | None:
    """The requester a genuine, unexpired link is bound to (None: unbound);
    :class:`DownloadLinkInvalid` for any other link."""
    params = parse_qs(query, keep_blank_values=True)
    expires_values, signature_values = params.get("expires", []), params.get("signature", [])
    requesters = params.get("requester", [])
    if len(expires_values) != 1 or len(signature_values) != 1 or not expires_values[0].isdigit():
        raise DownloadLinkInvalid("the link carries no single expires and signature")
    if len(requesters) > 1:
        raise DownloadLinkInvalid("the link names more than one requester")
    requester = requesters[0] if requesters else None
    expires = int(expires_values[0])
    expected = _download_mac(secret, path, expires, requester)
    try:
        given = _unb64u(signature_values[0])
    except ValueError:
        raise DownloadLinkInvalid("the signature is not base64url") from None
    if not hmac.compare_digest(given, expected):
        raise DownloadLinkInvalid("the link was not signed by this provider, or was altered")
    if now >= expires:
        raise DownloadLinkInvalid("the link has expired")
    return requester
