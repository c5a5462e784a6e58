"""Large datasets (pure): BAP-pull pagination across status/on_status, and signed,
expiring download links for the DOWNLOAD access method.

Pagination, as IES frames it: the request's ``maxRecordsShared`` (MeterDataRequest
v0.6) is the page size. The BPP answers ``on_status`` with one page inline and, when
more remain, a ``nextPageToken``; the BAP pulls the next page with another ``status``
carrying that token. The token is opaque to the BAP and tamper-evident (HMAC-SHA256
under the provider's secret) and bound to the transaction and dataset, so it cannot
be moved to another request or edited to skip the consent's limits.

Download links: ``{url}?expires={unix}&signature={b64url HMAC-SHA256}`` over
``GET\\n{path}\\n{expires}``; checked in constant time, refused after ``expires``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

from protocol.errors import DownloadLinkInvalid, PageTokenInvalid

T = TypeVar("T")
PAGE_TYPE = "ies:DatasetPage"


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

    def attributes(self) -> dict[str, Any]:
        """The page's description, carried beside the inline payload."""
        page: dict[str, Any] = {
            "pageIndex": self.index,
            "pageSize": self.size,
            "recordCount": len(self.items),
            "totalRecords": self.total,
        }
        if self.next_token is not None:
            page["nextPageToken"] = self.next_token
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


# ------------------------------------------------------------------ download links


def sign_download_url(url: str, secret: bytes, expires: int) -> str:
    path = urlsplit(url).path
    signature = _b64u(_mac(secret, f"GET\n{path}\n{expires}".encode()))
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode({'expires': expires, 'signature': signature})}"


def check_download(path: str, query: str, secret: bytes, now: int) -> None:
    """Return quietly for a genuine, unexpired link; :class:`DownloadLinkInvalid` else."""
    params = parse_qs(query, keep_blank_values=True)
    expires_values, signature_values = params.get("expires", []), params.get("signature", [])
    if len(expires_values) != 1 or len(signature_values) != 1 or not expires_values[0].isdigit():
        raise DownloadLinkInvalid("the link carries no single expires and signature")
    expires = int(expires_values[0])
    expected = _mac(secret, f"GET\n{path}\n{expires}".encode())
    try:
        given = _unb64u(signature_values[0])
    except ValueError:
        raise DownloadLinkInvalid("the signature is not base64url") from None
    if not hmac.compare_digest(given, expected):
        raise DownloadLinkInvalid("the link was not signed by this provider, or was altered")
    if now >= expires:
        raise DownloadLinkInvalid("the link has expired")
