"""The directory's OAuth 2.0 token endpoint: client credentials with ``private_key_jwt``.

The directory already knows every participant's registered signing key (its
subscriber record), whether it is live, and its role (the network operator's
``participant_role`` record): exactly what a token endpoint needs. A participant
posts ``grant_type=client_credentials`` with a client assertion (RFC 7523 §2.2) signed
by its subscriber key (``kid`` = the record's key id, ``iss`` = ``sub`` = its
subscriber id, ``aud`` = this endpoint), and gets an access token:

- signed by the directory's own key (published in its own subscriber record, so every
  service already knows where to find it);
- for one audience (``audience`` or ``resource``, the subscriber id of the service it
  will call), five minutes;
- carrying ``scope`` (from the participant's ``participant_type``), ``roles`` and
  ``org``. ``roles`` is the ``participant_type`` and, for a discom, ``discom:<code>``
  for each discom code the operator's record names (``discoms``): the registry lets a
  writer write those discoms' records only (``registry.ownership``). Every claim comes
  from the directory's records; nothing of the client's assertion is copied into it.

Errors are RFC 6749 §5.2 JSON (``invalid_client``, ``invalid_request``...), not problem
details: OAuth clients expect them. Each assertion's ``jti`` is accepted once
(replays refused until the assertion would have expired anyway), remembered in the
directory's database so that two directory processes, or one restarted, agree.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from kernel.access import signed
from kernel.database import session_scope
from kernel.problems import Problem
from kernel.tokens import (
    ACCESS_TOKEN_LIFETIME,
    ASSERTION_LIFETIME,
    ASSERTION_TYPE,
    LEEWAY,
    TOKEN_PATH,
    Sign,
    compact_jws,
    unverified_header,
    verify_jwt,
)
from registry.directory.keys import Refusal
from registry.directory.service import Directory
from registry.directory.store import DirectoryStore
from registry.ownership import DISCOM_ROLE

# What each kind of participant may ask of the stack's non-Beckn doors. Registry reads
# of opaque identifiers are open; personal data, writes, issuance and policy are not.
DEFAULT_SCOPES: dict[str, tuple[str, ...]] = {
    "discom": ("registry:read", "registry:write", "registry:personal", "credentials:issue",
               "credentials:status", "policy:evaluate", "ledger:read"),
    "p2p_platform": ("registry:read", "policy:evaluate", "ledger:read", "credentials:issue",
                     "credentials:status"),
    "regulator": ("registry:read", "policy:evaluate", "ledger:read"),
    "consent_manager": ("registry:read",),
    "third_party_app": ("registry:read",),
    "certifier": ("credentials:issue", "credentials:status"),
    # The consumers' front end acts for the person it signed in at the consent manager
    # (docs/consent.md): the consumer routes only, and reads of the registry; and for
    # the operator it signed in, that operator's own organisation's back office
    # (kernel.backoffice: "backoffice" with X-On-Behalf-Of, docs/access.md).
    "console": ("consent:consumer", "registry:read", "ledger:read", "backoffice"),
}  # fmt: skip


class TokenError(Exception):
    """An RFC 6749 §5.2 error: ``error`` code, a description, the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class ReplayCache:
    """Assertion ids seen, in the directory's database (``registry_dir_token_jti``),
    each kept until its assertion expires (then a replay would be refused for its
    ``exp`` anyway). The table's primary key refuses a second use whichever process
    sees it, and a restart forgets nothing; rows past their time are purged now and
    then (at most every ``purge_every`` seconds per process) and never block a key."""

    def __init__(self, engine: Engine, *, purge_every: float = 60.0) -> None:
        self.engine = engine
        self.purge_every = purge_every
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def first_use(self, key: str, expires: float, now: float) -> bool:
        at = datetime.fromtimestamp(now, UTC)
        # Kept while the assertion could still verify (its exp plus the clock leeway).
        until = datetime.fromtimestamp(max(expires, now) + LEEWAY + 1, UTC)
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            if self._purge_due(now):
                store.purge_assertions(at)
            return store.use_assertion(key, until, at)

    def _purge_due(self, now: float) -> bool:
        with self._lock:
            if now < self._next_purge:
                return False
            self._next_purge = now + self.purge_every
            return True


class TokenIssuer:
    """Checks client assertions against the directory and signs access tokens."""

    def __init__(
        self,
        directory: Directory,
        *,
        issuer: str,
        kid: str,
        sign: Sign,
        token_urls: frozenset[str],
        authority: str,
        role_registry: str,
        scopes: Mapping[str, tuple[str, ...]] | None = None,
        lifetime: int = ACCESS_TOKEN_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.issuer = issuer
        self.kid = kid
        self.sign = sign
        self.token_urls = token_urls
        self.authority = authority
        self.role_registry = role_registry
        self.scopes = dict(scopes or DEFAULT_SCOPES)
        self.lifetime = lifetime
        self.clock = clock
        self.replays = ReplayCache(directory.engine)

    def issue(self, form: Mapping[str, str]) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            raise TokenError("unsupported_grant_type", "only client_credentials is granted")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise TokenError("invalid_client", "a private_key_jwt client assertion is required",
                             401)  # fmt: skip
        assertion = form.get("client_assertion") or ""
        now = self.clock()
        client_id, claims = self._verify_assertion(assertion, now, form.get("client_id"))
        audience = (form.get("audience") or form.get("resource") or "").strip()
        if not audience:
            raise TokenError("invalid_request", "name the service: audience=<subscriber id>")
        if audience != self.issuer and self._role(audience) is None:
            raise TokenError("invalid_target", f"{audience!r} is no service of this network")
        role = self._role(client_id)
        if role is None:
            raise TokenError("invalid_client", f"{client_id} has no role in the network", 401)
        participant_type, discoms = role
        granted = self.scopes.get(participant_type, ())
        wanted = form.get("scope")
        if wanted:
            granted = tuple(s for s in wanted.split() if s in granted)
        if not self.replays.first_use(f"{client_id}|{claims['jti']}", float(claims["exp"]),
                                      now):  # fmt: skip
            raise TokenError("invalid_grant", "this client assertion was already used")
        issued = int(now)
        token_claims = {
            "iss": self.issuer, "sub": client_id, "aud": audience, "iat": issued,
            "nbf": issued, "exp": issued + self.lifetime, "jti": secrets.token_urlsafe(16),
            "scope": " ".join(granted), "org": client_id,
            "roles": [participant_type, *(f"{DISCOM_ROLE}{code}" for code in discoms)],
            "client_id": client_id,
        }  # fmt: skip
        token = compact_jws({"alg": "Ed25519", "typ": "at+jwt", "kid": self.kid},
                            token_claims, self.sign)  # fmt: skip
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime,
                "scope": " ".join(granted)}  # fmt: skip

    def _verify_assertion(
        self, assertion: str, now: float, client_id: str | None
    ) -> tuple[str, dict[str, Any]]:
        try:
            header = unverified_header(assertion)
            unverified = _unverified_claims(assertion)
        except ValueError as exc:
            raise TokenError("invalid_client", f"the client assertion is malformed: {exc}",
                             401) from None  # fmt: skip
        subject = unverified.get("iss")
        if not isinstance(subject, str) or not subject or len(subject) > 255:
            raise TokenError("invalid_client", "the client assertion names no issuer", 401)
        if client_id and client_id != subject:
            raise TokenError("invalid_client", "client_id and the assertion disagree", 401)
        found = self.directory.lookup_signing_key(
            subject, header["kid"], datetime.fromtimestamp(now, UTC)
        )
        if isinstance(found, Refusal):
            raise TokenError("invalid_client", f"no usable key: {found.detail}", 401)
        required = {
            "iss": {"essential": True, "value": subject},
            "sub": {"essential": True, "value": subject},
            "aud": {"essential": True, "values": sorted(self.token_urls)},
            "exp": {"essential": True},
            "jti": {"essential": True},
        }
        try:
            claims = verify_jwt(assertion, found.public_key, required=required, now=now)
        except ValueError as exc:
            raise TokenError("invalid_client", f"the client assertion is refused: {exc}",
                             401) from None  # fmt: skip
        exp = claims["exp"]
        if not isinstance(exp, int | float) or exp - now > 5 * ASSERTION_LIFETIME:
            raise TokenError("invalid_client", "the client assertion lives too long", 401)
        if not isinstance(claims["jti"], str) or not 8 <= len(claims["jti"]) <= 128:
            raise TokenError("invalid_client", "the assertion's jti is malformed", 401)
        return subject, claims

    def _role(self, subscriber_id: str) -> tuple[str, tuple[str, ...]] | None:
        """The participant_type the network operator recorded (by host or did:web), and
        the discom codes its record names (a discom's), upper case."""
        for who in (subscriber_id, f"did:web:{subscriber_id}"):
            try:
                data, _ = self.directory.query(
                    self.authority, self.role_registry, filters={"subscriber_id": who},
                    at=None, cursor=None, limit=5,
                )  # fmt: skip
            except Problem:
                return None
            for record in data.records:
                kind = record.details.get("participant_type")
                if isinstance(kind, str):
                    codes = record.details.get("discoms") or []
                    discoms = tuple(sorted({str(c).strip().upper() for c in codes if c}))
                    return kind, discoms if kind == "discom" else ()
        return None


def _unverified_claims(token: str) -> dict[str, Any]:
    """The claims, unverified: only to learn whose key verifies them (``iss``)."""
    part = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode((part + "=" * (-len(part) % 4)).encode()))
    except (ValueError, UnicodeError) as exc:
        raise ValueError("the claims are not base64url JSON") from exc
    if not isinstance(claims, dict):
        raise ValueError("the claims are not a JSON object")
    return claims


def token_router(issuer: TokenIssuer) -> APIRouter:
    router = APIRouter(tags=["oauth"])

    @router.post(
        TOKEN_PATH,
        dependencies=[signed("private_key_jwt")],
        summary="Client credentials with private_key_jwt (RFC 7523): a 5-minute access token",
        responses={400: {"description": "RFC 6749 error"}, 401: {"description": "RFC 6749"}},
    )
    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            body = issuer.issue(fields)
        except TokenError as exc:
            if exc.status == 401:
                headers["WWW-Authenticate"] = 'Bearer error="invalid_client"'
            return JSONResponse({"error": exc.error, "error_description": exc.description},
                                status_code=exc.status, headers=headers)  # fmt: skip
        return JSONResponse(body, headers=headers)

    return router


def install_token_endpoint(app: FastAPI, issuer: TokenIssuer) -> None:
    app.state.token_issuer = issuer
    app.include_router(token_router(issuer))
