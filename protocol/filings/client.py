"""A licensee's side of the inbox: sign a submission, send it, verify the receipt."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from protocol.filings.api import RECEIPT_HEADER
from protocol.signing import (
    RESPONSE_HEADERS,
    Binding,
    Signer,
    Verdict,
    parse_signature,
    sign,
    verify,
)
from registry.directory.keys import KeyLookup

SIGNATURE_TTL_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Receipt:
    """The inbox's answer, its signature checked against the commission's directory key."""

    status_code: int
    filing: dict[str, Any]
    signed_by: Verdict


def signed_headers(body: bytes, signer: Signer, now: datetime | None = None) -> dict[str, str]:
    created = int((now or datetime.now(UTC)).timestamp())
    header = sign(body, signer, created, created + SIGNATURE_TTL_SECONDS)
    return {"Authorization": header, "Content-Type": "application/json"}


def verify_receipt(response: httpx.Response, request_signature: str, keys: KeyLookup) -> Verdict:
    """The commission's signature over the answer, bound to our own request's signature
    (a receipt cut from another filing's answer does not verify)."""
    return verify(
        response.headers.get(RECEIPT_HEADER),
        response.content,
        keys,
        expect=RESPONSE_HEADERS,
        binding=Binding(request_signature=request_signature),
    )


def file(
    http: httpx.Client, inbox_url: str, submission: dict[str, Any], signer: Signer, keys: KeyLookup
) -> Receipt | httpx.Response:
    """Send ``submission``; the verified receipt, or the refusal as it came back."""
    body = json.dumps(submission, separators=(",", ":")).encode()
    headers = signed_headers(body, signer)
    response = http.post(f"{inbox_url.rstrip('/')}/filings", content=body, headers=headers)
    if response.status_code not in (200, 201):
        return response
    ours = parse_signature(headers["Authorization"]).signature
    verdict = verify_receipt(response, ours, keys)
    return Receipt(response.status_code, response.json(), verdict)
