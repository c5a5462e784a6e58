"""The check at a door declared ``signed(scheme)``: the body's own signature, verified.

Such a door (``kernel.access.signed``) has no bearer token to lean on: what proves the
caller is a signature over the exact body bytes, in a header, checked against the
signer's key in the directory. Every such door takes the same steps, here once:

1. the exact bytes as they arrived (never a re-serialisation: one changed byte must
   fail the signature);
2. the signature header as sent, absent or not (the scheme refuses an unsigned
   request with its own problem);
3. the scheme's verification, off the event loop (it may ask the directory over the
   network), before the route reads a byte of the body or stores anything.

The schemes stay with their blocks, each refusing with its own problems: the Beckn
HTTP signature (``Authorization: Signature …``, ``protocol.signing``; the filings inbox)
and the detached JWS of the consent manager (``X-IES-Signature``,
``consent.signatures``). Only the order and the reading of the request live here, below
both blocks, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

Signer = TypeVar("Signer")

# (the signature header's value or None, the exact body) -> the verified signer, or a
# Problem naming the check that failed.
Verify = Callable[[str | None, bytes], Signer]


@dataclass(frozen=True, slots=True)
class SignedRequest(Generic[Signer]):
    """A request whose signature verified: the bytes it covers, the header as sent (a
    receipt may bind it) and whatever the scheme proved about the signer."""

    body: bytes
    signature: str | None
    signer: Signer


async def verified_request(
    request: Request, header: str, verify: Verify[Signer]
) -> SignedRequest[Signer]:
    """The request's body and signature, verified by ``verify`` (its problem otherwise)."""
    body = await request.body()
    signature = request.headers.get(header)
    signer = await run_in_threadpool(verify, signature, body)
    return SignedRequest(body, signature, signer)
